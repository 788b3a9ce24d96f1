"""Image-text matching: does a sentence describe the image? (`seq_relationship` on the pooled [CLS]).

Shape letters: N sentences, R regions.

The head gives two logits per sentence. Index 1 means "matches": `transformers`' `LxmertForPreTraining`
trains it with ``matched_label`` where "1 indicates that the sentence does match the image" and
0 that it does not (cross entropy on ``cross_relationship_score``), as the original LXMERT code does.
The score reported is the softmax probability of index 1.

Whether the head means anything depends on the checkpoint: the config's ``task_matched`` says whether
the matching loss was on when it was trained (`Matching.trained`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError, InputTypeError
from ..inputs.image import open_image
from ..inputs.item import Item
from ..inputs.words import check_known_words
from ..printing import Card, Printable
from ..run import run
from .masked_words import require_pretraining

MATCHED = 1  # cross_relationship_score[:, MATCHED] is the "sentence matches the image" logit


@dataclass(repr=False)
class Matching(Printable):
    """What `match` returns.

    Attributes:
        sentences: the sentences, in the order given.
        logits: (N, 2) ``cross_relationship_score``: index 0 "does not match", 1 "matches".
        trained: the config's ``task_matched`` (False: the matching head never had a loss).
    """

    sentences: list[str]
    logits: np.ndarray
    trained: bool

    def _card(self) -> Card:
        trained = "trained" if self.trained else "NOT trained (task_matched off): the scores mean nothing"
        return Card(f"Matching: {len(self.sentences)} sentence(s), P(matches the image)",
                    [*((s, f"{p:.3f}") for s, p in self.ranked()[:8]), ("matching head", trained)],
                    "matching.ranked() for all, matching.scores, matching.logits")

    @property
    def scores(self) -> np.ndarray:
        """(N,) probability that each sentence matches the image."""
        z = self.logits - self.logits.max(1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        return p[:, MATCHED]

    @property
    def score(self) -> float:
        """The one sentence's probability (for a single sentence)."""
        if len(self.sentences) != 1:
            raise InputError(f"{len(self.sentences)} sentences were scored; use .scores or .ranked()")
        return float(self.scores[0])

    def ranked(self) -> list[tuple[str, float]]:
        """``[(sentence, probability of a match), ...]`` best first."""
        order = np.argsort(-self.scores, kind="stable")
        return [(self.sentences[i], float(self.scores[i])) for i in order]


def match(kit, image, sentences: str | list[str], unknown: str = "error") -> Matching:
    """Matching scores of one or more sentences for one image, in one batch.

    Args:
        kit: a `Kit` whose model has the pretraining output head.
        image: a PIL image, a path, or an (H, W, 3) uint8 array.
        sentences: a sentence or a list of them (to rank captions for the image).
        unknown: the unknown-word rule of `Kit.ask`, applied to each sentence.

    Returns:
        `Matching`.

    Example:
        >>> m = kit.match(sample, ["a black circle", "a yellow square"])
        >>> m.logits.shape, [s for s, _ in m.ranked()][0] in m.sentences
        ((2, 2), True)
    """
    require_pretraining(kit.model)
    one = isinstance(sentences, str)
    items = [sentences] if one else list(sentences)
    if not items or not all(isinstance(s, str) for s in items):
        raise InputTypeError("sentences must be a string or a non-empty list of strings")
    _, regions, vision = kit._image_side(open_image(image))
    toks, _ = kit.tokenizer.batch(items)
    for tk, s in zip(toks, items):
        check_known_words(tk, s, unknown)
    out = run(kit.model, [Item(tk, regions, question=s) for tk, s in zip(toks, items)], maps=False,
              vision=vision).output
    return Matching(items, out.cross_relationship_score.float().cpu().numpy(), bool(kit.model.config.task_matched))
