"""Which heads matter: remove each head alone and measure how much the answer changes.

Shape letters: Q questions, L layers of a family, H heads, A answers.

For each question the full model's top answer is the reference; each head is removed on its own
(`lxmert_viz.interventions.ablation`: its context slice zeroed) and three numbers are kept: the drop
in the reference answer's probability, whether the top answer changed, and (when the gold answer
is known) whether the answer is still right. All heads of one question run as rows of one batch
(``batch_size`` rows at a time).

This runner is standalone: it takes any iterable of `Example`s or ``(image, question)`` pairs. (The
data-set runner of `lxmert_viz.analysis` was not on main when this was written.)
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import InputError, UnknownNameError
from ..model.families import FAMILIES, family_layers
from ..printing import Card, Printable, listing
from ..run import Row, run
from .ablation import Head, ablation, all_heads
from .items import as_item

MEASURES = ("prob_drop", "flips", "accuracy")


@dataclass(repr=False)
class HeadRanking(Printable):
    """What `rank_heads` returns.

    Attributes:
        heads: every head measured, ``(family, layer, head)``, in the column order of ``per_question``.
        per_question: (Q, heads) drop of the reference answer's probability per question.
        flipped: (Q, heads) True where the top answer changed.
        correct: (Q, heads) True where the answer was still the gold one, or None without gold answers.
        base_correct: (Q,) the full model's correctness, or None.
        questions: the question texts.
        seconds: wall time of the whole ranking.
    """

    heads: list[Head]
    per_question: np.ndarray
    flipped: np.ndarray
    correct: np.ndarray | None
    base_correct: np.ndarray | None
    questions: list[str]
    seconds: float
    meta: dict = field(default_factory=dict)

    def _card(self) -> Card:
        top = [f"{f}.{layer}.{h} {v:.3f}" for f, layer, h, v in self.ranked()[:5]]
        return Card(f"HeadRanking: {len(self.heads)} heads over {self.num_questions} question(s)",
                    [("largest probability drop", listing(top)), ("seconds", f"{self.seconds:.1f}")],
                    "ranking.table(k), ranking.ranked(by), ranking.grid(family, by); by = prob_drop, flips, accuracy")

    @property
    def num_questions(self) -> int:
        return len(self.questions)

    def measure(self, by: str = "prob_drop") -> np.ndarray:
        """(heads,) mean over questions: ``prob_drop``, ``flips`` (share of changed answers) or
        ``accuracy`` (with the head removed)."""
        if by == "prob_drop":
            return self.per_question.mean(0)
        if by == "flips":
            return self.flipped.mean(0)
        if by == "accuracy":
            if self.correct is None:
                raise InputError("accuracy needs gold answers: give Examples or (image, question, answer)")
            return self.correct.mean(0)
        raise InputError(f"by must be one of {MEASURES}, got {by!r}")

    def grid(self, family: str, by: str = "prob_drop") -> np.ndarray:
        """(L, H) ``measure(by)`` of one family's heads."""
        values = self.measure(by)
        cols = [i for i, h in enumerate(self.heads) if h[0] == family]
        if not cols:
            raise UnknownNameError(f"family {family!r} was not measured; measured: {sorted({h[0] for h in self.heads})}")
        layers = 1 + max(self.heads[i][1] for i in cols)
        n_heads = 1 + max(self.heads[i][2] for i in cols)
        out = np.full((layers, n_heads), np.nan)
        for i in cols:
            out[self.heads[i][1], self.heads[i][2]] = values[i]
        return out

    def ranked(self, by: str = "prob_drop") -> list[tuple[str, int, int, float]]:
        """``[(family, layer, head, value), ...]``, the head whose removal changes most first
        (for ``accuracy``: the lowest accuracy first)."""
        values = self.measure(by)
        order = np.argsort(values if by == "accuracy" else -values, kind="stable")
        return [(*self.heads[i], float(values[i])) for i in order]

    def table(self, k: int = 10, by: str = "prob_drop") -> str:
        """The top ``k`` heads as text lines."""
        lines = [f"{'head':<18}{'prob drop':>10}{'flips':>8}" + ("{:>10}".format("accuracy") if self.correct is not None else "")]
        index = {h: i for i, h in enumerate(self.heads)}
        drop, flips = self.measure("prob_drop"), self.measure("flips")
        acc = self.measure("accuracy") if self.correct is not None else None
        for fam, layer, head, _ in self.ranked(by)[:k]:
            i = index[(fam, layer, head)]
            line = f"{fam + '.' + str(layer) + '.' + str(head):<18}{drop[i]:>10.3f}{flips[i]:>8.2f}"
            lines.append(line + (f"{acc[i]:>10.2f}" if acc is not None else ""))
        return "\n".join(lines)


def rank_heads(kit, items: Iterable, families: Iterable[str] = FAMILIES, batch_size: int = 128,
               limit: int | None = None) -> HeadRanking:
    """Remove each head of ``families`` alone, over every question in ``items``.

    Args:
        kit: a `Kit` (its model; its tokenizer, extractor and answers for ``(image, question)`` items).
        items: `Example`s, ``(image, question)`` or ``(image, question, answer)``.
        families: which families' heads to measure.
        batch_size: rows per forward pass (each row removes one head).
        limit: stop after this many questions.

    Returns:
        `HeadRanking`.

    Example:
        >>> ranking = kit.rank_heads([(sample, "what color is the circle?")], families=["l2v"])
        >>> ranking.per_question.shape, ranking.ranked()[0][0]
        ((1, 12), 'l2v')
    """
    t0 = time.perf_counter()
    model = kit.model
    families = tuple(families)
    for f in families:
        family_layers(model.config, f)
    heads = all_heads(model.config, families)
    cuts = [None] + [ablation([h], model.config) for h in heads]  # row 0: the full model
    drops, flips, correct, base, questions = [], [], [], [], []
    for raw in itertools.islice(items, limit):
        item = as_item(kit, raw)
        rows = [Row(item, intervention=cut) for cut in cuts]
        logits = torch.cat([run(model, rows[start:start + batch_size], maps=True).logits()
                            for start in range(0, len(rows), batch_size)])  # (1 + heads, A)
        probs = torch.softmax(logits, -1)
        ref = int(probs[0].argmax())
        top = probs.argmax(-1)
        drops.append((probs[0, ref] - probs[1:, ref]).numpy())
        flips.append((top[1:] != ref).numpy())
        if item.has_gold:
            correct.append((top[1:] == item.gold).numpy())
            base.append(ref == item.gold)
        questions.append(item.question)
    if not questions:
        raise InputError("no questions to rank heads over (items was empty)")
    has_gold = len(correct) == len(questions)
    return HeadRanking(heads, np.stack(drops), np.stack(flips), np.stack(correct) if has_gold else None,
                       np.array(base) if has_gold else None, questions, time.perf_counter() - t0,
                       {"families": families, "batch_size": batch_size})
