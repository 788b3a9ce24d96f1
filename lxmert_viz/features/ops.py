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


def roi_pool(features: Tensor, rois: Tensor, output_size: int, spatial_scale: float,
             chunk: int = 64) -> Tensor:
    """Legacy max RoIPool (Fast R-CNN / Caffe / ``torchvision.ops.roi_pool``), vectorised over RoIs.

    Every bin is a rectangle of cells; its maximum is the maximum of (at most) four overlapping
    power-of-two rectangles read from a 2-D sparse table of the map (level ``(k, l)`` holds the
    maximum over ``2**k`` rows by ``2**l`` columns from each cell), so the result is exactly the
    kernel's (a maximum has no rounding), with a few row gathers per bin instead of a loop per
    RoI. The index arithmetic runs in numpy: thousands of tiny torch ops would each wait for the
    thread pool.

    Args:
        features: (B, C, H, W) feature maps (any memory format, device and float dtype).
        rois: (N, 5) rows ``batch_index, x1, y1, x2, y2`` in input-image pixels.
        output_size: P, pooled height and width.
        spatial_scale: feature cells per input pixel (1/16 for res4).
        chunk: bins gathered at a time, in units of P * P (bounds the temporary memory).

    Returns:
        Tensor: (N, C, P, P) pooled features, channels-last in memory; empty bins are 0.
    """
    nb, c, height, width = features.shape
    p = output_size
    n = rois.shape[0]
    if n == 0:
        return features.new_zeros((0, c, p, p))
    hs, he, ws, we = (t.numpy() for t in roi_bins(rois, p, spatial_scale, height, width))
    batch = rois[:, 0].detach().to("cpu", torch.float32).long().numpy()
    y0, y1 = np.broadcast_to(hs[:, :, None], (n, p, p)), np.broadcast_to(he[:, :, None], (n, p, p))
    x0, x1 = np.broadcast_to(ws[:, None, :], (n, p, p)), np.broadcast_to(we[:, None, :], (n, p, p))
    dh, dw = (y1 - y0).reshape(-1), (x1 - x0).reshape(-1)  # (N*P*P,) bin extents
    empty = (dh <= 0) | (dw <= 0)
    k = np.floor(np.log2(np.maximum(dh, 1))).astype(np.int64)  # exact for these small integers
    lw = np.floor(np.log2(np.maximum(dw, 1))).astype(np.int64)
    kmax, lmax = int(k.max()), int(lw.max())
    # sparse table: (K, L, B, H, W, C); level (k, l) at (y, x) = max of rows y..y+2^k, cols x..x+2^l (l: lw)
    f = features.detach().permute(0, 2, 3, 1)  # (B, H, W, C)
    table = f.new_empty((kmax + 1, lmax + 1, nb, height, width, c))
    table[0, 0] = f
    for j in range(1, lmax + 1):
        s = 2 ** (j - 1)
        prev, cur = table[0, j - 1], table[0, j]
        torch.maximum(prev[:, :, : width - s], prev[:, :, s:], out=cur[:, :, : width - s])
        cur[:, :, width - s:] = prev[:, :, width - s:]  # never read; keeps the memory defined
    for i in range(1, kmax + 1):
        s = 2 ** (i - 1)
        prev, cur = table[i - 1], table[i]
        torch.maximum(prev[:, :, : height - s], prev[:, :, s:], out=cur[:, :, : height - s])
        cur[:, :, height - s:] = prev[:, :, height - s:]
    flat = table.view(-1, c)
    base = ((k * (lmax + 1) + lw) * nb + np.repeat(batch, p * p)) * height
    ya, yb = y0.reshape(-1), y1.reshape(-1) - (1 << k)
    xa, xb = x0.reshape(-1), x1.reshape(-1) - (1 << lw)
    # A bin whose extent is a power of two is covered by one window along that axis: bins are
    # sorted by how many windows they need, gathered group by group, then put back in order.
    idx = [(base + ya) * width + xa, (base + ya) * width + xb, (base + yb) * width + xa, (base + yb) * width + xb]
    pattern = np.where(empty, 0, (xb != xa).astype(np.int64) + 2 * (yb != ya).astype(np.int64))
    order = np.argsort(pattern, kind="stable")
    idx = [np.where(empty, 0, i)[order] for i in idx]
    pattern = pattern[order]
    dev = features.device
    res = features.new_empty((n * p * p, c))
    step = chunk * p * p
    bounds = np.searchsorted(pattern, np.arange(5))
    for g in range(4):
        for s in range(bounds[g], bounds[g + 1], step):
            e = min(s + step, bounds[g + 1])
            buf = res[s:e]
            torch.index_select(flat, 0, torch.from_numpy(idx[0][s:e]).to(dev), out=buf)
            for corner in (1, 2, 3):
                if (corner == 3 and g == 3) or (corner < 3 and g & corner):
                    torch.maximum(buf, flat.index_select(0, torch.from_numpy(idx[corner][s:e]).to(dev)), out=buf)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    out = res.index_select(0, torch.from_numpy(inverse).to(dev))
    if empty.any():
        out[torch.from_numpy(np.flatnonzero(empty)).to(dev)] = 0
    return out.view(n, p, p, c).permute(0, 3, 1, 2)  # (N, C, P, P), channels-last memory
