"""LXMERT, top to bottom: attention, layers, the three encoders, the output heads, the model.

Shape letters: B batch, T tokens, R regions, F region feature size, P box size (4), D hidden,
H heads, E head size (D = H * E), I intermediate, N/M query/key positions, V vocabulary, A answers.

Every module and parameter name is `transformers`' (``lxmert.embeddings…``, ``lxmert.encoder.layer.N``,
``…x_layers.N.visual_attention.att.query``, ``answer_head.logit_fc.N``, ``cls.predictions``,
``obj_predict_head.decoder_dict.obj``), so its checkpoints load as they are. Unlike `transformers`,
every layer hands back its attention probabilities, so all six families come out of one pass:

    language tokens ──► layer × l_layers ─────── lang ──┐
    region features ──► r_layers ─────────────── vis ───┤
                                                        ▼
                x_layers × (co-attention: l2v and v2l with ONE set of weights,
                            then cross_lang and cross_vis self-attention, then FFNs)
                                                        │
                [CLS] ─► pooler ─► answer head (qa) / matching + masked words (pretraining)
                regions ─► object / attribute / feature heads (pretraining)

The image side depends on the image alone: `Lxmert.encode_image` runs it once into a `VisionState`
that any number of questions reuse (``vision=``); `lxmert_viz.run` is the door that does so.

Hook points (identity modules, `lxmert_viz.model.hooks`) sit on every state, pattern and head output.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError, InputTypeError
from . import checks
from .activations import activation
from .config import LAYER_NORM_EPS, LxmertConfig
from .hooks import HookPoint
from .output import AttentionMaps, LxmertOutput, VisionState
from .save import save_checkpoint

OUTPUT_HEADS = ("qa", "pretraining")

# -- attention -------------------------------------------------------------------------------------
class Attention(nn.Module):
    """Scaled dot-product attention with separate query/key/value projections of size D.

    The projections stay three matmuls: a fused q/k/v weight measured no faster on CPU and would keep
    a second copy of every attention weight (about 200 MB at base size).
    """

    def __init__(self, config: LxmertConfig):
        super().__init__()
        d = config.hidden_size
        self.num_heads, self.head_size = config.num_attention_heads, config.head_dim
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def project(self, x):
        """Query, key and value of ``x`` (B, N, D), each (B, H, N, E)."""
        bsz, n, _ = x.shape
        split = lambda t: t.view(bsz, n, self.num_heads, self.head_size).transpose(1, 2)  # noqa: E731
        return split(self.query(x)), split(self.key(x)), split(self.value(x))

    def attend(self, q, k, v, mask, need_weights: bool = True, hook_pattern=None, hook_z=None):
        """Queries (B, H, N, E) over keys/values (B, H, M, E) with an additive ``mask``.

        Returns the context (B, N, D) and the probabilities (B, H, N, M), or None for them when
        ``need_weights`` is False (then the fused kernel runs: it computes no maps). The hook points
        see the probabilities and the per-head context (B, N, H, E) before the heads are joined.
        """
        bsz, _, n, _ = q.shape
        probs = None
        if not need_weights:
            drop = self.dropout.p if self.training else 0.0
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        else:
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size)  # (B, H, N, M)
            if mask is not None:
                scores = scores + mask
            probs = torch.softmax(scores, dim=-1)
            if hook_pattern is not None:
                probs = hook_pattern(probs)
            ctx = torch.matmul(self.dropout(probs), v)  # (B, H, N, E)
        ctx = ctx.transpose(1, 2)  # (B, N, H, E): one slice per head
        if hook_z is not None:
            ctx = hook_z(ctx)
        return ctx.reshape(bsz, n, -1), probs

    def forward(self, x, mask=None, need_weights: bool = True, hook_pattern=None, hook_z=None):
        return self.attend(*self.project(x), mask, need_weights, hook_pattern, hook_z)


class AddNorm(nn.Module):
    """Dense projection, dropout, residual, LayerNorm: the ``output`` of every attention and FFN."""

    def __init__(self, config: LxmertConfig, in_size: int | None = None):
        super().__init__()
        self.dense = nn.Linear(in_size or config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden, residual):
        return self.LayerNorm(self.dropout(self.dense(hidden)) + residual)


class SelfAttentionLayer(nn.Module):
    """Self-attention block: ``self.{query,key,value}``, ``output.{dense,LayerNorm}``."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.self = Attention(config)
        self.output = AddNorm(config)
        self.hook_pattern, self.hook_z = HookPoint(), HookPoint()

    def forward(self, x, mask=None, need_weights: bool = True):
        ctx, probs = self.self(x, mask, need_weights, self.hook_pattern, self.hook_z)
        return self.output(ctx, x), probs


class CrossAttentionLayer(nn.Module):
    """LXMERT's co-attention: ONE set of weights (``att``, ``output``) serves both directions.

    Each stream is projected once; words attend to regions (l2v) with the words' queries and the
    regions' keys, regions attend to words (v2l) the other way round.
    """

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.att = Attention(config)
        self.output = AddNorm(config)
        self.hook_l2v_pattern, self.hook_l2v_z = HookPoint(), HookPoint()
        self.hook_v2l_pattern, self.hook_v2l_z = HookPoint(), HookPoint()

    def forward(self, lang, vis, lang_mask=None, vis_mask=None, need_weights: bool = True):
        lq, lk, lv = self.att.project(lang)
        vq, vk, vv = self.att.project(vis)
        l_ctx, l2v = self.att.attend(lq, vk, vv, vis_mask, need_weights, self.hook_l2v_pattern,
                                     self.hook_l2v_z)  # (B, T, D), (B, H, T, R)
        v_ctx, v2l = self.att.attend(vq, lk, lv, lang_mask, need_weights, self.hook_v2l_pattern,
                                     self.hook_v2l_z)  # (B, R, D), (B, H, R, T)
        return self.output(l_ctx, lang), self.output(v_ctx, vis), l2v, v2l


# -- layers ----------------------------------------------------------------------------------------
class Intermediate(nn.Module):
    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = activation(config.hidden_act)

    def forward(self, x):
        return self.act(self.dense(x))  # (B, N, I)


class Layer(nn.Module):
    """One single-modality layer (language encoder or object-relationship encoder)."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.attention = SelfAttentionLayer(config)
        self.intermediate = Intermediate(config)
        self.output = AddNorm(config, config.intermediate_size)
        self.hook_out = HookPoint()

    def forward(self, x, mask=None, need_weights: bool = True):
        att, probs = self.attention(x, mask, need_weights)
        return self.hook_out(self.output(self.intermediate(att), att)), probs


class XLayer(nn.Module):
    """One cross-modality layer: co-attention, then each stream's self-attention, then FFNs.

    Returns the new language and vision states and the maps l2v (B, H, T, R), v2l (B, H, R, T),
    cross_lang (B, H, T, T) and cross_vis (B, H, R, R).
    """

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.visual_attention = CrossAttentionLayer(config)
        self.lang_self_att = SelfAttentionLayer(config)
        self.visn_self_att = SelfAttentionLayer(config)
        self.lang_inter, self.visn_inter = Intermediate(config), Intermediate(config)
        self.lang_output = AddNorm(config, config.intermediate_size)
        self.visn_output = AddNorm(config, config.intermediate_size)
        self.hook_lang_out, self.hook_vis_out = HookPoint(), HookPoint()

    def forward(self, lang, lang_mask, vis, vis_mask, need_weights: bool = True):
        lang, vis, l2v, v2l = self.visual_attention(lang, vis, lang_mask, vis_mask, need_weights)
        lang, cross_lang = self.lang_self_att(lang, lang_mask, need_weights)
        vis, cross_vis = self.visn_self_att(vis, vis_mask, need_weights)
        lang = self.hook_lang_out(self.lang_output(self.lang_inter(lang), lang))
        vis = self.hook_vis_out(self.visn_output(self.visn_inter(vis), vis))
        return lang, vis, {"l2v": l2v, "v2l": v2l, "cross_lang": cross_lang, "cross_vis": cross_vis}


# -- embeddings and encoders -----------------------------------------------------------------------
class Embeddings(nn.Module):
    """Word + position + token-type embeddings, LayerNorm, dropout."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        d = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, d, padding_idx=0)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, d, padding_idx=0)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, d, padding_idx=0)
        self.LayerNorm = nn.LayerNorm(d, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.hook_out = HookPoint()

    def forward(self, input_ids=None, token_type_ids=None, inputs_embeds=None):
        x = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds  # (B, T, D)
        x = x + self.position_embeddings.weight[: x.shape[1]].unsqueeze(0)
        if token_type_ids is None:
            x = x + self.token_type_embeddings.weight[0]
        else:
            x = x + self.token_type_embeddings(token_type_ids)
        return self.hook_out(self.dropout(self.LayerNorm(x)))


class VisualFeatureEncoder(nn.Module):
    """Region features and boxes to the hidden size: the mean of two LayerNormed projections."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        d = config.hidden_size
        self.visn_fc = nn.Linear(config.visual_feat_dim, d)
        self.visn_layer_norm = nn.LayerNorm(d, eps=LAYER_NORM_EPS)
        self.box_fc = nn.Linear(config.visual_pos_dim, d)
        self.box_layer_norm = nn.LayerNorm(d, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.hook_out = HookPoint()

    def forward(self, feats, pos):
        x = self.visn_layer_norm(self.visn_fc(feats))  # (B, R, D)
        y = self.box_layer_norm(self.box_fc(pos))
        return self.hook_out(self.dropout((x + y) / 2))


class Encoder(nn.Module):
    """Holds the layers; the language layers keep BERT's name ``layer`` so BERT weights could load."""

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
        self.hook_out = HookPoint()

    def forward(self, lang):
        return self.hook_out(self.activation(self.dense(lang[:, 0])))  # (B, D) from [CLS]


def additive_mask(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """(B, N) 1/0 mask to the (B, 1, 1, N) additive form `transformers` uses."""
    if mask is None:
        return None
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class Backbone(nn.Module):
    """`transformers`' `LxmertModel` (saved under the ``lxmert.`` prefix by the head models)."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.embeddings, self.encoder, self.pooler = Embeddings(config), Encoder(config), Pooler(config)

    def encode_image(self, visual_feats, visual_pos, visual_attention_mask=None, need_weights=True) -> VisionState:
        vmask = additive_mask(visual_attention_mask, visual_feats.dtype)
        vis = self.encoder.visn_fc(visual_feats, visual_pos)
        hidden, atts = [vis], []
        for layer in self.encoder.r_layers:
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
        """Cross-modality layers on copies of the hidden lists; returns the maps per family."""
        lang, vis = lang_hidden[-1], vision.hidden[-1]
        vmask = additive_mask(vision.visual_attention_mask, vis.dtype)
        lang_h, vis_h = list(lang_hidden), list(vision.hidden)
        maps = {"l2v": [], "v2l": [], "cross_lang": [], "cross_vis": []}
        for layer in self.encoder.x_layers:
            lang, vis, probs = layer(lang, lmask, vis, vmask, need_weights)
            lang_h.append(lang)
            vis_h.append(vis)
            for family, p in probs.items():
                maps[family].append(p)
        return lang_h, vis_h, maps


# -- output heads ----------------------------------------------------------------------------------
class PredictionHeadTransform(nn.Module):
    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=LAYER_NORM_EPS)

    def forward(self, x):
        return self.LayerNorm(self.act(self.dense(x)))


class LMPredictionHead(nn.Module):
    """Masked-word logits (B, T, V); ``decoder.weight`` is tied to the word embeddings by the model."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.transform = PredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, x):
        return self.decoder(self.transform(x)) + self.bias


class PreTrainingHeads(nn.Module):
    """Masked words from every token's last state; image-text matching (B, 2) from the pooled [CLS]."""

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
        self.logit_fc = nn.Sequential(nn.Linear(d, d * 2), nn.GELU(), nn.LayerNorm(d * 2, eps=LAYER_NORM_EPS),
                                      nn.Linear(d * 2, num_labels))

    def forward(self, pooled):
        return self.logit_fc(pooled)


class VisualObjHead(nn.Module):
    """Per-region object label (B, R, objects), attribute (B, R, attributes), feature regression (B, R, F)."""

    def __init__(self, config: LxmertConfig):
        super().__init__()
        self.transform = PredictionHeadTransform(config)
        sizes = {"obj": (config.visual_obj_loss, config.num_object_labels),
                 "attr": (config.visual_attr_loss, config.num_attr_labels),
                 "feat": (config.visual_feat_loss, config.visual_feat_dim)}
        self.decoder_dict = nn.ModuleDict({k: nn.Linear(config.hidden_size, n) for k, (on, n) in sizes.items() if on})

    def forward(self, vis) -> dict[str, torch.Tensor]:
        x = self.transform(vis)
        return {k: dec(x) for k, dec in self.decoder_dict.items()}


# -- the model -------------------------------------------------------------------------------------
class Lxmert(nn.Module):
    """LXMERT that returns every hidden state and all six attention families.

    One class covers `LxmertModel` (no output heads), `LxmertForQuestionAnswering`
    (``output_heads=("qa",)``) and `LxmertForPreTraining` (``("pretraining", "qa")``).

    Args:
        config: the model's configuration.
        output_heads: which output heads to build: ``"qa"`` (answer head), ``"pretraining"``
            (masked words and image-text matching, plus the region heads when
            ``config.task_obj_predict``). Empty: the backbone alone.

    Example:
        >>> model = Lxmert(LxmertConfig.tiny(), output_heads=("qa",)).eval()
        >>> ids = torch.tensor([[2, 5, 6, 3]])
        >>> out = model(input_ids=ids, visual_feats=torch.randn(1, 3, 16), visual_pos=torch.rand(1, 3, 4))
        >>> out.attentions["v2l"].shape
        torch.Size([1, 2, 4, 3, 4])
    """

    def __init__(self, config: LxmertConfig, output_heads: tuple[str, ...] = ("qa",)):
        super().__init__()
        if unknown := set(output_heads) - set(OUTPUT_HEADS):
            raise InputError(f"unknown output heads {sorted(unknown)}; choose from {OUTPUT_HEADS}")
        self.config = config
        self.output_heads = tuple(h for h in OUTPUT_HEADS if h in output_heads)
        self.lxmert = Backbone(config)
        if "pretraining" in self.output_heads:
            self.cls = PreTrainingHeads(config)
            if config.task_obj_predict:
                self.obj_predict_head = VisualObjHead(config)
        if "qa" in self.output_heads:
            self.answer_head = VisualAnswerHead(config, config.num_qa_labels)
        self.apply(self._init_weights)
        self.tie_weights()

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
        """The masked-word decoder shares the word-embedding matrix (as in BERT and `transformers`)."""
        if "pretraining" in self.output_heads and self.config.tie_word_embeddings:
            self.cls.predictions.decoder.weight = self.lxmert.embeddings.word_embeddings.weight

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def encode_image(self, visual_feats, visual_pos, visual_attention_mask=None, output_attentions=True) -> VisionState:
        """Run the image side once (visual embedding + relationship encoder) for reuse with ``vision=``."""
        visual_feats, visual_pos, visual_attention_mask = checks.check_vision(
            self.config, visual_feats, visual_pos, visual_attention_mask, self.dtype, self.device)
        return self.lxmert.encode_image(visual_feats, visual_pos, visual_attention_mask, output_attentions)

    def forward(self, input_ids=None, visual_feats=None, visual_pos=None, attention_mask=None,
                visual_attention_mask=None, token_type_ids=None, inputs_embeds=None, labels=None,
                output_attentions=True, output_hidden_states=True, return_dict=True,
                vision: VisionState | None = None, **unused) -> LxmertOutput:
        """One pass, with `transformers`' keyword arguments; ``vision=`` reuses an encoded image.

        Args:
            output_attentions: False skips the maps and uses the fused attention kernel.
            output_hidden_states, return_dict: accepted for compatibility; states always come back.
            labels: (B,) answer ids; gives ``loss`` (cross entropy) with the QA head.

        Returns:
            `LxmertOutput`.
        """
        if unused:
            raise InputTypeError(f"unexpected arguments {sorted(unused)}")
        need = output_attentions is not False
        input_ids, inputs_embeds, attention_mask, token_type_ids = checks.check_text(
            self.config, input_ids, inputs_embeds, attention_mask, token_type_ids, self.dtype, self.device)
        bsz = (input_ids if input_ids is not None else inputs_embeds).shape[0]
        if vision is None:
            vision = self.encode_image(visual_feats, visual_pos, visual_attention_mask, need)
        elif visual_feats is not None:
            raise InputError("give either vision= or visual_feats/visual_pos, not both")
        elif need and vision.attentions is None:
            raise InputError("this vision state was encoded without attentions; encode it with output_attentions=True")
        vision = vision.expand(bsz)
        lang_h, lang_att, lmask = self.lxmert.encode_text(input_ids, attention_mask, token_type_ids, inputs_embeds,
                                                          need)
        lang_h, vis_h, cross = self.lxmert.cross(lang_h, lmask, vision, need)
        pooled = self.lxmert.pooler(lang_h[-1])
        maps = {}
        if need:
            maps = {"lang": tuple(lang_att), "vis": tuple(vision.attentions), **{k: tuple(v) for k, v in cross.items()}}
        out = LxmertOutput(lang_hidden=tuple(lang_h), vis_hidden=tuple(vis_h), l_layers=self.config.l_layers,
                           r_layers=self.config.r_layers, x_layers=self.config.x_layers,
                           attentions=AttentionMaps(maps), pooled_output=pooled,
                           output_heads=self.output_heads)
        if "qa" in self.output_heads:
            out.question_answering_score = self.answer_head(pooled)
            if labels is not None:
                out.loss = F.cross_entropy(out.question_answering_score, labels.view(-1))
        if "pretraining" in self.output_heads:
            out.prediction_logits, out.cross_relationship_score = self.cls(lang_h[-1], pooled)
            if hasattr(self, "obj_predict_head"):
                out.obj_predictions = self.obj_predict_head(vis_h[-1])
        return out

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``config.json`` and ``model.safetensors`` in `transformers`' layout (`lxmert_viz.model.save`)."""
        return save_checkpoint(self, directory)
