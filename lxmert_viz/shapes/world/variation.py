"""The "varied" look of generated scenes: what a person's drawing changes, drawn at random.

Shape letters: H height, W width (pixels).

A plain scene is drawn like easy-vqa: exact palette colours, circles, isosceles triangles pointing
up, anti-aliased edges, a white or off-white background, a lossless PNG. A varied scene (the
training scenes, ``style="varied"``) changes what a user's own drawing would change, so that the
model does not learn one renderer:

* colours: most objects get a colour from their name's perceptual neighbourhood
  (``color_naming.jitter_color``) instead of easy-vqa's exact value;
* geometry: circles may become slightly oval (aspect 0.8..1), rectangles may get thinner (down to
  0.3 of their length), triangles get their apex anywhere along the top and may point down, left
  or right; boxes only shrink, so objects stay apart;
* background: white, an easy-vqa tint or a light grey (level 222..245, each channel within 3 of it);
* rendering (``Look``): aliased edges (no supersampling), a slight blur, a resize round trip, a
  JPEG round trip (quality 65..95).

Every draw comes from one generator seeded by the scene's seed (apart from the layout's), so a
varied scene is as deterministic as a plain one.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from .color_naming import jitter_color
from .palette import TINT_RANGE, WHITE

POINTING = ("up", "down", "left", "right")
JITTER_SHARE = 0.75
"""Share of a varied scene's objects whose colour is jittered (the rest keep easy-vqa's value)."""
MIN_SIDE = 6
"""Geometry variation never makes a side shorter than this many pixels."""


@dataclass(frozen=True)
class Look:
    """How a scene is rendered after its objects are placed.

    Args:
        supersample: drawing scale before box-filtering down (1: aliased edges).
        blur: Gaussian blur radius in pixels (0: none).
        resize: scale of a down-and-up resize round trip (1: none).
        jpeg: JPEG quality of a compression round trip (0: none, the image stays lossless).
    """

    supersample: int = 4
    blur: float = 0.0
    resize: float = 1.0
    jpeg: int = 0


PLAIN = Look()
"""The plain look: no blur, noise or compression (the default of every renderer)."""


def variation_rng(seed: int, part: str) -> np.random.Generator:
    """The generator of one part (``"objects"`` or ``"look"``) of a scene's variation.

    Independent of the layout's ``default_rng(seed)`` and of each other.
    """
    return np.random.default_rng([int(seed), {"objects": 7, "look": 8}[part]])


def vary_geometry(shape: str, w: int, h: int, rng: np.random.Generator) -> tuple[int, int, float, str]:
    """A shape's width, height (never larger), apex position (0..1 along its base) and pointing."""
    apex, pointing = 0.5, "up"
    if shape == "circle" and rng.random() < 0.5:
        if rng.random() < 0.5:
            w = max(min(w, MIN_SIDE), int(round(w * rng.uniform(0.8, 1.0))))
        else:
            h = max(min(h, MIN_SIDE), int(round(h * rng.uniform(0.8, 1.0))))
    elif shape == "rectangle" and rng.random() < 0.3:
        if w < h:
            w = max(min(w, MIN_SIDE), int(round(w * rng.uniform(0.6, 1.0))))
        else:
            h = max(min(h, MIN_SIDE), int(round(h * rng.uniform(0.6, 1.0))))
    elif shape == "triangle":
        if rng.random() < 0.6:
            apex = float(rng.uniform(0.0, 1.0))
        pointing = POINTING[int(rng.choice(4, p=[0.55, 0.15, 0.15, 0.15]))]
    return w, h, apex, pointing


def vary_color(name: str, rng: np.random.Generator) -> tuple[int, int, int] | None:
    """A colour for an object named ``name``: jittered (``JITTER_SHARE``) or None (easy-vqa's)."""
    return jitter_color(name, rng) if rng.random() < JITTER_SHARE else None


def vary_background(rng: np.random.Generator) -> tuple[int, int, int]:
    """White, an easy-vqa off-white tint or a slightly tinted light grey."""
    u = rng.random()
    if u < 0.35:
        return WHITE
    if u < 0.7:
        return tuple(int(v) for v in rng.integers(TINT_RANGE[0], TINT_RANGE[1] + 1, size=3))  # type: ignore[return-value]
    level = int(rng.integers(222, 246))
    return tuple(int(np.clip(level + d, 0, 255)) for d in rng.integers(-3, 4, size=3))  # type: ignore[return-value]


def vary_look(rng: np.random.Generator) -> Look:
    """Rendering: aliased 30%, blur 20%, resize round trip 25%, JPEG 35% (independently)."""
    supersample = 1 if rng.random() < 0.3 else 4
    blur = float(rng.uniform(0.4, 0.9)) if rng.random() < 0.2 else 0.0
    resize = float(rng.uniform(0.5, 0.85)) if rng.random() < 0.25 else 1.0
    jpeg = int(rng.integers(65, 96)) if rng.random() < 0.35 else 0
    return Look(supersample, blur, resize, jpeg)


def degrade(image: Image.Image, look: Look) -> Image.Image:
    """Apply a look's blur, resize round trip and JPEG round trip, in that order (deterministic).

    Example:
        >>> img = Image.new("RGB", (32, 32), "white")
        >>> degrade(img, Look(jpeg=80)).size
        (32, 32)
    """
    if look.blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(look.blur))
    if look.resize != 1.0:
        w, h = image.size
        small = image.resize((max(1, round(w * look.resize)), max(1, round(h * look.resize))), Image.BILINEAR)
        image = small.resize((w, h), Image.BICUBIC)
    if look.jpeg:
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=look.jpeg)
        buf.seek(0)
        with Image.open(buf) as im:
            image = im.convert("RGB")
    return image
