"""Palette of the shapes world: easy-vqa's colours and shapes, measured from its images.

Shape letters: none (names and triples).

The RGB values below are the exact solid colours found in easy-vqa's 64x64 PNGs (the most common
non-background pixel of every image; anti-aliased edges blend them with the background). They are
the CSS colours of the same names, so scenes drawn with them share easy-vqa's visual language.
easy-vqa backgrounds are a flat off-white tint, each channel in 230..255, one tint per image.
How any other colour is named (perceptually, around these and other anchors) is
``color_naming.py``.
"""
from __future__ import annotations

COLORS: tuple[str, ...] = ("red", "green", "blue", "black", "gray", "teal", "brown", "yellow")
"""Colour names, in the fixed order used by features and one-hot vectors."""

RGB: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "black": (0, 0, 0),
    "gray": (128, 128, 128),
    "teal": (0, 128, 128),
    "brown": (165, 42, 42),
    "yellow": (255, 255, 0),
}
"""Measured easy-vqa colour per name."""

SHAPES: tuple[str, ...] = ("circle", "rectangle", "triangle")
"""Shape names (easy-vqa's words), in the fixed order used by features."""

WHITE: tuple[int, int, int] = (255, 255, 255)
TINT_RANGE: tuple[int, int] = (230, 255)
"""Per-channel range of easy-vqa's off-white background tints (inclusive), measured."""
