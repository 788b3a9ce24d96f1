"""Weights as shaded boxes on the image: the one place that turns region weights into box fills.

Shape letters: R regions.

Used by the attention overlay, the explanation panels, the masking widget (matplotlib and plotly)
and the command line's PNG, so a weight looks the same everywhere.
"""
from __future__ import annotations

import numpy as np

FILL_RGB = (214, 39, 40)       # box shading
OUTLINE = "#ffbf00"            # a chosen region
DROPPED = "#555555"            # a masked-out region
MAX_ALPHA = 0.75               # the fill of the largest weight


def normalise(w: np.ndarray) -> np.ndarray:
    """Weights scaled to 0..1 by their maximum (all zeros stay zeros)."""
    w = np.asarray(w, dtype=np.float64)
    m = w.max() if w.size else 0.0
    return w / m if m > 0 else np.zeros_like(w)


def box_fill_alphas(weights: np.ndarray, max_alpha: float = MAX_ALPHA) -> np.ndarray:
    """(R,) fill opacity per box: proportional to its weight, the largest at ``max_alpha``;
    negative weights (relevance can be negative) are not shaded."""
    return max_alpha * normalise(np.clip(np.asarray(weights, dtype=np.float64), 0, None))


def draw_image(ax, image, size: tuple[int, int]) -> None:
    """The picture (or an empty frame of ``size`` = (W, H)) on matplotlib axes, pixel coordinates."""
    w, h = size
    if image is not None:
        ax.imshow(np.asarray(image.convert("RGB")), extent=(0, w, h, 0), interpolation="nearest")
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_xticks([])
    ax.set_yticks([])


def draw_boxes(ax, boxes: np.ndarray, alphas: np.ndarray, names=None, *, outline: int | None = None,
               dropped=(), fontsize: int = 7) -> list:
    """Shaded region boxes on matplotlib axes; returns the patches (``gid="region-<i>"``).

    Args:
        boxes: (R, 4) pixel boxes; alphas: (R,) fill opacities (see `box_fill_alphas`).
        names: region names written at each box's top-left corner, or None.
        outline: a region drawn with a thick outline (the chosen query).
        dropped: regions drawn dashed and unfilled (masked out).
    """
    from matplotlib.patches import Rectangle

    rgb = np.array(FILL_RGB) / 255.0
    gone = {int(i) for i in dropped}
    patches = []
    for i, (box, alpha) in enumerate(zip(boxes, alphas)):
        x1, y1, x2, y2 = (float(v) for v in box)
        chosen, out = outline == i, i in gone
        edge = OUTLINE if chosen else (DROPPED if out else (*rgb, 1.0))
        patch = Rectangle((x1, y1), x2 - x1, y2 - y1, gid=f"region-{i}",
                          facecolor=(*rgb, 0.0 if out else float(alpha)), edgecolor=edge,
                          linestyle="--" if out else "-", linewidth=3.0 if chosen else 1.0)
        ax.add_patch(patch)
        patches.append(patch)
        if names is not None:
            ax.text(x1 + 1, y1 + 1, names[i], fontsize=fontsize, va="top", ha="left",
                    bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "alpha": 0.7, "linewidth": 0})
    return patches
