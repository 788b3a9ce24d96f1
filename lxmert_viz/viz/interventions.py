"""Figures of the interventions: ablated answers, the head ranking, the patching sweep.

Shape letters: L layers, H heads, S states of a stream, N positions.

Each takes what `lxmert_viz.interventions` returns and returns a matplotlib `Figure` (no pyplot).
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .output_heads import _figure, paired_bars
from .titles import STAGE_NOTE

EFFECT_LABEL = "effect\n0: target's answer as it was\n1: moved to the source's"


def ablation_bars(ablation, k: int = 5, *, ax=None):
    """The full model's top answers and their probabilities with the heads removed.

    Example:
        >>> fig = ablation_bars(kit.ask_ablated(sample, "what color is the circle?", ["l2v.2.all"]))
    """
    rows = ablation.compare(k)
    fig, ax = _figure(ax, (5, 0.4 * len(rows) + 1.3))
    paired_bars(ax, rows, "full model", f"{len(ablation.heads)} heads removed", "answer probability")
    ax.set_title(f"{ablation.clean.question!r} with {_heads_text(ablation.heads)} removed", fontsize=9)
    return fig


def _heads_text(heads) -> str:
    if len(heads) <= 3:
        return ", ".join(f"{f}.{layer}.{h}" for f, layer, h in heads)
    fams = sorted({f for f, _, _ in heads})
    return f"{len(heads)} heads of {'/'.join(fams)}"


def head_ranking_grid(ranking, by: str = "prob_drop"):
    """One layers x heads panel per measured family, coloured by ``ranking.measure(by)``.

    Example:
        >>> fig = head_ranking_grid(kit.rank_heads([(sample, "what color is the circle?")], families=["l2v", "lang"]))
        >>> len(fig.axes)
        3
    """
    from matplotlib.figure import Figure

    fams = list(dict.fromkeys(h[0] for h in ranking.heads))
    grids = {f: ranking.grid(f, by) for f in fams}
    vmax = max(float(np.nanmax(np.abs(g))) for g in grids.values()) or 1e-6
    fig = Figure(figsize=(2.2 * len(fams) + 1, 2.6), layout="constrained")
    axes = fig.subplots(1, len(fams), squeeze=False)[0]
    cmap, vmin = ("viridis", 0.0) if by != "prob_drop" else ("RdBu_r", -vmax)
    if by != "prob_drop":
        vmax = 1.0
    im = None
    for ax, fam in zip(axes, fams):
        g = grids[fam]
        im = ax.imshow(g, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
        ax.set_xticks(np.arange(g.shape[1]), [str(h) for h in range(g.shape[1])], fontsize=9)
        ax.set_yticks(np.arange(g.shape[0]), [str(i) for i in range(g.shape[0])], fontsize=9)
        ax.set_xlabel("head", fontsize=9)
        ax.set_title(fam, fontsize=9)
    axes[0].set_ylabel("layer", fontsize=9)
    label = {"prob_drop": "drop of the answer's probability", "flips": "share of answers changed",
             "accuracy": "accuracy with the head removed"}[by]
    fig.colorbar(im, ax=list(axes), fraction=0.04, label=label)
    fig.suptitle(f"each head removed alone, {ranking.num_questions} questions", fontsize=9)
    return fig


def patch_sweep_figure(sweep, metric: str = "effect", *, fig=None):
    """The sweep as one heatmap per stream: states along x; one row (all positions at once) or one
    row per position; each cell colour is the ``metric`` (``"effect"`` or ``"prob"`` of the source's
    answer) and, for the all-positions sweep, its text the patched answer. ``fig``: a figure to
    clear and draw into (a widget keeps one).

    Example:
        >>> sweep = kit.patch_sweep((sample, "what color is the circle?"), (sample, "what color is the triangle?"))
        >>> len(patch_sweep_figure(sweep).axes)
        3
    """
    from matplotlib.figure import Figure

    if metric not in ("effect", "prob"):
        raise InputError(f"metric must be 'effect' or 'prob', got {metric!r}")
    if metric == "effect" and sweep.same_answer:
        raise InputError(f"both runs answer {sweep.source_answer!r}: the effect is undefined; use metric='prob'")
    data = sweep.effect if metric == "effect" else sweep.prob_source
    rows = {s: (data[s].T if sweep.per_position else data[s][None, :]) for s in sweep.streams}
    heights = [max(1, r.shape[0]) for r in rows.values()]
    size = (1.0 * max(len(sweep.stages[s]) for s in sweep.streams) + 3, 0.45 * sum(heights) + 2.6)
    if fig is None:
        fig = Figure(figsize=size, layout="constrained")
    else:
        fig.clear()
        fig.set_size_inches(*size)
    axes = fig.subplots(len(sweep.streams), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    cmap, vmin, vmax = ("RdBu_r", -1.0, 1.0) if metric == "effect" else ("viridis", 0.0, 1.0)
    im = None
    for ax, stream in zip(axes, sweep.streams):
        grid = rows[stream]
        im = ax.imshow(grid, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
        ax.set_xticks(np.arange(grid.shape[1]), sweep.stages[stream], fontsize=9)
        ylabels = sweep.position_labels[stream] if sweep.per_position else [f"{stream}: all"]
        ax.set_yticks(np.arange(grid.shape[0]), ylabels, fontsize=9)
        if not sweep.per_position:
            for k, ans in enumerate(sweep.answers[stream]):
                v = grid[0, k]
                dark = metric == "effect" and abs(v) > 0.6 or metric == "prob" and v < 0.5
                ax.text(k, 0, ans, ha="center", va="center", fontsize=9, color="white" if dark else "black")
        ax.set_title(f"{stream} stream: hidden.{stream}.k from the source", fontsize=9)
    axes[-1].set_xlabel(f"hidden state ({STAGE_NOTE})", fontsize=9)
    cb = fig.colorbar(im, ax=list(axes), location="bottom", fraction=0.08, shrink=0.6, aspect=40)
    cb.set_label(EFFECT_LABEL.replace("\n", " · ") if metric == "effect"
                 else f"P({sweep.source_answer!r}) after patching", fontsize=9)  # one line under the maps: never clipped
    cb.ax.tick_params(labelsize=9)
    fig.suptitle(f"patching source (answer {sweep.source_answer!r}) into target (answer {sweep.target_answer!r})",
                 fontsize=9)
    return fig
