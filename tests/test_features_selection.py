"""Box selection: each recipe keeps its own NMS numbers; hf_demo follows the demo's threshold list."""
import dataclasses

import numpy as np
import torch
import yaml
from test_features_ops import ref_nms

from lxmert_viz.features import FasterRCNNExtractor, FRCNNConfig, random_checkpoint
from lxmert_viz.features.detector import RawDetections
from lxmert_viz.features.roi_heads import HeadOutputs
from lxmert_viz.features.selection import select


def clustered_detections(cfg: FRCNNConfig, seed: int = 0, shifts=(0.0, 6.0, 12.0)) -> RawDetections:
    """4 clusters of 40 px boxes shifted by ``shifts`` px, zero deltas.

    The default shifts give IoU 0.74 with a neighbour and 0.54 across a cluster; shifts (0, 17)
    give pairs at IoU 0.40.
    """
    g = torch.Generator().manual_seed(seed)
    boxes = []
    for cx, cy in [(30, 30), (120, 30), (30, 120), (120, 120)]:
        for dx in shifts:
            boxes.append([cx + dx, cy, cx + dx + 40, cy + 40])
    n = len(boxes)
    head = HeadOutputs(torch.randn(n, cfg.head_dim, generator=g), torch.randn(n, cfg.num_classes + 1, generator=g),
                       torch.zeros(n, cfg.num_bbox_classes * 4), torch.randn(n, cfg.num_attrs + 1, generator=g))
    return RawDetections(torch.tensor(boxes), torch.zeros(n), head, (200, 200), (400, 400), (2.0, 2.0))


# What hf_demo used before this work: ROI_HEADS.NMS_THRESH_TEST's first value (0.3 without a
# config), then this fixed sweep. The tests below are built so that it gives another answer.
OLD_SWEEP = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def demo_rule(det: RawDetections, thresholds, mind: int, maxd: int):
    """The demo's ROIOutputs/do_nms, restated: best class, its box, class-agnostic NMS per threshold."""
    scores = torch.softmax(det.head.cls_logits, -1)[:, :-1]
    max_scores, max_classes = scores.max(1)
    boxes = det.proposals  # zero deltas: the regressed boxes are the proposals (inside the image)
    for t in thresholds:
        keep = ref_nms(boxes, max_scores, t)[:maxd]
        if mind <= len(keep) <= maxd:
            attr = torch.softmax(det.head.attr_logits[:, :-1], -1)
            return keep, max_classes[keep], attr.max(-1).indices[keep], t
    return None


def test_hf_demo_tries_the_config_thresholds_in_order():
    cfg = dataclasses.replace(FRCNNConfig.tiny(), demo_nms_thresh=(0.5, 0.8), demo_min_detections=6)
    ex = FasterRCNNExtractor.random(cfg)
    det = clustered_detections(cfg)
    s = ex.settings(10, "hf_demo")
    assert (s.min_boxes, s.max_boxes, s.demo_nms) == (6, 10, (0.5, 0.8))
    keep, objs, attrs, used = demo_rule(det, (0.5, 0.8), 6, 10)
    assert used == 0.8 and len(keep) == 10  # 0.5 leaves 4 boxes (< 6): the demo moves on to 0.8
    old_keep, *_, old_used = demo_rule(det, (0.5, *OLD_SWEEP), 6, 10)
    assert old_used == 0.6 and len(old_keep) < 10  # the old sweep would have stopped at 0.6
    sel = select(det, cfg, s)
    k = len(keep)
    assert sel.num_real == k
    np.testing.assert_allclose(sel.boxes[:k], (det.proposals[keep] * 2.0).numpy(), rtol=0, atol=1e-5)
    assert sel.obj_ids[:k].tolist() == objs.tolist() and sel.attr_ids[:k].tolist() == attrs.tolist()
    # a list whose first threshold already gives enough boxes stops there
    s2 = dataclasses.replace(s, min_boxes=4)
    keep2, *_ = demo_rule(det, (0.5, 0.8), 4, 10)
    assert select(det, cfg, s2).num_real == len(keep2) == 4


def test_hf_demo_without_a_config_starts_at_detectron2s_default():
    cfg = FRCNNConfig.tiny()  # no config.yaml: ROI_HEADS.NMS_THRESH_TEST is detectron2's 0.5
    s = FasterRCNNExtractor.random(cfg).settings(8, "hf_demo", min_boxes=4)
    assert s.demo_nms == (0.5,)
    det = clustered_detections(cfg, shifts=(0.0, 17.0))  # 4 pairs at IoU 0.40
    keep, *_ = demo_rule(det, (0.5,), 4, 8)
    assert select(det, cfg, s).num_real == len(keep) == 8  # IoU 0.40 <= 0.5: both boxes of a pair stay
    old_keep, *_ = demo_rule(det, (0.3, *OLD_SWEEP), 4, 8)
    assert len(old_keep) == 4  # starting at 0.3 would have kept one box per pair


def test_hf_demo_without_enough_boxes_keeps_the_last_thresholds_survivors():
    cfg = FRCNNConfig.tiny()
    det = clustered_detections(cfg)
    s = dataclasses.replace(FasterRCNNExtractor.random(cfg).settings(10, "hf_demo"), min_boxes=10,
                            demo_nms=(0.3, 0.5))
    assert demo_rule(det, (0.3, 0.5), 10, 10) is None  # the demo has no answer here
    assert select(det, cfg, s).num_real == len(ref_nms(det.proposals, torch.softmax(
        det.head.cls_logits, -1)[:, :-1].max(1).values, 0.5)) == 4


def test_demo_keys_in_config_yaml_leave_the_bottom_up_recipe_alone(tmp_path):
    cfg = FRCNNConfig.tiny()
    d = random_checkpoint(tmp_path / "ckpt", cfg, seed=4)
    tree = yaml.safe_load((d / "config.yaml").read_text())
    heads = tree["ROI_HEADS"] if "ROI_HEADS" in tree else tree["MODEL"]["ROI_HEADS"]
    heads.update({"NMS_THRESH_TEST": [0.6, 0.7], "SCORE_THRESH_TEST": 0.05})
    tree.update({"MIN_DETECTIONS": 5, "MAX_DETECTIONS": 50})
    (d / "config.yaml").write_text(yaml.safe_dump(tree))
    from_file = FasterRCNNExtractor.from_pretrained(d)
    plain = FasterRCNNExtractor.random(cfg, seed=4)
    img = np.random.default_rng(3).integers(0, 256, (120, 150, 3), dtype=np.uint8)
    for num in (36, None):  # None: generate_tsv.py's adaptive 10..100, not MIN/MAX_DETECTIONS
        a = from_file.extract(img, num_regions=num)[0]
        b = plain.extract(img, num_regions=num)[0]
        assert a.num_real == b.num_real and len(a) == len(b) == (36 if num else 100)
        np.testing.assert_array_equal(a.boxes, b.boxes)
        np.testing.assert_array_equal(a.feats, b.feats)
    s = from_file.settings(36)
    assert (s.nms_thresh, s.score_thresh) == (0.3, 0.2)
