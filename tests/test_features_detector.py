"""The VG Faster R-CNN with random weights in the checkpoint's exact layout: loads strictly, runs."""
import dataclasses

import numpy as np
import pytest
import torch

from lxmert_viz.features import (
    FasterRCNN,
    FasterRCNNExtractor,
    FRCNNConfig,
    build_random_state_dict,
    load_strict,
    random_checkpoint,
    read_state_dict,
)
from lxmert_viz.features.rpn import cell_anchors
from lxmert_viz.inputs.regions import Regions


@pytest.fixture(autouse=True)
def seed():
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def tiny_extractor():
    return FasterRCNNExtractor.random(FRCNNConfig.tiny(), seed=1)


def test_full_layout_640_keys_65_4m_and_strict_load():
    cfg = FRCNNConfig()
    sd = build_random_state_dict(cfg)
    assert len(sd) == 640
    stats = ("running_mean", "running_var", "num_batches_tracked")
    n_params = sum(v.numel() for k, v in sd.items() if not k.endswith(stats))
    assert round(n_params / 1e6, 1) == 65.4
    assert sd["proposal_generator.anchor_generator.cell_anchors.0"].shape == (12, 4)
    assert sd["proposal_generator.rpn_head.conv.weight"].shape == (512, 1024, 3, 3)
    assert sd["roi_heads.box_predictor.cls_score.weight"].shape == (1601, 2048)
    assert sd["roi_heads.box_predictor.bbox_pred.weight"].shape == (6400, 2048)
    assert sd["roi_heads.box_predictor.cls_embedding.weight"].shape == (1601, 256)
    assert sd["roi_heads.box_predictor.fc_attr.weight"].shape == (512, 2304)
    assert sd["roi_heads.box_predictor.attr_score.weight"].shape == (401, 512)
    assert len([k for k in sd if k.startswith("backbone.res4.") and k.endswith(".conv1.weight")]) == 23
    model = FasterRCNN(cfg)
    load_strict(model, sd)
    assert model.check_anchors()
    assert torch.equal(model.roi_heads.res5[2].conv3.weight, sd["roi_heads.res5.2.conv3.weight"])


def test_full_size_detector_runs_on_a_small_image():
    cfg = dataclasses.replace(FRCNNConfig(), min_size=64, max_size=96, rpn_post_nms_topk=3)
    ex = FasterRCNNExtractor.random(cfg)
    (r,) = ex.extract([np.full((48, 64, 3), 128, np.uint8)], num_regions=3)
    assert r.feats.shape == (3, 2048) and np.isfinite(r.feats).all()


def test_anchors_are_sizes_times_ratios():
    a = cell_anchors((64, 128, 256, 512), (0.5, 1.0, 2.0))
    assert a.shape == (12, 4)
    w, h = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    torch.testing.assert_close(w * h, torch.tensor([s * s for s in (64, 128, 256, 512) for _ in range(3)],
                                                   dtype=torch.float32), rtol=1e-5, atol=0)
    torch.testing.assert_close(h / w, torch.tensor([0.5, 1.0, 2.0] * 4), rtol=1e-5, atol=0)


def test_strict_load_errors_name_the_key():
    cfg = FRCNNConfig.tiny()
    model = FasterRCNN(cfg)
    sd = build_random_state_dict(cfg)
    missing = dict(sd)
    del missing["backbone.res3.0.conv2.norm.running_var"]
    with pytest.raises(KeyError, match="backbone.res3.0.conv2.norm.running_var"):
        load_strict(model, missing)
    extra = dict(sd, **{"roi_heads.box_predictor.surprise": torch.zeros(1)})
    with pytest.raises(KeyError, match="roi_heads.box_predictor.surprise"):
        load_strict(model, extra)
    bad = dict(sd)
    bad["proposal_generator.rpn_head.conv.weight"] = torch.zeros(3, 3)
    with pytest.raises(ValueError, match=r"proposal_generator\.rpn_head\.conv\.weight"):
        load_strict(model, bad)


@pytest.mark.parametrize("fmt", ["bin", "safetensors"])
def test_checkpoint_directory_round_trip(tmp_path, fmt):
    cfg = FRCNNConfig.tiny()
    d = random_checkpoint(tmp_path / "ckpt", cfg, seed=3, fmt=fmt)
    assert FRCNNConfig.from_yaml(d / "config.yaml") == cfg
    ex = FasterRCNNExtractor.from_pretrained(d)
    ref = build_random_state_dict(cfg, seed=3)
    got = ex.model.state_dict()
    assert all(torch.equal(got[k], ref[k]) for k in ref)
    assert set(read_state_dict(d)) == set(ref)


def check_regions(r: Regions, image_size, num, feat_dim):
    assert isinstance(r, Regions)
    assert r.image_size == image_size
    assert r.boxes.shape == (num, 4) and r.feats.shape == (num, feat_dim)
    assert np.isfinite(r.feats).all() and np.isfinite(r.boxes).all()
    w, h = image_size
    real = r.boxes[: r.num_real]
    assert (real[:, 0] >= 0).all() and (real[:, 2] <= w + 1e-3).all()
    assert (real[:, 1] >= 0).all() and (real[:, 3] <= h + 1e-3).all()
    np.testing.assert_allclose(r.boxes_norm, r.boxes / np.array([w, h, w, h], np.float32), rtol=1e-6)
    for key in ("obj_ids", "obj_conf", "attr_ids", "attr_conf"):
        assert len(r.extra[key]) == num
    assert r.extra["obj_ids"].dtype == np.int64 and r.extra["attr_ids"].dtype == np.int64
    assert ((r.extra["obj_ids"][: r.num_real] >= 0) & (r.extra["obj_ids"][: r.num_real] < 20)).all()
    assert ((r.extra["attr_ids"][: r.num_real] >= 0) & (r.extra["attr_ids"][: r.num_real] < 10)).all()
    assert ((r.scores[: r.num_real] > 0) & (r.scores[: r.num_real] <= 1)).all()
    assert r.mask.sum() == r.num_real and len(r.labels) == num


@pytest.mark.parametrize("count", [1, 2, 3])
@pytest.mark.parametrize("recipe", ["bottom_up", "hf_demo"])
def test_extract_batches_of_different_sizes(tiny_extractor, count, recipe):
    rng = np.random.default_rng(count)
    sizes = [(80, 60), (50, 130), (200, 170)][:count]  # (W, H)
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for w, h in sizes]
    regions = tiny_extractor.extract(images, num_regions=36, recipe=recipe, batch_size=3)
    assert len(regions) == count
    for r, size in zip(regions, sizes):
        check_regions(r, size, 36, tiny_extractor.cfg.head_dim)


def test_batching_keeps_each_image_its_own_boxes(tiny_extractor):
    rng = np.random.default_rng(7)
    small = rng.integers(0, 256, (40, 90, 3), dtype=np.uint8)
    big = rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)
    r_small, r_big = tiny_extractor.extract([small, big], num_regions=36, batch_size=2)
    assert r_small.image_size == (90, 40) and r_big.image_size == (200, 300)
    assert r_small.boxes[:, 2].max() <= 90 + 1e-3 and r_small.boxes[:, 3].max() <= 40 + 1e-3
    assert r_big.boxes[:, 3].max() > 40  # not clipped to the other image


def test_fewer_boxes_than_asked_are_padded_and_masked():
    cfg = dataclasses.replace(FRCNNConfig.tiny(), rpn_post_nms_topk=5)
    ex = FasterRCNNExtractor.random(cfg)
    (r,) = ex.extract([np.zeros((70, 90, 3), np.uint8)], num_regions=36)
    assert r.num_real <= 5 and len(r) == 36
    assert r.mask[: r.num_real].all() and not r.mask[r.num_real:].any()
    assert (r.extra["obj_ids"][r.num_real:] == -1).all() and (r.feats[r.num_real:] == 0).all()
    assert all(lab == "<pad>" for lab in r.labels[r.num_real:])


def test_adaptive_count_and_regressed_nms(tiny_extractor):
    img = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    (r,) = tiny_extractor.extract(img, num_regions=None, nms_boxes="regressed")
    assert 10 <= r.num_real <= 100 and len(r) == 100  # padded to the maximum, masked


def test_labels_from_vocab_files(tmp_path):
    cfg = FRCNNConfig.tiny()
    d = random_checkpoint(tmp_path / "ckpt", cfg)
    (d / "objects_vocab.txt").write_text("".join(f"thing{i},synonym\n" for i in range(cfg.num_classes)))
    (d / "attributes_vocab.txt").write_text("".join(f"colour{i}\n" for i in range(cfg.num_attrs)))
    ex = FasterRCNNExtractor.from_pretrained(d)
    (r,) = ex.extract(np.zeros((64, 64, 3), np.uint8), num_regions=4)
    obj = int(r.extra["obj_ids"][0])
    assert r.labels[0].endswith(f"thing{obj}")


class RunsCode:
    """Pickled, this object calls a function when unpickled: what weights_only must refuse."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))  # would create the marker file


def test_a_pickle_that_would_run_code_is_refused_naming_the_file(tmp_path):
    marker = tmp_path / "ran"
    bad = tmp_path / "pytorch_model.bin"
    torch.save({"backbone.stem.conv1.weight": torch.zeros(1), "payload": RunsCode(marker)}, bad)
    with pytest.raises(ValueError, match=rf"refused to load {bad}.*could run code") as err:
        read_state_dict(tmp_path)
    assert "weights_only=False" not in str(err.value) and not marker.exists()


@pytest.mark.parametrize("fmt", ["bin", "safetensors"])
def test_a_truncated_weights_file_is_an_error_naming_it(tmp_path, fmt):
    d = random_checkpoint(tmp_path / "ckpt", FRCNNConfig.tiny(), fmt=fmt)
    path = d / ("pytorch_model.bin" if fmt == "bin" else "model.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=rf"{path} is not a readable"):
        FasterRCNNExtractor.from_pretrained(d)
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=rf"{path} is not a readable"):
        read_state_dict(path)
