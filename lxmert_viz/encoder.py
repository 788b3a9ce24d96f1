"""LXMERT's backbone: embeddings, the three encoders and the pooler, runnable in two halves.

Shape letters: B batch, T tokens, R regions, F region feature size, P box size (4), D hidden,
H heads.

The object-relationship (vision) encoder depends on the image alone, so `encode_image` runs it once
and returns a `VisionState`; `forward` then runs the language and cross-modality layers against
it, for as many questions as wanted. Module names follow `transformers` (`embeddings`, `encoder.layer`,
`encoder.r_layers`, `encoder.x_layers`, `encoder.visn_fc`, `pooler`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import LxmertConfig
from .layers import Layer, XLayer


class Embeddings(nn.Module):
    """Word + position + token-type embeddings, LayerNorm, dropout."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        d = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, d, padding_idx=0)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, d, padding_idx=0)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, d, padding_idx=0)
        self.LayerNorm = nn.LayerNorm(d, eps=1e-12)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids=None, token_type_ids=None, inputs_embeds=None):
        x = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds  # (B, T, D)
        t = x.shape[1]
        x = x + self.position_embeddings.weight[:t].unsqueeze(0)
        if token_type_ids is None:
            x = x + self.token_type_embeddings.weight[0]
        else:
            x = x + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x))


class VisualFeatureEncoder(nn.Module):
    """Region features and boxes to the hidden size: mean of two LayerNormed projections."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        d = config.hidden_size
        self.visn_fc = nn.Linear(config.visual_feat_dim, d)
        self.visn_layer_norm = nn.LayerNorm(d, eps=1e-12)
        self.box_fc = nn.Linear(config.visual_pos_dim, d)
        self.box_layer_norm = nn.LayerNorm(d, eps=1e-12)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, feats, pos):
        x = self.visn_layer_norm(self.visn_fc(feats))  # (B, R, D)
        y = self.box_layer_norm(self.box_fc(pos))
        return self.dropout((x + y) / 2)


class Encoder(nn.Module):
    """Holds the layers; `layer` (language) keeps BERT's name so BERT weights could load."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.visn_fc = VisualFeatureEncoder(config)
        self.layer = nn.ModuleList([Layer(config) for _ in range(config.l_layers)])
        self.x_layers = nn.ModuleList([XLayer(config) for _ in range(config.x_layers)])
        self.r_layers = nn.ModuleList([Layer(config) for _ in range(config.r_layers)])


class Pooler(nn.Module):
    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, lang):
        return self.activation(self.dense(lang[:, 0]))  # (B, D) from [CLS]


def additive_mask(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """(B, N) 1/0 mask to the (B, 1, 1, N) additive form `transformers` uses."""
    if mask is None:
        return None
    m = mask[:, None, None, :].to(dtype)
    return (1.0 - m) * torch.finfo(dtype).min


@dataclass
class VisionState:
    """The image side of a forward pass, reusable for any number of questions.

    Attributes:
        hidden: visual embedding output, then each relationship layer: 1 + r_layers of (B, R, D).
        attentions: each relationship layer's self-attention (B, H, R, R), or None.
        visual_attention_mask: the (B, R) 1/0 mask given, or None.
    """

    hidden: tuple[torch.Tensor, ...]
    attentions: tuple[torch.Tensor, ...] | None
    visual_attention_mask: torch.Tensor | None

    @property
    def batch_size(self) -> int:
        return self.hidden[0].shape[0]

    def expand(self, batch: int) -> "VisionState":
        """Broadcast a batch-1 state to ``batch`` questions (views, no copy)."""
        if self.batch_size == batch:
            return self
        if self.batch_size != 1:
            raise ValueError(f"a vision state of batch {self.batch_size} cannot serve a text batch of {batch}")
        ex = lambda t: None if t is None else t.expand(batch, *t.shape[1:])  # noqa: E731
        atts = None if self.attentions is None else tuple(ex(a) for a in self.attentions)
        return VisionState(tuple(ex(h) for h in self.hidden), atts, ex(self.visual_attention_mask))


class Backbone(nn.Module):
    """`transformers`' `LxmertModel` (saved under the ``lxmert.`` prefix by the head models)."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = Encoder(config)
        self.pooler = Pooler(config)

    def encode_image(self, visual_feats, visual_pos, visual_attention_mask=None, need_weights=True) -> VisionState:
        enc = self.encoder
        vmask = additive_mask(visual_attention_mask, visual_feats.dtype)
        vis = enc.visn_fc(visual_feats, visual_pos)
        hidden, atts = [vis], []
        for layer in enc.r_layers:
            vis, probs = layer(vis, vmask, need_weights)
            hidden.append(vis)
            atts.append(probs)
        return VisionState(tuple(hidden), tuple(atts) if need_weights else None, visual_attention_mask)

    def encode_text(self, input_ids=None, attention_mask=None, token_type_ids=None, inputs_embeds=None,
                    need_weights=True):
        """Embeddings and language layers: (hidden 1 + l_layers, attentions, additive mask)."""
        lang = self.embeddings(input_ids, token_type_ids, inputs_embeds)
        lmask = additive_mask(attention_mask, lang.dtype)
        hidden, atts = [lang], []
        for layer in self.encoder.layer:
            lang, probs = layer(lang, lmask, need_weights)
            hidden.append(lang)
            atts.append(probs)
        return hidden, atts, lmask

    def cross(self, lang_hidden, lmask, vision: VisionState, need_weights=True):
        """Cross-modality layers; appends to copies of the hidden lists; returns maps per family."""
        lang, vis = lang_hidden[-1], vision.hidden[-1]
        vmask = additive_mask(vision.visual_attention_mask, vis.dtype)
        lang_h, vis_h = list(lang_hidden), list(vision.hidden)
        maps = {"l2v": [], "v2l": [], "cross_lang": [], "cross_vis": []}
        for layer in self.encoder.x_layers:
            lang, vis, probs = layer(lang, lmask, vis, vmask, need_weights)
            lang_h.append(lang)
            vis_h.append(vis)
            for key, val in probs.items():
                maps[key].append(val)
        return lang_h, vis_h, maps
