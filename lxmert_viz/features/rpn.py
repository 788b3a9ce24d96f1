"""Region proposal network on the stride-16 res4 map: anchors, head, decoding, NMS.

Shape letters: B images, C channels, H W feature map size, A anchors per cell, N proposals.

Parameter names match the checkpoint: ``anchor_generator.cell_anchors.0`` (A, 4) and
``rpn_head.{conv, objectness_logits, anchor_deltas}.{weight, bias}``.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from . import ops
from .backbone import conv_act
from .frcnn_config import FRCNNConfig


def cell_anchors(sizes, ratios) -> torch.Tensor:
    """(A, 4) anchors centred on (0, 0), sizes outer and ratios inner (detectron2's order).

    For ratio ``r = h / w`` and size ``s``: ``w = sqrt(s^2 / r)``, ``h = r * w``.
    """
    out = []
    for size in sizes:
        area = float(size) ** 2
        for ratio in ratios:
            w = math.sqrt(area / ratio)
            h = ratio * w
            out.append([-w / 2.0, -h / 2.0, w / 2.0, h / 2.0])
    return torch.tensor(out, dtype=torch.float32)


class AnchorGenerator(nn.Module):
    """Holds the cell anchors (a parameter in the checkpoint) and tiles them over a feature map."""

    def __init__(self, cfg: FRCNNConfig):
        super().__init__()
        self.stride = cfg.anchor_stride
        self.offset = cfg.anchor_offset
        self.cell_anchors = nn.ParameterList(
            [nn.Parameter(cell_anchors(cfg.anchor_sizes, cfg.anchor_ratios), requires_grad=False)])

    def grid(self, height: int, width: int) -> torch.Tensor:
        """(H*W*A, 4) anchors in input pixels, ordered (row, column, anchor)."""
        base = self.cell_anchors[0].detach()
        sx = torch.arange(width, dtype=torch.float32) * self.stride + self.offset * self.stride
        sy = torch.arange(height, dtype=torch.float32) * self.stride + self.offset * self.stride
        yy, xx = torch.meshgrid(sy, sx, indexing="ij")
        shifts = torch.stack((xx, yy, xx, yy), dim=-1).reshape(-1, 1, 4)  # (H*W, 1, 4)
        return (shifts + base[None]).reshape(-1, 4)


class RPNHead(nn.Module):
    """3x3 conv (C -> hidden) + ReLU, then 1x1 objectness (A) and 1x1 deltas (4A)."""

    def __init__(self, cfg: FRCNNConfig):
        super().__init__()
        cin, hid, a = cfg.res_out(4), cfg.rpn_hidden, cfg.num_anchors
        self.conv = nn.Conv2d(cin, hid, 3, padding=1)
        self.objectness_logits = nn.Conv2d(hid, a, 1)
        self.anchor_deltas = nn.Conv2d(hid, 4 * a, 1)

    def forward(self, x: torch.Tensor):
        c = self.conv
        t = conv_act(x, c.weight, c.bias, 1, 1, 1, 1, relu=True)  # conv + ReLU in one oneDNN call on CPU
        return self.objectness_logits(t), self.anchor_deltas(t)  # (B, A, H, W), (B, 4A, H, W)


class RPN(nn.Module):
    """Proposals per image: top-k by objectness, decode, clip, drop empty, NMS, top post-k.

    Test-time values (config): pre-NMS top 6000, NMS IoU 0.7, post-NMS top 300, min side 0.
    """

    def __init__(self, cfg: FRCNNConfig):
        super().__init__()
        self.cfg = cfg
        self.anchor_generator = AnchorGenerator(cfg)
        self.rpn_head = RPNHead(cfg)

    def forward(self, feats: torch.Tensor, image_sizes: list[tuple[int, int]]):
        """Args:
            feats: (B, C, H, W) res4 maps.
            image_sizes: per image ``(height, width)`` of the resized (unpadded) input.

        Returns:
            list of (N_b, 4) proposal boxes in resized-input pixels and (N_b,) objectness logits,
            sorted by descending objectness; CPU float32.
        """
        cfg = self.cfg
        logits, deltas = self.rpn_head(feats)
        # decoding and NMS run on CPU in float32, whatever the device and dtype of the network
        logits, deltas = logits.to("cpu", torch.float32), deltas.to("cpu", torch.float32)
        b, a, h, w = logits.shape
        anchors = self.anchor_generator.grid(h, w)  # (H*W*A, 4)
        logits = logits.permute(0, 2, 3, 1).reshape(b, -1)  # (B, H*W*A)
        deltas = deltas.view(b, a, 4, h, w).permute(0, 3, 4, 1, 2).reshape(b, -1, 4)  # (B, H*W*A, 4)
        out = []
        for i in range(b):
            k = min(cfg.rpn_pre_nms_topk, logits.shape[1])
            order = ops.score_order(logits[i])[:k]
            boxes = ops.apply_deltas(deltas[i, order], anchors[order], cfg.rpn_bbox_weights, cfg.scale_clamp)
            scores = logits[i, order]
            boxes = ops.clip_boxes(boxes, *image_sizes[i])
            ok = ops.nonempty(boxes, cfg.rpn_min_size)
            boxes, scores = boxes[ok], scores[ok]
            keep = ops.nms(boxes, scores, cfg.rpn_nms_thresh, max_keep=cfg.rpn_post_nms_topk)
            out.append((boxes[keep], scores[keep]))
        return out
