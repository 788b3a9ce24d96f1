"""Matplotlib: the image with its shading layer, region numbers, a colour bar and weight bars.

Shape letters: R regions, K keys of a bar chart (regions or tokens).

`draw_regions` puts a `shading.Shading` on axes (the layer from `shading.shading_layer`, the same
pixels as the plotly figures and the command line's PNG); `draw_bars` draws the weights behind it
as a bar chart in the same colours. Both are used by `overlay` and the explanation panels.
"""
from __future__ import annotations

import numpy as np

from ..inputs.image import open_image
from .shading import (
    CHOSEN,
    DROPPED,
    Shading,
    colour,
    frame_extent,
    layer_size,
    scale_label,
    shade,
    shading_layer,
    whole_label,
)

FONT = 10          # every label on these pictures (>= 10 px at the default size)
WHOLE_BAR = "#9a9a9a"  # the whole-image row's bar (it is not on the image)


def labelled_regions(s: Shading, k: int = 8) -> list[int]:
    """Regions numbered on the image: the chosen/dropped ones, then up to ``k`` painted ones by level."""
    keep = [i for i in (s.chosen, *s.dropped) if i is not None]
    order = [int(i) for i in np.argsort(-s.levels, kind="stable") if s.painted[i]]
    return list(dict.fromkeys(keep + order[:k]))


def draw_regions(ax, image, s: Shading, names, *, colorbar_ax=None, what: str = "attention",
                 numbers: bool = True) -> None:
    """Image + shading layer on ``ax`` (pixel coordinates), region numbers, the whole-image line.

    Args:
        ax: the image axes.
        image: a PIL image or None (an empty white frame of the regions' image size).
        s: the `Shading` to draw.
        names: region names (``"1:black circle"``); the number before ``:`` is written on the image.
        colorbar_ax: axes for the colour bar, or None for none.
        what: what the weights are ("attention", "relevance"), for the colour bar and badge.
        numbers: write region numbers at the painted boxes.
    """
    from PIL import Image

    w, h = s.image_size
    lw, lh = layer_size(s.image_size)
    if image is not None and not hasattr(image, "convert"):  # a path or an array
        image = open_image(image)
    base = image.convert("RGB") if image is not None else Image.new("RGB", (w, h), "white")
    ax.imshow(np.asarray(base), extent=(0, w, h, 0), interpolation="nearest", zorder=0)
    ax.imshow(shading_layer(s, (lw, lh)), extent=(0, w, h, 0), interpolation="antialiased", zorder=1,
              gid="shading")
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_gid("regions")
    if numbers:
        for i in labelled_regions(s):
            x1, y1 = float(s.boxes[i, 0]), float(s.boxes[i, 1])
            edge = CHOSEN if i == s.chosen else (DROPPED if i in s.dropped else _hex(colour(max(s.levels[i], 0.5))))
            gap = frame_extent(s, i, max(lw, lh)) * max(w, h) / max(lw, lh)  # image pixels
            inside = (y1 < 0.08 * h or x1 < 0.05 * w) and gap == 0  # at the edge, unframed: inside the box
            x1, y1 = (x1, y1) if inside else (max(0.0, x1 - gap), max(0.0, y1 - gap))  # never on the frame
            ax.annotate(str(names[i]).split(":")[0], (x1, y1), xytext=(3, -3) if inside else (-2, 2),
                        textcoords="offset points", fontsize=FONT - 1, ha="left" if inside else "right",
                        va="top" if inside else "bottom", zorder=3, annotation_clip=False,
                        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": edge, "linewidth": 1})
    badge = whole_label(s, names, what)
    if badge:
        ax.set_xlabel(badge, fontsize=FONT - 1, color="#444444")
    if colorbar_ax is not None:
        draw_colorbar(colorbar_ax, s, what)


def draw_colorbar(cax, s: Shading, what: str = "attention", horizontal: bool = False) -> None:
    """A colour bar of the frames' colours from 0 to ``s.vmax`` (white up to the uniform level, which
    is marked with a dashed line), captioned with the scale and how peaked the map is
    (``gid="colorbar"``)."""
    ramp = colour(s.level_of(np.linspace(0, s.vmax, 128)))
    label = scale_label(s, what)
    if horizontal:
        cax.imshow(ramp[None, :, :], extent=(0, s.vmax, 0, 1), aspect="auto", interpolation="bilinear",
                   gid="colorbar")
        cax.set_yticks([])
        cax.set_xlim(0, s.vmax)
        cax.tick_params(labelsize=FONT - 1)
        cax.set_xlabel(label, fontsize=FONT - 1, labelpad=1)
        if 0 < s.uniform <= s.vmax:
            cax.axvline(s.uniform, color="black", linestyle="--", linewidth=1, gid="uniform")
    else:
        cax.imshow(ramp[::-1, None, :], extent=(0, 1, 0, s.vmax), aspect="auto", interpolation="bilinear",
                   gid="colorbar")
        cax.set_xticks([])
        cax.yaxis.tick_right()
        cax.yaxis.set_label_position("right")
        cax.tick_params(labelsize=FONT - 1)
        cax.set_ylabel(label, fontsize=FONT - 1)
        cax.set_ylim(0, s.vmax)
        if 0 < s.uniform <= s.vmax:
            cax.axhline(s.uniform, color="black", linestyle="--", linewidth=1, gid="uniform")


def draw_bars(ax, labels, weights, *, levels=None, whole=(), dropped=(), what: str = "attention") -> list:
    """Horizontal bars, one per key, coloured like the boxes; returns the bar patches.

    Args:
        labels: (K,) names; weights: (K,) values.
        levels: (K,) colour-map levels (regions), or None to colour by weight / max (tokens).
        whole: keys drawn as grey hatched bars (whole-image regions, not on the image).
        dropped: keys shown as dropped (grey, labelled).
    """
    w = np.asarray(weights, dtype=np.float64)
    if levels is None:
        top = max(float(np.clip(w, 0, None).max()), 1e-12) if len(w) else 1.0
        levels = np.clip(w / top, 0, 1)
    cols = [_hex(colour(0.25 + 0.75 * lv)) for lv in levels]
    hatch = []
    for i in range(len(w)):
        if i in whole:
            cols[i] = WHOLE_BAR
        if i in dropped:
            cols[i] = "#dddddd"
        hatch.append("//" if i in whole else None)
    y = np.arange(len(w))
    bars = ax.barh(y, w, color=cols, edgecolor="#555555", linewidth=0.5)
    for b, hch in zip(bars, hatch):
        if hch:
            b.set_hatch(hch)
    ax.set_yticks(y, [f"{lab} (whole image)" if i in whole else (f"{lab} (dropped)" if i in dropped else lab)
                      for i, lab in enumerate(labels)], fontsize=FONT)
    ax.invert_yaxis()
    top = float(np.nanmax(w)) if len(w) else 1.0
    lo = min(0.0, float(np.nanmin(w))) if len(w) else 0.0
    ax.set_xlim(lo, max(top, 1e-6) * 1.25)
    for yy, v in zip(y, w):
        ax.text(max(v, 0), yy, f" {v:.2f}", va="center", ha="left", fontsize=FONT - 1)
    ax.set_xlabel(what, fontsize=FONT)
    ax.tick_params(axis="x", labelsize=FONT - 1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return list(bars)


def _hex(rgb) -> str:
    r, g, b = (int(v) for v in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def regions_overlay(image, regions, weights=None, *, what: str = "score", title: str | None = None,
                    vmax: float | None = None, scale: str | None = None):
    """Any `Regions` on its image, shaded by ``weights`` (default: the regions' own ``scores``),
    with a colour bar and the values as bars: the same shading as every attention picture.

    Args:
        image: the image the regions were extracted from (PIL image, path or array), or None.
        regions: `Regions` (padding rows are left out).
        weights: (R,) values to shade by; None: ``regions.scores`` (detector confidence).
        what: what the values are, for the colour bar and the bars.
        title: the figure's title.
        vmax: top of the colour scale, or None.
        scale: `shading.shade`'s scale (``"uniform"``, ``"fixed"`` 0-1, ``"max"``); None: ``"uniform"``
            for weights that sum to 1 (a distribution), ``"fixed"`` for other values in 0..1
            (detector scores), ``"max"`` otherwise.

    Returns:
        the matplotlib `Figure`.

    Example:
        >>> fig = regions_overlay(sample, kit.extract(sample), np.arange(4.0), what="index")
        >>> len(fig.axes[-1].patches)
        4
    """
    from matplotlib.figure import Figure

    n = regions.num_real
    w = np.asarray(regions.scores[:n] if weights is None else weights, dtype=np.float64)[:n]
    if scale is None:
        finite = w[np.isfinite(w)]
        scale = ("uniform" if len(finite) and abs(finite.sum() - 1) < 1e-3 and finite.min() >= 0
                 else "fixed" if len(finite) and finite.min() >= 0 and finite.max() <= 1 else "max")
    s = shade(regions.boxes[:n], w, regions.image_size, vmax=vmax, scale=scale)
    names = regions.names()[:n]
    fig = Figure(figsize=(10.5, 4.6), layout="constrained")
    ax, cax, bax = fig.subplots(1, 3, gridspec_kw={"width_ratios": [4, 0.18, 3.2]})
    ax.set_anchor("E")
    draw_regions(ax, image, s, names, colorbar_ax=cax, what=what)
    draw_bars(bax, names, w, levels=s.levels, whole=s.whole, what=what)
    if title:
        fig.suptitle(title, fontsize=FONT + 1)
    return fig
