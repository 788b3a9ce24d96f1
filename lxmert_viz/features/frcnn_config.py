"""FRCNNConfig: every number that shapes the Visual Genome Faster R-CNN, with the checkpoint's values.

No tensors here. Defaults reproduce ``unc-nlp/frcnn-vg-finetuned`` (the detectron2 port of the
bottom-up-attention Caffe model, Anderson et al. 2018):

* ResNet-101 C4: res2/res3/res4/res5 with 3/4/23/3 bottlenecks, stride in the 1x1 conv, frozen
  BatchNorm (eps 1e-5, like ``nn.BatchNorm2d`` in eval mode), Caffe max pool in the stem (3x3,
  stride 2, padding 0, ceil mode).
* RPN on res4 (stride 16): 12 anchors (sizes 64/128/256/512 x ratios 0.5/1/2), a 3x3 conv
  1024 -> 512, pre-NMS top 6000, NMS 0.7, post-NMS top 300 at test (the Caffe test setting).
* RoI heads: RoIPool 14x14 at scale 1/16 on res4; res5 with ``res5_halve=False`` as the VG port
  builds it (first block stride 1, every block's 3x3 conv dilation 2 and padding 2: a 14x14
  output), mean pool to 2048, 1600 object classes + background (LAST index), class-specific box
  deltas (1600 x 4, weights 10/10/5/5), attribute head (embedding 1601 x 256, fc 2304 -> 512,
  scores 512 -> 401, "no attribute" at the LAST index).
* Input: shortest side 800, longest at most 1333 (the demo's ``ResizeShortestEdge`` arithmetic),
  bilinear without antialiasing on float pixels (``resize="reference"``, as the demo's
  ``F.interpolate`` and the original Caffe/cv2 pipeline do), BGR, minus the Caffe pixel mean,
  std 1, padded with 0.
* Box selection of the transformers demo (recipe ``hf_demo``): the ``ROI_HEADS.NMS_THRESH_TEST``
  list tried in order, ``MIN_DETECTIONS`` .. ``MAX_DETECTIONS`` boxes. The bottom-up-attention
  recipe has its own fixed numbers (see ``selection.py``); no config key changes them.

``FRCNNConfig.from_yaml`` reads a ``config.yaml`` by the demo's rules (see ``config_file.py``);
``FRCNNConfig.tiny()`` keeps the same layout and key names with small widths, for fast tests.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ConfigError
from .config_file import config_kwargs, read_yaml

RESIZES = ("reference", "antialias")
INPUT_FORMATS = ("BGR", "RGB")


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
    num_groups: int = 1  # groups of every 3x3 conv
    stride_in_1x1: bool = True
    caffe_maxpool: bool = True  # stem pool: 3x3/2 pad 0 ceil mode (Caffe) or pad 1 (torchvision)
    res5_halve: bool = False  # False: res5 stride 1 + dilation 2 (the VG port); True: stride 2
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
    pixel_mean: tuple[float, float, float] = (102.9801, 115.9465, 122.7717)  # in input_format order
    pixel_std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    input_format: str = "BGR"  # channel order the network reads
    min_size: int = 800  # 0: no resizing
    max_size: int = 1333
    pad_value: float = 0.0  # after normalisation
    resize: str = "reference"  # "reference": bilinear, no antialias; "antialias": PIL bilinear on uint8
    # box selection of the transformers demo (recipe "hf_demo")
    demo_nms_thresh: tuple[float, ...] = (0.5,)  # ROI_HEADS.NMS_THRESH_TEST (detectron2's default)
    demo_min_detections: int = 10  # MIN_DETECTIONS
    demo_max_detections: int = 36  # MAX_DETECTIONS

    def __post_init__(self):
        if self.resize not in RESIZES:
            raise ConfigError(f"resize must be one of {RESIZES}, got {self.resize!r}", field="resize")
        if self.input_format not in INPUT_FORMATS:
            raise ConfigError(f"input_format must be one of {INPUT_FORMATS}, got {self.input_format!r}",
                              field="input_format")
        if len(self.blocks) != 4:
            raise ConfigError(f"blocks needs 4 stage depths (res2..res5), got {self.blocks}", field="blocks")
        if len(self.pixel_mean) != 3 or len(self.pixel_std) != 3:
            raise ConfigError(f"pixel_mean and pixel_std need 3 values, got {self.pixel_mean}, {self.pixel_std}",
                              field="pixel_mean")
        if not self.demo_nms_thresh:
            raise ConfigError("demo_nms_thresh needs at least one threshold", field="demo_nms_thresh")
        if not 0 < self.demo_min_detections <= self.demo_max_detections:
            raise ConfigError("need 0 < demo_min_detections <= demo_max_detections, got "
                              f"{self.demo_min_detections}, {self.demo_max_detections}", field="demo_min_detections")
        if self.bottleneck % self.num_groups:
            raise ConfigError(f"bottleneck {self.bottleneck} is not a multiple of num_groups {self.num_groups}",
                              field="bottleneck")

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
    def tiny(cls) -> FRCNNConfig:
        """Same layout and key names, small widths and depths: a forward takes milliseconds."""
        return cls(blocks=(1, 1, 2, 1), stem_out=8, res2_out=16, bottleneck=4, rpn_hidden=16,
                   rpn_pre_nms_topk=400, rpn_post_nms_topk=60, num_classes=20, num_attrs=10,
                   min_size=96, max_size=160)

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides) -> FRCNNConfig:
        """Read a detectron2-style ``config.yaml`` by the transformers demo's rules.

        Every key the demo reads is honoured the way the demo honours it (``config_file.py``
        lists them); a key this loader does not know, or a value it cannot honour, is one
        warning that names it; a value that would build another network than the demo's is a
        ``ConfigError`` (a ``ValueError``) naming the key.

        Args:
            path: the ``config.yaml`` file.
            **overrides: fields to set after reading (e.g. ``resize="antialias"``).

        Returns:
            FRCNNConfig
        """

        return replace(cls.from_dict(read_yaml(path), source=str(path)), **overrides)

    @classmethod
    def from_dict(cls, tree: dict, source: str = "the config") -> FRCNNConfig:
        """Build from a parsed config tree (the content of a ``config.yaml``; see :meth:`from_yaml`).

        Args:
            tree: the parsed file.
            source: how errors and warnings name it.
        """

        kw = config_kwargs(tree, source)
        if kw.get("rpn_hidden") == -1:  # the demo's "as many channels as res4"
            kw["rpn_hidden"] = 4 * kw.get("res2_out", cls.res2_out)
        try:
            return cls(**kw)
        except ValueError as err:
            raise ConfigError(f"{source}: {err}") from None
