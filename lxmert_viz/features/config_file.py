"""The detector's ``config.yaml``: read by the transformers LXMERT demo's rules, written in its layout.

No tensors here. The hub checkpoint ``unc-nlp/frcnn-vg-finetuned`` ships a detectron2-style
``config.yaml`` that the transformers demo (``examples/research_projects/lxmert``) reads through
attribute access: sections at the top level (``RESNETS``, ``RPN``, ``ROI_HEADS``, ``ROI_BOX_HEAD``,
``ANCHOR_GENERATOR``, ``PROPOSAL_GENERATOR``, ``BACKBONE``, ``INPUT``), ``MODEL`` holding
``PIXEL_MEAN``, ``PIXEL_STD``, ``MAX_POOL`` and ``DEVICE``, and ``MIN_DETECTIONS``,
``MAX_DETECTIONS``, ``PAD_VALUE``, ``SIZE_DIVISIBILITY`` at the top. detectron2 itself nests the
sections under ``MODEL``; both places are read, and a key given in both with different values is
an error (the two programs would disagree).

The rules, key by key, as the demo applies them:
* ``ROI_BOX_HEAD.RES5HALVE`` builds res5: false -> first block stride 1 and every 3x3 conv
  dilation 2 / padding 2 (14x14 output); true -> the usual stride 2. ``RESNETS.RES5_DILATION``
  only reaches the backbone builder, which stops at res4, so it changes nothing (it must be 1 or
  2, as the demo asserts).
* ``ROI_HEADS.NMS_THRESH_TEST`` (one value or a list) is the ``hf_demo`` recipe's list of NMS
  thresholds, tried in order; ``MIN_DETECTIONS`` / ``MAX_DETECTIONS`` bound its box count. None
  of them touches the ``bottom_up`` recipe. ``ROI_HEADS.SCORE_THRESH_TEST`` is read by the demo
  and never applied (its ``do_nms`` ignores it), so it is ignored here too.
* ``MODEL.MAX_POOL``: true -> Caffe stem pool (3x3/2, padding 0, ceil mode), false -> padding 1.
* ``PROPOSAL_GENERATOR.HIDDEN_CHANNELS`` -1 means "as many as res4 has".
* ``INPUT.FORMAT`` is the channel order the network reads (the network was trained on BGR).
  The demo's ``img_tensorize`` names it the other way round for files read with cv2 (it flips
  to BGR when the value is "RGB") but not for URLs read with PIL; the kit follows the meaning
  that gives the checkpoint BGR pixels with the hub's ``BGR``.
* ``SIZE_DIVISIBILITY`` > 0 is refused, as the demo refuses it (``NotImplementedError``).
Training-only keys the demo reads (sampling, losses, ``*_TRAIN`` sizes) are accepted silently.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import yaml

from ..errors import ConfigError, MissingFileError
from ..model.checkpoint import CheckpointError

DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
BN_NORMS = ("BN", "FrozenBN", "SyncBN", "nnSyncBN")  # all frozen BatchNorm at inference
# Keys the demo reads that change nothing at inference (training, bookkeeping), or that are
# checked but have no effect (RES5_DILATION), or that it reads and never applies.
IGNORED = {
    "DEVICE", "BACKBONE.FREEZE_AT", "RESNETS.RES5_DILATION",
    "RPN.BATCH_SIZE_PER_IMAGE", "RPN.POSITIVE_FRACTION", "RPN.SMOOTH_L1_BETA", "RPN.LOSS_WEIGHT",
    "RPN.PRE_NMS_TOPK_TRAIN", "RPN.POST_NMS_TOPK_TRAIN", "RPN.BOUNDARY_THRESH", "RPN.IOU_THRESHOLDS",
    "RPN.IOU_LABELS", "ROI_HEADS.POSITIVE_FRACTION", "ROI_HEADS.PROPOSAL_APPEND_GT",
    "ROI_HEADS.SCORE_THRESH_TEST", "ROI_BOX_HEAD.SMOOTH_L1_BETA", "ROI_BOX_HEAD.POOLER_SAMPLING_RATIO",
}
READ = {
    "PIXEL_MEAN", "PIXEL_STD", "MAX_POOL", "RESNETS.DEPTH", "RESNETS.BLOCKS", "RESNETS.NORM",
    "RESNETS.OUT_FEATURES", "RESNETS.STEM_OUT_CHANNELS", "RESNETS.RES2_OUT_CHANNELS",
    "RESNETS.NUM_GROUPS", "RESNETS.WIDTH_PER_GROUP", "RESNETS.STRIDE_IN_1X1",
    "ANCHOR_GENERATOR.SIZES", "ANCHOR_GENERATOR.ASPECT_RATIOS", "ANCHOR_GENERATOR.OFFSET",
    "PROPOSAL_GENERATOR.HIDDEN_CHANNELS", "PROPOSAL_GENERATOR.MIN_SIZE", "RPN.IN_FEATURES",
    "RPN.PRE_NMS_TOPK_TEST", "RPN.POST_NMS_TOPK_TEST", "RPN.NMS_THRESH", "RPN.BBOX_REG_WEIGHTS",
    "ROI_HEADS.IN_FEATURES", "ROI_HEADS.NUM_CLASSES", "ROI_HEADS.NMS_THRESH_TEST",
    "ROI_BOX_HEAD.ATTR", "ROI_BOX_HEAD.NUM_ATTRS", "ROI_BOX_HEAD.POOLER_RESOLUTION",
    "ROI_BOX_HEAD.RES5HALVE", "ROI_BOX_HEAD.CLS_AGNOSTIC_BBOX_REG", "ROI_BOX_HEAD.BBOX_REG_WEIGHTS",
    "MIN_DETECTIONS", "MAX_DETECTIONS", "INPUT.FORMAT", "INPUT.MIN_SIZE_TEST", "INPUT.MAX_SIZE_TEST",
    "PAD_VALUE", "SIZE_DIVISIBILITY",
}


def read_yaml(path: str | Path) -> dict:
    """``yaml.safe_load`` of a config file whose top level must be a mapping.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not valid YAML (with the line and column), or not a mapping at the top.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"no config file at {path}")
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise CheckpointError(f"{path} is not a UTF-8 text file: {err}") from None
    except yaml.YAMLError as err:
        raise CheckpointError(f"{path} is not valid YAML: {' '.join(str(err).split())}") from None
    if not isinstance(tree, dict):
        raise CheckpointError(f"{path} must hold a mapping of config sections at the top level, "
                              f"got {type(tree).__name__}")
    return tree


class _Reader:
    """Looks keys up at the top level and under ``MODEL``; remembers what it was asked for."""

    def __init__(self, tree: dict, source: str):
        self.tree, self.source = tree, source
        model = tree.get("MODEL")
        self.roots = [("", tree)] + ([("MODEL.", model)] if isinstance(model, dict) else [])

    def _lookup(self, root: dict, key: str):
        node = root
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def get(self, key: str):
        found = [(prefix + key, v) for prefix, root in self.roots
                 if (v := self._lookup(root, key)) is not None]
        if len(found) == 2 and found[0][1] != found[1][1]:
            raise ConfigError(f"{self.source}: {found[0][0]} = {found[0][1]!r} and {found[1][0]} = "
                              f"{found[1][1]!r} disagree; the transformers demo reads the first, "
                              f"detectron2 the second: keep one")
        return found[0][1] if found else None

    def fail(self, key: str, value, valid: str):
        raise ConfigError(f"{self.source}: {key} = {value!r} cannot be used; valid: {valid}")

    def number(self, key: str, kind=float, low=None):
        v = self.get(key)
        if v is None:
            return None
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        if ok and kind is int:
            ok = float(v).is_integer()
        if not ok or (low is not None and v < low):
            self.fail(key, v, f"{'an integer' if kind is int else 'a number'}"
                              f"{f' >= {low}' if low is not None else ''}")
        return kind(v)

    def flag(self, key: str):
        v = self.get(key)
        if v is not None and not isinstance(v, bool):
            self.fail(key, v, "true or false")
        return v

    def numbers(self, key: str, count: int | None = None, nested_ok: bool = False):
        v = self.get(key)
        if v is None:
            return None
        if nested_ok and isinstance(v, list) and v and all(isinstance(x, list) for x in v):
            if len(v) != 1:
                self.fail(key, v, "one list (one feature map: res4)")
            v = v[0]
        vals = v if isinstance(v, list) else [v]
        if not vals or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vals) or (
                count is not None and len(vals) != count):
            self.fail(key, v, f"a list of {count or 'one or more'} numbers")
        return tuple(float(x) for x in vals)


def _leaves(node, prefix: str = ""):
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from _leaves(v, f"{prefix}{k}.")
    else:
        yield prefix[:-1]


def unread_keys(tree: dict) -> list[str]:
    """Dotted keys of ``tree`` that this loader neither reads nor knows to be inference-irrelevant."""
    out = []
    for key in _leaves(tree):
        bare = key[len("MODEL."):] if key.startswith("MODEL.") else key
        if bare not in READ and bare not in IGNORED:
            out.append(key)
    return sorted(out)


def config_kwargs(tree: dict, source: str = "the config") -> dict:
    """:class:`FRCNNConfig` fields from a parsed ``config.yaml`` (see the module docstring for the rules).

    ``FRCNNConfig.from_dict`` / ``from_yaml`` build the config from these; ``rpn_hidden`` may be
    -1 ("as many as res4 has"), which they resolve.

    Args:
        tree: the parsed file.
        source: how errors and warnings name it (the file path).

    Raises:
        ValueError: a value this network cannot be built with, naming the key.
    """
    if not isinstance(tree, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, got {type(tree).__name__}")
    r = _Reader(tree, source)
    kw: dict = {}
    depth = r.number("RESNETS.DEPTH", int)
    if depth is not None:
        if depth not in DEPTHS:
            r.fail("RESNETS.DEPTH", depth, "50, 101 or 152")
        kw["blocks"] = DEPTHS[depth]  # the demo always builds 3 res5 blocks, as every depth has
    blocks = r.get("RESNETS.BLOCKS")  # this kit's own key, for reduced test configs
    if blocks is not None:
        if not (isinstance(blocks, list) and len(blocks) == 4
                and all(isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in blocks)):
            r.fail("RESNETS.BLOCKS", blocks, "4 positive integers (res2..res5)")
        if depth is not None and tuple(blocks) != DEPTHS[depth]:
            r.fail("RESNETS.BLOCKS", blocks, f"{list(DEPTHS[depth])} (what RESNETS.DEPTH {depth} builds)")
        kw["blocks"] = tuple(blocks)
    norm = r.get("RESNETS.NORM")
    if norm is not None and norm not in BN_NORMS:
        r.fail("RESNETS.NORM", norm, f"one of {BN_NORMS} (this network has frozen BatchNorm)")
    for key in ("RESNETS.OUT_FEATURES", "RPN.IN_FEATURES", "ROI_HEADS.IN_FEATURES"):
        v = r.get(key)
        if v is not None and v not in (["res4"], "res4"):
            r.fail(key, v, "['res4'] (the C4 detector reads res4)")
    if r.flag("ROI_BOX_HEAD.ATTR") is False:
        r.fail("ROI_BOX_HEAD.ATTR", False, "true (this network has the Visual Genome attribute head)")
    dil = r.get("RESNETS.RES5_DILATION")
    if dil is not None and dil not in (1, 2):
        r.fail("RESNETS.RES5_DILATION", dil, "1 or 2 (as the demo asserts)")
    if (div := r.number("SIZE_DIVISIBILITY", int, 0)):
        r.fail("SIZE_DIVISIBILITY", div, "0 (the demo refuses padding to a multiple)")
    device = r.get("DEVICE")
    notes = []
    if device is not None and str(device) != "cpu":
        notes.append(f"MODEL.DEVICE = {device!r} is not used (pass device= to FasterRCNNExtractor)")
    ints = {"stem_out": "RESNETS.STEM_OUT_CHANNELS", "res2_out": "RESNETS.RES2_OUT_CHANNELS",
            "rpn_pre_nms_topk": "RPN.PRE_NMS_TOPK_TEST", "rpn_post_nms_topk": "RPN.POST_NMS_TOPK_TEST",
            "pooler_resolution": "ROI_BOX_HEAD.POOLER_RESOLUTION", "num_classes": "ROI_HEADS.NUM_CLASSES",
            "num_attrs": "ROI_BOX_HEAD.NUM_ATTRS", "demo_min_detections": "MIN_DETECTIONS",
            "demo_max_detections": "MAX_DETECTIONS", "max_size": "INPUT.MAX_SIZE_TEST"}
    for name, key in ints.items():
        if (v := r.number(key, int, 1)) is not None:
            kw[name] = v
    if (v := r.number("INPUT.MIN_SIZE_TEST", int, 0)) is not None:
        kw["min_size"] = v
    floats = {"anchor_offset": "ANCHOR_GENERATOR.OFFSET", "rpn_min_size": "PROPOSAL_GENERATOR.MIN_SIZE",
              "rpn_nms_thresh": "RPN.NMS_THRESH", "pad_value": "PAD_VALUE"}
    for name, key in floats.items():
        if (v := r.number(key)) is not None:
            kw[name] = v
    if not 0.0 <= kw.get("anchor_offset", 0.0) < 1.0:
        r.fail("ANCHOR_GENERATOR.OFFSET", kw["anchor_offset"], "0 <= offset < 1")
    flags = {"stride_in_1x1": "RESNETS.STRIDE_IN_1X1", "caffe_maxpool": "MAX_POOL",
             "res5_halve": "ROI_BOX_HEAD.RES5HALVE", "cls_agnostic_bbox_reg": "ROI_BOX_HEAD.CLS_AGNOSTIC_BBOX_REG"}
    for name, key in flags.items():
        if (v := r.flag(key)) is not None:
            kw[name] = v
    tuples = {"rpn_bbox_weights": ("RPN.BBOX_REG_WEIGHTS", 4), "bbox_weights": ("ROI_BOX_HEAD.BBOX_REG_WEIGHTS", 4),
              "pixel_mean": ("PIXEL_MEAN", 3), "pixel_std": ("PIXEL_STD", 3),
              "demo_nms_thresh": ("ROI_HEADS.NMS_THRESH_TEST", None)}
    for name, (key, count) in tuples.items():
        if (v := r.numbers(key, count)) is not None:
            kw[name] = v
    for name, key in (("anchor_sizes", "ANCHOR_GENERATOR.SIZES"), ("anchor_ratios", "ANCHOR_GENERATOR.ASPECT_RATIOS")):
        if (v := r.numbers(key, nested_ok=True)) is not None:
            kw[name] = v
    groups = r.number("RESNETS.NUM_GROUPS", int, 1)
    width = r.number("RESNETS.WIDTH_PER_GROUP", int, 1)
    if groups is not None or width is not None:
        kw["num_groups"] = groups or 1
        kw["bottleneck"] = (groups or 1) * (width or 64)  # detectron2's default width is 64
    fmt = r.get("INPUT.FORMAT")
    if fmt is not None:
        if fmt not in ("BGR", "RGB"):
            r.fail("INPUT.FORMAT", fmt, "'BGR' or 'RGB'")
        kw["input_format"] = fmt
    hidden = r.number("PROPOSAL_GENERATOR.HIDDEN_CHANNELS", int)
    if hidden is not None:
        if hidden != -1 and hidden < 1:
            r.fail("PROPOSAL_GENERATOR.HIDDEN_CHANNELS", hidden, "-1 (as many as res4) or a positive integer")
        kw["rpn_hidden"] = hidden
    unread = unread_keys(tree)
    if unread:
        notes.append(f"{len(unread)} key(s) not read by this loader (the network is built without "
                     f"them): {', '.join(unread)}")
    if notes:
        warnings.warn(f"{source}: " + "; ".join(notes), stacklevel=4)
    return kw


def config_to_yaml(cfg) -> str:
    """A ``config.yaml`` in the hub's layout holding every field :func:`config_kwargs` reads.

    Args:
        cfg: an :class:`FRCNNConfig`.

    Example:
        >>> from lxmert_viz.features import FRCNNConfig
        >>> FRCNNConfig.from_dict(yaml.safe_load(config_to_yaml(FRCNNConfig.tiny()))) == FRCNNConfig.tiny()
        True
    """
    depth = next((d for d, b in DEPTHS.items() if b == tuple(cfg.blocks)), None)
    resnets = {"DEPTH": depth} if depth else {"BLOCKS": list(cfg.blocks)}
    resnets.update({"NORM": "BN", "OUT_FEATURES": ["res4"], "STEM_OUT_CHANNELS": cfg.stem_out,
                    "RES2_OUT_CHANNELS": cfg.res2_out, "NUM_GROUPS": cfg.num_groups,
                    "WIDTH_PER_GROUP": cfg.bottleneck // cfg.num_groups, "STRIDE_IN_1X1": cfg.stride_in_1x1,
                    "RES5_DILATION": 1})
    nms = list(cfg.demo_nms_thresh)
    tree = {
        "MODEL": {"MAX_POOL": cfg.caffe_maxpool, "PIXEL_MEAN": list(cfg.pixel_mean),
                  "PIXEL_STD": list(cfg.pixel_std)},
        "RESNETS": resnets,
        "ANCHOR_GENERATOR": {"SIZES": [list(cfg.anchor_sizes)], "ASPECT_RATIOS": [list(cfg.anchor_ratios)],
                             "OFFSET": cfg.anchor_offset},
        "PROPOSAL_GENERATOR": {"HIDDEN_CHANNELS": cfg.rpn_hidden, "MIN_SIZE": cfg.rpn_min_size},
        "RPN": {"IN_FEATURES": ["res4"], "PRE_NMS_TOPK_TEST": cfg.rpn_pre_nms_topk,
                "POST_NMS_TOPK_TEST": cfg.rpn_post_nms_topk, "NMS_THRESH": cfg.rpn_nms_thresh,
                "BBOX_REG_WEIGHTS": list(cfg.rpn_bbox_weights)},
        "ROI_HEADS": {"IN_FEATURES": ["res4"], "NUM_CLASSES": cfg.num_classes,
                      "NMS_THRESH_TEST": nms if len(nms) > 1 else nms[0]},
        "ROI_BOX_HEAD": {"ATTR": True, "NUM_ATTRS": cfg.num_attrs, "POOLER_RESOLUTION": cfg.pooler_resolution,
                         "RES5HALVE": cfg.res5_halve, "CLS_AGNOSTIC_BBOX_REG": cfg.cls_agnostic_bbox_reg,
                         "BBOX_REG_WEIGHTS": list(cfg.bbox_weights)},
        "INPUT": {"FORMAT": cfg.input_format, "MIN_SIZE_TEST": cfg.min_size, "MAX_SIZE_TEST": cfg.max_size},
        "MIN_DETECTIONS": cfg.demo_min_detections,
        "MAX_DETECTIONS": cfg.demo_max_detections,
        "PAD_VALUE": cfg.pad_value,
        "SIZE_DIVISIBILITY": 0,
    }
    return yaml.safe_dump(tree, sort_keys=False)
