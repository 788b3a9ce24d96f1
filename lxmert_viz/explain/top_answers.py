"""Gradient relevancy for the top k answers of one question in one forward and one backward pass.

Shape letters: K answers explained, T tokens, R regions, A answers of the model.

The question runs as K rows of one batch, row i with ``answer=a_i`` (`lxmert_viz.run.Row`), with
gradients (`lxmert_viz.run.run` with ``grads=True``): one forward pass of K rows and one backward
pass of the sum of the K chosen logits. With gradients every row has its own image side (`run`
never shares a map between rows that are differentiated), and rows of a batch do not interact, so

    d(sum_j logit_j(row j)) / dA(row i) = d logit_i(row i) / dA(row i)

for every map A of row i: the gradient each row receives is exactly that of its own answer, the
same as K separate runs (up to the last bits of float32, since a batch of K may use other kernels
than a batch of 1; equal in float64, `tests/test_faithfulness.py`). Each row's
`Result` then goes through the relevancy rules (`lxmert_viz.explain.relevancy`) as usual.

The K answers are the top K of a first, gradient-free pass (or the ones given).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from ..errors import InputError
from ..inputs.item import Item
from ..run import Row, run
from .explanation import Explanation
from .methods import explain_all


def top_answers(model, item: Item, k: int = 5) -> list[int]:
    """The model's top ``k`` answer indices for ``item`` (one pass, no gradients, no maps)."""
    logits = run(model, [item], maps=False).logits()[0]
    return torch.topk(logits, min(int(k), logits.shape[-1])).indices.tolist()


def relevancy_top_k(model, item: Item, k: int = 5, answers: Sequence[int] | None = None) -> list[Explanation]:
    """Gradient relevancy of each of the top ``k`` answers (or of ``answers``), in one backward pass.

    Args:
        model: an `Lxmert` with the QA head.
        item: the question.
        k: how many of the top answers (ignored when ``answers`` is given).
        answers: answer indices to explain, in order.

    Returns:
        One relevancy `Explanation` per answer, in order (``explanation.answer`` says which).

    Example:
        >>> item = Item(result.tokens, result.regions)
        >>> ex = relevancy_top_k(kit.model, item, k=3)
        >>> len(ex), ex[0].method, ex[0].answer == top_answers(kit.model, item, 1)[0]
        (3, 'relevancy', True)
    """
    if "qa" not in model.output_heads:
        raise InputError("relevancy of an answer needs a model with the QA head")
    chosen = list(answers) if answers is not None else top_answers(model, item, k)
    if not chosen:
        raise InputError("no answers to explain: give k >= 1 or a non-empty answers list")
    batch = run(model, [Row(item, answer=int(a)) for a in chosen], grads=True)
    return [explain_all(res, ("relevancy",))["relevancy"] for res in batch.results()]
