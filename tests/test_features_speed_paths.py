"""The fast code paths give the old paths' numbers: folded/fused convs, memory formats, RoIPool, dedup."""
import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from test_features_ops import ref_roi_pool

from lxmert_viz.features import FasterRCNNExtractor, FRCNNConfig, build_random_state_dict, load_strict, ops
from lxmert_viz.features import backbone as backbone_mod
from lxmert_viz.features.backbone import set_memory_format
from lxmert_viz.features.preprocess import preprocess

_spec = importlib.util.spec_from_file_location(
    "frcnn_reference", Path(__file__).resolve().parents[1] / "benchmarks" / "frcnn_reference.py")
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.fixture(scope="module")
def full():
    """The checkpoint's full architecture (random weights) on a small image: 101 layers deep."""
    cfg = dataclasses.replace(FRCNNConfig(), min_size=80, max_size=120, rpn_post_nms_topk=6)
    ex = FasterRCNNExtractor.random(cfg, seed=5)
    img = np.random.default_rng(5).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    return ex, preprocess([img], cfg)


def test_features_within_1e4_of_the_old_code_paths_on_the_same_weights(full):
    ex, batch = full
    m = ex.model
    with torch.inference_mode():
        f_old = ref.backbone(m.backbone, batch.tensor)
        f_new = m.backbone(batch.tensor)
        assert rel(f_new, f_old) < 1e-4
        boxes = m.proposal_generator(f_old, batch.sizes)[0][0]
        old = ref.box_head(m, f_old, [boxes])
        new = m.roi_heads(f_old, [boxes])
    for name in ("feats", "cls_logits", "box_deltas", "attr_logits"):
        assert rel(getattr(new, name), getattr(old, name)) < 1e-4, name


def test_memory_formats_and_the_plain_conv_path_agree(monkeypatch):
    cfg = dataclasses.replace(FRCNNConfig.tiny(), blocks=(2, 2, 3, 2), min_size=160, max_size=200)
    ex = FasterRCNNExtractor.random(cfg, seed=6)
    batch = preprocess([np.random.default_rng(6).integers(0, 256, (120, 160, 3), dtype=np.uint8)], cfg)
    m = ex.model
    with torch.inference_mode():
        want = m.backbone(batch.tensor)
        set_memory_format(m, False, (3,))  # 3x3 convs in NCHW, the rest channels-last
        mixed = m.backbone(batch.tensor)
        set_memory_format(m, False)
        nchw = m.backbone(batch.tensor)
        set_memory_format(m, True)
        monkeypatch.setattr(backbone_mod, "_FUSED", None)  # conv2d + add_ + relu_ instead of oneDNN fusion
        plain = m.backbone(batch.tensor)
    assert nchw.is_contiguous() and want.is_contiguous(memory_format=torch.channels_last)
    for other in (mixed, nchw, plain):
        assert rel(other, want) < 1e-5


def test_folded_weights_follow_a_new_checkpoint():
    cfg = FRCNNConfig.tiny()
    ex = FasterRCNNExtractor.random(cfg, seed=1)
    img = np.random.default_rng(0).integers(0, 256, (80, 90, 3), dtype=np.uint8)
    first = ex.extract(img, num_regions=5)[0]  # folds seed 1's weights
    load_strict(ex.model, build_random_state_dict(cfg, seed=2))
    again = ex.extract(img, num_regions=5)[0]
    fresh = FasterRCNNExtractor.random(cfg, seed=2).extract(img, num_regions=5)[0]
    assert not np.allclose(first.feats, again.feats)
    np.testing.assert_array_equal(again.feats, fresh.feats)


@pytest.mark.parametrize("p, scale, size", [(14, 1 / 16, (2, 5, 50, 67)), (7, 1 / 8, (1, 3, 23, 31))])
def test_roi_pool_equals_the_loop_and_the_kernel_on_realistic_maps(p, scale, size):
    g = torch.Generator().manual_seed(p)
    feats = torch.randn(*size, generator=g)
    b, _, h, w = size
    img_h, img_w = h / scale, w / scale
    n = 40
    x1 = torch.rand(n, generator=g) * img_w * 1.2 - img_w * 0.1
    y1 = torch.rand(n, generator=g) * img_h * 1.2 - img_h * 0.1
    x2 = x1 + torch.rand(n, generator=g) * img_w
    y2 = y1 + torch.rand(n, generator=g) * img_h
    rois = torch.stack([torch.randint(0, b, (n,), generator=g).float(), x1, y1, x2, y2], dim=1)
    rois[0, 1:] = torch.tensor([0.0, 0.0, img_w, img_h])  # the whole map: the widest bins
    got = ops.roi_pool(feats.contiguous(memory_format=torch.channels_last), rois, p, scale)
    assert torch.equal(got, ref.roi_pool_loop(feats, rois, p, scale))
    assert torch.equal(got, ref_roi_pool(feats, rois, p, scale))
    half = ops.roi_pool(feats.half(), rois, p, scale)  # a maximum has no rounding: exact in any dtype
    assert torch.equal(half, ref.roi_pool_loop(feats.half().float(), rois, p, scale).half())


def test_rois_with_the_same_bins_run_once_and_get_the_same_outputs():
    cfg = FRCNNConfig.tiny()
    ex = FasterRCNNExtractor.random(cfg, seed=3)
    feats = torch.randn(1, cfg.res_out(4), 12, 15)
    boxes = torch.tensor([[10.0, 10.0, 100.0, 90.0], [12.0, 9.0, 101.0, 92.0],  # same 1/16 cells
                          [40.0, 20.0, 200.0, 150.0], [10.0, 10.0, 100.0, 90.0]])
    with torch.inference_mode():
        first, inverse = ex.model.roi_heads.distinct(feats, ex.model.roi_heads.rois([boxes]))
        out = ex.model.roi_heads(feats, [boxes])
        one_by_one = [ex.model.roi_heads(feats, [b[None]]) for b in boxes]
    assert len(first) == 2 and inverse.tolist() == [0, 0, 1, 0]
    for name in ("feats", "cls_logits", "box_deltas", "attr_logits"):
        t = getattr(out, name)
        assert torch.equal(t[0], t[1]) and torch.equal(t[0], t[3])
        for i, single in enumerate(one_by_one):  # alone: the same up to a GEMM's blocking
            torch.testing.assert_close(t[i], getattr(single, name)[0], rtol=1e-5, atol=1e-6)
