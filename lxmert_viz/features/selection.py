"""Which proposals become regions: the bottom-up-attention recipe and the transformers-demo recipe.

Shape letters: N proposals, K object classes (no background), Q attributes, R regions kept, D feats.

``recipe="bottom_up"`` (default) follows ``generate_tsv.py`` of bottom-up-attention (Anderson et
al. 2018), which made the features LXMERT was trained on:
  1. class probabilities = softmax over the K+1 logits; background (last column) dropped;
  2. for EVERY class, greedy NMS (IoU 0.3) over the proposal boxes with that class's scores
     (``nms_boxes="regressed"`` uses each class's regressed boxes instead);
  3. each proposal's confidence = its best score over the classes where it survived NMS;
  4. keep proposals with confidence >= 0.2; fewer than ``min_boxes`` or more than ``max_boxes``
     -> the top ``min_boxes`` / ``max_boxes`` by confidence (LXMERT: min = max = 36);
  5. output the PROPOSAL boxes (not regressed) and their pooled features; object = argmax of the
     foreground probabilities, attribute = argmax of the attribute probabilities without
     "no attribute".
``recipe="hf_demo"`` follows transformers' LXMERT demo (``ROIOutputs`` / ``do_nms`` in
``modeling_frcnn.py``): each proposal takes its best foreground class and THAT class's REGRESSED
box (clipped); one class-agnostic NMS over these boxes at each threshold of the config's
``ROI_HEADS.NMS_THRESH_TEST`` list in turn (``demo_nms``); the first threshold whose first
``max_boxes`` survivors number at least ``min_boxes`` is taken (``MIN_DETECTIONS`` ..
``MAX_DETECTIONS`` in the config). When no threshold gives enough boxes the demo has no answer
(its loop leaves the result undefined); here the last threshold's survivors are kept and padded.
No score threshold (the demo reads ``SCORE_THRESH_TEST`` and never applies it); the demo's order
(by score) is kept; attributes are the softmax over the logits without "no attribute".

The two recipes keep their own numbers: no ``config.yaml`` key changes the bottom-up recipe's
0.3 / 0.2 / 10..100, and the bottom-up numbers never reach the demo recipe.

When fewer boxes than asked exist, rows are padded with zeros (ids -1) and ``num_real`` counts the
real ones, so ``Regions.mask`` is the visual attention mask.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from . import ops
from .detector import RawDetections
from .frcnn_config import FRCNNConfig

RECIPES = ("bottom_up", "hf_demo")


BOTTOM_UP_NMS = 0.3  # generate_tsv.py: per-class NMS IoU
BOTTOM_UP_CONF = 0.2  # generate_tsv.py: confidence threshold
BOTTOM_UP_BOXES = (10, 100)  # generate_tsv.py: MIN_BOXES, MAX_BOXES (LXMERT used 36, 36)


@dataclass(frozen=True)
class SelectionSettings:
    """Knobs of box selection; part of the feature cache key.

    Attributes:
        recipe: ``"bottom_up"`` or ``"hf_demo"``.
        min_boxes, max_boxes: how many regions (36, 36 for LXMERT's bottom-up features).
        score_thresh: bottom_up confidence threshold (0.2); not used by hf_demo.
        nms_thresh: bottom_up per-class NMS IoU (0.3); not used by hf_demo.
        demo_nms: hf_demo's NMS thresholds, tried in order (the config's ``NMS_THRESH_TEST``).
        nms_boxes: bottom_up NMS on ``"proposal"`` boxes (original) or ``"regressed"`` ones.
        background: where the object background column sits, ``"last"`` (port) or ``"first"``.
        no_attr: where "no attribute" sits in the attribute scores, ``"last"`` or ``"first"``.
    """

    recipe: str = "bottom_up"
    min_boxes: int = 36
    max_boxes: int = 36
    score_thresh: float = BOTTOM_UP_CONF
    nms_thresh: float = BOTTOM_UP_NMS
    demo_nms: tuple[float, ...] = (0.5,)
    nms_boxes: str = "proposal"
    background: str = "last"
    no_attr: str = "last"

    def __post_init__(self):
        if self.recipe not in RECIPES:
            raise InputError(f"recipe must be one of {RECIPES}, got {self.recipe!r}")
        if not 0 < self.min_boxes <= self.max_boxes:
            raise InputError(f"need 0 < min_boxes <= max_boxes, got {self.min_boxes}, {self.max_boxes}")
        if self.nms_boxes not in ("proposal", "regressed"):
            raise InputError(f"nms_boxes must be 'proposal' or 'regressed', got {self.nms_boxes!r}")
        thresholds = (self.nms_thresh, *self.demo_nms)
        if not self.demo_nms or not all(0.0 <= t <= 1.0 for t in thresholds):
            raise InputError(f"NMS thresholds must lie in 0..1, got nms_thresh={self.nms_thresh}, "
                             f"demo_nms={self.demo_nms}")


@dataclass
class Selected:
    """Regions chosen from one image, in ORIGINAL-image pixels, padded to ``max_boxes`` rows.

    Attributes:
        boxes: (R, 4) float32.  feats: (R, D) float32.
        obj_ids, attr_ids: (R,) int64 (-1 on padding).  obj_conf, attr_conf: (R,) float32.
        num_real: real rows.  image_size: ``(W0, H0)``.
    """

    boxes: np.ndarray
    feats: np.ndarray
    obj_ids: np.ndarray
    obj_conf: np.ndarray
    attr_ids: np.ndarray
    attr_conf: np.ndarray
    num_real: int
    image_size: tuple[int, int]


def _foreground(logits: torch.Tensor, where: str) -> torch.Tensor:
    probs = torch.softmax(logits, dim=-1)
    return probs[:, :-1] if where == "last" else probs[:, 1:]


def _class_boxes(det: RawDetections, cfg: FRCNNConfig, background: str = "last") -> torch.Tensor:
    """(N, K, 4) class-specific regressed boxes, clipped to the resized image."""
    n = det.proposals.shape[0]
    boxes = ops.apply_deltas(det.head.box_deltas, det.proposals, cfg.bbox_weights, cfg.scale_clamp)
    boxes = boxes.view(n, -1, 4)
    if cfg.cls_agnostic_bbox_reg:
        boxes = boxes.expand(n, cfg.num_classes, 4)
    elif cfg.bbox_reg_with_background:  # drop the background's box, same side as its score
        boxes = boxes[:, :-1] if background == "last" else boxes[:, 1:]
    return ops.clip_boxes(boxes, *det.size)


def _bottom_up(det: RawDetections, cfg: FRCNNConfig, s: SelectionSettings) -> torch.Tensor:
    fg = _foreground(det.head.cls_logits, s.background)  # (N, K)
    boxes = det.proposals if s.nms_boxes == "proposal" else _class_boxes(det, cfg, s.background)
    survive = ops.multiclass_nms_mask(boxes, fg, s.nms_thresh)  # (N, K)
    max_conf = torch.where(survive, fg, torch.zeros(())).amax(dim=1) if fg.shape[0] else fg.new_zeros(0)
    keep = torch.nonzero(max_conf >= s.score_thresh).flatten()
    by_conf = ops.score_order(max_conf)
    if len(keep) < s.min_boxes:
        keep = by_conf[: s.min_boxes]
    elif len(keep) > s.max_boxes:
        keep = by_conf[: s.max_boxes]
    return keep


def _hf_demo(det: RawDetections, cfg: FRCNNConfig, s: SelectionSettings):
    fg = _foreground(det.head.cls_logits, s.background)
    n = fg.shape[0]
    if n == 0:
        return torch.zeros(0, dtype=torch.int64), det.proposals
    boxes = _class_boxes(det, cfg, s.background)  # (N, K, 4)
    max_scores, max_cls = fg.max(dim=1)
    max_boxes = boxes[torch.arange(n), max_cls]  # (N, 4)
    keep = torch.zeros(0, dtype=torch.int64)
    for thr in s.demo_nms:
        keep = ops.nms(max_boxes, max_scores, thr)[: s.max_boxes]
        if len(keep) >= s.min_boxes:
            break
    return keep, max_boxes


def select(det: RawDetections, cfg: FRCNNConfig, s: SelectionSettings) -> Selected:
    """Choose and describe the regions of one image (see the module docstring).

    Args:
        det: the detector's raw outputs for the image.
        cfg: the detector config (box coder, class layout).
        s: selection settings.

    Returns:
        Selected: ``s.max_boxes`` rows, the first ``num_real`` real.
    """
    if s.recipe == "bottom_up":
        keep = _bottom_up(det, cfg, s)
        boxes = det.proposals[keep]
    else:
        keep, reg = _hf_demo(det, cfg, s)
        boxes = reg[keep]
    fg = _foreground(det.head.cls_logits[keep], s.background)
    obj_conf, obj_ids = fg.max(dim=1) if len(keep) else (fg.new_zeros(0), torch.zeros(0, dtype=torch.long))
    attr_logits = det.head.attr_logits[keep]
    if s.recipe == "hf_demo":  # the demo drops "no attribute" BEFORE the softmax
        attr = torch.softmax(attr_logits[:, :-1] if s.no_attr == "last" else attr_logits[:, 1:], dim=-1)
    else:  # bottom-up: softmax over all, then drop "no attribute"
        attr = _foreground(attr_logits, s.no_attr)
    attr_conf, attr_ids = attr.max(dim=1) if len(keep) else (attr.new_zeros(0), torch.zeros(0, dtype=torch.long))
    sx, sy = det.scale
    boxes = boxes * torch.tensor([sx, sy, sx, sy], dtype=boxes.dtype)
    r, k = s.max_boxes, len(keep)

    def pad(x: torch.Tensor, dtype, fill=0):
        arr = np.full((r,) + tuple(x.shape[1:]), fill, dtype=dtype)
        arr[:k] = x.numpy().astype(dtype)
        return arr

    return Selected(pad(boxes, np.float32), pad(det.head.feats[keep], np.float32),
                    pad(obj_ids, np.int64, -1), pad(obj_conf, np.float32),
                    pad(attr_ids, np.int64, -1), pad(attr_conf, np.float32), k, det.original_size)
