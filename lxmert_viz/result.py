"""Result: one question about one image, everything detached on CPU, shapes checked when built.

Shape letters: T real tokens, R real regions, D hidden, H heads, L layers of a family,
S states (1 + single-modality layers + cross layers).

This is the one object that crosses from computation to rendering. Padding is cut away: ``T`` is the
question's token count and ``R`` the image's real region count. Selectors give any family's map as
``attn(family, layer, head)`` with ``labels(family)`` for its axes, so one heatmap serves all six.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .errors import InputError, InputIndexError, UnknownNameError
from .inputs.answers import SCORE_LABELS, check_scoring
from .inputs.model_inputs import model_inputs
from .inputs.regions import Regions
from .inputs.text import Tokens
from .model.families import FAMILIES, KEY_STREAM, QUERY_STREAM, family, query_stream, stage_names
from .model.hooks import Intervention
from .model.output import LxmertOutput
from .printing import Card, Printable, listing, scored

AGGREGATES = ("mean", "max")


@dataclass(repr=False)
class Result(Printable):
    """Everything the model did for one (image, question).

    Attributes:
        question: the question text.
        tokens: its `Tokens` (T pieces).
        regions: the image's `Regions`, cut to the R real ones.
        image: the PIL image, when there is one.
        lang_hidden: (S_lang, T, D) embedding output, language layers, cross layers.
        vis_hidden: (S_vis, R, D) visual embedding output, relationship layers, cross layers.
        l_layers, r_layers, x_layers: layer counts; ``lang_hidden[l_layers]`` is the last state
            before mixing, likewise ``vis_hidden[r_layers]``.
        attentions: family -> (L, H, Q, K) float32 tensors.
        answers: ``[(answer, score), ...]`` best first (empty without a QA head): softmax
            probabilities or per-answer sigmoid scores, as ``scoring`` says (``score_label``
            names them).
        logits: (A,) answer logits or None.
        meta: free-form notes (the kit's name, timings); run state has typed fields below.
        attention_grads: family -> (L, H, Q, K) d(logit of ``explained_answer``)/dA, or None; only
            gradient explanations need them (`lxmert_viz.explain.gradients.with_gradients`).
        explained_answer: the answer index those gradients are of.
        scoring: ``"softmax"`` or ``"sigmoid"``: how the answer head's logits became the numbers
            in ``answers`` (`lxmert_viz.inputs.answers`).
        dropped_tokens, dropped_regions: positions masked out of the run (they stay in the maps,
            with ~0 attention as keys; see `lxmert_viz.explain.masking`).
        intervention: what was done to the pass (heads removed, values replaced), or None.
        notice: what the kit says about the question before its answer is trusted (the embedded
            model: a phrasing outside the forms it was trained on, `lxmert_viz.shapes.question_forms`),
            or None.
        faithfulness: method -> `lxmert_viz.explain.faithfulness.Faithfulness` of the answer
            (deletion / insertion curves, Del@k / Ins@k); empty unless filled by
            `lxmert_viz.explain.faithfulness.with_faithfulness`.
    """

    question: str
    tokens: Tokens
    regions: Regions
    image: Any
    lang_hidden: torch.Tensor
    vis_hidden: torch.Tensor
    l_layers: int
    r_layers: int
    x_layers: int
    attentions: dict[str, torch.Tensor]
    answers: list[tuple[str, float]] = field(default_factory=list)
    logits: torch.Tensor | None = None
    meta: dict = field(default_factory=dict)
    attention_grads: dict[str, torch.Tensor] | None = None
    explained_answer: int | None = None
    scoring: str = "softmax"
    dropped_tokens: tuple[int, ...] = ()
    dropped_regions: tuple[int, ...] = ()
    intervention: Intervention | None = None
    notice: str | None = None
    faithfulness: dict[str, Any] = field(default_factory=dict)

    def _card(self) -> Card:
        score = f" ({self.score_label} {self.answers[0][1]:.2f})" if self.answers else ""
        rows = [("answers", scored(self.answers)), ("tokens", listing(self.tokens.pieces, 12)),
                ("regions", listing(self.regions.names(), 8)),
                ("states", f"lang {tuple(self.lang_hidden.shape)}, vis {tuple(self.vis_hidden.shape)}"),
                ("attention", listing(f"{f} {tuple(a.shape)}" for f, a in self.attentions.items()))]
        if self.dropped_tokens or self.dropped_regions:
            rows.append(("dropped", f"tokens {list(self.dropped_tokens)}, regions {list(self.dropped_regions)}"))
        if self.intervention is not None:
            rows.append(("intervention", f"{self.intervention.kind}: {self.intervention.note}"))
        if self.attention_grads is not None:
            rows.append(("gradients", f"of answer {self.explained_answer}"))
        if self.unknown_words:
            rows.append(("unknown words", listing(self.unknown_words)))
        if self.notice:
            rows.append(("notice", self.notice))
        for f in self.faithfulness.values():
            rows.append(("faithfulness", f.line()))
        return Card(f"Result {self.question!r} -> {self.answer!r}{score}", rows,
                    "result.attn(family, layer, head) / .labels(family) / .states('lang'); result.answers for all")

    def __post_init__(self):
        check_scoring(self.scoring)
        self.dropped_tokens = tuple(sorted(int(i) for i in self.dropped_tokens))
        self.dropped_regions = tuple(sorted(int(i) for i in self.dropped_regions))
        t, r = len(self.tokens), self.regions.num_real
        if self.lang_hidden.shape[:2] != (1 + self.l_layers + self.x_layers, t):
            raise InputError(f"lang_hidden {tuple(self.lang_hidden.shape)} does not fit "
                             f"{1 + self.l_layers + self.x_layers} states x {t} tokens")
        if self.vis_hidden.shape[:2] != (1 + self.r_layers + self.x_layers, r):
            raise InputError(f"vis_hidden {tuple(self.vis_hidden.shape)} does not fit "
                             f"{1 + self.r_layers + self.x_layers} states x {r} regions")
        sizes = {"lang": t, "vis": r}
        for what, maps in (("attentions", self.attentions), ("attention_grads", self.attention_grads or {})):
            for fam, a in maps.items():
                if fam not in FAMILIES:
                    raise InputError(f"unknown attention family {fam!r} in {what}")
                want_q, want_k = sizes[QUERY_STREAM[fam]], sizes[KEY_STREAM[fam]]
                want_l = family(fam).layers(self)  # a Result has the config's layer counts
                if a.dim() != 4 or a.shape[0] != want_l or a.shape[2:] != (want_q, want_k):
                    raise InputError(f"{what}[{fam!r}] is {tuple(a.shape)}; "
                                     f"expected ({want_l}, heads, {want_q}, {want_k})")

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def from_output(cls, out: LxmertOutput, index: int, question: str, tokens: Tokens, regions: Regions,
                    image=None, answers=None, meta=None, grads: dict | None = None,
                    explained_answer: int | None = None, scoring: str = "softmax", dropped_tokens=(),
                    dropped_regions=(), intervention: Intervention | None = None) -> Result:
        """Cut example ``index`` out of a batched `LxmertOutput`, dropping padding (called by
        `lxmert_viz.run` only).

        ``grads``: family -> per layer (B, H, Q, K) gradients of the maps, cut the same way.
        """
        t, r = len(tokens), regions.num_real
        lang = torch.stack([h[index, :t] for h in out.lang_hidden]).detach().float().cpu()
        vis = torch.stack([h[index, :r] for h in out.vis_hidden]).detach().float().cpu()
        cut = {"lang": t, "vis": r}

        def crop(family, layers):  # per layer (B, H, Q, K) -> (L, H, Q, K) of example ``index``
            a = torch.stack([x[index] for x in layers])
            return a[..., : cut[QUERY_STREAM[family]], : cut[KEY_STREAM[family]]].detach().float().cpu()

        maps = {fam: crop(fam, out.attentions.layers(fam)) for fam in out.attentions}
        cut_grads = None if grads is None else {fam: crop(fam, g) for fam, g in grads.items()}
        logits = None
        if out.question_answering_score is not None:
            logits = out.question_answering_score[index].detach().float().cpu()
        return cls(question, tokens, regions.real(), image, lang, vis, out.l_layers, out.r_layers, out.x_layers,
                   maps, list(answers or []), logits, dict(meta or {}), cut_grads, explained_answer, scoring,
                   tuple(dropped_tokens), tuple(dropped_regions), intervention)

    def model_inputs(self, dtype: torch.dtype = torch.float32, device=None) -> dict:
        """Batch-of-one model keyword arguments that re-run this question on these regions, with the
        ``dropped_tokens`` / ``dropped_regions`` masked out again."""
        return model_inputs(self.tokens, self.regions, dtype, device, self.dropped_tokens, self.dropped_regions)

    def kept(self, stream: str) -> np.ndarray:
        """Positions of ``stream``'s items (``"lang"`` tokens, ``"vis"`` regions) that were not dropped."""
        n = len(self.tokens) if stream == "lang" else self.regions.num_real
        gone = set(self.dropped_tokens if stream == "lang" else self.dropped_regions)
        return np.array([i for i in range(n) if i not in gone], dtype=int)

    # -- selectors -------------------------------------------------------------------------------
    @property
    def answer(self) -> str | None:
        return self.answers[0][0] if self.answers else None

    @property
    def score_label(self) -> str:
        """What the numbers in ``answers`` are: ``"probability"`` (softmax) or ``"score"`` (sigmoid).

        Example:
            >>> result.score_label                  # the embedded model: softmax cross entropy
            'probability'
        """
        return SCORE_LABELS[self.scoring]

    @property
    def unknown_words(self) -> tuple[str, ...]:
        """The question's words that became ``[UNK]``: the model answered without knowing them."""
        return self.tokens.unknown

    def num_layers(self, family: str) -> int:
        return self._family(family).shape[0]

    @property
    def num_heads(self) -> int:
        return next(iter(self.attentions.values())).shape[1]

    def _family(self, family: str) -> torch.Tensor:
        if family not in self.attentions:
            raise UnknownNameError(f"no attention family {family!r}; this result has {list(self.attentions)}")
        return self.attentions[family]

    def attn(self, family: str, layer: int = -1, head: int | str = "mean") -> np.ndarray:
        """One (Q, K) map of ``family``: a layer (negative counts from the end) and a head or
        an aggregate over heads (``"mean"``, ``"max"``)."""
        a = self._family(family)
        n = a.shape[0]
        if not -n <= layer < n:
            raise InputIndexError(f"{family} has {n} layers; layer {layer} is out of range")
        a = a[layer]  # (H, Q, K)
        if isinstance(head, str):
            if head not in AGGREGATES:
                raise InputError(f"head must be an index or one of {AGGREGATES}, got {head!r}")
            a = a.mean(0) if head == "mean" else a.max(0).values
        else:
            if not -a.shape[0] <= head < a.shape[0]:
                raise InputIndexError(f"{family} has {a.shape[0]} heads; head {head} is out of range")
            a = a[head]
        return a.numpy()

    def row(self, family: str, query: int, layer: int = -1, head: int | str = "mean") -> np.ndarray:
        """(K,) weights of one query of ``family`` at a layer and head (or ``"mean"``/``"max"``)."""
        a = self.attn(family, layer, head)
        if not -a.shape[0] <= query < a.shape[0]:
            raise InputIndexError(f"{family} has {a.shape[0]} queries; query {query} is out of range")
        return a[query]

    def side_labels(self, side: str) -> list[str]:
        """Display labels of a stream's items: token labels for ``"lang"``, region names for ``"vis"``."""
        return self.tokens.labels() if side == "lang" else self.regions.names()

    def labels(self, family: str) -> tuple[list[str], list[str]]:
        """(query labels, key labels) of ``family``."""
        query_stream(family)
        return self.side_labels(QUERY_STREAM[family]), self.side_labels(KEY_STREAM[family])

    def token_index(self, word: str | int) -> int:
        """A token's position from its index or its word/piece text."""
        if isinstance(word, (int, np.integer)):
            if not -len(self.tokens) <= word < len(self.tokens):
                raise InputIndexError(f"token {word} is out of range for {len(self.tokens)} tokens")
            return int(word) % len(self.tokens)
        return self.tokens.find(word)

    def states(self, side: str) -> torch.Tensor:
        """(S, N, D) hidden states of ``"lang"`` or ``"vis"``."""
        if side not in ("lang", "vis"):
            raise InputError(f"side must be 'lang' or 'vis', got {side!r}")
        return self.lang_hidden if side == "lang" else self.vis_hidden

    def single_index(self, side: str) -> int:
        """Index in ``states(side)`` of the last single-modality state (before mixing)."""
        return self.l_layers if side == "lang" else self.r_layers

    def stage_names(self, side: str) -> list[str]:
        """A name per state: ``emb``, ``lang1..`` / ``vis1..``, ``cross1..``."""
        return stage_names(side, self.single_index(side), self.x_layers)
