"""FRCNNConfig: every number that shapes the Visual Genome Faster R-CNN, with the checkpoint's values.

No tensors here. Defaults reproduce ``unc-nlp/frcnn-vg-finetuned`` (the detectron2 port of the
bottom-up-attention Caffe model, Anderson et al. 2018):

* ResNet-101 C4: res2/res3/res4/res5 with 3/4/23/3 bottlenecks, stride in the 1x1 conv, frozen
  BatchNorm (eps 1e-5, like ``nn.BatchNorm2d`` and detectron2's ``FrozenBatchNorm2d``), Caffe max
  pool in the stem (3x3, stride 2, padding 0, ceil mode).
* RPN on res4 (stride 16): 12 anchors (sizes 64/128/256/512 x ratios 0.5/1/2), a 3x3 conv
  1024 -> 512, pre-NMS top 6000, NMS 0.7, post-NMS top 300 at test (the Caffe test setting).
* RoI heads: RoIPool 14x14 at scale 1/16 on res4, res5 with stride 1 and dilation 2 (every block's
  3x3 conv: dilation 2, padding 2, as the port does), mean pool to 2048, 1600 object classes +
  background (LAST index), class-specific box deltas (1600 x 4, weights 10/10/5/5), attribute head
  (embedding 1601 x 256, fc 2304 -> 512, scores 512 -> 401, "no attribute" at the LAST index).
* Input: shortest side 800, longest at most 1333, BGR, minus the Caffe pixel mean, std 1.

``FRCNNConfig.tiny()`` keeps the same layout and key names with small widths, for fast tests.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path

from . import yaml_lite


@dataclass(frozen=True)
class FRCNNConfig:
    """Architecture and inference settings of the C4 Faster R-CNN with attribute head.

    Example:
        >>> FRCNNConfig().res_out(4), FRCNNConfig().num_anchors
        (1024, 12)
    """

    # backbone
    blocks: tuple[int, int, int, int] = (3, 4, 23, 3)  # res2, res3, res4, res5
    stem_out: int = 64
    res2_out: int = 256
    bottleneck: int = 64  # res2 bottleneck width (num_groups * width_per_group)
    stride_in_1x1: bool = True
    res5_dilation: int = 2
    bn_eps: float = 1e-5
    # anchors / RPN
    anchor_sizes: tuple[float, ...] = (64.0, 128.0, 256.0, 512.0)
    anchor_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    anchor_stride: int = 16
    anchor_offset: float = 0.0
    rpn_hidden: int = 512
    rpn_pre_nms_topk: int = 6000
    rpn_post_nms_topk: int = 300
    rpn_nms_thresh: float = 0.7
    rpn_min_size: float = 0.0
    rpn_bbox_weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    # RoI heads
    pooler_resolution: int = 14
    num_classes: int = 1600  # without background
    num_attrs: int = 400  # without "no attribute"
    cls_agnostic_bbox_reg: bool = False
    bbox_weights: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)
    bbox_reg_with_background: bool = False  # deltas for num_classes (port) or num_classes + 1
    scale_clamp: float = math.log(1000.0 / 16)
    # input
    pixel_mean: tuple[float, float, float] = (102.9801, 115.9465, 122.7717)  # BGR
    pixel_std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    min_size: int = 800
    max_size: int = 1333
    # box selection defaults
    score_thresh: float = 0.2
    nms_thresh: float = 0.3
    min_boxes: int = 10
    max_boxes: int = 100

    def res_out(self, stage: int) -> int:
        """Output channels of ``res{stage}`` (2..5)."""
        return self.res2_out * 2 ** (stage - 2)

    def res_bottleneck(self, stage: int) -> int:
        """Bottleneck width of ``res{stage}`` (2..5)."""
        return self.bottleneck * 2 ** (stage - 2)

    @property
    def num_anchors(self) -> int:
        return len(self.anchor_sizes) * len(self.anchor_ratios)

    @property
    def head_dim(self) -> int:
        """Pooled region feature size (2048 for the checkpoint)."""
        return self.res_out(5)

    @property
    def num_bbox_classes(self) -> int:
        if self.cls_agnostic_bbox_reg:
            return 1
        return self.num_classes + (1 if self.bbox_reg_with_background else 0)

    @property
    def attr_embed_dim(self) -> int:
        return self.head_dim // 8

    @property
    def attr_hidden(self) -> int:
        return self.head_dim // 4

    @classmethod
    def tiny(cls) -> "FRCNNConfig":
        """Same layout and key names, small widths and depths: a forward takes milliseconds."""
        return cls(blocks=(1, 1, 2, 1), stem_out=8, res2_out=16, bottleneck=4, rpn_hidden=16,
                   rpn_pre_nms_topk=400, rpn_post_nms_topk=60, num_classes=20, num_attrs=10,
                   min_size=96, max_size=160)

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides) -> "FRCNNConfig":
        """Read the fields this kit needs from a detectron2-style ``config.yaml``.

        Keys are looked up both at the top level and under ``MODEL`` (the hub file nests them;
        transformers' demo flattens them). Unknown keys are ignored; missing ones keep defaults.

        Args:
            path: the ``config.yaml`` file.
            **overrides: fields to set after reading.

        Returns:
            FRCNNConfig
        """
        tree = yaml_lite.loads(Path(path).read_text(encoding="utf-8"))
        return replace(cls.from_dict(tree), **overrides)

    @classmethod
    def from_dict(cls, tree: dict) -> "FRCNNConfig":
        """Build from a parsed detectron2-style config tree (see :meth:`from_yaml`)."""
        def get(dotted: str):
            for root in (tree, tree.get("MODEL") or {}):
                node = root
                for part in dotted.split("."):
                    if not isinstance(node, dict) or part not in node:
                        node = None
                        break
                    node = node[part]
                if node is not None:
                    return node
            return None

        kw: dict = {}
        depth = get("RESNETS.DEPTH")
        if depth is not None:
            kw["blocks"] = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}[int(depth)]
        if get("RESNETS.BLOCKS") is not None:  # this kit's own key, for reduced test configs
            kw["blocks"] = tuple(int(v) for v in _flatten(get("RESNETS.BLOCKS")))
        table = {
            "stem_out": "RESNETS.STEM_OUT_CHANNELS", "res2_out": "RESNETS.RES2_OUT_CHANNELS",
            "stride_in_1x1": "RESNETS.STRIDE_IN_1X1", "res5_dilation": "RESNETS.RES5_DILATION",
            "anchor_offset": "ANCHOR_GENERATOR.OFFSET",
            "rpn_hidden": "PROPOSAL_GENERATOR.HIDDEN_CHANNELS",
            "rpn_min_size": "PROPOSAL_GENERATOR.MIN_SIZE",
            "rpn_pre_nms_topk": "RPN.PRE_NMS_TOPK_TEST", "rpn_post_nms_topk": "RPN.POST_NMS_TOPK_TEST",
            "rpn_nms_thresh": "RPN.NMS_THRESH", "rpn_bbox_weights": "RPN.BBOX_REG_WEIGHTS",
            "pooler_resolution": "ROI_BOX_HEAD.POOLER_RESOLUTION",
            "num_classes": "ROI_HEADS.NUM_CLASSES", "num_attrs": "ROI_BOX_HEAD.NUM_ATTRS",
            "cls_agnostic_bbox_reg": "ROI_BOX_HEAD.CLS_AGNOSTIC_BBOX_REG",
            "bbox_weights": "ROI_BOX_HEAD.BBOX_REG_WEIGHTS",
            "pixel_mean": "PIXEL_MEAN", "pixel_std": "PIXEL_STD",
            "min_size": "INPUT.MIN_SIZE_TEST", "max_size": "INPUT.MAX_SIZE_TEST",
            "score_thresh": "ROI_HEADS.SCORE_THRESH_TEST", "nms_thresh": "ROI_HEADS.NMS_THRESH_TEST",
            "min_boxes": "MIN_DETECTIONS", "max_boxes": "MAX_DETECTIONS",
        }
        types = {f.name: f.type for f in fields(cls)}
        for name, key in table.items():
            val = get(key)
            if val is None:
                continue
            if isinstance(val, list) and "tuple" not in str(types[name]):
                val = val[0]  # e.g. NMS_THRESH_TEST given as a list of fallbacks: keep the first
            if "tuple" in str(types[name]):
                val = tuple(float(v) for v in _flatten(val))
            elif types[name] in ("int", int):
                val = int(val)
            elif types[name] in ("float", float):
                val = float(val)
            kw[name] = val
        if get("RESNETS.WIDTH_PER_GROUP") is not None:
            kw["bottleneck"] = int(get("RESNETS.WIDTH_PER_GROUP")) * int(get("RESNETS.NUM_GROUPS") or 1)
        sizes = get("ANCHOR_GENERATOR.SIZES")
        if sizes is not None:
            kw["anchor_sizes"] = tuple(float(v) for v in _flatten(sizes))
        ratios = get("ANCHOR_GENERATOR.ASPECT_RATIOS")
        if ratios is not None:
            kw["anchor_ratios"] = tuple(float(v) for v in _flatten(ratios))
        return cls(**kw)


def _flatten(val) -> list:
    if isinstance(val, (list, tuple)):
        return [x for v in val for x in _flatten(v)]
    return [val]
