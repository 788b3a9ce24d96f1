"""What an accepted input must look like: the contracts the fuzzers check every accepted value against.

Shared by the property tests (`test_fuzz_properties.py`) and `benchmarks/fuzz_inputs.py`. Each
``valid_*`` function restates the rule independently of the code under test and returns None when
the accepted value satisfies it, or a short reason when it does not (an "accepted invalid value").
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

# Each config field's rule, restated from lxmert_viz.model.config's documentation (not imported).
INT_FIELDS = {"vocab_size": (1, 10**7), "hidden_size": (1, 65536), "num_attention_heads": (1, 4096),
              "num_qa_labels": (1, 10**7), "num_object_labels": (1, 10**7), "num_attr_labels": (1, 10**7),
              "intermediate_size": (1, 2**20), "max_position_embeddings": (1, 2**20), "type_vocab_size": (1, 1024),
              "l_layers": (0, 256), "x_layers": (0, 256), "r_layers": (0, 256), "visual_feat_dim": (1, 2**20),
              "visual_pos_dim": (1, 1024)}
PROB_FIELDS = ("hidden_dropout_prob", "attention_probs_dropout_prob")
BOOL_FIELDS = ("task_matched", "task_mask_lm", "task_obj_predict", "task_qa", "visual_obj_loss",
               "visual_attr_loss", "visual_feat_loss", "tie_word_embeddings")
ACTS = {"gelu", "relu", "gelu_new", "gelu_pytorch_tanh", "silu", "swish", "tanh"}


def valid_config(cfg) -> str | None:
    for name, (lo, hi) in INT_FIELDS.items():
        v = getattr(cfg, name)
        if type(v) is not int or not lo <= v <= hi:
            return f"{name}={v!r}"
    for name in PROB_FIELDS:
        v = getattr(cfg, name)
        if type(v) not in (int, float) or not (math.isfinite(v) and 0 <= v < 1):
            return f"{name}={v!r}"
    for name in BOOL_FIELDS:
        if type(getattr(cfg, name)) is not bool:
            return f"{name}={getattr(cfg, name)!r}"
    if cfg.hidden_size % cfg.num_attention_heads:
        return "hidden_size not a multiple of heads"
    if cfg.hidden_act not in ACTS:
        return f"hidden_act={cfg.hidden_act!r}"
    if cfg.pad_token_id is not None and (type(cfg.pad_token_id) is not int or not 0 <= cfg.pad_token_id < cfg.vocab_size):
        return f"pad_token_id={cfg.pad_token_id!r}"
    if cfg.answer_scoring not in (None, "softmax", "sigmoid"):
        return f"answer_scoring={cfg.answer_scoring!r}"
    if cfg.id2label is not None and not all(type(k) is int and isinstance(v, str) for k, v in cfg.id2label.items()):
        return "id2label"
    for name in ("initializer_range", "visual_loss_normalizer"):
        v = getattr(cfg, name)
        if type(v) not in (int, float) or not math.isfinite(v) or v < 0:
            return f"{name}={v!r}"
    return None


def valid_regions(r, pixel_boxes: bool = True) -> str | None:
    """A `Regions` the model can use: float32 finite arrays of consistent shapes; pixel boxes in the image."""
    if r.boxes.dtype != np.float32 or r.feats.dtype != np.float32:
        return "dtype"
    if r.boxes.ndim != 2 or r.boxes.shape[1] != 4 or r.feats.shape[0] != r.boxes.shape[0]:
        return "shape"
    if not (np.isfinite(r.boxes).all() and np.isfinite(r.feats).all()):
        return "not finite"
    if r.scores is not None and not np.isfinite(r.scores).all():
        return "scores not finite"
    w, h = r.image_size
    if not (type(w) is int and type(h) is int and w > 0 and h > 0):
        return "image_size"
    if not 0 <= r.num_real <= len(r.boxes):
        return "num_real"
    if pixel_boxes and r.num_real:
        b = r.boxes[: r.num_real]
        if (b[:, 2] < b[:, 0]).any() or (b[:, 3] < b[:, 1]).any():
            return "reversed box"
        if b.min() < -2 or (b[:, 2] > w + 2).any() or (b[:, 3] > h + 2).any():
            return "box outside the image"
    return None


def valid_image(img, max_pixels: int) -> str | None:
    if not isinstance(img, Image.Image) or img.mode != "RGB":
        return f"not an RGB image: {img!r}"
    w, h = img.size
    if w < 1 or h < 1 or w * h > max_pixels or max(w, h) / min(w, h) > 50:
        return f"size {img.size}"
    return None


def valid_tokens(tok, tokens, question) -> str | None:
    if not isinstance(question, str) or not question.strip() or len(question) > 1000:
        return "accepted a question that is not a readable string"
    if any(0xD800 <= ord(c) <= 0xDFFF for c in question):
        return "accepted a lone surrogate"
    ids = tokens.ids
    if len(ids) < 3 or ids[0] != tok.cls_id or ids[-1] != tok.sep_id or len(ids) > tok.max_length:
        return f"ids {ids}"
    if not all(0 <= i < tok.vocab_size for i in ids) or len(tokens.pieces) != len(ids):
        return "ids outside the vocabulary"
    if not tokens.words or not set(tokens.unknown) <= set(tokens.words):
        return "words"
    return None
