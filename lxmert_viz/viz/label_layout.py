"""Labels that do not overlap: spread end-of-line labels apart, place point labels greedily.

Shape letters: N labels.

Pure placement arithmetic on positions (no drawing), used by the static drift and PCA plots.
"""
from __future__ import annotations

import numpy as np


def spread(y: np.ndarray, gap: float, lo: float, hi: float) -> np.ndarray:
    """(N,) label heights near ``y`` that are at least ``gap`` apart and inside ``[lo, hi]``.

    Keeps the order of ``y``; when the labels do not fit, they are packed evenly from ``lo``.

    Example:
        >>> spread(np.array([1.0, 1.0, 0.0]), 0.5, 0.0, 2.0).tolist()
        [1.0, 1.5, 0.0]
    """
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if n == 0:
        return y
    order = np.argsort(y, kind="stable")
    out = np.clip(y[order], lo, hi)
    if gap * (n - 1) > hi - lo:
        gap = (hi - lo) / max(n - 1, 1)
    for i in range(1, n):  # push up
        out[i] = max(out[i], out[i - 1] + gap)
    over = out[-1] - hi
    if over > 0:  # then slide the whole stack down, keeping the gaps
        out[-1] = hi
        for i in range(n - 2, -1, -1):
            out[i] = min(out[i], out[i + 1] - gap)
    res = np.empty(n)
    res[order] = np.maximum(out, lo)
    return res


OFFSETS = [(4, 4), (4, -10), (-4, 4), (-4, -10), (8, 12), (8, -18), (-8, 12), (-8, -18), (0, 18), (0, -24)]


def place(points_px: np.ndarray, sizes_px: np.ndarray, bounds_px: tuple[float, float, float, float]) -> list:
    """Greedy label placement: for each point, the first offset (in pixels) whose box overlaps no
    label placed before and stays inside ``bounds`` (x0, y0, x1, y1); None when none fits.

    Args:
        points_px: (N, 2) anchor points in display pixels.
        sizes_px: (N, 2) label width and height in pixels.

    Returns:
        a list of ``(dx, dy, ha)`` offsets or None, one per point.
    """
    placed: list[tuple[float, float, float, float]] = []
    out = []
    x0, y0, x1, y1 = bounds_px
    for (px, py), (w, h) in zip(np.asarray(points_px, float), np.asarray(sizes_px, float)):
        choice = None
        for dx, dy in OFFSETS:
            left = px + dx if dx >= 0 else px + dx - w
            box = (left, py + dy, left + w, py + dy + h)
            inside = box[0] >= x0 and box[2] <= x1 and box[1] >= y0 and box[3] <= y1
            free = all(box[2] <= b[0] or box[0] >= b[2] or box[3] <= b[1] or box[1] >= b[3] for b in placed)
            if inside and free:
                placed.append(box)
                choice = (dx, dy, "left" if dx >= 0 else "right")
                break
        out.append(choice)
    return out
