"""Checks of the model's inputs against its config, before any layer runs.

Shape letters: B batch, T tokens, R regions, F region feature size, D hidden.

`transformers`' argument names; each error names the argument, the shape or value it got and what
would be valid.
"""
from __future__ import annotations

import torch

from .config import LxmertConfig


def check_text(cfg: LxmertConfig, input_ids, inputs_embeds, attention_mask, token_type_ids) -> tuple[int, int]:
    """(B, T) of the text inputs; raises on a missing, mis-shaped or out-of-vocabulary input."""
    if (input_ids is None) == (inputs_embeds is None):
        raise ValueError("give exactly one of input_ids or inputs_embeds")
    if input_ids is not None:
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids must be (batch, tokens), got shape {tuple(input_ids.shape)}")
        if input_ids.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"input_ids must be an integer tensor, got {input_ids.dtype}")
        if input_ids.numel() and (int(input_ids.min()) < 0 or int(input_ids.max()) >= cfg.vocab_size):
            raise ValueError(
                f"input_ids hold ids outside 0..{cfg.vocab_size - 1} (min {int(input_ids.min())}, "
                f"max {int(input_ids.max())}): is the tokenizer the checkpoint's?"
            )
        shape = tuple(input_ids.shape)
    else:
        if inputs_embeds.dim() != 3 or inputs_embeds.shape[-1] != cfg.hidden_size:
            raise ValueError(f"inputs_embeds must be (batch, tokens, {cfg.hidden_size}), "
                             f"got {tuple(inputs_embeds.shape)}")
        shape = tuple(inputs_embeds.shape[:2])
    if shape[1] > cfg.max_position_embeddings:
        raise ValueError(f"{shape[1]} tokens exceed max_position_embeddings={cfg.max_position_embeddings}")
    for name, t in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"{name} must have the shape of the tokens {shape}, got {tuple(t.shape)}")
    return shape


def check_vision(cfg: LxmertConfig, visual_feats, visual_pos, visual_attention_mask) -> None:
    """Raises unless feats are (B, R, F), boxes (B, R, 4) and the mask (B, R)."""
    if visual_feats is None or visual_pos is None:
        raise ValueError("visual_feats and visual_pos are both required (or pass vision=)")
    if visual_feats.dim() != 3 or visual_feats.shape[-1] != cfg.visual_feat_dim:
        raise ValueError(f"visual_feats must be (batch, regions, {cfg.visual_feat_dim}), "
                         f"got {tuple(visual_feats.shape)}")
    if tuple(visual_pos.shape) != (*visual_feats.shape[:2], cfg.visual_pos_dim):
        raise ValueError(f"visual_pos must be {(*visual_feats.shape[:2], cfg.visual_pos_dim)} to match "
                         f"visual_feats, got {tuple(visual_pos.shape)}")
    if visual_attention_mask is not None and tuple(visual_attention_mask.shape) != tuple(visual_feats.shape[:2]):
        raise ValueError(f"visual_attention_mask must be {tuple(visual_feats.shape[:2])}, "
                         f"got {tuple(visual_attention_mask.shape)}")
