"""Transformer layers of LXMERT: single-modality layer and cross-modality layer.

Shape letters: B batch, T tokens, R regions, D hidden, I intermediate, H heads.
Module and parameter names follow `transformers` (`attention`, `intermediate`, `output`,
`visual_attention`, `lang_self_att`, `visn_self_att`, `lang_inter`, ...).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .attention import CrossAttentionLayer, SelfAttentionLayer
from .config import LxmertConfig


def _gelu_new(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


ACTIVATIONS = {
    "gelu": F.gelu,
    "relu": F.relu,
    "gelu_new": _gelu_new,
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "swish": F.silu,
    "tanh": torch.tanh,
}


def activation(name: str):
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"hidden_act {name!r} is not supported; known: {sorted(ACTIVATIONS)}") from None


class Intermediate(nn.Module):
    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = activation(config.hidden_act)

    def forward(self, x):
        return self.act(self.dense(x))  # (B, N, I)


class Output(nn.Module):
    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=1e-12)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden, residual):
        return self.LayerNorm(self.dropout(self.dense(hidden)) + residual)


class Layer(nn.Module):
    """One single-modality layer (language encoder or object-relationship encoder)."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.attention = SelfAttentionLayer(config)
        self.intermediate = Intermediate(config)
        self.output = Output(config)

    def forward(self, x, mask=None, need_weights=True):
        att, probs = self.attention(x, mask, need_weights)
        return self.output(self.intermediate(att), att), probs


class XLayer(nn.Module):
    """One cross-modality layer: co-attention, then each stream's self-attention, then FFNs.

    Returns the new language and vision states and all four attention maps:
    l2v (B, H, T, R), v2l (B, H, R, T), cross_lang (B, H, T, T), cross_vis (B, H, R, R).
    """

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.visual_attention = CrossAttentionLayer(config)
        self.lang_self_att = SelfAttentionLayer(config)
        self.visn_self_att = SelfAttentionLayer(config)
        self.lang_inter = Intermediate(config)
        self.lang_output = Output(config)
        self.visn_inter = Intermediate(config)
        self.visn_output = Output(config)

    def forward(self, lang, lang_mask, vis, vis_mask, need_weights=True):
        lang, vis, l2v, v2l = self.visual_attention(lang, vis, lang_mask, vis_mask, need_weights)
        lang, cross_lang = self.lang_self_att(lang, lang_mask, need_weights)
        vis, cross_vis = self.visn_self_att(vis, vis_mask, need_weights)
        lang = self.lang_output(self.lang_inter(lang), lang)
        vis = self.visn_output(self.visn_inter(vis), vis)
        return lang, vis, {"l2v": l2v, "v2l": v2l, "cross_lang": cross_lang, "cross_vis": cross_vis}
