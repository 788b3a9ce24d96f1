"""Explanations on the image: each method's relevance as shaded boxes, a word strip, perturbation curves.

Shape letters: T tokens, R regions, M methods, S steps of the perturbation curves.

The rows drawn come from `lxmert_viz.explain.relevance_rows` (an `Explanation` laid out on the
result's token and region positions; masked positions get 0). `relevance_overlay` draws one method on one axes; `compare_methods` puts
several side by side (image row + word-strip row); `perturbation_curves` draws a
`PerturbationReport` (accuracy vs fraction removed). Matplotlib only, no pyplot: every function
returns the `Figure`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..explain.explanation import relevance_rows
from .shading import box_fill_alphas, draw_boxes, draw_image

STRIP_CMAP = "Reds"
DIRECTION_STYLE = {"positive": "-", "negative": "--"}
METHOD_COLOURS = {"relevancy": "#d62728", "rollout": "#1f77b4", "raw": "#2ca02c", "random": "#7f7f7f"}


def _labels(result, explanation) -> tuple[list[str], list[str]]:
    if result is not None:
        return list(result.tokens.labels()), list(result.regions.names()[: result.regions.num_real])
    return ([f"t{i}" for i in range(explanation.num_tokens)], [f"r{i}" for i in range(explanation.num_regions)])


def relevance_overlay(result, explanation, token: int | str | None = None, *, ax=None, strip_ax=None,
                      show_labels: bool = True, dropped_regions: Sequence[int] = ()):
    """One method's relevance on the image (shaded boxes) and over the tokens (a strip).

    Args:
        result: the `Result` explained (image, boxes, token labels).
        explanation: its `Explanation` (any method).
        token: None: relevance for the answer ([CLS] row); a word or index: that word's row.
        ax: image axes; None: a new figure with the image above the word strip.
        strip_ax: axes for the word strip; None with ``ax`` given: no strip.
        show_labels: write region names on the boxes.
        dropped_regions: regions drawn dashed and unfilled (e.g. masked ones).

    Returns:
        the `Figure`. Boxes carry ``gid="region-<i>"``, the strip image ``gid="tokens"`` and its
        data is the (1, T) word row; each box's raw value is in ``patch.relevance``.

    Example:
        >>> from lxmert_viz.explain import explain
        >>> fig = relevance_overlay(result, explain(result, "relevancy", model=kit.model))
    """
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(4.2, 4.4), layout="constrained")
        ax, strip_ax = fig.subplots(2, 1, gridspec_kw={"height_ratios": [6, 1]})
    fig = ax.figure
    regions, token_row = relevance_rows(explanation, result, token)
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
        strip_ax.imshow(token_row[None, :], cmap=STRIP_CMAP, aspect="auto", vmin=0,
                        vmax=max(float(token_row.max()), 1e-12), gid="tokens")
        strip_ax.set_xticks(np.arange(len(token_row)), tok_labels, rotation=60, fontsize=7, ha="right")
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
        >>> from lxmert_viz.explain import explain_all
        >>> fig = compare_methods(result, explain_all(result, model=kit.model))
        >>> len(fig.axes)
        8
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
        modality: ``"regions"`` or ``"tokens"``.
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
        the `Figure`, panels in row order (regions positive, regions negative, tokens ...).

    Example:
        >>> from lxmert_viz.explain.examples import shapes_examples
        >>> from lxmert_viz.explain.perturbation import perturbation_benchmark
        >>> rep = perturbation_benchmark(kit.model, shapes_examples(kit, 2), steps=2, limit=2)
        >>> len(perturbation_curves(rep).axes)                   # regions / tokens x positive / negative
        4
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
