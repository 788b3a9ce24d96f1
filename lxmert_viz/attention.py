"""Multi-head attention that hands back its probabilities.

Shape letters: B batch, H heads, N/M query/key positions, D hidden, E head size (D = H * E).

Parameter names (`query`, `key`, `value`) are `transformers`' so checkpoints load as they are. The
projections stay three matmuls: a concatenated q/k/v weight measured no faster on CPU and would
keep a second copy of every attention weight (about 200 MB at base size).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import LxmertConfig


class Attention(nn.Module):
    """Scaled dot-product attention with separate query/key/value projections of size D."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        d = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_size = config.head_dim
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Query, key and value of ``x`` (B, N, D), each (B, H, N, E)."""
        bsz, n, _ = x.shape
        split = lambda t: t.view(bsz, n, self.num_heads, self.head_size).transpose(1, 2)  # noqa: E731
        return split(self.query(x)), split(self.key(x)), split(self.value(x))

    def attend(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: torch.Tensor | None,
        need_weights: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attention of queries (B, H, N, E) over keys/values (B, H, M, E).

        Args:
            mask: additive mask broadcastable to (B, H, N, M) (0 keep, very negative drop).
            need_weights: when False, use the fused kernel and return no probabilities.

        Returns:
            context (B, N, D) and probabilities (B, H, N, M) or None.
        """
        bsz, _, n, _ = q.shape
        if not need_weights:
            drop = self.dropout.p if self.training else 0.0
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
            return ctx.transpose(1, 2).reshape(bsz, n, -1), None
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size)  # (B, H, N, M)
        if mask is not None:
            scores = scores + mask
        probs = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(self.dropout(probs), v)  # (B, H, N, E)
        return ctx.transpose(1, 2).reshape(bsz, n, -1), probs

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, need_weights: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Self-attention of ``x`` (B, N, D)."""
        q, k, v = self.project(x)
        return self.attend(q, k, v, mask, need_weights)


class AttentionOutput(nn.Module):
    """Output projection, dropout, residual and LayerNorm (`transformers`' `LxmertAttentionOutput`)."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=1e-12)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden)) + residual)


class SelfAttentionLayer(nn.Module):
    """Self-attention block; parameters ``self.{query,key,value}`` and ``output.{dense,LayerNorm}``."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.self = Attention(config)
        self.output = AttentionOutput(config)

    def forward(self, x, mask=None, need_weights=True):
        ctx, probs = self.self(x, mask, need_weights)
        return self.output(ctx, x), probs


class CrossAttentionLayer(nn.Module):
    """LXMERT's co-attention: ONE set of weights serves both directions.

    Parameters are ``att.{query,key,value}`` and ``output.{dense,LayerNorm}``. Each stream is
    projected once (q, k and v together); words attend to regions (l2v) with the words' queries and
    the regions' keys, regions attend to words (v2l) the other way round.
    """

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.att = Attention(config)
        self.output = AttentionOutput(config)

    def forward(self, lang, vis, lang_mask=None, vis_mask=None, need_weights=True):
        lq, lk, lv = self.att.project(lang)
        vq, vk, vv = self.att.project(vis)
        l_ctx, l2v = self.att.attend(lq, vk, vv, vis_mask, need_weights)
        v_ctx, v2l = self.att.attend(vq, lk, lv, lang_mask, need_weights)
        return self.output(l_ctx, lang), self.output(v_ctx, vis), l2v, v2l
