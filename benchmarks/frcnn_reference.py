"""The VG Faster R-CNN's code paths as they were before the speed work: the benchmark's baseline.

Shape letters: B images, C channels, H W height and width, N RoIs, P pooled size.

For `bench_frcnn.py` and the equivalence test only; the package does not import it. It runs a
`lxmert_viz.features.FasterRCNN`'s own parameters the old way, so old and new are compared on the
same weights in one process:
* every conv in NCHW followed by a separate frozen-BatchNorm multiply-add (no folding);
* RoIPool as a Python loop over RoIs (two lists of slice maxima per RoI);
* pre-processing as before: PIL's antialiased bilinear on uint8, and the old size rounding
  (``scale = min_size / min(h, w)``, capped by ``max_size / max(h, w)``);
* the RPN head's 3x3 conv and its ReLU as two calls.
The RPN's decoding and NMS, the box coder and box selection are the package's (unchanged in this
work). ``detect`` gives bit for bit the merge-base package's ``FasterRCNN.detect`` on the same
weights and input tensor, in about the same time (checked once when the benchmark was written).
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from lxmert_viz.features.detector import RawDetections, per_image
from lxmert_viz.features.ops import roi_bins
from lxmert_viz.features.preprocess import ImageBatch, load_image
from lxmert_viz.features.roi_heads import HeadOutputs


def old_resized_size(height: int, width: int, min_size: int, max_size: int) -> tuple[int, int]:
    scale = min_size / min(height, width)
    if max(height, width) * scale > max_size:
        scale = max_size / max(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


def old_preprocess(images, cfg) -> ImageBatch:
    """PIL antialiased resize on uint8, BGR, minus mean / std, zero padding (the old path)."""
    tensors, sizes, originals, scales = [], [], [], []
    for image in images:
        rgb = image if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 \
            else load_image(image)
        h0, w0 = rgb.shape[:2]
        h, w = old_resized_size(h0, w0, cfg.min_size, cfg.max_size)
        if (h, w) != (h0, w0):
            rgb = np.asarray(Image.fromarray(rgb).resize((w, h), Image.BILINEAR))
        bgr = torch.from_numpy(np.ascontiguousarray(rgb[:, :, ::-1])).permute(2, 0, 1).to(torch.float32)
        mean = torch.tensor(cfg.pixel_mean, dtype=torch.float32)[:, None, None]
        std = torch.tensor(cfg.pixel_std, dtype=torch.float32)[:, None, None]
        tensors.append((bgr - mean) / std)
        sizes.append((h, w))
        originals.append((w0, h0))
        scales.append((w0 / w, h0 / h))
    batch = torch.zeros((len(tensors), 3, max(s[0] for s in sizes), max(s[1] for s in sizes)))
    for i, t in enumerate(tensors):
        batch[i, :, : t.shape[1], : t.shape[2]] = t
    return ImageBatch(batch, sizes, originals, scales)


def conv_norm(m, x: torch.Tensor) -> torch.Tensor:
    """A ``ConvNorm`` the old way: NCHW conv, then the BatchNorm as its own multiply-add."""
    x = F.conv2d(x, m.weight, None, m.stride, m.padding, m.dilation, m.groups)
    bn = m.norm
    scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    return x * scale[None, :, None, None] + shift[None, :, None, None]


def bottleneck(b, x: torch.Tensor) -> torch.Tensor:
    out = F.relu_(conv_norm(b.conv1, x))
    out = F.relu_(conv_norm(b.conv2, out))
    out = conv_norm(b.conv3, out)
    out = out + (conv_norm(b.shortcut, x) if b.shortcut is not None else x)
    return F.relu_(out)


def stage(blocks, x: torch.Tensor) -> torch.Tensor:
    for b in blocks:
        x = bottleneck(b, x)
    return x


def backbone(bb, x: torch.Tensor) -> torch.Tensor:
    x = F.relu_(conv_norm(bb.stem.conv1, x.contiguous()))
    if bb.stem.caffe_maxpool:
        x = F.max_pool2d(x, kernel_size=3, stride=2, padding=0, ceil_mode=True)
    else:
        x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
    return stage(bb.res4, stage(bb.res3, stage(bb.res2, x)))


class _OldRPNHead(torch.nn.Module):
    """The RPN head as it was: ``F.relu(conv(x))``, then the two 1x1 convs (same parameters)."""

    def __init__(self, head):
        super().__init__()
        self.head = head

    def forward(self, x: torch.Tensor):
        t = F.relu(self.head.conv(x))
        return self.head.objectness_logits(t), self.head.anchor_deltas(t)


def rpn(proposal_generator, feats: torch.Tensor, sizes):
    """The package's RPN (decode, NMS) with the old head, on ``proposal_generator``'s parameters."""
    head = proposal_generator.rpn_head
    proposal_generator.rpn_head = _OldRPNHead(head)
    try:
        return proposal_generator(feats, sizes)
    finally:
        proposal_generator.rpn_head = head


def roi_pool_loop(features: torch.Tensor, rois: torch.Tensor, output_size: int, spatial_scale: float) -> torch.Tensor:
    """Legacy max RoIPool with a Python loop per RoI (the old implementation)."""
    _, c, height, width = features.shape
    p = output_size
    out = features.new_zeros((rois.shape[0], c, p, p))
    if rois.shape[0] == 0:
        return out
    r = rois.to(torch.float32)
    # the bin arithmetic is the package's (unchanged since the merge-base); the loop below is the old one
    hs, he, ws, we = roi_bins(rois, p, spatial_scale, height, width)
    batch = r[:, 0].long().tolist()
    hs_l, he_l, ws_l, we_l = hs.tolist(), he.tolist(), ws.tolist(), we.tolist()
    neg = torch.tensor(float("-inf"), dtype=features.dtype)
    for i in range(rois.shape[0]):
        fmap = features[batch[i]]
        r0, r1 = min(hs_l[i]), max(he_l[i])
        if r1 <= r0:
            continue
        empty_col = neg.expand(c, r1 - r0)
        cols = torch.stack([
            fmap[:, r0:r1, ws_l[i][pw]:we_l[i][pw]].amax(dim=2) if we_l[i][pw] > ws_l[i][pw] else empty_col
            for pw in range(p)], dim=2)
        empty_row = neg.expand(c, p)
        pooled = torch.stack([
            cols[:, hs_l[i][ph] - r0:he_l[i][ph] - r0].amax(dim=1) if he_l[i][ph] > hs_l[i][ph] else empty_row
            for ph in range(p)], dim=1)
        out[i] = torch.where(torch.isneginf(pooled), torch.zeros((), dtype=features.dtype), pooled)
    return out


def rois_of(proposals: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([torch.cat([torch.full((len(p), 1), float(i)), p], dim=1) for i, p in enumerate(proposals)])


def box_head(model, feats: torch.Tensor, proposals: list[torch.Tensor]) -> HeadOutputs:
    """RoIPool (loop) + res5 (NCHW, separate BN) + mean pool + predictor, the old way."""
    cfg = model.cfg
    pooled = roi_pool_loop(feats, rois_of(proposals), cfg.pooler_resolution, 1.0 / cfg.anchor_stride)
    x = stage(model.roi_heads.res5, pooled).mean(dim=(2, 3))
    cls, deltas, attr = model.roi_heads.box_predictor(x)
    return HeadOutputs(x, cls, deltas, attr)


@torch.inference_mode()
def detect(model, batch: ImageBatch) -> list[RawDetections]:
    """The whole detector the old way (float32, CPU), on a new model's weights."""
    feats = backbone(model.backbone, batch.tensor)
    props = rpn(model.proposal_generator, feats, batch.sizes)
    return per_image(props, box_head(model, feats, [p for p, _ in props]), batch)
