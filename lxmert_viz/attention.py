"""Multi-head attention that hands back its probabilities.

Shape letters: B batch, H heads, N/M query/key positions, D hidden, E head size (D = H * E).

Parameter names (`query`, `key`, `value`) are `transformers`' so checkpoints load as they are; the
three projections run as one matmul with a concatenated weight, cached while the weights are
unchanged and no gradient is needed (a visualisation model is mostly run in inference).
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
        self._fused: tuple | None = None

    def _fused_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        params = (self.query.weight, self.key.weight, self.value.weight,
                  self.query.bias, self.key.bias, self.value.bias)
        if torch.is_grad_enabled() and any(p.requires_grad for p in params):
            # Training or explaining: build it inside the graph so gradients flow to each part.
            return torch.cat(params[:3]), torch.cat(params[3:])
        stamp = tuple((p.data_ptr(), p._version, p.device, p.dtype) for p in params)
        if self._fused is None or self._fused[0] != stamp:
            with torch.no_grad():
                self._fused = (stamp, torch.cat(params[:3]), torch.cat(params[3:]))
        return self._fused[1], self._fused[2]

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Query, key and value of ``x`` (B, N, D), each (B, H, N, E), in one matmul."""
        w, b = self._fused_weights()
        bsz, n, _ = x.shape
        qkv = F.linear(x, w, b).view(bsz, n, 3, self.num_heads, self.head_size)
        qkv = qkv.permute(2, 0, 3, 1, 4)  # (3, B, H, N, E)
        return qkv[0], qkv[1], qkv[2]

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
