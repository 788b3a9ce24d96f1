"""Task heads: VQA answers, masked-LM + image-text matching, object/attribute/feature prediction.

Shape letters: B batch, T tokens, R regions, D hidden, V vocabulary, A answers.
Names follow `transformers` (`answer_head.logit_fc.N`, `cls.predictions`, `cls.seq_relationship`,
`obj_predict_head.decoder_dict.{obj,attr,feat}`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import LxmertConfig
from .layers import activation


class GeLU(nn.Module):
    def forward(self, x):
        return F.gelu(x)


class PredictionHeadTransform(nn.Module):
    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=1e-12)

    def forward(self, x):
        return self.LayerNorm(self.act(self.dense(x)))


class LMPredictionHead(nn.Module):
    """Masked-LM logits (B, T, V); `decoder.weight` is tied to the word embeddings by the model."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.transform = PredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, x):
        return self.decoder(self.transform(x)) + self.bias


class PreTrainingHeads(nn.Module):
    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.predictions = LMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, lang, pooled):
        return self.predictions(lang), self.seq_relationship(pooled)


class VisualAnswerHead(nn.Module):
    """Pooled [CLS] to answer logits (B, A): Linear(D, 2D), GeLU, LayerNorm, Linear(2D, A)."""

    def __init__(self, config: LxmertConfig, num_labels: int):
        super().__init__()
        d = config.hidden_size
        self.logit_fc = nn.Sequential(
            nn.Linear(d, d * 2), GeLU(), nn.LayerNorm(d * 2, eps=1e-12), nn.Linear(d * 2, num_labels)
        )

    def forward(self, pooled):
        return self.logit_fc(pooled)


class VisualObjHead(nn.Module):
    """Per-region predictions: object label (B, R, num_object_labels), attribute, feature regression."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.transform = PredictionHeadTransform(config)
        sizes = {}
        if config.visual_obj_loss:
            sizes["obj"] = config.num_object_labels
        if config.visual_attr_loss:
            sizes["attr"] = config.num_attr_labels
        if config.visual_feat_loss:
            sizes["feat"] = config.visual_feat_dim
        self.decoder_dict = nn.ModuleDict({k: nn.Linear(config.hidden_size, n) for k, n in sizes.items()})

    def forward(self, vis) -> dict[str, torch.Tensor]:
        x = self.transform(vis)
        return {k: dec(x) for k, dec in self.decoder_dict.items()}
