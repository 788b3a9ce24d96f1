"""The LXMERT model: backbone plus optional heads, with `transformers`' call signature.

Shape letters: B batch, T tokens, R regions, F region feature size, D hidden.

One class covers `LxmertModel` (no heads), `LxmertForQuestionAnswering` (``heads=("qa",)``) and
`LxmertForPreTraining` (``heads=("pretraining", "qa")``); the parameter names are those of the
head models (``lxmert.…``, ``answer_head.…``, ``cls.…``, ``obj_predict_head.…``).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .config import LxmertConfig
from .encoder import Backbone, VisionState
from .heads import PreTrainingHeads, VisualAnswerHead, VisualObjHead
from .output import AttentionMaps, LxmertOutput

HEADS = ("qa", "pretraining")


class Lxmert(nn.Module):
    """LXMERT that returns every hidden state and all six attention families.

    Args:
        config: the model's configuration.
        heads: which heads to build: ``"qa"`` (answer head), ``"pretraining"`` (masked-LM and
            matching heads, plus object heads when ``config.task_obj_predict``). Empty: backbone only.

    Example:
        >>> model = Lxmert(LxmertConfig.tiny(), heads=("qa",)).eval()
        >>> ids = torch.tensor([[2, 5, 6, 3]])
        >>> out = model(input_ids=ids, visual_feats=torch.randn(1, 3, 16), visual_pos=torch.rand(1, 3, 4))
        >>> out.attentions["v2l"].shape
        torch.Size([1, 2, 4, 3, 4])
    """

    def __init__(self, config: LxmertConfig, heads: tuple[str, ...] = ("qa",)):
        super().__init__()
        unknown = set(heads) - set(HEADS)
        if unknown:
            raise ValueError(f"unknown heads {sorted(unknown)}; choose from {HEADS}")
        self.config = config
        self.heads = tuple(h for h in HEADS if h in heads)
        self.lxmert = Backbone(config)
        if "pretraining" in self.heads:
            self.cls = PreTrainingHeads(config)
            if config.task_obj_predict:
                self.obj_predict_head = VisualObjHead(config)
        if "qa" in self.heads:
            self.answer_head = VisualAnswerHead(config, config.num_qa_labels)
        self.apply(self._init_weights)
        self.tie_weights()

    # -- weights -------------------------------------------------------------------------------
    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=std)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def tie_weights(self) -> None:
        """The masked-LM decoder shares the word-embedding matrix (as in BERT and `transformers`)."""
        if "pretraining" in self.heads and self.config.tie_word_embeddings:
            self.cls.predictions.decoder.weight = self.lxmert.embeddings.word_embeddings.weight

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    # -- input checks --------------------------------------------------------------------------
    def _check_text(self, input_ids, inputs_embeds, attention_mask, token_type_ids):
        cfg = self.config
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

    def _check_vision(self, visual_feats, visual_pos, visual_attention_mask):
        cfg = self.config
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

    # -- forward -------------------------------------------------------------------------------
    def encode_image(self, visual_feats, visual_pos, visual_attention_mask=None, output_attentions=True) -> VisionState:
        """Run the image side once (visual embedding + relationship encoder) for reuse.

        Example:
            >>> vision = model.encode_image(feats, pos)          # doctest: +SKIP
            >>> out = model(input_ids=ids, vision=vision)        # doctest: +SKIP
        """
        self._check_vision(visual_feats, visual_pos, visual_attention_mask)
        return self.lxmert.encode_image(visual_feats, visual_pos, visual_attention_mask, output_attentions)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        visual_feats: torch.Tensor | None = None,
        visual_pos: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        visual_attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = True,
        output_hidden_states: bool | None = True,
        return_dict: bool | None = True,
        vision: VisionState | None = None,
        **unused,
    ) -> LxmertOutput:
        """One pass, with `transformers`' keyword arguments; ``vision=`` reuses an encoded image.

        Args:
            output_attentions: False skips the maps and uses the fused attention kernel.
            output_hidden_states, return_dict: accepted for compatibility; states always come back.
            labels: (B,) answer ids; gives ``loss`` (cross entropy) with the QA head.

        Returns:
            `LxmertOutput`.
        """
        if unused:
            raise TypeError(f"unexpected arguments {sorted(unused)}")
        need = output_attentions is not False
        bsz, _ = self._check_text(input_ids, inputs_embeds, attention_mask, token_type_ids)
        if vision is None:
            vision = self.encode_image(visual_feats, visual_pos, visual_attention_mask, need)
        elif visual_feats is not None:
            raise ValueError("give either vision= or visual_feats/visual_pos, not both")
        elif need and vision.attentions is None:
            raise ValueError("this vision state was encoded without attentions; encode it with output_attentions=True")
        vision = vision.expand(bsz)
        backbone = self.lxmert
        lang_h, lang_att, lmask = backbone.encode_text(input_ids, attention_mask, token_type_ids, inputs_embeds, need)
        lang_h, vis_h, cross = backbone.cross(lang_h, lmask, vision, need)
        pooled = backbone.pooler(lang_h[-1])
        maps = {}
        if need:
            maps = {"lang": tuple(lang_att), "vis": tuple(vision.attentions)}
            maps.update({k: tuple(v) for k, v in cross.items()})
        out = LxmertOutput(
            lang_hidden=tuple(lang_h), vis_hidden=tuple(vis_h), l_layers=self.config.l_layers,
            r_layers=self.config.r_layers, x_layers=self.config.x_layers, attentions=AttentionMaps(maps),
            pooled_output=pooled, heads=self.heads,
        )
        if "qa" in self.heads:
            out.question_answering_score = self.answer_head(pooled)
            if labels is not None:
                out.loss = F.cross_entropy(out.question_answering_score, labels.view(-1))
        if "pretraining" in self.heads:
            out.prediction_logits, out.cross_relationship_score = self.cls(lang_h[-1], pooled)
            if hasattr(self, "obj_predict_head"):
                out.obj_predictions = self.obj_predict_head(vis_h[-1])
        return out

    # -- saving --------------------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``config.json`` and ``model.safetensors`` in `transformers`' layout."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arch = {(): "LxmertModel", ("qa",): "LxmertForQuestionAnswering"}.get(self.heads, "LxmertForPreTraining")
        cfg = self.config.to_dict()
        cfg["architectures"] = [arch]
        (directory / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
        state = {k: v.detach().contiguous() for k, v in self.state_dict().items()}
        if "pretraining" in self.heads and self.config.tie_word_embeddings:
            state.pop("cls.predictions.decoder.weight", None)  # tied: stored once, as transformers does
        save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
        return directory
