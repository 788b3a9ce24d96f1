"""`Item`: one prepared question — what the one door to the model (`lxmert_viz.run`) takes.

Shape letters: T tokens, R regions.

A data set's raw record is an `lxmert_viz.analysis.example.Example` (ids, an image path, answer
strings); `lxmert_viz.analysis.encode.Encoder` turns it into an `Item` (tokens, regions, the gold
answer's index). Every capability that runs the model (asking, masking, gradients, ablation,
patching, masked words, the data-set worker, the perturbation benchmark) takes `Item`s.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..printing import Card, listing
from .regions import Regions
from .text import Tokens


@dataclass(repr=False)
class Item:
    """One question ready for the model.

    Attributes:
        tokens: the question's `Tokens`.
        regions: the image's `Regions` (padding rows are never used).
        gold: the gold answer's index in the model's answers, or -1 (none, or not in the vocabulary).
        gold_scores: ``{answer index: VQA score}`` for soft accuracy, or None.
        question: the question text.
        image: the PIL image, when there is one.
        referent_token, referent_region: the naming token and the named region, or -1.
        example: the data-set `Example` it came from, or None when built by hand.
        meta: free-form notes (image id, qtype, ...).

    Example:
        >>> item = Item(result.tokens, result.regions, gold=2)
        >>> item.has_gold, item.has_referent
        (True, False)
    """

    tokens: Tokens
    regions: Regions
    gold: int = -1
    gold_scores: dict | None = None
    question: str = ""
    image: Any = None
    referent_token: int = -1
    referent_region: int = -1
    example: Any = None
    meta: dict = field(default_factory=dict)

    @property
    def has_gold(self) -> bool:
        return self.gold >= 0

    @property
    def has_referent(self) -> bool:
        return self.referent_token >= 0 and self.referent_region >= 0

    def __repr__(self) -> str:
        text = self.question or " ".join(self.tokens.words)
        gold = f", gold {self.gold}" if self.has_gold else ""
        return f"Item({text!r}: {len(self.tokens)} tokens, {self.regions.num_real} regions{gold})"

    def _repr_html_(self) -> str:
        return Card(repr(self), [("tokens", listing(self.tokens.pieces, 12)),
                                 ("regions", listing(self.regions.names(), 8))]).html()
