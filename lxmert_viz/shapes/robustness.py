"""An independent robustness set: shapes drawn by a second routine, in colours from other palettes.

Shape letters: W width, H height (pixels), N objects.

Nothing here shares code with the scene generator (``world/scenes.py``, ``world/variation.py``):
its own layout, its own drawing (Pillow at 1x, 2x or 3x then Lanczos, rather than 4x and a box
filter), its own image sizes (96..256 px, not always square), its own backgrounds, its own JPEG
and blur, and its own colours: named colours from CSS, Microsoft Paint and Office, Google Docs,
Apple's system colours and Tailwind that a person calls by one of the world's eight names
(``DRAWN_COLORS``, with their source). Colours whose name people split on (CSS "firebrick" and
"maroon": red or brown?) are left out. Only the world's object record (``SceneObject``, to
state where each shape is) and its question and answer rules (``make_questions``, the checker)
are shared: the set asks the same questions, about pictures made another way.

``drawn_set(n, seed)`` gives the scenes with balanced questions; the evaluation reports it per
question type beside easy-vqa and the held-out generated scenes.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .world.dataset import balance_questions
from .world.questions import Question, make_questions
from .world.scenes import SceneObject

DRAWN_COLORS: dict[str, tuple[tuple[str, tuple[int, int, int]], ...]] = {
    "red": (("css red", (255, 0, 0)), ("paint red", (237, 28, 36)), ("paint dark red", (136, 0, 21)),
            ("css darkred", (139, 0, 0)), ("office dark red", (192, 0, 0)), ("gdocs dark red 1", (204, 0, 0)),
            ("gdocs red berry", (152, 0, 0)), ("css crimson", (220, 20, 60)), ("apple red", (255, 59, 48)),
            ("tailwind red-600", (220, 38, 38)), ("dark red (issue 14)", (200, 30, 30))),
    "green": (("css lime", (0, 255, 0)), ("paint green", (34, 177, 76)), ("css green", (0, 128, 0)),
              ("css forestgreen", (34, 139, 34)), ("css limegreen", (50, 205, 50)), ("css darkgreen", (0, 100, 0)),
              ("office green", (0, 176, 80)), ("gdocs dark green 2", (56, 118, 29)), ("css seagreen", (46, 139, 87)),
              ("office light green", (146, 208, 80)), ("apple green", (52, 199, 89)),
              ("tailwind green-600", (22, 163, 74))),
    "blue": (("css blue", (0, 0, 255)), ("css mediumblue", (0, 0, 205)), ("css navy", (0, 0, 128)),
             ("css royalblue", (65, 105, 225)), ("paint indigo", (63, 72, 204)), ("office blue", (0, 112, 192)),
             ("css dodgerblue", (30, 144, 255)), ("gdocs cornflower blue", (74, 134, 232)),
             ("office dark blue", (0, 32, 96)), ("apple blue", (0, 122, 255)), ("tailwind blue-600", (37, 99, 235))),
    "black": (("css black", (0, 0, 0)), ("office black, lighter 15%", (38, 38, 38)), ("near black", (20, 20, 20))),
    "gray": (("css gray", (128, 128, 128)), ("paint gray-50%", (127, 127, 127)), ("css dimgray", (105, 105, 105)),
             ("css darkgray", (169, 169, 169)), ("css slategray", (112, 128, 144)), ("gdocs dark gray 2", (153, 153, 153)),
             ("gdocs dark gray 3", (102, 102, 102)), ("gdocs dark gray 4", (67, 67, 67)),
             ("tailwind gray-500", (107, 114, 128))),
    "teal": (("css teal", (0, 128, 128)), ("css darkcyan", (0, 139, 139)), ("css lightseagreen", (32, 178, 170)),
             ("tailwind teal-600", (13, 148, 136)), ("material teal 500", (0, 150, 136)), ("css cadetblue", (95, 158, 160))),
    "brown": (("css brown", (165, 42, 42)), ("css saddlebrown", (139, 69, 19)), ("css sienna", (160, 82, 45)),
              ("paint brown", (185, 122, 87)), ("tailwind amber-800", (146, 64, 14)),
              ("material brown 500", (121, 85, 72)), ("gdocs dark orange 3", (120, 63, 4))),
    "yellow": (("css yellow", (255, 255, 0)), ("paint yellow", (255, 242, 0)), ("css gold", (255, 215, 0)),
               ("paint gold", (255, 201, 14)), ("apple yellow", (255, 204, 0)), ("tailwind yellow-400", (250, 204, 21)),
               ("gdocs dark yellow 1", (241, 194, 50))),
}
"""Per name, ``(source and its name for the colour, sRGB)``."""
SIZES = (96, 128, 160, 200, 256)
SHAPE_NAMES = ("circle", "rectangle", "triangle")


@dataclass(frozen=True)
class DrawnScene:
    """One drawn picture: the image, the objects in it (for the answers) and the colour sources used."""

    image: Image.Image
    objects: tuple[SceneObject, ...]
    sources: tuple[str, ...]
    questions: tuple[Question, ...] = ()


def _place(rng: np.random.Generator, w: int, h: int, n: int):
    """Up to ``n`` boxes (x1, y1, x2, y2) inside a w x h picture, 5 px apart and 3 px off the edges."""
    boxes: list[tuple[int, int, int, int]] = []
    side = min(w, h)
    for _ in range(60 * n):
        if len(boxes) == n:
            break
        kind = SHAPE_NAMES[int(rng.integers(3))]
        big = max(9, int(side * rng.uniform(0.1, 0.3)))
        if kind == "circle":
            bw, bh = big, max(9, int(big * rng.uniform(0.85, 1.0)))
        elif kind == "rectangle":
            bw, bh = big, max(6, int(big * rng.uniform(0.35, 1.0)))
        else:
            bw, bh = big, max(9, int(big * rng.uniform(0.6, 1.0)))
        if rng.random() < 0.5:
            bw, bh = bh, bw
        if bw + 6 > w or bh + 6 > h:
            continue
        x1, y1 = int(rng.integers(3, w - bw - 2)), int(rng.integers(3, h - bh - 2))
        box = (x1, y1, x1 + bw, y1 + bh)
        if all(box[0] >= b[2] + 5 or b[0] >= box[2] + 5 or box[1] >= b[3] + 5 or b[1] >= box[3] + 5 for b in boxes):
            boxes.append(box)
            yield kind, box


def _outline(kind: str, box, k: int, rng: np.random.Generator):
    """The polygon or ellipse box to fill at drawing scale ``k`` (triangles: apex anywhere on the far side)."""
    x1, y1, x2, y2 = (v * k for v in box)
    x2, y2 = x2 - 1, y2 - 1  # ImageDraw's corners are inclusive
    if kind != "triangle":
        return [x1, y1, x2, y2]
    t = float(rng.uniform(0, 1))
    side = int(rng.integers(4))
    return [[(x1, y2), (x2, y2), (x1 + t * (x2 - x1), y1)],  # base at the bottom
            [(x1, y1), (x2, y1), (x1 + t * (x2 - x1), y2)],  # base at the top
            [(x1, y1), (x1, y2), (x2, y1 + t * (y2 - y1))],  # base at the left
            [(x2, y1), (x2, y2), (x1, y1 + t * (y2 - y1))]][side]


def draw_scene(seed: int, palette: dict | None = None, min_objects: int = 1, max_objects: int = 6) -> DrawnScene:
    """One picture of the robustness set, deterministic in ``seed``.

    Args:
        seed: any int.
        palette: ``{name: ((source, rgb), ...)}`` to draw from (default ``DRAWN_COLORS``).
        min_objects, max_objects: how many shapes.

    Returns:
        The ``DrawnScene`` (no questions yet; see ``drawn_set``).

    Example:
        >>> s = draw_scene(3)
        >>> len(s.objects) == len(s.sources) >= 1, s.image.mode
        (True, 'RGB')
    """
    rng = np.random.default_rng([int(seed), 14])
    palette = palette or DRAWN_COLORS
    w, h = int(rng.choice(SIZES)), int(rng.choice(SIZES))
    if max(w, h) > 1.6 * min(w, h):
        h = w
    u = rng.random()
    if u < 0.4:
        paper = (255, 255, 255)
    elif u < 0.7:
        paper = tuple(int(v) for v in rng.integers(247, 256, 3))
    else:
        grey = int(rng.integers(226, 241))
        paper = (grey, grey, grey)
    k = int(rng.choice([1, 2, 3]))
    canvas = Image.new("RGB", (w * k, h * k), paper)
    pen = ImageDraw.Draw(canvas)
    objects, sources = [], []
    names = sorted(palette)
    for kind, box in _place(rng, w, h, int(rng.integers(min_objects, max_objects + 1))):
        name = names[int(rng.integers(len(names)))]
        source, rgb = palette[name][int(rng.integers(len(palette[name])))]
        shape = _outline(kind, box, k, rng)
        if kind == "circle":
            pen.ellipse(shape, fill=rgb)
        elif kind == "rectangle":
            pen.rectangle(shape, fill=rgb)
        else:
            pen.polygon(shape, fill=rgb)
        objects.append(SceneObject(kind, name, box))
        sources.append(source)
    image = canvas.resize((w, h), Image.LANCZOS) if k > 1 else canvas
    if rng.random() < 0.15:
        image = image.filter(ImageFilter.BoxBlur(0.6))
    if rng.random() < 0.4:
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=int(rng.integers(70, 96)))
        image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return DrawnScene(image, tuple(objects), tuple(sources))


def drawn_set(n_scenes: int = 1000, seed: int = 14, palette: dict | None = None) -> list[DrawnScene]:
    """``n_scenes`` drawn pictures with their questions, answers balanced per template.

    Args:
        n_scenes: how many pictures (scene ``i`` is ``draw_scene(seed * 1_000_000 + i)``).
        seed: the set's seed.
        palette: as in ``draw_scene``.

    Returns:
        Scenes whose ``questions`` are kept by ``balance_questions`` over the whole set.

    Example:
        >>> scenes = drawn_set(5)
        >>> sum(len(s.questions) for s in scenes) > 5
        True
    """
    rng = np.random.default_rng(seed)
    scenes = [draw_scene(seed * 1_000_000 + i, palette) for i in range(n_scenes)]
    asked = [(i, q) for i, s in enumerate(scenes) for q in make_questions(s.objects, rng)]
    keep = balance_questions([q for _, q in asked], rng)
    per: list[list[Question]] = [[] for _ in scenes]
    for k in keep:
        per[asked[k][0]].append(asked[k][1])
    return [DrawnScene(s.image, s.objects, s.sources, tuple(q)) for s, q in zip(scenes, per)]

