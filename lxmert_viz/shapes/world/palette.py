"""Palette of the shapes world: easy-vqa's colours and shapes, measured from its images.

Shape letters: P palette colours (8), C channels (3).

The RGB values below are the exact solid colours found in easy-vqa's 64x64 PNGs (the most common
non-background pixel of every image; anti-aliased edges blend them with the background). They are
the CSS colours of the same names, so scenes drawn with them share easy-vqa's visual language.
easy-vqa backgrounds are a flat off-white tint, each channel in 230..255, one tint per image.
"""
from __future__ import annotations

import numpy as np

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

PALETTE = np.array([RGB[c] for c in COLORS], dtype=np.float32)  # (P, C)


def nearest_color(rgb: np.ndarray) -> np.ndarray:
    """Index into ``COLORS`` of the nearest palette colour (Euclidean in RGB).

    Args:
        rgb: (..., 3) colours in 0..255.

    Returns:
        (...,) int64 indices into ``COLORS``.
    """
    rgb = np.asarray(rgb, dtype=np.float32)
    d = ((rgb[..., None, :] - PALETTE) ** 2).sum(-1)  # (..., P)
    return d.argmin(-1)


def soft_color(rgb: np.ndarray, temperature: float = 40.0) -> np.ndarray:
    """Soft membership of a colour in each palette colour: softmax of ``-distance / temperature``.

    Args:
        rgb: (3,) colour in 0..255.
        temperature: distance scale in RGB units; 40 keeps a clean colour near one-hot.

    Returns:
        (P,) float32 weights summing to 1, in ``COLORS`` order.
    """
    d = np.sqrt(((np.asarray(rgb, np.float32) - PALETTE) ** 2).sum(-1))  # (P,)
    z = -(d - d.min()) / temperature
    w = np.exp(z)
    return (w / w.sum()).astype(np.float32)
