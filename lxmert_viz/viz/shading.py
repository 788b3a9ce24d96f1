"""Region weights on the image: the one code path that turns weights into marks on a picture.

Shape letters: R regions, H x W the shading layer's pixels.

Every picture of "how much each region gets" (the views' SVG panels, the static matplotlib figures,
the data-set examples, the command line's PNG) goes through `shade` and `shading_layer`, so a weight
looks the same everywhere.

The encoding: a frame outside the box, never paint on the object.
  The kit's main demo asks colour questions, so the attended object's own pixels are the evidence:
  any fill over them, however light, shifts their hue (teal read steel blue and yellow read mustard
  under the old 30 % purple fill). A heat map blended over the image, a halo that bleeds inwards or
  a fill clipped to "background" pixels (which needs a segmentation the detector does not give)
  each change or hide some of those pixels. A frame drawn strictly outside the box, whose width and
  colour follow the weight, changes none: every pixel inside every box keeps its value (a test
  measures it), and frame width is a length judgement, which people read more accurately than
  colour intensity. The frame sits on a thin white line so that it shows on dark and light
  backgrounds; its colours come from one perceptual sequential map, white to deep purple
  (ColorBrewer's RdPu), a hue that no shapes-world colour uses. Labels go outside the box too.

* A region whose box covers (almost) the whole image, such as the shapes world's "scene" row, is
  never framed: its weight is reported beside the image instead (`Shading.whole`).
* Honest scale (the default, ``scale="uniform"``): the colour map starts at the uniform level
  ``u`` (the weight every region would get if the map were flat: 1/R for attention, mean positive
  weight otherwise) and reaches full colour at ``max(largest weight, PEAK_FULL * u)``. A region at
  or below uniform gets no frame, so a near-uniform map looks weak, not strong; and full colour
  needs a map that is at least `PEAK_FULL` times as peaked as uniform. The caption says how peaked
  the map is (``peak = largest / uniform``) and the colour bar marks ``u``.
* ``scale="fixed"``: the scale is 0 to 1 (attention probabilities as they are), one argument away.
  ``scale="max"`` is the old per-picture 0-to-largest scale, and ``vmax`` still sets the top of the
  scale (a shared top compares several pictures).

This module draws with numpy and PIL only (no plotting library), so the command line can use it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..inputs.regions import WHOLE_IMAGE, Regions

# ColorBrewer RdPu, sampled at 9 even steps (white -> deep purple): the one colour map of weights.
CMAP_RGB = np.array([(255, 247, 243), (252, 223, 220), (251, 196, 191), (249, 158, 180), (246, 103, 160),
                     (220, 51, 150), (172, 1, 125), (120, 0, 118), (73, 0, 106)], dtype=np.float64)
CMAP_NAME = "RdPu"
MAX_FILL = 0.0           # no fill over any object: the weight is the frame outside the box
PEAK_FULL = 4.0          # full colour needs a map at least this many times as peaked as uniform
MIN_OUTLINE_LEVEL = 0.04  # boxes below this share of the scale get no frame (reads as "no weight")
SCALES = ("uniform", "fixed", "max")
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
    """Fill opacity for ``level`` in 0..1: always 0 (the object's pixels are never painted)."""
    return MAX_FILL * np.clip(np.asarray(level, dtype=np.float64), 0.0, 1.0)


def seen_on_white(level) -> np.ndarray:
    """(..., 3) uint8: the frame colours (the colour bar's colours)."""
    return colour(level)


def colourscale(n: int = 9, on_white: bool = False) -> list[list]:
    """A plotly colourscale of the map (``on_white``: as the fill looks on white)."""
    lv = np.linspace(0, 1, n)
    rgb = seen_on_white(lv) if on_white else colour(lv)
    return [[float(x), f"rgb({r},{g},{b})"] for x, (r, g, b) in zip(lv, rgb)]


def outline_width(level: float) -> float:
    """Frame width in layer pixels at the reference size (`LAYER_SIDE`): 2 px (weak) to 12 px (full)."""
    return 2.0 + 10.0 * float(np.clip(level, 0.0, 1.0))


def frame_extent(s: Shading, i: int, layer_side: int = LAYER_SIDE) -> float:
    """How far region ``i``'s frame reaches outside its box, in pixels of a layer whose longer side is
    ``layer_side`` (labels are placed beyond it, so they never cover the weight)."""
    unit = layer_side / LAYER_SIDE
    chosen = max(2, round(4 * unit)) + 2 if i == s.chosen else 0
    return weight_extent(s, i, layer_side) + chosen


def weight_extent(s: Shading, i: int, layer_side: int = LAYER_SIDE) -> float:
    """How far region ``i``'s weight frame (with its white line) reaches outside its box."""
    unit = layer_side / LAYER_SIDE
    lv = float(s.levels[i])
    if lv < MIN_OUTLINE_LEVEL or not s.painted[i]:
        return 0.0
    return max(1, round(outline_width(lv) * unit)) + max(1, round(unit)) + 1


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
        levels: (R,) (weight - lo) / (vmax - lo) in 0..1, 0 for whole-image, dropped and negative
            regions and for weights at or below ``lo``.
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
    lo: float = 0.0
    uniform: float = 0.0
    scale: str = "max"

    @property
    def alphas(self) -> np.ndarray:
        """(R,) strength of each box's mark (its level; 0 for the ones not framed)."""
        return np.asarray(self.levels, dtype=np.float64).copy()

    @property
    def peak(self) -> float:
        """How peaked the map is: largest weight / uniform level (1.0 = flat; 0 when unknown)."""
        top = float(np.clip(self.weights, 0, None).max()) if len(self.weights) else 0.0
        return top / self.uniform if self.uniform > 0 else 0.0

    def level_of(self, value) -> np.ndarray:
        """The colour-map level of ``value`` on this picture's scale (the colour bar's mapping)."""
        v = np.asarray(value, dtype=np.float64)
        return np.clip((v - self.lo) / max(self.vmax - self.lo, 1e-12), 0.0, 1.0)


def shade(boxes, weights, image_size, *, vmax: float | None = None, dropped=(), chosen: int | None = None,
          paint: bool = True, scale: str = "uniform") -> Shading:
    """Decide the shading of every region (see the module docstring for the rules).

    Args:
        boxes: (R, 4) pixel boxes.
        weights: (R,) weights (attention or relevance); None or ``paint=False``: draw no fill
            (e.g. a region query whose weights are over words).
        image_size: (W, H).
        vmax: top of the colour scale; None: from ``scale``.
        scale: ``"uniform"`` (default): from the uniform level to ``max(largest, PEAK_FULL *
            uniform)``; ``"fixed"``: 0 to 1; ``"max"``: 0 to the largest weight (whole-image
            regions included).
        dropped: regions masked out of the run.
        chosen: a region to outline as the query.

    Returns:
        a `Shading`.

    Example:
        >>> s = shade([[0, 0, 10, 10], [2, 2, 4, 4]], [0.8, 0.2], (10, 10), scale="max")
        >>> s.whole, s.levels.tolist(), round(s.vmax, 2)
        ((0,), [0.0, 0.25], 0.8)
        >>> flat = shade([[0, 0, 10, 10], [2, 2, 4, 4], [6, 6, 8, 8]], [0.33, 0.33, 0.34], (10, 10))
        >>> round(flat.peak, 2), bool(flat.levels.max() < 0.05)
        (1.02, True)
    """
    if scale not in SCALES:
        raise InputError(f"scale must be one of {SCALES}, got {scale!r}")
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n = len(b)
    w = np.zeros(n) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(w) != n:
        raise InputError(f"{len(w)} weights for {n} boxes")
    w = np.where(np.isfinite(w), w, 0.0)
    whole = whole_image(b, image_size)
    gone = np.zeros(n, bool)
    gone[[int(i) for i in dropped]] = True
    pos = np.clip(w, 0, None)
    top = float(pos.max()) if n else 0.0
    uniform = float(pos.sum()) / n if n else 0.0  # 1/R when the weights are a distribution
    lo = 0.0
    if scale == "uniform":
        lo = uniform
        hi = max(top, PEAK_FULL * uniform)
    elif scale == "fixed":
        hi = 1.0
    else:
        hi = top
    hi = float(vmax) if vmax is not None else hi
    if hi <= lo:
        lo = 0.0
    painted = ~whole & ~gone
    levels = np.zeros(n)
    if paint and weights is not None and hi > 0:
        levels = np.where(painted, np.clip((w - lo) / max(hi - lo, 1e-12), 0.0, 1.0), 0.0)
    return Shading(b, w, (int(image_size[0]), int(image_size[1])), hi if hi > 0 else 1.0, levels,
                   painted, tuple(int(i) for i in np.flatnonzero(whole)), tuple(int(i) for i in np.flatnonzero(gone)),
                   None if chosen is None else int(chosen), lo, uniform, scale)


def region_state(s: Shading, i: int, paint: bool, what: str, weight: str) -> str:
    """What a region's tooltip says: dropped, its weight (``weight``: the value as text, or a hover
    template's placeholder), the whole-image note; or, for a picture that paints no weight, whether it
    is the query region."""
    if not paint:
        return "the query region" if i == s.chosen else "region"
    state = "dropped" if i in s.dropped else f"{what} {weight}"
    return state + " (whole image, not painted)" if i in s.whole else state


def honest_top(a, keys: int | None = None) -> float:
    """Top of a heat map's colour scale for attention ``a`` over ``keys`` keys: its largest value, but
    never below ``PEAK_FULL`` times uniform (capped at 1), so a near-uniform map stays dark instead of
    being stretched to full colour (the same rule as `shade`'s default scale)."""
    arr = np.asarray(a, dtype=np.float64)
    k = int(keys or (arr.shape[-1] if arr.ndim else 1))
    top = float(np.nanmax(arr)) if arr.size else 0.0
    return max(top, min(1.0, PEAK_FULL / max(k, 1)), 1e-6)


def layer_size(image_size: tuple[int, int], side: int = LAYER_SIDE) -> tuple[int, int]:
    """(W, H) of the shading layer: the image scaled so that its longer side is ``side`` pixels."""
    w, h = image_size
    k = side / max(w, h)
    return max(1, round(w * k)), max(1, round(h * k))


def shading_layer(s: Shading, size: tuple[int, int] | None = None) -> np.ndarray:
    """(H, W, 4) uint8 RGBA layer to put over the image: fills, outlines, dropped and chosen boxes.

    Nothing is drawn inside a box (the object keeps its pixels): each weighted box gets a frame just
    outside it, width and colour by level, over a thin white line so that it shows on dark and
    light backgrounds alike; the strongest frame is drawn last, on top.
    """
    from PIL import Image, ImageDraw

    lw, lh = size or layer_size(s.image_size)
    kx, ky = lw / s.image_size[0], lh / s.image_size[1]
    px = np.column_stack([s.boxes[:, 0] * kx, s.boxes[:, 1] * ky, s.boxes[:, 2] * kx, s.boxes[:, 3] * ky])
    rgba = np.zeros((lh, lw, 4), np.uint8)
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
        if lv < MIN_OUTLINE_LEVEL or not s.painted[i]:
            continue
        wd = max(1, round(outline_width(lv) * unit))
        _outside(draw, px[i], (255, 255, 255, 255), wd + max(1, round(unit)) + 1, lw, lh)
        _outside(draw, px[i], (*(int(v) for v in colour(lv)), 255), wd, lw, lh)
    if s.chosen is not None:  # the chosen region's outline goes outside its weight frame: both stay visible
        k = s.chosen
        gap = weight_extent(s, k, max(lw, lh))
        wd = max(2, round(4 * unit))
        box = [px[k][0] - gap, px[k][1] - gap, px[k][2] + gap, px[k][3] + gap]
        _outside(draw, box, (255, 255, 255, 255), wd + 2, lw, lh)
        _outside(draw, box, _rgb(CHOSEN) + (255,), wd, lw, lh)
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
    """The colour bar's caption, e.g. ``"attention, uniform 0.125 to 0.5 · peak 3.2x uniform"``."""
    if s.scale == "uniform" and s.lo > 0:
        return f"{what}, uniform {s.lo:.2g} to {s.vmax:.2g} · peak {s.peak:.1f}x uniform"
    return f"{what}, {s.lo:.2g} to {s.vmax:.3g}" + (f" · peak {s.peak:.1f}x uniform" if s.uniform > 0 else "")


def peak_label(s: Shading) -> str:
    """How peaked the map is, in words, e.g. ``"peak 1.0x uniform: flat"``."""
    p = s.peak
    word = "flat" if p < 1.5 else ("weakly peaked" if p < PEAK_FULL else "peaked")
    return f"peak {p:.1f}x uniform: {word}"


def whole_label(s: Shading, names, what: str = "attention") -> str:
    """One short line on the whole-image regions (never shaded), e.g. ``"0:scene 0.42 (whole image)"``."""
    if not s.whole:
        return ""
    parts = [f"{names[i]} {s.weights[i]:.2f} (whole image)" for i in s.whole]  # short: fits under a small panel
    return "; ".join(parts)
