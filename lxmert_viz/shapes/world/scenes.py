"""Scene generator of the shapes world: solid circles, rectangles and triangles on a plain background.

Shape letters: H height, W width (pixels), N objects.

A scene is a deterministic function of its seed (``numpy.random.default_rng(seed)``). Objects never
overlap and keep ``gap`` pixels apart (so connected components separate them) and ``margin`` pixels
off the border. A "plain" scene is drawn like easy-vqa's: filled, one solid palette colour,
anti-aliased by drawing at 4x and box-filtering down, triangles isosceles and pointing up. A
"varied" scene (``style="varied"``, what the model trains on) has the same layout, then colours,
proportions, triangles, background and rendering varied as a person's drawing would vary them
(``variation.py``).

Boxes are integer pixels ``(x1, y1, x2, y2)`` with x1, y1 inclusive and x2, y2 exclusive: the object
covers columns ``x1 .. x2-1`` and rows ``y1 .. y2-1``; width is ``x2 - x1``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ...errors import InputError
from .palette import COLORS, RGB, SHAPES, TINT_RANGE, WHITE
from .variation import PLAIN, Look, degrade, variation_rng, vary_background, vary_color, vary_geometry, vary_look

STYLES = ("plain", "varied")

SUPERSAMPLE = 4
"""Drawing scale before box-filtering down: gives easy-vqa-like anti-aliased edges."""


@dataclass(frozen=True)
class SceneObject:
    """One shape in a scene.

    Args:
        shape: one of ``SHAPES``.
        color: one of ``COLORS`` (its name).
        box: ``(x1, y1, x2, y2)`` integer pixels, x1/y1 inclusive, x2/y2 exclusive.
        rgb: the colour it is drawn in; ``None``: easy-vqa's colour of that name (``palette.RGB``).
        apex: triangles: where along the box's far side the apex lies (0..1; 0.5 isosceles).
        pointing: triangles: ``up`` (base at the bottom), ``down``, ``left`` or ``right``.
    """

    shape: str
    color: str
    box: tuple[int, int, int, int]
    rgb: tuple[int, int, int] | None = None
    apex: float = 0.5
    pointing: str = "up"

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    @property
    def center(self) -> tuple[float, float]:
        """Box centre ``(x, y)`` in pixels."""
        return ((self.box[0] + self.box[2]) / 2.0, (self.box[1] + self.box[3]) / 2.0)

    @property
    def area(self) -> float:
        """Geometric area of the drawn shape in pixels (ellipse pi w h / 4, triangle w h / 2)."""
        w, h = self.width, self.height
        if self.shape == "circle":
            return math.pi * w * h / 4.0
        if self.shape == "triangle":
            return w * h / 2.0
        return float(w * h)

    @property
    def name(self) -> str:
        """``"<color> <shape>"``, e.g. ``"red circle"``."""
        return f"{self.color} {self.shape}"


@dataclass(frozen=True)
class Scene:
    """A rendered scene.

    Args:
        image: PIL RGB image, ``size x size``.
        objects: the shapes, in drawing order (never overlapping).
        seed: the seed that made it.
        background: RGB background colour.
        look: how it was rendered (supersampling, blur, resize and JPEG round trips).
    """

    image: Image.Image
    objects: tuple[SceneObject, ...]
    seed: int
    background: tuple[int, int, int] = WHITE
    look: Look = Look()

    @property
    def size(self) -> int:
        return self.image.size[0]


def _boxes_clear(box: tuple[int, int, int, int], others: list[tuple[int, int, int, int]], gap: int) -> bool:
    """True when ``box`` keeps at least ``gap`` empty pixels from every box in ``others``."""
    x1, y1, x2, y2 = box
    for a1, b1, a2, b2 in others:
        if x1 < a2 + gap and a1 < x2 + gap and y1 < b2 + gap and b1 < y2 + gap:
            return False
    return True


def layout_scene(
    seed: int,
    size: int = 128,
    min_objects: int = 1,
    max_objects: int = 6,
    side_range: tuple[float, float] = (0.09, 0.34),
    gap: int = 4,
    margin: int = 2,
    background: str | tuple[int, int, int] = "white",
    style: str = "plain",
) -> tuple[tuple[SceneObject, ...], tuple[int, int, int]]:
    """Objects and background of a scene, without drawing it (fast; used for question data sets).

    Args:
        seed: any int; the same seed gives the same layout.
        size: image side in pixels.
        min_objects: fewest objects (>= 1).
        max_objects: most objects.
        side_range: object side as a fraction of ``size``, sampled log-uniformly so sizes vary a lot.
        gap: least empty pixels between two object boxes.
        margin: least empty pixels between a box and the border.
        background: ``"white"``, ``"tint"`` (easy-vqa's random off-white) or an RGB triple;
            a varied scene draws its own.
        style: ``"plain"`` or ``"varied"`` (the same layout, then ``vary_objects``).

    Returns:
        ``(objects, background_rgb)``.
    """
    if style not in STYLES:
        raise InputError(f"style must be one of {STYLES}, got {style!r}")
    if not 1 <= min_objects <= max_objects:
        raise InputError(f"need 1 <= min_objects <= max_objects, got {min_objects}, {max_objects}")
    rng = np.random.default_rng(seed)
    n = int(rng.integers(min_objects, max_objects + 1))
    if background == "white":
        bg = WHITE
    elif background == "tint":
        bg = tuple(int(v) for v in rng.integers(TINT_RANGE[0], TINT_RANGE[1] + 1, size=3))
    else:
        bg = tuple(int(v) for v in background)  # type: ignore[union-attr]
    lo, hi = side_range
    objects: list[SceneObject] = []
    scale = 1.0
    tries = 0
    while len(objects) < n:
        tries += 1
        if tries % 200 == 0:  # crowded: shrink new objects until they fit
            scale *= 0.8
        if tries > 2000:
            if len(objects) >= min_objects:
                break
            raise RuntimeError(f"cannot place {min_objects} objects in a {size}px scene")
        shape = SHAPES[int(rng.integers(len(SHAPES)))]
        color = COLORS[int(rng.integers(len(COLORS)))]
        side = size * scale * math.exp(rng.uniform(math.log(lo), math.log(hi)))
        if shape == "circle":
            w = h = side
        elif shape == "rectangle":
            w, h = (side, side * rng.uniform(0.45, 1.0)) if rng.random() < 0.5 else (side * rng.uniform(0.45, 1.0), side)
        else:
            w, h = side, side * rng.uniform(0.75, 1.0)
        w, h = max(4, int(round(w))), max(4, int(round(h)))
        if w + 2 * margin > size or h + 2 * margin > size:
            continue
        x1 = int(rng.integers(margin, size - margin - w + 1))
        y1 = int(rng.integers(margin, size - margin - h + 1))
        box = (x1, y1, x1 + w, y1 + h)
        if _boxes_clear(box, [o.box for o in objects], gap):
            objects.append(SceneObject(shape, color, box))
    if style == "varied":
        return vary_objects(tuple(objects), variation_rng(seed, "objects"))
    return tuple(objects), bg  # type: ignore[return-value]


def vary_objects(objects: tuple[SceneObject, ...], rng: np.random.Generator):
    """A varied copy of a layout: colours, proportions and triangles as in ``variation.py``.

    Boxes keep their top-left corner and only shrink, so the layout's gaps stay. Returns
    ``(objects, background_rgb)``.
    """
    out = []
    for o in objects:
        w, h, apex, pointing = vary_geometry(o.shape, o.width, o.height, rng)
        x1, y1 = o.box[:2]
        out.append(SceneObject(o.shape, o.color, (x1, y1, x1 + w, y1 + h), vary_color(o.color, rng), apex, pointing))
    return tuple(out), vary_background(rng)


def triangle_points(box, apex: float = 0.5, pointing: str = "up"):
    """The three corners of a triangle drawn in ``box`` (float pixel coordinates, PIL's inclusive ends).

    Its base lies along one side of the box and its apex on the opposite side, ``apex`` of the way
    along it; so the triangle's area is always half the box's.
    """
    x1, y1, x2, y2 = box
    xe, ye = x2 - 1, y2 - 1
    if pointing == "up":
        return [(x1, ye), (xe, ye), (x1 + apex * (xe - x1), y1)]
    if pointing == "down":
        return [(x1, y1), (xe, y1), (x1 + apex * (xe - x1), ye)]
    if pointing == "left":
        return [(xe, y1), (xe, ye), (x1, y1 + apex * (ye - y1))]
    if pointing == "right":
        return [(x1, y1), (x1, ye), (xe, y1 + apex * (ye - y1))]
    raise InputError(f"pointing must be up, down, left or right, got {pointing!r}")


def render_objects(
    objects: tuple[SceneObject, ...] | list[SceneObject],
    size: int,
    background: tuple[int, int, int] = WHITE,
    scale: float = 1.0,
    look: Look = PLAIN,
) -> Image.Image:
    """Draw objects on a plain ``size x size`` background.

    Args:
        objects: shapes with boxes in the pixel frame of the scene they came from.
        size: side of the output image in pixels.
        background: RGB background.
        scale: factor applied to every box first (``new_size / old_size`` to re-render a scene).
        look: supersampling (anti-aliasing) and the blur / resize / JPEG round trips after it.

    Returns:
        PIL RGB image.
    """
    k = look.supersample
    s = k * scale
    big = Image.new("RGB", (size * k, size * k), tuple(background))
    draw = ImageDraw.Draw(big)
    for o in objects:
        x1, y1, x2, y2 = (v * s for v in o.box)
        fill = o.rgb if o.rgb is not None else RGB[o.color]
        # PIL boxes are inclusive of their last pixel, ours exclusive: end at x2 - 1
        if o.shape == "circle":
            draw.ellipse([x1, y1, x2 - 1, y2 - 1], fill=fill)
        elif o.shape == "rectangle":
            draw.rectangle([x1, y1, x2 - 1, y2 - 1], fill=fill)
        else:
            draw.polygon(triangle_points((x1, y1, x2, y2), o.apex, o.pointing), fill=fill)
    image = big.resize((size, size), Image.BOX) if k > 1 else big
    return degrade(image, look)


def generate_scene(
    seed: int,
    size: int = 128,
    min_objects: int = 1,
    max_objects: int = 6,
    **layout_kwargs,
) -> Scene:
    """A rendered multi-object scene, deterministic in ``seed``.

    Args:
        seed: any int.
        size: image side in pixels.
        min_objects: fewest objects.
        max_objects: most objects.
        **layout_kwargs: ``side_range``, ``gap``, ``margin``, ``background``, ``style`` of
            ``layout_scene``; a varied scene also gets a varied ``Look``.

    Returns:
        The ``Scene``.

    Example:
        >>> s = generate_scene(0)
        >>> s.image.size, 1 <= len(s.objects) <= 6
        ((128, 128), True)
        >>> v = generate_scene(0, style="varied")
        >>> [o.box[:2] for o in v.objects] == [o.box[:2] for o in s.objects]  # same layout
        True
    """
    objects, bg = layout_scene(seed, size, min_objects, max_objects, **layout_kwargs)
    look = Look()
    if layout_kwargs.get("style", "plain") == "varied":
        look = vary_look(variation_rng(seed, "look"))
    return Scene(render_objects(objects, size, bg, look=look), objects, seed, bg, look)


def generate_easyvqa_like(seed: int, size: int = 64) -> Scene:
    """A single-shape scene in easy-vqa's style: 64x64, off-white tint, one shape of varied size.

    Args:
        seed: any int.
        size: image side (easy-vqa uses 64).

    Returns:
        The ``Scene`` (one object).
    """
    return generate_scene(seed, size, 1, 1, side_range=(0.15, 0.65), background="tint")


def rescale_scene(scene: Scene, size: int) -> Scene:
    """Re-draw a scene at another resolution (boxes scaled and rounded to whole pixels).

    Args:
        scene: the scene.
        size: new image side in pixels.

    Returns:
        A new ``Scene`` whose object boxes are in the new pixel frame.
    """
    f = size / scene.size
    objects = tuple(
        SceneObject(o.shape, o.color, tuple(int(round(v * f)) for v in o.box), o.rgb, o.apex, o.pointing)  # type: ignore[arg-type]
        for o in scene.objects
    )
    image = render_objects(objects, size, scene.background, look=scene.look)
    return Scene(image, objects, scene.seed, scene.background, scene.look)
