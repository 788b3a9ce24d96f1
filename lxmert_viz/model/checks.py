"""Checks of the model's inputs against its config, before any layer runs.

Shape letters: B batch, T tokens, R regions, F region feature size, P box size (4), D hidden.

`transformers`' argument names; each error (`~lxmert_viz.errors.ModelInputError`, or
`ModelInputTypeError` for a wrong dtype or kind) names the argument, the shape or value it got and
what would be valid. What is checked:

* kinds: torch tensors, or numpy arrays / nested lists, which are turned into tensors (never
  changed in place); ids must be integers, features and boxes real numbers (bool and complex are
  refused);
* shapes: ``input_ids`` (B, T) with T >= 1 and at most ``max_position_embeddings``;
  ``visual_feats`` (B, R, F) with R >= 1 and F = ``visual_feat_dim``; ``visual_pos`` (B, R, P);
  masks and ``token_type_ids`` of the tokens' / regions' shape;
* values: ids in 0..vocab_size-1, ``token_type_ids`` in 0..type_vocab_size-1, masks of 0 and 1
  only, features and boxes finite (one NaN poisons every attention map, padding rows included),
  boxes normalised to the image (0..1, with `BOX_TOLERANCE`): pixel boxes are refused;
* dtypes and device: float features and boxes (float64 included) are cast to the model's dtype,
  integer ids to int64, and every input goes to the model's device: a documented conversion, the
  caller's tensors are left as they are.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import ModelInputError, ModelInputTypeError
from .config import LxmertConfig

BOX_TOLERANCE = 0.01
"""How far outside 0..1 a normalised box coordinate may be (detector boxes clipped with rounding)."""


def _tensor(name: str, value, kind: str) -> torch.Tensor | None:
    """``value`` as a tensor; ``kind`` is ``"int"`` (ids) or ``"real"`` (features, boxes, masks)."""
    if value is None:
        return None
    if isinstance(value, (np.ndarray, list, tuple)):
        arr = np.asarray(value)
        if arr.dtype == object or arr.dtype.kind in "USV":
            raise ModelInputTypeError(f"{name} must hold numbers, got a {arr.dtype} array of shape {arr.shape}")
        if arr.dtype.kind == "u" and arr.dtype.itemsize > 1:
            arr = arr.astype(np.int64)  # torch has no uint16..uint64 arithmetic
        value = torch.from_numpy(np.array(arr))  # a copy: the caller's array is never shared
    if not isinstance(value, torch.Tensor):
        raise ModelInputTypeError(f"{name} must be a torch tensor or a numpy array, got {type(value).__name__}")
    if value.is_complex():
        raise ModelInputTypeError(f"{name} is complex ({value.dtype}); it must hold real numbers")
    if kind == "int":
        if value.dtype == torch.bool or value.is_floating_point():
            raise ModelInputTypeError(f"{name} must be an integer tensor (token ids), got {value.dtype}")
    elif value.dtype == torch.bool and name not in ("attention_mask", "visual_attention_mask"):
        raise ModelInputTypeError(f"{name} must hold real numbers, got {value.dtype}")
    return value


def _finite(name: str, t: torch.Tensor) -> None:
    ok = torch.isfinite(t)
    if not bool(ok.all()):
        where = tuple(int(i) for i in (~ok).nonzero()[0].tolist())
        raise ModelInputError(f"{name} holds {int((~ok).sum())} NaN or infinite values (first at index {where}); "
                              f"every value must be finite: one NaN poisons every attention map")


def _mask(name: str, mask, shape: tuple, device, what: str) -> torch.Tensor | None:
    mask = _tensor(name, mask, "real")
    if mask is None:
        return None
    if tuple(mask.shape) != shape:
        raise ModelInputError(f"{name} must have the shape of the {what} {shape}, got {tuple(mask.shape)}")
    m = mask.to(device=device)
    if not bool(((m == 0) | (m == 1)).all()):
        found = sorted({float(v) for v in m[(m != 0) & (m != 1)].flatten()[:5].tolist()})
        raise ModelInputError(f"{name} must hold only 0 (masked) and 1 (kept), got values {found}")
    return m


def check_text(cfg: LxmertConfig, input_ids, inputs_embeds, attention_mask, token_type_ids,
               dtype: torch.dtype = torch.float32, device=None):
    """The text inputs, checked and converted: ``(input_ids, inputs_embeds, attention_mask,
    token_type_ids)``; raises `ModelInputError` on a missing, mis-shaped or out-of-range input."""
    if (input_ids is None) == (inputs_embeds is None):
        raise ModelInputError("give exactly one of input_ids or inputs_embeds")
    if input_ids is not None:
        input_ids = _tensor("input_ids", input_ids, "int")
        if input_ids.dim() != 2:
            hint = " (add the batch dimension: ids[None])" if input_ids.dim() == 1 else ""
            raise ModelInputError(f"input_ids must be (batch, tokens), got shape {tuple(input_ids.shape)}{hint}")
        if input_ids.numel() and (int(input_ids.min()) < 0 or int(input_ids.max()) >= cfg.vocab_size):
            raise ModelInputError(
                f"input_ids hold ids outside 0..{cfg.vocab_size - 1} (min {int(input_ids.min())}, "
                f"max {int(input_ids.max())}): is the tokenizer the checkpoint's?"
            )
        input_ids = input_ids.to(device=device, dtype=torch.long)
        shape = tuple(input_ids.shape)
    else:
        inputs_embeds = _tensor("inputs_embeds", inputs_embeds, "real")
        if inputs_embeds.dim() != 3 or inputs_embeds.shape[-1] != cfg.hidden_size:
            raise ModelInputError(f"inputs_embeds must be (batch, tokens, {cfg.hidden_size}), "
                                  f"got {tuple(inputs_embeds.shape)}")
        _finite("inputs_embeds", inputs_embeds)
        inputs_embeds = inputs_embeds.to(device=device, dtype=dtype)
        shape = tuple(inputs_embeds.shape[:2])
    if shape[0] < 1 or shape[1] < 1:
        raise ModelInputError(f"the text inputs are {shape}: at least one example of at least one token is needed")
    if shape[1] > cfg.max_position_embeddings:
        raise ModelInputError(f"{shape[1]} tokens exceed max_position_embeddings={cfg.max_position_embeddings}")
    attention_mask = _mask("attention_mask", attention_mask, shape, device, "tokens")
    token_type_ids = _tensor("token_type_ids", token_type_ids, "int")
    if token_type_ids is not None:
        if tuple(token_type_ids.shape) != shape:
            raise ModelInputError(f"token_type_ids must have the shape of the tokens {shape}, "
                                  f"got {tuple(token_type_ids.shape)}")
        lo, hi = int(token_type_ids.min()), int(token_type_ids.max())
        if lo < 0 or hi >= cfg.type_vocab_size:
            raise ModelInputError(f"token_type_ids must be in 0..{cfg.type_vocab_size - 1} "
                                  f"(type_vocab_size={cfg.type_vocab_size}), got {lo}..{hi}")
        token_type_ids = token_type_ids.to(device=device, dtype=torch.long)
    return input_ids, inputs_embeds, attention_mask, token_type_ids


def check_vision(cfg: LxmertConfig, visual_feats, visual_pos, visual_attention_mask,
                 dtype: torch.dtype = torch.float32, device=None):
    """The image inputs, checked and converted: ``(visual_feats, visual_pos, visual_attention_mask)``.

    Raises `ModelInputError` unless feats are (B, R, F) and boxes (B, R, P), finite, with boxes
    normalised to 0..1, and the mask (B, R) of 0/1.
    """
    if visual_feats is None or visual_pos is None:
        raise ModelInputError("visual_feats and visual_pos are both required (or pass vision=)")
    visual_feats = _tensor("visual_feats", visual_feats, "real")
    visual_pos = _tensor("visual_pos", visual_pos, "real")
    if visual_feats.dim() != 3 or visual_feats.shape[-1] != cfg.visual_feat_dim:
        raise ModelInputError(f"visual_feats must be (batch, regions, {cfg.visual_feat_dim}), "
                              f"got {tuple(visual_feats.shape)}")
    b, r = visual_feats.shape[:2]
    if b < 1 or r < 1:
        raise ModelInputError(f"visual_feats is {tuple(visual_feats.shape)}: LXMERT needs at least one region "
                              f"per image (zero regions leave its attention nothing to attend to)")
    if tuple(visual_pos.shape) != (b, r, cfg.visual_pos_dim):
        raise ModelInputError(f"visual_pos must be {(b, r, cfg.visual_pos_dim)} to match "
                              f"visual_feats, got {tuple(visual_pos.shape)}")
    _finite("visual_feats", visual_feats)
    _finite("visual_pos", visual_pos)
    lo, hi = float(visual_pos.min()), float(visual_pos.max())
    if lo < -BOX_TOLERANCE or hi > 1 + BOX_TOLERANCE:
        raise ModelInputError(f"visual_pos holds values {lo:g}..{hi:g}; LXMERT's boxes are normalised by the "
                              f"image size (0..1): pixel boxes? divide them by (W, H, W, H)")
    visual_feats = visual_feats.to(device=device, dtype=dtype)
    visual_pos = visual_pos.to(device=device, dtype=dtype)
    mask = _mask("visual_attention_mask", visual_attention_mask, (b, r), device, "regions")
    return visual_feats, visual_pos, mask
