"""config.yaml read by the transformers demo's rules: res5 from RES5HALVE, every key, clear errors."""
import dataclasses
import warnings

import pytest
import torch
import yaml
from torch.nn import functional as F

from lxmert_viz.features import FasterRCNN, FasterRCNNExtractor, FRCNNConfig, random_checkpoint


def config_from_tree(tree, source):
    return FRCNNConfig.from_dict(tree, source)

# The hub file's layout as the demo reads it (utils.Config gives attribute access to the nested
# mapping): sections at the top level, MODEL holding the pixel statistics, MAX_POOL and DEVICE.
# Values: the VG checkpoint's, except where a test below says otherwise.
HUB_LAYOUT = """\
MODEL:
  DEVICE: cpu
  MAX_POOL: true
  PIXEL_MEAN: [102.9801, 115.9465, 122.7717]
  PIXEL_STD: [1.0, 1.0, 1.0]
BACKBONE:
  FREEZE_AT: 2
RESNETS:
  DEPTH: 101
  NORM: BN
  NUM_GROUPS: 1
  OUT_FEATURES: [res4]
  RES2_OUT_CHANNELS: 256
  RES5_DILATION: 1
  STEM_OUT_CHANNELS: 64
  STRIDE_IN_1X1: true
  WIDTH_PER_GROUP: 64
ANCHOR_GENERATOR:
  ASPECT_RATIOS: [[0.5, 1.0, 2.0]]
  OFFSET: 0.0
  SIZES: [[64, 128, 256, 512]]
PROPOSAL_GENERATOR:
  HIDDEN_CHANNELS: 512
  MIN_SIZE: 0
RPN:
  BATCH_SIZE_PER_IMAGE: 256
  BBOX_REG_WEIGHTS: [1.0, 1.0, 1.0, 1.0]
  BOUNDARY_THRESH: -1
  IN_FEATURES: [res4]
  IOU_LABELS: [0, -1, 1]
  IOU_THRESHOLDS: [0.3, 0.7]
  LOSS_WEIGHT: 1.0
  NMS_THRESH: 0.7
  POSITIVE_FRACTION: 0.5
  POST_NMS_TOPK_TEST: 300
  POST_NMS_TOPK_TRAIN: 2000
  PRE_NMS_TOPK_TEST: 6000
  PRE_NMS_TOPK_TRAIN: 12000
  SMOOTH_L1_BETA: 0.0
ROI_HEADS:
  IN_FEATURES: [res4]
  NMS_THRESH_TEST: [0.6, 0.7, 0.8]
  NUM_CLASSES: 1600
  POSITIVE_FRACTION: 0.25
  PROPOSAL_APPEND_GT: true
  SCORE_THRESH_TEST: 0.2
ROI_BOX_HEAD:
  ATTR: true
  BBOX_REG_WEIGHTS: [10.0, 10.0, 5.0, 5.0]
  CLS_AGNOSTIC_BBOX_REG: false
  NUM_ATTRS: 400
  POOLER_RESOLUTION: 14
  POOLER_SAMPLING_RATIO: 0
  RES5HALVE: false
  SMOOTH_L1_BETA: 0.0
INPUT:
  FORMAT: BGR
  MAX_SIZE_TEST: 1000
  MIN_SIZE_TEST: 600
MIN_DETECTIONS: 10
MAX_DETECTIONS: 36
PAD_VALUE: 0.0
SIZE_DIVISIBILITY: 0
"""


def hub_tree(**changes) -> dict:
    tree = yaml.safe_load(HUB_LAYOUT)
    for dotted, value in changes.items():
        node = tree
        *parents, last = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return tree


def section(tree: dict, name: str) -> dict:
    """A section of a written config, at the top level (the hub's layout) or under MODEL."""
    return tree[name] if name in tree else tree["MODEL"].setdefault(name, {})


def quiet(tree):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return config_from_tree(tree, "config.yaml")


def res5_geometry(cfg: FRCNNConfig):
    res5 = FasterRCNN(cfg).roi_heads.res5
    return ([(b.conv1.stride, b.conv2.dilation, b.conv2.padding) for b in res5],
            res5[0].shortcut.stride)


def test_res5_follows_res5halve_not_res5_dilation():
    # the reproduction: RES5_DILATION 1 with RES5HALVE false is the dilated res5
    cfg = FRCNNConfig.from_dict({"RESNETS": {"RES5_DILATION": 1}, "ROI_BOX_HEAD": {"RES5HALVE": False}})
    blocks, shortcut = res5_geometry(cfg)
    assert blocks == [(1, 2, 2)] * 3 and shortcut == 1
    halved = FRCNNConfig.from_dict({"RESNETS": {"RES5_DILATION": 2}, "ROI_BOX_HEAD": {"RES5HALVE": True}})
    blocks, shortcut = res5_geometry(halved)
    assert blocks == [(2, 1, 1), (1, 1, 1), (1, 1, 1)] and shortcut == 2
    with pytest.raises(ValueError, match="RES5_DILATION"):
        FRCNNConfig.from_dict({"RESNETS": {"RES5_DILATION": 3}})  # the demo asserts 1 or 2


def test_hub_checkpoint_directory_builds_the_dilated_res5(tmp_path):
    cfg = FRCNNConfig.tiny()
    d = random_checkpoint(tmp_path / "ckpt", cfg)
    tree = yaml.safe_load((d / "config.yaml").read_text())
    section(tree, "RESNETS")["RES5_DILATION"] = 1
    section(tree, "ROI_BOX_HEAD")["RES5HALVE"] = False
    (d / "config.yaml").write_text(yaml.safe_dump(tree))
    ex = FasterRCNNExtractor.from_pretrained(d)
    x = torch.zeros(1, cfg.res_out(4), 14, 14)
    with torch.inference_mode():
        assert ex.model.roi_heads.res5(x).shape[-2:] == (14, 14)  # stride 1: a 14x14 output


def test_every_key_of_the_hub_layout_is_read_as_the_demo_reads_it():
    cfg = quiet(hub_tree())
    assert cfg.blocks == (3, 4, 23, 3) and cfg.bottleneck == 64 and cfg.num_groups == 1
    assert cfg.caffe_maxpool is True and cfg.res5_halve is False and cfg.stride_in_1x1 is True
    assert cfg.anchor_sizes == (64.0, 128.0, 256.0, 512.0) and cfg.anchor_ratios == (0.5, 1.0, 2.0)
    assert (cfg.rpn_hidden, cfg.rpn_pre_nms_topk, cfg.rpn_post_nms_topk, cfg.rpn_nms_thresh) == (512, 6000, 300, 0.7)
    assert cfg.demo_nms_thresh == (0.6, 0.7, 0.8)  # the whole list, in order
    assert (cfg.demo_min_detections, cfg.demo_max_detections) == (10, 36)
    assert cfg.pixel_mean == (102.9801, 115.9465, 122.7717) and cfg.pixel_std == (1.0, 1.0, 1.0)
    assert (cfg.input_format, cfg.min_size, cfg.max_size, cfg.pad_value) == ("BGR", 600, 1000, 0.0)
    assert (cfg.num_classes, cfg.num_attrs, cfg.pooler_resolution) == (1600, 400, 14)
    assert cfg.bbox_weights == (10.0, 10.0, 5.0, 5.0) and cfg.rpn_bbox_weights == (1.0,) * 4
    # the same keys nested under MODEL (detectron2's own layout) read the same
    tree = hub_tree()
    nested = {"MODEL": dict(tree.pop("MODEL"), **{k: v for k, v in tree.items() if isinstance(v, dict)})}
    nested.update({k: v for k, v in tree.items() if not isinstance(v, dict)})
    assert quiet(nested) == cfg


def test_demo_keys_change_what_they_change():
    assert quiet(hub_tree(MODEL__MAX_POOL=False)).caffe_maxpool is False
    assert quiet(hub_tree(PROPOSAL_GENERATOR__HIDDEN_CHANNELS=-1)).rpn_hidden == 1024  # -1: res4's width
    assert quiet(hub_tree(ROI_HEADS__NMS_THRESH_TEST=0.45)).demo_nms_thresh == (0.45,)
    assert quiet(hub_tree(INPUT__FORMAT="RGB")).input_format == "RGB"
    assert quiet(hub_tree(INPUT__MIN_SIZE_TEST=0)).min_size == 0
    grouped = quiet(hub_tree(RESNETS__NUM_GROUPS=32, RESNETS__WIDTH_PER_GROUP=8))
    assert grouped.num_groups == 32 and grouped.bottleneck == 256
    assert FasterRCNN(dataclasses.replace(FRCNNConfig.tiny(), num_groups=2)).backbone.res2[0].conv2.weight.shape[1] == 2


def test_max_pool_key_picks_the_stem_pool():
    torch.manual_seed(0)
    x = torch.randn(1, 3, 40, 50)
    for caffe in (True, False):
        cfg = dataclasses.replace(FRCNNConfig.tiny(), caffe_maxpool=caffe)
        stem = FasterRCNN(cfg).backbone.stem
        with torch.inference_mode():
            y = stem.conv1(x, relu=True)
            want = (F.max_pool2d(y, 3, 2, 0, ceil_mode=True) if caffe else F.max_pool2d(y, 3, 2, 1))
            assert torch.equal(stem(x), want)


def test_unknown_keys_and_unused_values_are_one_warning_naming_them():
    tree = hub_tree(RPN__SURPRISE=3, MODEL__DEVICE="cuda")
    tree["VERSION"] = 2
    with pytest.warns(UserWarning) as rec:
        config_from_tree(tree, "ckpt/config.yaml")
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert "ckpt/config.yaml" in msg and "RPN.SURPRISE" in msg and "VERSION" in msg and "MODEL.DEVICE" in msg


@pytest.mark.parametrize("changes, key", [
    ({"RESNETS__NORM": "GN"}, "RESNETS.NORM"),
    ({"RESNETS__OUT_FEATURES": ["res5"]}, "RESNETS.OUT_FEATURES"),
    ({"ROI_BOX_HEAD__ATTR": False}, "ROI_BOX_HEAD.ATTR"),
    ({"SIZE_DIVISIBILITY": 32}, "SIZE_DIVISIBILITY"),
    ({"RESNETS__DEPTH": 34}, "RESNETS.DEPTH"),
    ({"ANCHOR_GENERATOR__SIZES": [[32], [64]]}, "ANCHOR_GENERATOR.SIZES"),
    ({"INPUT__FORMAT": "RGBA"}, "INPUT.FORMAT"),
    ({"ROI_BOX_HEAD__RES5HALVE": "no"}, "ROI_BOX_HEAD.RES5HALVE"),
    ({"ROI_HEADS__NUM_CLASSES": 16.5}, "ROI_HEADS.NUM_CLASSES"),
    ({"MODEL__RESNETS": {"DEPTH": 50}}, "MODEL.RESNETS.DEPTH"),  # disagrees with RESNETS.DEPTH 101
])
def test_values_that_build_another_network_are_errors_naming_the_key(changes, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        config_from_tree(hub_tree(**changes), "config.yaml")


def test_yaml_is_parsed_by_pyyaml_and_bad_files_name_themselves(tmp_path):
    from lxmert_viz.features.config_file import read_yaml

    p = tmp_path / "config.yaml"
    # three inputs the old hand-written parser got wrong
    p.write_text("A: {x: 1}\nB: |\n  line one\n  line two\nC: ['a,b', c]\n")
    assert read_yaml(p) == {"A": {"x": 1}, "B": "line one\nline two\n", "C": ["a,b", "c"]}
    p.write_text("MODEL: [unclosed\n")
    with pytest.raises(ValueError, match=f"{p}.*not valid YAML.*line"):
        read_yaml(p)
    p.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match=f"{p}.*mapping"):
        FRCNNConfig.from_yaml(p)
    with pytest.raises(FileNotFoundError, match="nothere"):
        read_yaml(tmp_path / "nothere.yaml")


@pytest.mark.parametrize("which", ["full", "tiny", "changed"])
def test_written_config_reads_back_equal_and_quietly(tmp_path, which):
    from lxmert_viz.features.config_file import config_to_yaml

    cfg = {"full": FRCNNConfig(), "tiny": FRCNNConfig.tiny()}.get(which) or dataclasses.replace(
        FRCNNConfig.tiny(), res5_halve=True, caffe_maxpool=False, demo_nms_thresh=(0.4, 0.6),
        input_format="RGB", pad_value=1.5, num_groups=2)
    p = tmp_path / "config.yaml"
    p.write_text(config_to_yaml(cfg))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert FRCNNConfig.from_yaml(p) == cfg
    assert yaml.safe_load(p.read_text())["ROI_BOX_HEAD"]["RES5HALVE"] is cfg.res5_halve
