"""What a forward pass returns: every hidden state and all six attention families.

Shape letters: B batch, T tokens, R regions, D hidden, H heads, L layers of a family.

| family       | layers   | stacked shape          |
|--------------|----------|------------------------|
| `lang`       | l_layers | (B, L, H, T, T)        |
| `vis`        | r_layers | (B, L, H, R, R)        |
| `l2v`        | x_layers | (B, L, H, T, R)        |
| `v2l`        | x_layers | (B, L, H, R, T)        |
| `cross_lang` | x_layers | (B, L, H, T, T)        |
| `cross_vis`  | x_layers | (B, L, H, R, R)        |

Hidden states: ``lang_hidden[0]`` is the embedding output, ``lang_hidden[1..l_layers]`` the language
layers, the rest the cross layers (likewise ``vis_hidden`` with r_layers). ``lang_single`` /
``vis_single`` are the last states before the other modality is mixed in.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from ..errors import InputError, InputTypeError, UnknownNameError
from .families import CROSS_FAMILIES, FAMILIES, KEY_STREAM, QUERY_STREAM, key_stream, query_stream

# The family table lives in `lxmert_viz.model.families`; these names are re-exported for old imports.
__all__ = ["AttentionMaps", "CROSS_FAMILIES", "FAMILIES", "KEY_STREAM", "LxmertOutput", "QUERY_STREAM", "VisionState",
           "key_stream", "query_stream"]


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

    def expand(self, batch: int) -> VisionState:
        """Broadcast a batch-1 state to ``batch`` questions (views, no copy)."""
        if self.batch_size == batch:
            return self
        if self.batch_size != 1:
            raise InputError(f"a vision state of batch {self.batch_size} cannot serve a text batch of {batch}")
        ex = lambda t: None if t is None else t.expand(batch, *t.shape[1:])  # noqa: E731
        atts = None if self.attentions is None else tuple(ex(a) for a in self.attentions)
        return VisionState(tuple(ex(h) for h in self.hidden), atts, ex(self.visual_attention_mask))


class AttentionMaps(Mapping):
    """``maps[family]`` -> (B, L, H, queries, keys); stacked on first access, kept per layer until then."""

    def __init__(self, per_layer: dict[str, tuple[torch.Tensor, ...]]):
        self._layers = per_layer
        self._stacked: dict[str, torch.Tensor] = {}

    def __getitem__(self, family: str) -> torch.Tensor:
        if family not in self._layers:
            raise UnknownNameError(f"unknown attention family {family!r}; families are {list(FAMILIES)}")
        if family not in self._stacked:
            layers = self._layers[family]
            if not layers:
                raise UnknownNameError(f"attention family {family!r} has no layers in this model")
            self._stacked[family] = torch.stack(layers, dim=1)  # (B, L, H, Q, K)
        return self._stacked[family]

    def __iter__(self):
        return iter(f for f in FAMILIES if f in self._layers and self._layers[f])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def layers(self, family: str) -> tuple[torch.Tensor, ...]:
        """The per-layer tuple of (B, H, Q, K) maps, as produced (no copy)."""
        return self._layers[family]


@dataclass
class LxmertOutput:
    """All states, maps and head outputs of one forward pass.

    Attributes:
        lang_hidden: 1 + l_layers + x_layers states (B, T, D): embeddings, language, cross layers.
        vis_hidden: 1 + r_layers + x_layers states (B, R, D): visual embedding, relationship, cross.
        l_layers, r_layers, x_layers: where each part of the tuples ends.
        attentions: family -> (B, L, H, Q, K), see the module table; empty when maps were not asked.
        pooled_output: (B, D).
        question_answering_score: (B, num_qa_labels) or None without the QA head.
        prediction_logits: (B, T, vocab) masked-LM logits or None.
        cross_relationship_score: (B, 2) image-text matching logits or None.
        obj_predictions: dict ``obj``/``attr``/``feat`` -> (B, R, n) or None.
        loss: when labels were given.
    """

    lang_hidden: tuple[torch.Tensor, ...]
    vis_hidden: tuple[torch.Tensor, ...]
    l_layers: int
    r_layers: int
    x_layers: int
    attentions: AttentionMaps
    pooled_output: torch.Tensor
    question_answering_score: torch.Tensor | None = None
    prediction_logits: torch.Tensor | None = None
    cross_relationship_score: torch.Tensor | None = None
    obj_predictions: dict[str, torch.Tensor] | None = None
    loss: torch.Tensor | None = None
    output_heads: tuple[str, ...] = field(default=())

    @property
    def language_output(self) -> torch.Tensor:
        return self.lang_hidden[-1]

    @property
    def vision_output(self) -> torch.Tensor:
        return self.vis_hidden[-1]

    @property
    def lang_single(self) -> torch.Tensor:
        """(B, T, D) language state after the language encoder, before any cross layer."""
        return self.lang_hidden[self.l_layers]

    @property
    def vis_single(self) -> torch.Tensor:
        """(B, R, D) vision state after the relationship encoder, before any cross layer."""
        return self.vis_hidden[self.r_layers]

    @property
    def lang_cross(self) -> tuple[torch.Tensor, ...]:
        """Language states after each cross layer."""
        return self.lang_hidden[self.l_layers + 1:]

    @property
    def vis_cross(self) -> tuple[torch.Tensor, ...]:
        return self.vis_hidden[self.r_layers + 1:]

    def as_transformers(self) -> TransformersOutput:
        """Exactly what `transformers`' LXMERT returns (with hidden states and attentions on), with the
        same access: ``o.pooled_output``, ``o["pooled_output"]``, ``o[0]``, ``o.to_tuple()``, ``o.keys()``.

        Hidden-state tuples leave the embedding outputs out (l_layers + x_layers language states,
        r_layers + x_layers vision states); ``cross_encoder_attentions`` is the l2v family. Keys
        depend on the output heads: `LxmertModel` gives ``language_output``/``vision_output``/
        ``pooled_output``; the QA model ``question_answering_score``; the pretraining model
        ``prediction_logits``, ``cross_relationship_score`` and ``question_answering_score``.
        """
        out = TransformersOutput()
        if self.loss is not None:
            out["loss"] = self.loss
        if "pretraining" in self.output_heads:
            out["prediction_logits"] = self.prediction_logits
            out["cross_relationship_score"] = self.cross_relationship_score
        if "qa" in self.output_heads:
            out["question_answering_score"] = self.question_answering_score
        if not self.output_heads:
            out.update(language_output=self.language_output, vision_output=self.vision_output,
                       pooled_output=self.pooled_output)
        out["language_hidden_states"] = tuple(self.lang_hidden[1:])
        out["vision_hidden_states"] = tuple(self.vis_hidden[1:])
        if len(self.attentions):
            a = self.attentions
            out["language_attentions"] = tuple(a.layers("lang"))
            out["vision_attentions"] = tuple(a.layers("vis"))
            out["cross_encoder_attentions"] = tuple(a.layers("l2v"))
        return out

    def __getitem__(self, key: str):
        """Dict-style access by `transformers`' output names (``out["pooled_output"]``)."""
        if not isinstance(key, str):
            raise InputTypeError("index LxmertOutput by a transformers output name, e.g. out['pooled_output']")
        if key in ("language_output", "vision_output", "pooled_output"):
            return getattr(self, key)
        return self.as_transformers()[key]


class TransformersOutput(dict):
    """`LxmertOutput.as_transformers`'s value: a dict of `transformers`' output fields, in its order,
    that also reads as its ``ModelOutput`` classes do: by attribute, by position, ``to_tuple()``.

    Example:
        >>> o = TransformersOutput(pooled_output=1, language_hidden_states=(2, 3))
        >>> o.pooled_output, o["pooled_output"], o[0], o.to_tuple()
        (1, 1, 1, (1, (2, 3)))
    """

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"this output has no field {name!r}; its fields are {list(self)}") from None

    def __getitem__(self, key):
        if isinstance(key, (int, slice)):  # transformers' ModelOutput: o[0] is the first field that is set
            return self.to_tuple()[key]
        return super().__getitem__(key)

    def to_tuple(self) -> tuple:
        """The fields' values in order (``ModelOutput.to_tuple``)."""
        return tuple(self.values())
