"""Box operations in plain torch: box coder, IoU, NMS (single, per-class, many classes), RoIPool.

Shape letters: N boxes, K classes, C channels, H W feature map height and width, P pooled size.

These replace ``torchvision.ops`` (not a dependency). Semantics follow torchvision/detectron2:
* NMS visits boxes by score, highest first (ties: lower index first), and drops a box whose IoU
  with a kept one is strictly greater than the threshold. IoU is computed in the boxes' dtype as
  ``inter / (area_a + area_b - inter)``, so a float32 Python reference gives identical decisions.
* RoIPool is the legacy Caffe/Fast R-CNN max pool: box corners are scaled and rounded half away
  from zero, the RoI spans ``end - start + 1`` cells, bin edges are floor/ceil of float32 multiples
  of the bin size, empty bins give 0. It runs without a loop per RoI (a sparse table of maxima).
* NMS and the box coder run on CPU float32 (the detector moves its RPN and head outputs there).
"""
from __future__ import annotations

import math

import numpy as np
import torch

Tensor = torch.Tensor


# ----------------------------------------------------------------------------- box coder
def apply_deltas(deltas: Tensor, boxes: Tensor, weights, scale_clamp: float = math.log(1000.0 / 16)) -> Tensor:
    """Decode R-CNN deltas ``(dx, dy, dw, dh)`` relative to ``boxes``.

    Args:
        deltas: (N, K*4) deltas, K boxes per row (class-specific layout ``[k*4 : k*4+4]``).
        boxes: (N, 4) source boxes ``x1, y1, x2, y2``.
        weights: 4 divisors for ``dx, dy, dw, dh`` (e.g. ``(10, 10, 5, 5)``).
        scale_clamp: upper bound of ``dw, dh`` before ``exp``.

    Returns:
        Tensor: (N, K*4) decoded boxes.
    """
    boxes = boxes.to(deltas.dtype)
    widths = boxes[:, 2] - boxes[:, 0]
    heights = boxes[:, 3] - boxes[:, 1]
    ctr_x = boxes[:, 0] + 0.5 * widths
    ctr_y = boxes[:, 1] + 0.5 * heights
    wx, wy, ww, wh = weights
    dx = deltas[:, 0::4] / wx
    dy = deltas[:, 1::4] / wy
    dw = torch.clamp(deltas[:, 2::4] / ww, max=scale_clamp)
    dh = torch.clamp(deltas[:, 3::4] / wh, max=scale_clamp)
    cx = dx * widths[:, None] + ctr_x[:, None]  # (N, K)
    cy = dy * heights[:, None] + ctr_y[:, None]
    w = torch.exp(dw) * widths[:, None]
    h = torch.exp(dh) * heights[:, None]
    out = torch.stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), dim=2)  # (N, K, 4)
    return out.reshape(deltas.shape)


def clip_boxes(boxes: Tensor, height: float, width: float) -> Tensor:
    """(N, 4) boxes clamped to ``[0, width] x [0, height]`` (new tensor)."""
    x = boxes[..., 0::2].clamp(0, width)
    y = boxes[..., 1::2].clamp(0, height)
    return torch.stack((x[..., 0], y[..., 0], x[..., 1], y[..., 1]), dim=-1)


def nonempty(boxes: Tensor, min_size: float = 0.0) -> Tensor:
    """(N,) bool: width and height both greater than ``min_size``."""
    return ((boxes[:, 2] - boxes[:, 0]) > min_size) & ((boxes[:, 3] - boxes[:, 1]) > min_size)


def box_area(boxes: Tensor) -> Tensor:
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def box_iou(a: Tensor, b: Tensor) -> Tensor:
    """IoU matrix (..., N, M) of boxes a (..., N, 4) and b (..., M, 4)."""
    lt = torch.maximum(a[..., :, None, :2], b[..., None, :, :2])
    rb = torch.minimum(a[..., :, None, 2:], b[..., None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (box_area(a)[..., :, None] + box_area(b)[..., None, :] - inter)


# ----------------------------------------------------------------------------- NMS
def score_order(scores: Tensor) -> Tensor:
    """Indices by descending score; ties keep the lower index first (stable)."""
    return torch.sort(scores, descending=True, stable=True).indices


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float, max_keep: int | None = None) -> Tensor:
    """Greedy non-maximum suppression.

    Args:
        boxes: (N, 4) ``x1, y1, x2, y2``.
        scores: (N,) scores.
        iou_threshold: a box is dropped when its IoU with a kept box is greater than this.
        max_keep: stop after this many kept boxes (same result as truncating the full output).

    Returns:
        Tensor: (M,) int64 indices of kept boxes, by descending score.
    """
    n = boxes.shape[0]
    if n == 0:
        return torch.zeros(0, dtype=torch.int64)
    order = score_order(scores)
    b = boxes[order]
    x1, y1, x2, y2 = b.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    suppressed = torch.zeros(n, dtype=torch.bool)
    sup_np = suppressed.numpy()  # shares memory: cheap scalar reads in the loop
    keep = []
    limit = n if max_keep is None else max_keep
    for i in range(n):
        if sup_np[i]:
            continue
        keep.append(i)
        if len(keep) >= limit or i == n - 1:
            break
        # IoU of box i with every later box, same formula as box_iou
        w = (torch.minimum(x2[i], x2[i + 1:]) - torch.maximum(x1[i], x1[i + 1:])).clamp(min=0)
        h = (torch.minimum(y2[i], y2[i + 1:]) - torch.maximum(y1[i], y1[i + 1:])).clamp(min=0)
        inter = w * h
        iou = inter / (areas[i] + areas[i + 1:] - inter)
        suppressed[i + 1:] |= iou > iou_threshold
    return order[torch.tensor(keep, dtype=torch.int64)]


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """NMS run independently per category ``idxs`` (a loop per class: exact, no coordinate offset).

    Returns:
        Tensor: (M,) kept indices, by descending score over all classes.
    """
    keep = [torch.nonzero(idxs == c).flatten()[nms(boxes[idxs == c], scores[idxs == c], iou_threshold)]
            for c in torch.unique(idxs)]
    if not keep:
        return torch.zeros(0, dtype=torch.int64)
    keep = torch.cat(keep)
    return keep[score_order(scores[keep])]


def multiclass_nms_mask(boxes: Tensor, scores: Tensor, iou_threshold: float, chunk: int | None = None) -> Tensor:
    """Per-class greedy NMS for many classes at once; returns which (box, class) pairs survive.

    Equivalent to calling :func:`nms` for every class column, but vectorised over classes: the
    greedy sweep goes over score ranks (N steps) and treats a chunk of classes in parallel.

    Args:
        boxes: (N, 4) boxes shared by all classes, or (N, K, 4) class-specific boxes.
        scores: (N, K) scores.
        iou_threshold: NMS threshold.
        chunk: classes handled together (default: all for shared boxes, 64 for class-specific
            ones, whose IoU tensor takes chunk * N * N values).

    Returns:
        Tensor: (N, K) bool, True where box n survives NMS of class k.
    """
    n, k = scores.shape
    keep = torch.zeros(n, k, dtype=torch.bool)
    if n == 0:
        return keep
    shared = boxes.dim() == 2
    chunk = chunk or (k if shared else 64)
    iou_shared = box_iou(boxes, boxes) if shared else None  # (N, N)
    for c0 in range(0, k, chunk):
        sc = scores[:, c0:c0 + chunk].T  # (k_c, N)
        kc = sc.shape[0]
        # the sweep runs in numpy: its small boolean ops are ~10x cheaper there than in torch
        order = torch.sort(sc, dim=1, descending=True, stable=True).indices.numpy()  # (k_c, N)
        if shared:
            over = (iou_shared > iou_threshold).numpy()  # (N, N)
        else:
            bc = boxes[:, c0:c0 + chunk].transpose(0, 1)  # (k_c, N, 4)
            over = (box_iou(bc, bc) > iou_threshold).numpy()  # (k_c, N, N)
        suppressed = np.zeros((kc, n), dtype=bool)
        kept = np.zeros((kc, n), dtype=bool)
        rows = np.arange(kc)
        for r in range(n):
            idx = order[:, r]  # (k_c,) the r-th best box of each class
            alive = ~suppressed[rows, idx]
            kept[rows, idx] = alive
            hit = over[idx] if shared else over[rows, idx]  # (k_c, N)
            suppressed |= hit & alive[:, None]
        keep[:, c0:c0 + kc] = torch.from_numpy(kept.T.copy())
    return keep


# ----------------------------------------------------------------------------- RoIPool
def _round_half_away(x: Tensor) -> Tensor:
    return torch.sign(x) * torch.floor(torch.abs(x) + 0.5)


def roi_bins(rois: Tensor, output_size: int, spatial_scale: float, height: int, width: int):
    """Each RoI's bin edges in feature cells, exactly as the legacy RoIPool kernel computes them.

    Returns:
        ``(hs, he, ws, we)``: (N, P) int64 start/end rows and columns (end exclusive), clamped to
        the map; a bin with ``end <= start`` is empty.
    """
    p = output_size
    r = rois.detach().to("cpu", torch.float32)
    start_w = _round_half_away(r[:, 1] * spatial_scale)
    start_h = _round_half_away(r[:, 2] * spatial_scale)
    end_w = _round_half_away(r[:, 3] * spatial_scale)
    end_h = _round_half_away(r[:, 4] * spatial_scale)
    roi_w = torch.clamp(end_w - start_w + 1, min=1)
    roi_h = torch.clamp(end_h - start_h + 1, min=1)
    bin_w = roi_w / p  # float32 like the reference kernel
    bin_h = roi_h / p
    steps = torch.arange(p, dtype=torch.float32)
    hs = (torch.floor(steps[None] * bin_h[:, None]) + start_h[:, None]).clamp(0, height).long()  # (N, P)
    he = (torch.ceil((steps[None] + 1) * bin_h[:, None]) + start_h[:, None]).clamp(0, height).long()
    ws = (torch.floor(steps[None] * bin_w[:, None]) + start_w[:, None]).clamp(0, width).long()
    we = (torch.ceil((steps[None] + 1) * bin_w[:, None]) + start_w[:, None]).clamp(0, width).long()
    return hs, he, ws, we


def _log2_floor(x: Tensor) -> Tensor:
    """floor(log2(x)) for int64 x >= 1, exactly (no float rounding)."""
    out = torch.zeros_like(x)
    y = x.clone()
    while bool((y > 1).any()):
        out += (y > 1).long()
        y = torch.where(y > 1, y // 2, y)
    return out


def roi_pool(features: Tensor, rois: Tensor, output_size: int, spatial_scale: float,
             chunk: int = 64) -> Tensor:
    """Legacy max RoIPool (Fast R-CNN / Caffe / ``torchvision.ops.roi_pool``), vectorised over RoIs.

    Every bin is a rectangle of cells; its maximum is the maximum of four overlapping
    power-of-two rectangles read from a 2-D sparse table of the map (level ``(k, l)`` holds the
    maximum over ``2**k`` rows by ``2**l`` columns from each cell), so the result is exactly the
    kernel's (a maximum has no rounding), with one gather per corner instead of a loop per RoI.

    Args:
        features: (B, C, H, W) feature maps (any memory format, device and float dtype).
        rois: (N, 5) rows ``batch_index, x1, y1, x2, y2`` in input-image pixels.
        output_size: P, pooled height and width.
        spatial_scale: feature cells per input pixel (1/16 for res4).
        chunk: RoIs gathered at a time (bounds the temporary memory to ``4 * chunk * P * P * C``).

    Returns:
        Tensor: (N, C, P, P) pooled features, channels-last in memory; empty bins are 0.
    """
    nb, c, height, width = features.shape
    p = output_size
    n = rois.shape[0]
    if n == 0:
        return features.new_zeros((0, c, p, p))
    hs, he, ws, we = roi_bins(rois, p, spatial_scale, height, width)
    batch = rois[:, 0].detach().to("cpu", torch.float32).long()
    y0, y1 = hs[:, :, None].expand(n, p, p), he[:, :, None].expand(n, p, p)  # (N, P, P)
    x0, x1 = ws[:, None, :].expand(n, p, p), we[:, None, :].expand(n, p, p)
    empty = (y1 <= y0) | (x1 <= x0)
    k = _log2_floor((y1 - y0).clamp(min=1))  # row level of each bin
    l = _log2_floor((x1 - x0).clamp(min=1))  # column level
    kmax, lmax = int(k.max()), int(l.max())
    # sparse table: (K, L, B, H, W, C); level (k, l) at (y, x) = max of rows y..y+2^k, cols x..x+2^l
    f = features.detach().permute(0, 2, 3, 1)  # (B, H, W, C)
    table = f.new_empty((kmax + 1, lmax + 1, nb, height, width, c))
    table[0, 0] = f
    for j in range(1, lmax + 1):
        s = 2 ** (j - 1)
        table[0, j] = table[0, j - 1]
        torch.maximum(table[0, j - 1][:, :, : width - s], table[0, j - 1][:, :, s:], out=table[0, j][:, :, : width - s])
    for i in range(1, kmax + 1):
        s = 2 ** (i - 1)
        table[i] = table[i - 1]
        torch.maximum(table[i - 1][:, :, : height - s], table[i - 1][:, :, s:], out=table[i][:, :, : height - s])
    flat = table.view(-1, c)
    base = ((k * (lmax + 1) + l) * nb + batch[:, None, None]) * height  # (N, P, P)
    ya, yb = y0, y1 - (1 << k)
    xa, xb = x0, x1 - (1 << l)
    corners = [((base + y) * width + x).masked_fill(empty, 0).to(features.device)
               for y, x in ((ya, xa), (ya, xb), (yb, xa), (yb, xb))]
    out = features.new_empty((n, p, p, c))
    for s in range(0, n, chunk):
        part = out[s:s + chunk]
        torch.index_select(flat, 0, corners[0][s:s + chunk].reshape(-1), out=part.view(-1, c))
        for idx in corners[1:]:
            torch.maximum(part, flat.index_select(0, idx[s:s + chunk].reshape(-1)).view(part.shape), out=part)
    out.masked_fill_(empty.to(features.device)[..., None], 0)
    return out.permute(0, 3, 1, 2)  # (N, C, P, P), channels-last memory
