"""Explanations on the image: each method's relevance as shaded regions, a word strip, perturbation curves.

Shape letters: T tokens, R regions, M methods, S steps of the perturbation curves.

The rows drawn come from `lxmert_viz.explain.relevance_rows` (an `Explanation` laid out on the
result's token and region positions; masked positions get 0). `relevance_overlay` draws one method
on one axes through the same shading as every other picture (`shading`: the whole-image row is
reported, never painted); `compare_methods` puts several side by side, each on its own scale (the
methods' numbers are not comparable: rollout rows sum to 1, relevancy is unbounded), and says so;
`perturbation_curves` draws a `PerturbationReport`. Matplotlib only, no pyplot: every function
returns the `Figure`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import InputError, UnknownNameError
from ..explain.explanation import relevance_rows
from .region_picture import FONT, draw_colorbar, draw_regions
from .shading import colour, shade

DIRECTION_STYLE = {"positive": "-", "negative": "--"}
METHOD_COLOURS = {"relevancy": "#d62728", "rollout": "#1f77b4", "raw": "#2ca02c", "random": "#7f7f7f",
                  "chefer_rollout": "#9467bd"}
METHOD_MARKERS = {"relevancy": "o", "rollout": "s", "raw": "^", "random": "x", "chefer_rollout": "D"}
METHOD_TITLES = {"raw": "raw attention (last cross layer)", "rollout": "rollout (this kit's two-stream variant)",
                 "relevancy": "gradient relevancy (Chefer et al. 2021)", "random": "random (a baseline)",
                 "chefer_rollout": "rollout (Chefer et al.'s baseline)"}


def method_title(method: str) -> str:
    """What a method is, in a few words (`METHOD_TITLES`)."""
    return METHOD_TITLES.get(method, method)


def _strip_cmap():
    from matplotlib.colors import ListedColormap

    return ListedColormap(colour(np.linspace(0, 1, 256)) / 255.0, name="lxmert_viz_weights")


def _labels(result, explanation) -> tuple[list[str], list[str]]:
    if result is not None:
        return list(result.tokens.labels()), list(result.regions.names()[: result.regions.num_real])
    return ([f"t{i}" for i in range(explanation.num_tokens)], [f"r{i}" for i in range(explanation.num_regions)])


def relevance_overlay(result, explanation, token: int | str | None = None, *, ax=None, strip_ax=None,
                      colorbar_ax=None, show_labels: bool = True, dropped_regions: Sequence[int] = (),
                      vmax: float | None = None):
    """One method's relevance on the image (shaded regions) and over the tokens (a strip).

    Args:
        result: the `Result` explained (image, boxes, token labels).
        explanation: its `Explanation` (any method).
        token: None: relevance for the answer ([CLS] row); a word or index: that word's row.
        ax: image axes; None: a new figure with the image, a colour bar and the word strip.
        strip_ax: axes for the word strip; None with ``ax`` given: no strip.
        colorbar_ax: axes for a horizontal colour bar; None with ``ax`` given: none.
        show_labels: number the regions on the image.
        dropped_regions: regions drawn dashed and unfilled (e.g. masked ones).
        vmax: a shared top of the scale, or None (this method's largest value).

    Returns:
        the `Figure`. The image axes hold the shading layer (``gid="shading"``) and carry the
        drawn `Shading` as ``ax.shading``; the strip image has ``gid="tokens"`` and its data is the
        (1, T) word row.

    Example:
        >>> from lxmert_viz.explain import explain
        >>> fig = relevance_overlay(result, explain(result, "relevancy", model=kit.model))
        >>> fig.axes[0].shading.whole                 # the scene row is reported, not painted
        (0,)
    """
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(4.4, 5.4), layout="constrained")
        ax, colorbar_ax, strip_ax = fig.subplots(3, 1, gridspec_kw={"height_ratios": [6, 0.3, 1]})
    fig = ax.figure
    regions, token_row = relevance_rows(explanation, result, token)
    tok_labels, names = _labels(result, explanation)
    boxes = result.regions.boxes[: len(regions)]
    s = shade(boxes, regions, result.regions.image_size, vmax=vmax, dropped=dropped_regions)
    draw_regions(ax, result.image, s, names, what="relevance", numbers=show_labels)
    ax.shading = s
    if colorbar_ax is not None:
        draw_colorbar(colorbar_ax, s, "relevance", horizontal=True)
    target = "the answer" if token is None else repr(tok_labels[result.token_index(token)])
    ax.set_title(f"{method_title(explanation.method)}\nrelevance for {target}", fontsize=FONT)
    if strip_ax is not None:
        top = max(float(token_row.max()), 1e-12)
        strip_ax.imshow(token_row[None, :], cmap=_strip_cmap(), aspect="auto", vmin=0, vmax=top, gid="tokens")
        strip_ax.set_xticks(np.arange(len(token_row)), tok_labels, rotation=55, fontsize=FONT, ha="right",
                            rotation_mode="anchor")
        strip_ax.set_yticks([0], ["words"], fontsize=FONT - 1)
    return fig


def compare_methods(result, explanations: Mapping[str, object] | Sequence, token: int | str | None = None, *,
                    fig=None, dropped_regions: Sequence[int] = ()):
    """Several methods side by side: one column per method (image, colour bar, word strip).

    Each column is scaled to its own maximum (the methods' numbers are on different scales); the
    figure's title says so. The whole-image row is never painted (its value is written under each
    image).

    Args:
        result: the `Result` explained.
        explanations: ``{method: Explanation}`` or a sequence of `Explanation`s (titled by method).
        token: None for the answer ([CLS] row) or a word / index for that word's row.
        fig: a matplotlib `Figure` (or `SubFigure`) to draw into; None: a new one.
        dropped_regions: regions drawn dashed and unfilled.

    Returns:
        the `Figure`; ``fig.axes`` holds M image axes, then M colour bars, then M strips.

    Example:
        >>> from lxmert_viz.explain import explain_all
        >>> fig = compare_methods(result, explain_all(result, model=kit.model))
        >>> len(fig.axes)
        12
    """
    from matplotlib.figure import Figure

    exs = list(explanations.values()) if isinstance(explanations, Mapping) else list(explanations)
    if not exs:
        raise InputError("no explanations to compare")
    m = len(exs)
    if fig is None:
        fig = Figure(figsize=(max(3.7 * m, 7.4), 6.4), layout="constrained")
    axes = fig.subplots(3, m, gridspec_kw={"height_ratios": [6, 0.3, 1]}, squeeze=False)
    for j, ex in enumerate(exs):
        relevance_overlay(result, ex, token, ax=axes[0, j], colorbar_ax=axes[1, j], strip_ax=axes[2, j],
                          dropped_regions=dropped_regions)
        axes[0, j].set_anchor("S")  # the image sits on its colour bar; the slack goes above the title
    what = "the answer" if token is None else repr(result.tokens.labels()[result.token_index(token)])
    answer = f" {result.answer!r}" if token is None and result.answer is not None else ""
    sep = " · " if m > 2 else "\n"
    fig.suptitle(f"relevance for {what}{answer}{sep}each panel on its own scale (the methods' numbers differ in kind)",
                 fontsize=FONT + 1)
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
        fig = Figure(figsize=(4.6, 3.6), layout="constrained")
        ax = fig.subplots()
    curves = report.accuracy if of == "accuracy" else report.agreement
    for meth in methods or report.methods():
        key = (meth, modality, direction)
        if key not in curves:
            raise UnknownNameError(f"the report has no curve for {key}; it has methods {report.methods()} and "
                           f"modalities {report.modalities()}")
        ax.plot(report.fractions, curves[key], DIRECTION_STYLE.get(direction, "-"),
                marker=METHOD_MARKERS.get(meth, "o"), markersize=4, color=METHOD_COLOURS.get(meth), gid=meth,
                label=f"{meth} (AUC {report.auc(meth, modality, direction, of):.3f})")
    better = "lower" if direction == "positive" else "higher"
    first = "most" if direction == "positive" else "least"
    ax.set_title(f"{modality}, {first} relevant removed first\n({direction}: {better} AUC is better)", fontsize=FONT)
    ax.set_xlabel(f"fraction of {modality} removed", fontsize=FONT)
    ax.set_ylabel(of, fontsize=FONT)
    ax.tick_params(labelsize=FONT - 1)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=FONT - 2, loc="lower left" if direction == "positive" else "lower left")
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
        >>> from lxmert_viz.analysis.items import shapes_examples
        >>> from lxmert_viz.analysis.perturbation import perturbation_benchmark
        >>> rep = perturbation_benchmark(kit.model, shapes_examples(kit, 2), steps=2, limit=2, progress=False)
        >>> len(perturbation_curves(rep).axes)                   # regions / tokens x positive / negative
        4
    """
    from matplotlib.figure import Figure

    mods = report.modalities()
    if fig is None:
        fig = Figure(figsize=(9.6, 3.9 * len(mods)), layout="constrained")
    axes = fig.subplots(len(mods), 2, squeeze=False)
    for i, mod in enumerate(mods):
        for j, d in enumerate(("positive", "negative")):
            perturbation_curve(report, mod, d, ax=axes[i, j], of=of, methods=methods)
    protocol = report.meta.get("protocol", "kit")
    fig.suptitle(f"perturbation test ({protocol} protocol) · {report.num_examples} questions · unperturbed "
                 f"accuracy {report.base_accuracy:.2f}", fontsize=FONT + 1)
    return fig
