"""Shapes-world region extractor: boxes and features from the pixels alone.

Shape letters: H height, W width, C channels, R regions, F feature size (``len(FEATURE_NAMES)``),
P palette colours.

Works on any plain-background image (our scenes, easy-vqa's PNGs, a user's drawing) with no access
to a generator's ground truth: background from the border, foreground pixels, 8-connected
components (``components.py``), specks under ``min_area`` pixels dropped. Boxes are pixels
``x1, y1, x2, y2`` with exclusive ends (like ``SceneObject.box``). Regions are sorted by ``x1``,
then ``y1``, ``x2``, ``y2``. When more than ``max_regions`` components remain, the largest (by
pixel count; ties: earlier in raster order) are kept. Padded output fills rows ``num_real..R-1``
with zeros (boxes, feats, scores), label ``""`` and ``extra`` ids ``-1``, so batches stack.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ...inputs.image import open_image
from ...inputs.regions import Regions
from .components import connected_components, foreground_mask
from .palette import COLORS, PALETTE, SHAPES, soft_color

FEATURE_NAMES: tuple[str, ...] = (
    # 0-2 mean RGB of the component's pixels, / 255
    "mean_r", "mean_g", "mean_b",
    # 3-10 soft nearest palette colour of the core colour (softmax of -distance/40), COLORS order
    *(f"color_{c}" for c in COLORS),
    # 11 pixels / box area: circle ~0.785, rectangle ~1, triangle ~0.5
    "fill_ratio",
    # 12 width / (width + height)
    "aspect",
    # 13-14 mass centroid minus box centre, / width and / height (triangle pointing up: dy ~ +1/6)
    "centroid_dx", "centroid_dy",
    # 15-16 fill of the top and bottom third of the box rows
    "top_fill", "bottom_fill",
    # 17 fill of the four corner squares (side 20% of the shorter box side)
    "corner_fill",
    # 18-20 normalized central moments: var_x / w^2, var_y / h^2, cov_xy / (w h)
    "mu20", "mu02", "mu11",
    # 21-23 one-hot of the guessed shape, SHAPES order
    *(f"shape_{s}" for s in SHAPES),
    # 24-27 box centre x, centre y, width, height, / image width or height
    "center_x", "center_y", "width", "height",
    # 28 component pixels / image pixels
    "area",
    # 29 component pixels' colour spread: mean per-channel std / 255
    "color_std",
    # 30 1 when the box touches the image border (shape may be cut off)
    "touches_border",
    # 31 1 for a real region (0 in padding rows)
    "real",
)
F = len(FEATURE_NAMES)
MIN_AREA = 6
"""Components smaller than this many pixels are specks and are dropped."""
CORE_DISTANCE = 60.0
"""Pixels within this RGB distance of a palette colour vote for it (anti-aliased edges do not)."""


def to_rgb_array(image: Image.Image | str | Path | np.ndarray) -> np.ndarray:
    """Any image as an (H, W, 3) uint8 array, through the kit's one opener (`lxmert_viz.inputs.image`)."""
    return np.asarray(open_image(image))


def _guess_shape(fill: float, top: float, bottom: float, corner: float) -> int:
    """Index into SHAPES from fill statistics (display and a feature hint; not ground truth)."""
    if fill >= 0.9 and corner >= 0.8:
        return SHAPES.index("rectangle")
    if bottom - top >= 0.3:
        return SHAPES.index("triangle")
    return SHAPES.index("circle")


def _describe(rgb: np.ndarray, sel: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int]):
    """Features, colour id, shape id and colour confidence of one component."""
    x1, y1, x2, y2 = box
    w_img, h_img = size
    m = sel[y1:y2, x1:x2]  # (h, w) component mask inside its box
    h, w = m.shape
    pix = rgb[y1:y2, x1:x2][m].astype(np.float32)  # (n, C)
    n = len(pix)
    mean = pix.mean(0)
    d = np.sqrt(((pix[:, None, :] - PALETTE) ** 2).sum(-1))  # (n, P)
    near = d.argmin(1)
    core = d[np.arange(n), near] <= CORE_DISTANCE
    if core.any():
        votes = np.bincount(near[core], minlength=len(COLORS))
        color_id = int(votes.argmax())
        core_rgb = pix[core & (near == color_id)].mean(0)
        score = float(votes[color_id] / n)
    else:  # no clean pixel: fall back on the median colour
        core_rgb = np.median(pix, axis=0)
        color_id = int(((core_rgb - PALETTE) ** 2).sum(-1).argmin())
        score = 0.0
    ys, xs = np.nonzero(m)
    cx, cy = xs.mean() + 0.5, ys.mean() + 0.5  # pixel centres, box-relative
    third = max(1, h // 3)
    c = max(1, int(round(0.2 * min(w, h))))
    corners = np.concatenate(
        [m[:c, :c].ravel(), m[:c, -c:].ravel(), m[-c:, :c].ravel(), m[-c:, -c:].ravel()]
    )
    fill = n / float(w * h)
    top, bottom, corner = float(m[:third].mean()), float(m[-third:].mean()), float(corners.mean())
    shape_id = _guess_shape(fill, top, bottom, corner)
    shape_hot = np.zeros(len(SHAPES), np.float32)
    shape_hot[shape_id] = 1.0
    touches = float(x1 == 0 or y1 == 0 or x2 == w_img or y2 == h_img)
    feats = np.concatenate([
        mean / 255.0,
        soft_color(core_rgb),
        [fill, w / (w + h), cx / w - 0.5, cy / h - 0.5, top, bottom, corner],
        [xs.var() / w**2, ys.var() / h**2, ((xs - xs.mean()) * (ys - ys.mean())).mean() / (w * h)],
        shape_hot,
        [(x1 + x2) / 2 / w_img, (y1 + y2) / 2 / h_img, w / w_img, h / h_img, n / (w_img * h_img)],
        [pix.std(0).mean() / 255.0, touches, 1.0],
    ]).astype(np.float32)
    return feats, color_id, shape_id, score


def extract_regions(
    image: Image.Image | str | Path | np.ndarray,
    max_regions: int = 8,
    pad: bool = True,
    min_area: int = MIN_AREA,
) -> Regions:
    """Regions of a plain-background shapes image, from its pixels alone.

    Args:
        image: PIL image (any mode), path, or uint8 array (see ``to_rgb_array``).
        max_regions: most regions kept (the largest, when more are found).
        pad: pad with zero rows up to ``max_regions`` (``num_real`` says how many are real);
            ``False`` returns exactly the found regions.
        min_area: components with fewer pixels are dropped as specks.

    Returns:
        ``Regions`` with boxes (R, 4) pixels, feats (R, F) as in ``FEATURE_NAMES``, labels such as
        ``"red circle"``, scores (share of the region's pixels voting for its colour), and
        ``extra`` arrays ``color_id``, ``shape_id`` (indices into COLORS/SHAPES, -1 in padding) and
        ``pixels`` (component pixel count, 0 in padding).

    Example:
        >>> from lxmert_viz.shapes.world.scenes import generate_scene
        >>> r = extract_regions(generate_scene(0).image)
        >>> r.feats.shape, r.num_real
        ((8, 32), 6)
    """
    rgb = to_rgb_array(image)
    h_img, w_img = rgb.shape[:2]
    mask, _ = foreground_mask(rgb)
    labels, n = connected_components(mask)
    counts = np.bincount(labels.ravel(), minlength=n + 1)[1:]  # (n,) pixels per component
    keep = [k for k in range(n) if counts[k] >= min_area]
    keep = sorted(keep, key=lambda k: (-counts[k], k))[:max_regions]  # largest first, stable
    found = []
    for k in keep:
        sel = labels == k + 1
        ys = np.flatnonzero(sel.any(1))
        xs = np.flatnonzero(sel.any(0))
        box = (int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1)
        found.append((box, int(counts[k]), *_describe(rgb, sel, box, (w_img, h_img))))
    found.sort(key=lambda t: t[0])  # by x1, y1, x2, y2
    r_total = max_regions if pad else len(found)
    boxes = np.zeros((r_total, 4), np.float32)
    feats = np.zeros((r_total, F), np.float32)
    scores = np.zeros(r_total, np.float32)
    color_ids = np.full(r_total, -1, np.int64)
    shape_ids = np.full(r_total, -1, np.int64)
    pixels = np.zeros(r_total, np.int64)
    names = [""] * r_total
    for i, (box, count, fv, color_id, shape_id, score) in enumerate(found):
        boxes[i], feats[i], scores[i] = box, fv, score
        color_ids[i], shape_ids[i], pixels[i] = color_id, shape_id, count
        names[i] = f"{COLORS[color_id]} {SHAPES[shape_id]}"
    return Regions(
        boxes=boxes,
        feats=feats,
        image_size=(w_img, h_img),
        labels=tuple(names),
        scores=scores,
        num_real=len(found),
        extra={"color_id": color_ids, "shape_id": shape_ids, "pixels": pixels},
    )


def find_regions(image: Image.Image | str | Path | np.ndarray, max_regions: int = 8) -> Regions:
    """Exactly the found regions, no padding (``num_real == len(regions)``).

    Args:
        image: as in ``extract_regions``.
        max_regions: most regions kept (the largest).

    Returns:
        ``Regions`` without padding rows.
    """
    return extract_regions(image, max_regions=max_regions, pad=False)
