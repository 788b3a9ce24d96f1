"""Pictures of the three findings (issue 26); every number is computed elsewhere and only drawn here.

Shape letters: L layers of a family, H heads, S fractions.

- `atlas_figure`: one family's heads as a layers x heads grid coloured by a chosen atlas column, the
  causal column (change in the answer's probability when the head alone is removed) written in
  every cell, dormant heads hatched (`lxmert_viz.analysis.atlas`);
- `crossmodal_figure`: masked-word accuracy with all regions / none and region-label accuracy with
  all words / none, with 95 % intervals, and the same per cross layer (`lxmert_viz.analysis.crossmodal`);
- `faithfulness_figure`: the deletion and insertion curves of one explanation with Del@k / Ins@k
  marked (`lxmert_viz.explain.faithfulness`).

Each takes the computation's result object and ``ax=None`` and returns the matplotlib `Figure`
(never shown here); matplotlib is imported inside the functions.
"""
from __future__ import annotations

import numpy as np

FONT = 10
GREY = "#777777"
SHARES = ("pointing", "pointing_lo", "pointing_hi", "mass_cls", "mass_sep", "mass_scene", "flips")


def _figure(ax, size):
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=size, layout="constrained")
        return fig, fig.subplots()
    return ax.figure, ax


def atlas_figure(atlas, family: str, column: str = "entropy", *, ax=None):
    """One family of a head atlas: colour = ``column``, text = the causal column, hatch = dormant.

    Args:
        atlas: an `AtlasTable` (`lxmert_viz.analysis.atlas.head_atlas`).
        family: the family drawn.
        column: the atlas column that colours the cells (``entropy``, ``mass_cls``, ``mass_scene``,
            ``pointing``, ``d_score``, ``d_accuracy``, ...).
        ax: an axes to draw in, or None for a new figure.

    Returns:
        the `Figure`; ``axes[0].images[0]`` holds the (L, H) grid of ``column``.
    """
    from matplotlib.patches import Rectangle

    values = atlas.grid(column, family)
    causal = atlas.grid("d_score", family)
    dormant = atlas.grid("dormant", family)
    n_l, n_h = values.shape
    fig, a = _figure(ax, (1.0 * n_h + 2.6, 0.7 * n_l + 1.6))
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if column in SHARES:  # shares keep their 0..1 scale, so a flat 0.9-1.0 grid does not look sharp
        lo, hi = 0.0, 1.0
    im = a.imshow(values, cmap="viridis", vmin=lo, vmax=hi if hi > lo else lo + 1e-6, aspect="auto",
                  interpolation="nearest")
    for (i, j), v in np.ndenumerate(causal):
        a.text(j, i, f"{v:+.3f}", ha="center", va="center", fontsize=FONT - 1, color="white",
               bbox={"facecolor": "black", "alpha": 0.35, "pad": 1, "linewidth": 0})
        if dormant[i, j] > 0.5:
            a.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//", edgecolor=GREY, linewidth=0,
                                  gid="dormant"))
    a.set_xticks(np.arange(n_h), [str(h) for h in range(n_h)], fontsize=FONT)
    a.set_yticks(np.arange(n_l), [str(i) for i in range(n_l)], fontsize=FONT)
    a.set_xlabel("head", fontsize=FONT)
    a.set_ylabel("layer", fontsize=FONT)
    n = atlas.meta.get("examples", "?")
    a.set_title(f"{family}: colour = {column}; text = change in answer probability when the head is removed "
                f"(hatched: dormant), {n} questions", fontsize=FONT, wrap=True)
    fig.colorbar(im, ax=a, fraction=0.05).ax.tick_params(labelsize=FONT - 1)
    return fig


def crossmodal_figure(cm, *, ax=None):
    """Accuracy with the other modality and without it, both directions, with 95 % intervals.

    Args:
        cm: a `CrossModal` (`lxmert_viz.analysis.crossmodal.crossmodal_ablation`).
        ax: an axes, or None for a new figure.

    Returns:
        the `Figure`; ``axes[0].patches[:4]`` are the bars (words: all, none; regions: all, none).
    """
    fig, a = _figure(ax, (7.5, 3.6))
    sides = (("words", "masked words\n(regions: all → none)"), ("regions", "region labels\n(words: all → none)"))
    colours = {"all": "#3b75af", "none": "#d08a3b"}
    xs, heights, lows, highs, cols = [], [], [], [], []
    for s, (side, _) in enumerate(sides):
        for c, cond in enumerate(("all", "none")):
            m = cm.measure(side, cond)
            xs.append(3 * s + c)
            heights.append(m.accuracy)
            lows.append(max(0.0, m.accuracy - m.accuracy_lo))  # rounding can leave -1e-16 at 0 or 1
            highs.append(max(0.0, m.accuracy_hi - m.accuracy))
            cols.append(colours[cond])
    a.bar(xs, heights, yerr=[lows, highs], color=cols, capsize=4, width=0.8)
    for s, (side, _) in enumerate(sides):
        layered = [c for c in cm.conditions[side] if c.startswith("none at")]
        accs = [cm.measure(side, c).accuracy for c in layered]
        px = 3 * s + 1 + 0.55 + 0.18 * np.arange(len(accs))
        a.plot(px, accs, "o", color="black", markersize=4, label="none at one cross layer (0, 1, ...)" if s == 0 else None)
    a.set_xticks([0.5, 3.5], [label for _, label in sides], fontsize=FONT)
    a.set_ylim(0, 1.05)
    a.set_ylabel("accuracy (95 % Wilson interval)", fontsize=FONT)
    a.bar([0], [0], color=colours["all"], label="other modality present")
    a.bar([0], [0], color=colours["none"], label="other modality removed")
    a.legend(fontsize=FONT - 1, loc="lower left")
    a.set_title("cross-modal input ablation: which stream needs the other?", fontsize=FONT)
    return fig


def faithfulness_figure(f, *, ax=None):
    """Deletion and insertion curves of one explanation, Del@k and Ins@k marked.

    Args:
        f: a `Faithfulness` (`lxmert_viz.explain.faithfulness.faithfulness`).
        ax: an axes, or None for a new figure.

    Returns:
        the `Figure`; ``axes[0].lines[0]`` deletion, ``lines[1]`` insertion.
    """
    fig, a = _figure(ax, (5.0, 3.4))
    a.plot(100 * f.fractions, f.deletion, "-o", color="#c0392b", markersize=3,
           label=f"deletion (AUC {f.deletion_auc:.2f}, lower = more faithful)")
    a.plot(100 * f.fractions, f.insertion, "-o", color="#2471a3", markersize=3,
           label=f"insertion (AUC {f.insertion_auc:.2f}, higher = more faithful)")
    a.axvline(100 * f.k, color=GREY, linewidth=0.8, linestyle="--")
    a.set_xlabel("inputs removed / inserted, most relevant first (%)", fontsize=FONT)
    a.set_ylabel("probability of the answer", fontsize=FONT)
    a.set_ylim(-0.02, 1.02)
    a.legend(fontsize=FONT - 1)
    a.set_title(f.line().replace(" · ", "\n"), fontsize=FONT)
    return fig
