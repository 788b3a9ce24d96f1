"""Region weights on the image: the one code path that turns weights into shading.

Shape letters: R regions, H x W the shading layer's pixels.

Every picture of "how much each region gets" (the attention overlay, the explanation panels, the
masking widget, the command line's PNG) goes through `shade` and `shading_layer`, so a weight looks
the same everywhere:

* A region whose box covers (almost) the whole image, such as the shapes world's "scene" row, is
  never painted: painting it would tint the entire picture whenever it gets weight. Its weight is
  reported beside the image instead (`Shading.whole`).
* Each other box gets a light fill whose opacity is proportional to its weight (at most
  `MAX_FILL`, so the object under it keeps its colour) and an outline drawn just outside the box,
  whose width and colour follow the weight. Colours come from one perceptual sequential map,
  white to deep purple (ColorBrewer's RdPu), a hue that no shapes-world colour uses.
* The scale runs from 0 to ``vmax``: the largest weight of any region, whole-image ones included
  (so when the scene row takes most of the weight, the objects stay pale), unless the caller
  passes a shared ``vmax`` to compare several pictures on one scale.

This module draws with numpy and PIL only (no plotting library), so the command line can use it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..inputs.regions import WHOLE_IMAGE, Regions

# ColorBrewer RdPu, sampled at 9 even steps (white -> deep purple): the one colour map of weights.
CMAP_RGB = np.array([(255, 247, 243), (252, 223, 220), (251, 196, 191), (249, 158, 180), (246, 103, 160),
                     (220, 51, 150), (172, 1, 125), (120, 0, 118), (73, 0, 106)], dtype=np.float64)
CMAP_NAME = "RdPu"
MAX_FILL = 0.3           # fill opacity of the largest weight: the object under it keeps its colour
MIN_OUTLINE_LEVEL = 0.06  # boxes below this share of the scale get no outline (clutter on photos)
CHOSEN = "#e08a00"       # a chosen query region's outline (amber)
DROPPED = "#555555"      # a masked-out region (dashed)
LAYER_SIDE = 512         # the shading layer's longer side in pixels


def colour(level) -> np.ndarray:
    """(..., 3) uint8 RGB of the colour map at ``level`` in 0..1 (clipped)."""
    lv = np.clip(np.asarray(level, dtype=np.float64), 0.0, 1.0)
    xs = np.linspace(0.0, 1.0, len(CMAP_RGB))
    return np.stack([np.interp(lv, xs, CMAP_RGB[:, c]) for c in range(3)], -1).round().astype(np.uint8)


def colour_hex(level: float) -> str:
    r, g, b = (int(v) for v in colour(level))
    return f"#{r:02x}{g:02x}{b:02x}"


def fill_alpha(level) -> np.ndarray:
    """Fill opacity for ``level`` in 0..1."""
    return MAX_FILL * np.clip(np.asarray(level, dtype=np.float64), 0.0, 1.0)


def seen_on_white(level) -> np.ndarray:
    """(..., 3) uint8: what a filled box looks like over a white background (the colour bar's colours)."""
    a = fill_alpha(level)[..., None]
    return (255.0 * (1 - a) + colour(level) * a).round().astype(np.uint8)


def colourscale(n: int = 9, on_white: bool = False) -> list[list]:
    """A plotly colourscale of the map (``on_white``: as the fill looks on white)."""
    lv = np.linspace(0, 1, n)
    rgb = seen_on_white(lv) if on_white else colour(lv)
    return [[float(x), f"rgb({r},{g},{b})"] for x, (r, g, b) in zip(lv, rgb)]


def outline_width(level: float) -> float:
    """Outline width in layer pixels at the reference size (`LAYER_SIDE`)."""
    return 1.5 + 6.5 * float(np.clip(level, 0.0, 1.0))


def whole_image(boxes: np.ndarray, image_size: tuple[int, int], share: float = WHOLE_IMAGE) -> np.ndarray:
    """(R,) True where a box covers at least ``share`` of the image (`Regions.whole_image`)."""
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return Regions(b, np.zeros((len(b), 1), np.float32), image_size).whole_image(share)


@dataclass(frozen=True)
class Shading:
    """How one picture shades its regions (plain values; `shading_layer` draws them).

    Attributes:
        boxes: (R, 4) pixel boxes.
        weights: (R,) the weights drawn (negative ones count as 0).
        image_size: (W, H).
        vmax: the top of the scale (level 1).
        levels: (R,) weight / vmax in 0..1, 0 for whole-image, dropped and negative regions.
        painted: (R,) bool, the boxes drawn on the image (not whole-image, not dropped).
        whole: indices of whole-image regions (reported beside the image, never painted).
        dropped: indices of masked-out regions (dashed outline, no fill).
        chosen: a region outlined as the query, or None.
    """

    boxes: np.ndarray
    weights: np.ndarray
    image_size: tuple[int, int]
    vmax: float
    levels: np.ndarray
    painted: np.ndarray
    whole: tuple[int, ...]
    dropped: tuple[int, ...]
    chosen: int | None

    @property
    def alphas(self) -> np.ndarray:
        """(R,) fill opacity of each box (0 for the ones not painted)."""
        return fill_alpha(self.levels)


def shade(boxes, weights, image_size, *, vmax: float | None = None, dropped=(), chosen: int | None = None,
          paint: bool = True) -> Shading:
    """Decide the shading of every region (see the module docstring for the rules).

    Args:
        boxes: (R, 4) pixel boxes.
        weights: (R,) weights (attention or relevance); None or ``paint=False``: draw no fill
            (e.g. a region query whose weights are over words).
        image_size: (W, H).
        vmax: top of the colour scale; None: the largest weight (whole-image regions included).
        dropped: regions masked out of the run.
        chosen: a region to outline as the query.

    Returns:
        a `Shading`.

    Example:
        >>> s = shade([[0, 0, 10, 10], [2, 2, 4, 4]], [0.8, 0.2], (10, 10))
        >>> s.whole, s.levels.tolist(), round(s.vmax, 2)
        ((0,), [0.0, 0.25], 0.8)
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n = len(b)
    w = np.zeros(n) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(w) != n:
        raise ValueError(f"{len(w)} weights for {n} boxes")
    w = np.where(np.isfinite(w), w, 0.0)
    whole = whole_image(b, image_size)
    gone = np.zeros(n, bool)
    gone[[int(i) for i in dropped]] = True
    top = float(np.clip(w, 0, None).max()) if n else 0.0
    scale = float(vmax) if vmax is not None else top
    painted = ~whole & ~gone
    levels = np.zeros(n)
    if paint and weights is not None and scale > 0:
        levels = np.where(painted, np.clip(w / scale, 0.0, 1.0), 0.0)
    return Shading(b, w, (int(image_size[0]), int(image_size[1])), scale if scale > 0 else 1.0, levels,
                   painted, tuple(int(i) for i in np.flatnonzero(whole)), tuple(int(i) for i in np.flatnonzero(gone)),
                   None if chosen is None else int(chosen))


def layer_size(image_size: tuple[int, int], side: int = LAYER_SIDE) -> tuple[int, int]:
    """(W, H) of the shading layer: the image scaled so that its longer side is ``side`` pixels."""
    w, h = image_size
    k = side / max(w, h)
    return max(1, round(w * k)), max(1, round(h * k))


def shading_layer(s: Shading, size: tuple[int, int] | None = None) -> np.ndarray:
    """(H, W, 4) uint8 RGBA layer to put over the image: fills, outlines, dropped and chosen boxes.

    Where boxes overlap, a pixel takes the largest level of the boxes that cover it (a heat map
    from box masks; a sum would tint everything under a detector's many overlapping boxes). Outlines are drawn just outside each box,
    over a thin white line, so they show on dark and light objects alike.
    """
    from PIL import Image, ImageDraw

    lw, lh = size or layer_size(s.image_size)
    kx, ky = lw / s.image_size[0], lh / s.image_size[1]
    px = np.column_stack([s.boxes[:, 0] * kx, s.boxes[:, 1] * ky, s.boxes[:, 2] * kx, s.boxes[:, 3] * ky])
    rgba = np.zeros((lh, lw, 4), np.uint8)
    for i in np.argsort(s.levels, kind="stable"):  # ascending: a stronger box overwrites a weaker one (max)
        lv = float(s.levels[i])
        if lv <= 0:
            continue
        x1, y1, x2, y2 = (int(round(v)) for v in px[i])
        rgba[max(y1, 0):y2, max(x1, 0):x2] = (*(int(v) for v in colour(lv)), int(round(255 * float(fill_alpha(lv)))))
    layer = Image.fromarray(rgba, "RGBA")
    draw = ImageDraw.Draw(layer)
    unit = max(lw, lh) / LAYER_SIDE
    order = np.argsort(s.levels)  # strongest outline drawn last, on top
    for i in order:
        lv = float(s.levels[i])
        if i in s.dropped:  # masked out: greyed, crossed and dashed, so it reads as "removed"
            x1, y1, x2, y2 = (float(v) for v in px[i])
            draw.rectangle([x1, y1, x2, y2], fill=(120, 120, 120, 110))
            for seg in ([x1, y1, x2, y2], [x1, y2, x2, y1]):
                draw.line(seg, fill=_rgb(DROPPED) + (230,), width=max(2, round(2 * unit)))
            _dashed(draw, px[i], DROPPED, max(3, round(3 * unit)))
            continue
        if i == s.chosen or lv < MIN_OUTLINE_LEVEL or not s.painted[i]:
            continue
        wd = max(1, round(outline_width(lv) * unit))
        _outside(draw, px[i], (255, 255, 255, 255), wd + max(1, round(unit)) + 1, lw, lh)
        _outside(draw, px[i], (*(int(v) for v in colour(lv)), 255), wd, lw, lh)
    if s.chosen is not None:
        wd = max(2, round(6 * unit))
        _outside(draw, px[s.chosen], (255, 255, 255, 255), wd + 2, lw, lh)
        _outside(draw, px[s.chosen], _rgb(CHOSEN) + (255,), wd, lw, lh)
    return np.asarray(layer)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _outside(draw, box, fill, width: int, lw: int, lh: int) -> None:
    """A rectangle outline ``width`` pixels wide just outside ``box`` (inside the layer)."""
    x1, y1, x2, y2 = box
    o = [max(0, x1 - width), max(0, y1 - width), min(lw - 1, x2 + width - 1), min(lh - 1, y2 + width - 1)]
    draw.rectangle(o, outline=fill, width=width)


def _dashed(draw, box, colour_hex_: str, width: int) -> None:
    x1, y1, x2, y2 = (float(v) for v in box)
    fill = _rgb(colour_hex_) + (255,)
    dash = 4 * width
    for a, b, horizontal, fixed in ((x1, x2, True, y1), (x1, x2, True, y2), (y1, y2, False, x1), (y1, y2, False, x2)):
        t = a
        while t < b:
            e = min(b, t + dash)
            seg = [t, fixed, e, fixed] if horizontal else [fixed, t, fixed, e]
            draw.line(seg, fill=fill, width=width)
            t += 2 * dash


def composite(image, s: Shading, size: tuple[int, int] | None = None):
    """The image (PIL) resized to the layer size with the shading layer on top (RGB PIL image)."""
    from PIL import Image

    lw, lh = size or layer_size(s.image_size)
    base = (image.convert("RGB") if image is not None else Image.new("RGB", s.image_size, "white"))
    resample = Image.NEAREST if lw >= base.width else Image.LANCZOS
    base = base.resize((lw, lh), resample).convert("RGBA")
    return Image.alpha_composite(base, Image.fromarray(shading_layer(s, (lw, lh)), "RGBA")).convert("RGB")


def scale_label(s: Shading, what: str = "attention") -> str:
    """The colour bar's caption, e.g. ``"attention, 0 to 0.74"``."""
    return f"{what}, 0 to {s.vmax:.3g}"


def whole_label(s: Shading, names, what: str = "attention") -> str:
    """One line on the whole-image regions, e.g. ``"whole image (0:scene): 0.42, not shaded"``."""
    if not s.whole:
        return ""
    parts = [f"whole image ({names[i]}): {s.weights[i]:.2f}, not shaded" for i in s.whole]
    return "; ".join(parts)
