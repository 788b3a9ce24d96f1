"""Shapes-world region extractor: boxes and features from the pixels alone.

Shape letters: H height, W width, C channels, R regions, F feature size (``len(FEATURE_NAMES)``),
P palette colours.

Works on any plain-background image (our scenes, easy-vqa's PNGs, a user's drawing, a JPEG or a
resized screenshot) with no access to a generator's ground truth: background from the border,
foreground pixels by perceptual contrast, 8-connected components (``components.py``), specks under
``min_area`` pixels dropped. Each component is then described from its *core*: the pixels at least
half-way from the background to the object's own colour make its shape (so anti-aliasing, blur and
JPEG fringes count where they are), and the median of their inside is its colour, named as a person
would (``color_naming.py``). Boxes are pixels
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
from .color_naming import lab_name_distances, soft_color, srgb_to_lab
from .components import FG_THRESHOLD, connected_components, contrast, estimate_background
from .palette import COLORS, SHAPES

FEATURE_NAMES: tuple[str, ...] = (
    # 0-2 CIELAB of the core colour (the object's inside, edges left out): L / 100, a / 128, b / 128
    "lab_l", "lab_a", "lab_b",
    # 3-10 soft colour name of the core colour (softmax of -CIEDE2000 / 4 to each name's anchors), COLORS order
    *(f"color_{c}" for c in COLORS),
    # 11 covered pixels / box area: circle or ellipse ~0.785, rectangle ~1, triangle ~0.5
    "fill_ratio",
    # 12 width / (width + height)
    "aspect",
    # 13-14 mass centroid minus box centre, / width and / height (triangle pointing up: dy ~ +1/6)
    "centroid_dx", "centroid_dy",
    # 15-18 fill of the top, bottom, left and right third of the box
    "top_fill", "bottom_fill", "left_fill", "right_fill",
    # 19 fill of the four corner squares (side 20% of the shorter box side)
    "corner_fill",
    # 20-22 normalized central moments: var_x / w^2, var_y / h^2, cov_xy / (w h)
    "mu20", "mu02", "mu11",
    # 23 pixels / (4 pi sqrt(det covariance)): the same for every ellipse (1), rectangle (0.955) and
    #    triangle (0.827) whatever its size, aspect ratio, slant or rotation (an affine invariant)
    "ellipse_ratio",
    # 24-26 one-hot of the guessed shape, SHAPES order
    *(f"shape_{s}" for s in SHAPES),
    # 27-30 box centre x, centre y, width, height, / image width or height
    "center_x", "center_y", "width", "height",
    # 31 covered pixels / image pixels
    "area",
    # 32 spread of the core colour: mean CIELAB std of the core pixels / 100
    "color_std",
    # 33 1 when the box touches the image border (shape may be cut off)
    "touches_border",
    # 34 1 for a real region (0 in padding rows)
    "real",
)
F = len(FEATURE_NAMES)
MIN_AREA = 6
"""Components smaller than this many pixels are specks and are dropped."""
HALF_COVER = 0.5
"""A pixel belongs to the object's shape when it is at least this far from the background towards
the object's core colour (half covered: an anti-aliased or blurred edge counts where it is)."""


def to_rgb_array(image: Image.Image | str | Path | np.ndarray) -> np.ndarray:
    """Any image as an (H, W, 3) uint8 array, through the kit's one opener (`lxmert_viz.inputs.image`)."""
    return np.asarray(open_image(image))


def guess_shape(fill: float, ellipse_ratio: float) -> int:
    """Index into SHAPES from the fill of the box and the affine invariant (display and a feature hint).

    An axis-aligned rectangle fills its box (~1), an ellipse ~0.785, a triangle at most 0.5; the
    invariant separates triangles (0.83) from ellipses (1.0) whatever their proportions.
    """
    if fill < 0.64 or ellipse_ratio < 0.89:
        return SHAPES.index("triangle")
    if fill >= 0.89:
        return SHAPES.index("rectangle")
    return SHAPES.index("circle")


def _erode(m: np.ndarray) -> np.ndarray:
    """Pixels of ``m`` whose 8 neighbours are all in ``m`` (outside the array counts as empty)."""
    p = np.pad(m, 1)
    out = m.copy()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            out &= p[1 + dy:p.shape[0] - 1 + dy, 1 + dx:p.shape[1] - 1 + dx]
    return out


def _coverage(lab: np.ndarray, bg: np.ndarray, core: np.ndarray) -> np.ndarray:
    """How far each pixel lies from the background towards ``core`` (0 background, 1 core), clipped."""
    axis = core - bg
    return np.clip(((lab - bg) @ axis) / max(float(axis @ axis), 1e-6), 0.0, 1.0)


def _core_color(lab: np.ndarray, comp: np.ndarray, strength: np.ndarray, bg: np.ndarray):
    """The object's own colour (CIELAB) and its shape mask, edges and JPEG fringes left out.

    A first guess (median of the component's most contrasted pixels) gives each pixel's coverage;
    the half-covered pixels are the shape; the median of its inside (eroded once) is the colour.
    """
    guess = np.median(lab[comp & (strength >= np.quantile(strength[comp], 0.7))], axis=0)
    shape = comp & (_coverage(lab, bg, guess) >= HALF_COVER)
    if not shape.any():
        shape = comp
    inner = _erode(shape)
    core_pix = lab[inner] if inner.sum() >= 3 else lab[shape]
    core = np.median(core_pix, axis=0)
    shape = comp & (_coverage(lab, bg, core) >= HALF_COVER)
    if not shape.any():
        shape = comp
    return core, core_pix, shape


def _describe(lab: np.ndarray, comp: np.ndarray, strength: np.ndarray, bg: np.ndarray, offset: tuple[int, int],
              size: tuple[int, int]):
    """Box, pixel count, features, colour id, shape id and colour confidence of one component.

    ``lab``, ``comp`` and ``strength`` are crops of the image around the component, whose top-left
    pixel is ``offset`` (x, y) in the image of ``size`` (w, h).
    """
    core, core_pix, shape = _core_color(lab, comp, strength, bg)
    w_img, h_img = size
    ys, xs = np.nonzero(shape)
    bx1, by1 = int(xs.min()), int(ys.min())
    m = shape[by1:int(ys.max()) + 1, bx1:int(xs.max()) + 1]  # (h, w) shape mask inside its box
    xs, ys = xs - bx1, ys - by1
    x1, y1 = bx1 + offset[0], by1 + offset[1]
    x2, y2 = x1 + m.shape[1], y1 + m.shape[0]
    h, w = m.shape
    n = int(m.sum())
    names = soft_color(lab_name_distances(core))
    color_id = int(names.argmax())
    xs, ys = xs + 0.5, ys + 0.5  # pixel centres, box-relative
    cx, cy = xs.mean(), ys.mean()
    var_x, var_y = xs.var() + 1 / 12, ys.var() + 1 / 12  # + a pixel's own spread
    cov = ((xs - cx) * (ys - cy)).mean()
    ellipse_ratio = n / (4 * np.pi * np.sqrt(max(var_x * var_y - cov**2, 1e-6)))
    third_h, third_w = max(1, h // 3), max(1, w // 3)
    c = max(1, int(round(0.2 * min(w, h))))
    corners = np.concatenate([m[:c, :c].ravel(), m[:c, -c:].ravel(), m[-c:, :c].ravel(), m[-c:, -c:].ravel()])
    fill = n / float(w * h)
    shape_id = guess_shape(fill, ellipse_ratio)
    shape_hot = np.zeros(len(SHAPES), np.float32)
    shape_hot[shape_id] = 1.0
    touches = float(x1 == 0 or y1 == 0 or x2 == w_img or y2 == h_img)
    feats = np.concatenate([
        core / np.array([100.0, 128.0, 128.0]),
        names,
        [fill, w / (w + h), cx / w - 0.5, cy / h - 0.5],
        [m[:third_h].mean(), m[-third_h:].mean(), m[:, :third_w].mean(), m[:, -third_w:].mean(), corners.mean()],
        [var_x / w**2, var_y / h**2, cov / (w * h), ellipse_ratio],
        shape_hot,
        [(x1 + x2) / 2 / w_img, (y1 + y2) / 2 / h_img, w / w_img, h / h_img, n / (w_img * h_img)],
        [core_pix.std(0).mean() / 100.0 if len(core_pix) > 1 else 0.0, touches, 1.0],
    ]).astype(np.float32)
    return (x1, y1, x2, y2), n, feats, color_id, shape_id, float(names[color_id])


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
        ``"red circle"``, scores (the soft colour name's weight on the named colour), and
        ``extra`` arrays ``color_id``, ``shape_id`` (indices into COLORS/SHAPES, -1 in padding) and
        ``pixels`` (the shape's pixel count, 0 in padding).

    Example:
        >>> from lxmert_viz.shapes.world.scenes import generate_scene
        >>> r = extract_regions(generate_scene(0).image)
        >>> r.feats.shape, r.num_real
        ((8, 35), 6)
    """
    rgb = to_rgb_array(image)
    h_img, w_img = rgb.shape[:2]
    lab = srgb_to_lab(rgb)
    bg = srgb_to_lab(estimate_background(rgb))
    strength = contrast(lab, bg)  # (H, W)
    labels, n = connected_components(strength > FG_THRESHOLD)
    counts = np.bincount(labels.ravel(), minlength=n + 1)[1:]  # (n,) pixels per component
    keep = [k for k in range(n) if counts[k] >= min_area]
    keep = sorted(keep, key=lambda k: (-counts[k], k))[:max_regions]  # largest first, stable
    found = []
    for k in keep:
        sel = labels == k + 1
        ys = np.flatnonzero(sel.any(1))
        xs = np.flatnonzero(sel.any(0))
        crop = np.s_[ys[0]:ys[-1] + 1, xs[0]:xs[-1] + 1]
        found.append(_describe(lab[crop], sel[crop], strength[crop], bg, (int(xs[0]), int(ys[0])), (w_img, h_img)))
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
