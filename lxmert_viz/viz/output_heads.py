"""Figures of the pretraining output heads: masked words, image-text matching, region labels.

Shape letters: R regions.

Each takes what `lxmert_viz.output_heads` returns and an optional ``ax``, and returns the matplotlib
`Figure` (built without pyplot).
"""
from __future__ import annotations

import numpy as np

from .region_picture import FONT, draw_regions
from .shading import frame_extent, layer_size, shade

WITH, WITHOUT = "#d62728", "#7f7f7f"  # with the image / without it


def paired_bars(ax, rows, first: str, second: str, xlabel: str) -> None:
    """Two bars per row (``rows``: (label, first value, second value)), in 0..1, best first."""
    y = np.arange(len(rows))
    ax.barh(y - 0.2, [r[1] for r in rows], height=0.4, color=WITH, label=first)
    ax.barh(y + 0.2, [r[2] for r in rows], height=0.4, color=WITHOUT, label=second)
    ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.legend(fontsize=7, loc="lower right")


def _figure(ax, size):
    from matplotlib.figure import Figure

    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def fill_overlay(fill, mask: int = 0, layer: int = -1, head: int | str = "mean", *, ax=None):
    """The image with its boxes shaded by the ``mask``-th ``[MASK]`` token's ``l2v`` attention.

    Example:
        >>> fig = fill_overlay(kit.fill(sample, "the [MASK] circle is on the left"))
    """
    res = fill.result
    fig, ax = _figure(ax, (4, 4))
    w = fill.l2v(mask, layer, head)
    n = res.regions.num_real
    draw_regions(ax, res.image, shade(res.regions.boxes[:n], w, res.regions.image_size), res.regions.names()[:n])
    lname = f"layer {layer}" if layer >= 0 else ("last layer" if layer == -1 else f"layer {layer}")
    hname = head if isinstance(head, str) else f"head {head}"
    ax.set_title(f"l2v of [MASK] #{mask + 1} (token {fill.positions[mask]}), {lname}, {hname} over heads"
                 if isinstance(head, str) else f"l2v of [MASK] #{mask + 1}, {lname}, {hname}", fontsize=8)
    return fig


def fill_bars(fill, mask: int = 0, *, ax=None):
    """Probability of each listed token with the image (red) and without it (grey).

    Example:
        >>> fig = fill_bars(kit.fill(sample, "the [MASK] circle is on the left"))
    """
    rows = fill.compare(mask)
    fig, ax = _figure(ax, (4.5, 0.35 * len(rows) + 1.2))
    paired_bars(ax, rows, "with the image", "without (no l2v)", "probability of the token at [MASK]")
    ax.set_title(f"{fill.text!r}: [MASK] #{mask + 1}", fontsize=9)
    return fig


def fill_figure(fill, mask: int = 0, layer: int = -1, head: int | str = "mean"):
    """`fill_overlay` and `fill_bars` side by side.

    Example:
        >>> fig = fill_figure(kit.fill(sample, "the [MASK] circle is on the left"))
        >>> len(fig.axes)
        2
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4), layout="constrained")
    a, b = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.1]})
    fill_overlay(fill, mask, layer, head, ax=a)
    fill_bars(fill, mask, ax=b)
    return fig


def match_bars(matching, *, ax=None):
    """Each sentence's probability of matching the image, best first; the title says whether the
    matching head was trained (the config's ``task_matched``).

    Example:
        >>> fig = match_bars(kit.match(sample, ["a black circle", "a yellow square"]))
    """
    ranked = matching.ranked()
    fig, ax = _figure(ax, (6, 0.4 * len(ranked) + 1.2))
    y = np.arange(len(ranked))
    ax.barh(y, [p for _, p in ranked], color=WITH)
    ax.axvline(0.5, color="#444444", linewidth=0.8, linestyle="--")
    ax.set_yticks(y, [s for s, _ in ranked], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("P(matches the image), seq_relationship index 1", fontsize=8)
    note = "" if matching.trained else "\n(this model's matching head was never trained: task_matched is off)"
    ax.set_title("image-text matching" + note, fontsize=9)
    return fig


def region_labels_overlay(labels, *, ax=None, fontsize: int = 7):
    """The image with every region's predicted label and probability at its box.

    Example:
        >>> fig = region_labels_overlay(kit.region_labels(sample))
    """
    regions = labels.regions
    fig, ax = _figure(ax, (4.5, 4.5))
    best = np.array([o[0][1] for o in labels.objects])
    if labels.names.scene_row is not None:
        best[labels.names.scene_row] = 0.0  # no fill for a row whose label was never trained
    n = regions.num_real
    s = shade(regions.boxes[:n], best[:n], regions.image_size, scale="fixed")  # probabilities: 0 to 1
    draw_regions(ax, labels.image, s, regions.names()[:n], what="probability", numbers=False)
    w, h = regions.image_size
    lw, lh = layer_size(regions.image_size)
    notes = []
    for i in range(n):  # each label beside its box, outside the box and its frame: never on the object
        if i in s.whole:
            notes.append(f"{regions.names()[i]}: {labels.label(i)}")
            continue
        x1, y1, x2, y2 = (float(v) for v in regions.boxes[i])
        gap = frame_extent(s, i, max(lw, lh)) * max(w, h) / max(lw, lh) + 1
        below = y2 + gap + 0.08 * h < h
        ax.text(x1, y2 + gap if below else y1 - gap, labels.label(i), fontsize=max(fontsize, FONT - 1),
                va="top" if below else "bottom", ha="left", zorder=3, clip_on=False,
                bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "alpha": 0.9, "linewidth": 0})
    if notes:
        ax.set_xlabel("; ".join(notes), fontsize=FONT - 1, color="#444444")
    ax.set_title(f"object head beside {labels.text!r}\nnames: {labels.names.source}", fontsize=FONT)
    return fig
