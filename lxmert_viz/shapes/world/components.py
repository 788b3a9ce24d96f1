"""Foreground mask and connected components in pure numpy (no scipy/opencv needed).

Shape letters: H height, W width (pixels), C channels (3).

The background of a shapes-world image is one flat colour (white for our scenes, an off-white tint
for easy-vqa, a light grey or a JPEG-noisy white for a user's drawing): it is estimated from the
border. A pixel is foreground when its ``contrast`` with the background (CIELAB lightness
difference, with the colour difference counted at half weight: JPEG keeps lightness sharp but
smears colour a few pixels past an edge) exceeds ``FG_THRESHOLD``. Components are found with
union-find over horizontal pixel runs (8-connectivity), so the Python loop runs over runs (a few
hundred), not pixels.
"""
from __future__ import annotations

import numpy as np

from .color_naming import srgb_to_lab

FG_THRESHOLD = 18.0
"""Least ``contrast`` with the background of a foreground pixel (CIELAB units, about 1 = just noticeable).

Above JPEG's ringing two pixels past an edge at quality 70 (at most about 17) and below the
contrast of a mid grey on a light grey background (about 20 and up)."""


def estimate_background(rgb: np.ndarray) -> np.ndarray:
    """Background colour: the most common exact colour on the image border.

    Falls back to the per-channel median of the border when no colour covers a quarter of it
    (noisy, e.g. JPEG-compressed, images).

    Args:
        rgb: (H, W, C) uint8 image.

    Returns:
        (C,) int32 background colour.
    """
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.int32)  # (2H+2W, C)
    colors, counts = np.unique(border, axis=0, return_counts=True)
    if counts.max() * 4 >= len(border):
        return colors[counts.argmax()]
    return np.median(border, axis=0).astype(np.int32)


def contrast(lab: np.ndarray, background_lab: np.ndarray) -> np.ndarray:
    """Per-pixel contrast with the background: ``sqrt(dL^2 + (dab / 2)^2)`` in CIELAB.

    Args:
        lab: (H, W, C) CIELAB image.
        background_lab: (C,) CIELAB background.

    Returns:
        (H, W) float contrast.
    """
    d = lab - background_lab
    return np.sqrt(d[..., 0] ** 2 + 0.25 * (d[..., 1] ** 2 + d[..., 2] ** 2))


def foreground_mask(rgb: np.ndarray, threshold: float = FG_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Pixels that differ from the background.

    Args:
        rgb: (H, W, C) uint8 image.
        threshold: least ``contrast`` with the background.

    Returns:
        ``(mask, background)``: (H, W) bool mask and (C,) int32 background colour.

    Example:
        >>> img = np.full((8, 8, 3), 255, np.uint8); img[2:5, 2:5] = (34, 177, 76)
        >>> int(foreground_mask(img)[0].sum())
        9
    """
    bg = estimate_background(rgb)
    return contrast(srgb_to_lab(rgb), srgb_to_lab(bg)) > threshold, bg


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving
        i = parent[i]
    return i


def connected_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Label the 8-connected components of a boolean mask.

    Labels are 1..n in raster order of each component's first pixel (top row first, then left);
    0 is background. Deterministic.

    Args:
        mask: (H, W) bool.

    Returns:
        ``(labels, n)``: (H, W) int32 label image and the number of components.
    """
    mask = np.asarray(mask, dtype=bool)
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)  # (H, W+1): +1 at run start, -1 at run end (exclusive)
    rows, starts = np.nonzero(edges == 1)  # raster order; each row's starts and ends alternate
    ends = np.nonzero(edges == -1)[1]
    runs: list[tuple[int, int, int]] = list(zip(rows.tolist(), starts.tolist(), ends.tolist()))  # (row, start, end excl.)
    row_runs: list[list[int]] = [[] for _ in range(h)]
    for i, y in enumerate(rows.tolist()):
        row_runs[y].append(i)
    parent = list(range(len(runs)))
    for y in range(1, h):
        prev = row_runs[y - 1]
        for i in row_runs[y]:
            _, s, e = runs[i]
            for j in prev:
                _, ps, pe = runs[j]
                if ps <= e and s <= pe:  # overlap or diagonal touch (8-connectivity)
                    ri, rj = _find(parent, i), _find(parent, j)
                    if ri != rj:
                        parent[max(ri, rj)] = min(ri, rj)
    labels = np.zeros((h, w), dtype=np.int32)
    root_label: dict[int, int] = {}
    for i, (y, s, e) in enumerate(runs):  # runs are in raster order, so labels are too
        r = _find(parent, i)
        if r not in root_label:
            root_label[r] = len(root_label) + 1
        labels[y, s:e] = root_label[r]
    return labels, len(root_label)
