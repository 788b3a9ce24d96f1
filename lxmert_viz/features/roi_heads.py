"""RoI heads: RoIPool on res4, res5 (stride 1, dilation 2 unless ``res5_halve``), mean pool, outputs.

Shape letters: N regions (all images), C channels, P pooled size, D head size (2048),
K object classes + background, Q attributes + "no attribute".

Names match the checkpoint: ``res5.{i}...`` and ``box_predictor.{cls_score, bbox_pred,
cls_embedding, fc_attr, attr_score}``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from . import ops
from .backbone import make_stage
from .frcnn_config import FRCNNConfig


@dataclass
class HeadOutputs:
    """Raw per-region outputs of the box head (all images concatenated).

    Attributes:
        feats: (N, D) mean-pooled res5 features: the region features LXMERT reads.
        cls_logits: (N, K+1) object logits, background at index K.
        box_deltas: (N, num_bbox_classes * 4) class-specific deltas.
        attr_logits: (N, Q+1) attribute logits ("no attribute" at the last index).
    """

    feats: torch.Tensor
    cls_logits: torch.Tensor
    box_deltas: torch.Tensor
    attr_logits: torch.Tensor


class BoxPredictor(nn.Module):
    """Linear object classifier, class-specific box regressor and the VG attribute head.

    The attribute head embeds the argmax object class (background included), concatenates it to
    the pooled feature, then ``fc_attr`` + ReLU + ``attr_score``.
    """

    def __init__(self, cfg: FRCNNConfig):
        super().__init__()
        d = cfg.head_dim
        self.cls_score = nn.Linear(d, cfg.num_classes + 1)
        self.bbox_pred = nn.Linear(d, cfg.num_bbox_classes * 4)
        self.cls_embedding = nn.Embedding(cfg.num_classes + 1, cfg.attr_embed_dim)
        self.fc_attr = nn.Linear(d + cfg.attr_embed_dim, cfg.attr_hidden)
        self.attr_score = nn.Linear(cfg.attr_hidden, cfg.num_attrs + 1)

    def forward(self, x: torch.Tensor):  # (N, D)
        cls = self.cls_score(x)  # (N, K+1)
        deltas = self.bbox_pred(x)
        emb = self.cls_embedding(cls.argmax(-1))  # (N, D/8)
        attr = self.attr_score(F.relu(self.fc_attr(torch.cat([x, emb], dim=-1))))  # (N, Q+1)
        return cls, deltas, attr


class Res5ROIHeads(nn.Module):
    """Pool each proposal from res4, run res5 on it, mean-pool, predict."""

    def __init__(self, cfg: FRCNNConfig):
        super().__init__()
        self.cfg = cfg
        self.res5 = make_stage(5, cfg)
        self.box_predictor = BoxPredictor(cfg)

    def rois(self, proposals: list[torch.Tensor]) -> torch.Tensor:
        """(N, 5) ``batch_index, x1, y1, x2, y2`` rows of every image's proposals, CPU float32."""
        if not proposals:
            return torch.zeros(0, 5)
        return torch.cat([torch.cat([torch.full((len(p), 1), float(i)), p.to("cpu", torch.float32)], dim=1)
                          for i, p in enumerate(proposals)])

    def pool(self, feats: torch.Tensor, proposals: list[torch.Tensor]) -> torch.Tensor:
        """(N, C, P, P) RoIPool of every image's proposals (scale 1/stride), on the maps' device."""
        return ops.roi_pool(feats, self.rois(proposals), self.cfg.pooler_resolution, 1.0 / self.cfg.anchor_stride)

    def distinct(self, feats: torch.Tensor, rois: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """RoIs whose pooling bins differ: (U,) indices of one RoI per bin layout, (N,) which one each uses.

        RoIPool reads only the image index and the integer bin edges, so RoIs with the same edges
        pool the same cells and give the same outputs bit for bit; they run once.
        """
        hs, he, ws, we = ops.roi_bins(rois, self.cfg.pooler_resolution, 1.0 / self.cfg.anchor_stride,
                                      feats.shape[2], feats.shape[3])
        key = torch.cat([rois[:, :1].long(), hs, he, ws, we], dim=1)
        _, inverse = torch.unique(key, dim=0, return_inverse=True)
        n = len(rois)
        first = torch.full((int(inverse.max()) + 1,), n, dtype=torch.long).scatter_reduce_(
            0, inverse, torch.arange(n), reduce="amin")
        return first, inverse

    def forward(self, feats: torch.Tensor, proposals: list[torch.Tensor]) -> HeadOutputs:
        """Box head outputs for all proposals, on CPU in float32 (the network may run elsewhere)."""
        rois = self.rois(proposals)
        if len(rois) == 0:
            cfg = self.cfg
            return HeadOutputs(torch.zeros(0, cfg.head_dim), torch.zeros(0, cfg.num_classes + 1),
                               torch.zeros(0, cfg.num_bbox_classes * 4), torch.zeros(0, cfg.num_attrs + 1))
        first, inverse = self.distinct(feats, rois)
        pooled = ops.roi_pool(feats, rois[first], self.cfg.pooler_resolution, 1.0 / self.cfg.anchor_stride)
        x = self.res5(pooled).mean(dim=(2, 3))  # (U, D)
        cls, deltas, attr = self.box_predictor(x)
        return HeadOutputs(*(t.to("cpu", torch.float32)[inverse] for t in (x, cls, deltas, attr)))
