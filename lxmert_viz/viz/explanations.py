"""Explanations on the image: each method's relevance as shaded boxes, a word strip, perturbation curves.

Shape letters: T tokens, R regions, M methods, S steps of the perturbation curves.

`relevance_values` turns an `Explanation` into one (R,) region row and one (T,) word row laid out
on the result's token and region positions (positions the explanation does not cover, such as
masked ones, get 0). `relevance_overlay` draws one method on one axes; `compare_methods` puts
several side by side (image row + word-strip row); `perturbation_curves` draws a
`PerturbationReport` (accuracy vs fraction removed). Matplotlib only, no pyplot: every function
returns the `Figure`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .shading import box_fill_alphas, draw_boxes, draw_image

STRIP_CMAP = "Reds"
DIRECTION_STYLE = {"positive": "-", "negative": "--"}
METHOD_COLOURS = {"relevancy": "#d62728", "rollout": "#1f77b4", "raw": "#2ca02c", "random": "#7f7f7f"}


def relevance_values(explanation, result=None, token: int | str | None = None,
                     keep_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The region row and the word row of one explanation, on the result's positions.

    Args:
        explanation: an `Explanation`.
        result: the `Result` it explains (its tokens resolve a word given as text and give the
            lengths); None: the explanation's own real tokens and regions.
        token: None for the answer ([CLS] row: `cls_regions` / `cls_words`); a word or token index
            for that token's row (``R_ti[t]`` / ``R_tt[t]``).
        keep_self: keep the query token's relevance to itself in the word row; by default it is
            set to 0, since rollout and relevancy start from the identity (≈1 there) and it would
            drown every other word in a colour scale.

    Returns:
        ``(regions (R,), words (T,))`` float64; positions the explanation leaves out get 0.
    """
    tok_pos = np.asarray(explanation.token_index, dtype=int)
    reg_pos = np.asarray(explanation.region_index, dtype=int)
    if result is None:
        t, r = len(tok_pos), len(reg_pos)
        tok_pos, reg_pos = np.arange(t), np.arange(r)
    else:
        t, r = len(result.tokens), result.regions.num_real
    if token is None:
        row = 0  # [CLS]: what the answer head reads
    else:
        q = result.token_index(token) if result is not None else int(token) % t
        hits = np.flatnonzero(tok_pos == q)
        if not len(hits):
            raise ValueError(f"token {token!r} (position {q}) is not in the explanation (masked?)")
        row = int(hits[0])
    regions, words = np.zeros(r), np.zeros(t)
    keep_r, keep_t = reg_pos < r, tok_pos < t
    regions[reg_pos[keep_r]] = np.asarray(explanation.R_ti[row], dtype=np.float64)[keep_r]
    words[tok_pos[keep_t]] = np.asarray(explanation.R_tt[row], dtype=np.float64)[keep_t]
    if not keep_self and tok_pos[row] < t:
        words[tok_pos[row]] = 0.0
    return regions, words


def _labels(result, explanation) -> tuple[list[str], list[str]]:
    if result is not None:
        return list(result.tokens.labels()), list(result.regions.names()[: result.regions.num_real])
    return ([f"t{i}" for i in range(explanation.num_tokens)], [f"r{i}" for i in range(explanation.num_regions)])


def relevance_overlay(result, explanation, token: int | str | None = None, *, ax=None, strip_ax=None,
                      show_labels: bool = True, dropped_regions: Sequence[int] = ()):
    """One method's relevance on the image (shaded boxes) and over the words (a strip).

    Args:
        result: the `Result` explained (image, boxes, token labels).
        explanation: its `Explanation` (any method).
        token: None: relevance for the answer ([CLS] row); a word or index: that word's row.
        ax: image axes; None: a new figure with the image above the word strip.
        strip_ax: axes for the word strip; None with ``ax`` given: no strip.
        show_labels: write region names on the boxes.
        dropped_regions: regions drawn dashed and unfilled (e.g. masked ones).

    Returns:
        the `Figure`. Boxes carry ``gid="region-<i>"``, the strip image ``gid="words"`` and its
        data is the (1, T) word row; each box's raw value is in ``patch.relevance``.

    Example:
        >>> ex = explain_result(kit.model, result, "relevancy")     # doctest: +SKIP
        >>> fig = relevance_overlay(result, ex)                       # doctest: +SKIP
    """
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(4.2, 4.4), layout="constrained")
        ax, strip_ax = fig.subplots(2, 1, gridspec_kw={"height_ratios": [6, 1]})
    fig = ax.figure
    regions, words = relevance_values(explanation, result, token)
    tok_labels, names = _labels(result, explanation)
    draw_image(ax, result.image, result.regions.image_size)
    boxes = result.regions.boxes[: len(regions)]
    patches = draw_boxes(ax, boxes, box_fill_alphas(regions), names if show_labels else None,
                         dropped=dropped_regions, fontsize=6)
    for patch, value in zip(patches, regions):
        patch.relevance = float(value)
    target = "answer" if token is None else repr(tok_labels[result.token_index(token)])
    ax.set_title(f"{explanation.method} · relevance for {target}", fontsize=9)
    if strip_ax is not None:
        strip_ax.imshow(words[None, :], cmap=STRIP_CMAP, aspect="auto", vmin=0,
                        vmax=max(float(words.max()), 1e-12), gid="words")
        strip_ax.set_xticks(np.arange(len(words)), tok_labels, rotation=60, fontsize=7, ha="right")
        strip_ax.set_yticks([])
    return fig


def compare_methods(result, explanations: Mapping[str, object] | Sequence, token: int | str | None = None, *,
                    fig=None, dropped_regions: Sequence[int] = ()):
    """Several methods side by side: one column per method, image on top, word strip below.

    Args:
        result: the `Result` explained.
        explanations: ``{method: Explanation}`` or a sequence of `Explanation`s (titled by method).
        token: None for the answer ([CLS] row) or a word / index for that word's row.
        fig: a matplotlib `Figure` (or `SubFigure`) to draw into; None: a new one.
        dropped_regions: regions drawn dashed and unfilled.

    Returns:
        the `Figure`; ``fig.axes`` holds M image axes then M strip axes.

    Example:
        >>> maps = explain_batch(kit.model, inputs_from(r.tokens, r.regions, kit.model))[0]  # doctest: +SKIP
        >>> compare_methods(r, maps)                                                         # doctest: +SKIP
    """
    from matplotlib.figure import Figure

    exs = list(explanations.values()) if isinstance(explanations, Mapping) else list(explanations)
    if not exs:
        raise ValueError("no explanations to compare")
    m = len(exs)
    if fig is None:
        fig = Figure(figsize=(3.3 * m, 4.2), layout="constrained")
    axes = fig.subplots(2, m, gridspec_kw={"height_ratios": [6, 1]}, squeeze=False)
    for j, ex in enumerate(exs):
        relevance_overlay(result, ex, token, ax=axes[0, j], strip_ax=axes[1, j], show_labels=j == 0,
                          dropped_regions=dropped_regions)
    return fig


def perturbation_curve(report, modality: str = "regions", direction: str = "positive", *, ax=None,
                       of: str = "accuracy", methods: Sequence[str] | None = None):
    """One panel: accuracy (or agreement) vs fraction removed, one line per method, AUC in the legend.

    Args:
        report: a `PerturbationReport`.
        modality: ``"regions"`` or ``"words"``.
        direction: ``"positive"`` (most relevant removed first; lower AUC is better) or
            ``"negative"`` (least relevant first; higher AUC is better).
        ax: axes to draw on; None: a new figure.
        of: ``"accuracy"`` (against gold) or ``"agreement"`` (with the unperturbed prediction).
        methods: which methods (default: all in the report).

    Returns:
        the `Figure`. Each line carries ``gid="<method>"`` and the curve as its y data.
    """
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(4.2, 3.2), layout="constrained")
        ax = fig.subplots()
    curves = report.accuracy if of == "accuracy" else report.agreement
    for meth in methods or report.methods():
        key = (meth, modality, direction)
        if key not in curves:
            raise KeyError(f"the report has no curve for {key}; it has methods {report.methods()} and "
                           f"modalities {report.modalities()}")
        ax.plot(report.fractions, curves[key], DIRECTION_STYLE.get(direction, "-"), marker="o", markersize=3,
                color=METHOD_COLOURS.get(meth), gid=meth,
                label=f"{meth} (AUC {report.auc(meth, modality, direction, of):.3f})")
    better = "lower" if direction == "positive" else "higher"
    ax.set_title(f"{modality} · {direction} ({better} AUC is better)", fontsize=9)
    ax.set_xlabel("fraction removed", fontsize=8)
    ax.set_ylabel(of, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7)
    return ax.figure


def perturbation_curves(report, *, of: str = "accuracy", fig=None, methods: Sequence[str] | None = None):
    """All panels of a `PerturbationReport`: rows = modalities, columns = positive, negative.

    Args:
        report: a `PerturbationReport`.
        of: ``"accuracy"`` or ``"agreement"``.
        fig: a `Figure` / `SubFigure` to draw into; None: a new one.
        methods: which methods (default: all).

    Returns:
        the `Figure`, panels in row order (regions positive, regions negative, words ...).

    Example:
        >>> rep = perturbation_benchmark(kit.model, shapes_examples(kit, 20))   # doctest: +SKIP
        >>> perturbation_curves(rep)                                             # doctest: +SKIP
    """
    from matplotlib.figure import Figure

    mods = report.modalities()
    if fig is None:
        fig = Figure(figsize=(8.4, 3.0 * len(mods)), layout="constrained")
    axes = fig.subplots(len(mods), 2, squeeze=False)
    for i, mod in enumerate(mods):
        for j, d in enumerate(("positive", "negative")):
            perturbation_curve(report, mod, d, ax=axes[i, j], of=of, methods=methods)
    fig.suptitle(f"perturbation test · {report.num_examples} questions · base accuracy "
                 f"{report.base_accuracy:.2f}", fontsize=10)
    return fig
