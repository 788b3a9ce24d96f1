"""The two perturbation protocols: the kit's even steps, and the one of Chefer et al.'s code.

Shape letters: S steps, N removable items of one example.

| protocol | removed fractions | items removed at fraction f | words removed by | score |
|---|---|---|---|---|
| ``kit`` | 0, 1/steps, ..., 1 (default 10 % steps) | round(f N), half up | the attention mask | 1 if the answer is gold |
| ``paper`` | 0, .25, .5, .75, .8, .85, .9, .95, 1 | N - floor((1 - f) N) | deletion (positions close up) | VQA soft accuracy |
| ``published`` | as ``paper`` | as ``paper`` | deletion; boxes dropped (not masked) | soft label of the argmax answer; percent curve |

``published`` (`lxmert_viz.analysis.published`, ``lxmert-viz perturbation --protocol published``) is
the authors' protocol exactly, with the published row printed beside the user's numbers; it is a
module of its own because regions are dropped from the input there rather than masked here.

The ``paper`` settings follow the authors' ``lxmert/lxmert/perturbation.py`` (Transformer-MM-
Explainability, Chefer, Gur & Wolf 2021): their step list, ``int((1 - step) * N)`` items kept, and
the gold answer's VQA score (the official accuracy of the predicted answer against the
annotators, read from the example's ``gold_scores``: `lxmert_viz.analysis.encode.Encoder.gold_scores`)
as accuracy. With one gold answer per question, as in the shapes world, the soft
score of the gold answer is 1 and of any other answer 0, so soft accuracy is plain accuracy.

Two differences remain, both stated where the numbers are reported: regions are removed through
the attention mask in both protocols (the same as deleting their rows, checked to 1e-5 in the
tests), except at 100 %, where the authors' model sees no region at all while a fully masked row
here attends uniformly to the masked ones; and the authors shuffle and sample VQA val questions,
while the kit runs whatever examples it is given.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError

PROTOCOLS = ("kit", "paper")
PAPER_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)


def fractions(protocol: str = "kit", steps: int = 10) -> np.ndarray:
    """(S,) removed fractions of ``protocol``.

    Example:
        >>> fractions("paper").tolist()[:4], len(fractions("kit", 10))
        ([0.0, 0.25, 0.5, 0.75], 11)
    """
    check(protocol)
    if protocol == "paper":
        return np.array(PAPER_FRACTIONS)
    return np.linspace(0.0, 1.0, steps + 1)


def removal_counts(n: int, fracs, protocol: str = "kit") -> list[int]:
    """How many of ``n`` items go at each fraction: ``kit`` rounds ``f n`` half up; ``paper`` keeps
    ``floor((1 - f) n)`` as the authors' code does.

    Example:
        >>> removal_counts(7, [0.0, 0.25, 0.5, 1.0], "kit"), removal_counts(7, [0.0, 0.25, 0.5, 1.0], "paper")
        ([0, 2, 4, 7], [0, 2, 4, 7])
        >>> removal_counts(36, [0.85, 0.9], "kit"), removal_counts(36, [0.85, 0.9], "paper")
        ([31, 32], [31, 33])
    """
    check(protocol)
    if protocol == "paper":
        return [n - int((1.0 - float(f)) * n) for f in fracs]
    return [int(np.floor(float(f) * n + 0.5 + 1e-9)) for f in fracs]


def score(pred: int, gold: int, gold_scores: dict | None, protocol: str = "kit") -> float:
    """What one prediction earns: ``kit`` 1 if it is the gold answer; ``paper`` the gold answer
    scores of the example (VQA soft accuracy), or 1/0 against ``gold`` when it has none."""
    if protocol == "paper" and gold_scores:
        return float(gold_scores.get(int(pred), 0.0))
    return float(int(pred) == int(gold))


def deletes_tokens(protocol: str) -> bool:
    """True when words are deleted (positions close up) rather than masked."""
    check(protocol)
    return protocol == "paper"


def check(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise InputError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
