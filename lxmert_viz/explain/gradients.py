"""One pass with its backward pass: every attention map's gradient for the explained answer.

Shape letters: B batch, H heads, L layers, Q queries, K keys.

The maps in `LxmertOutput.attentions` are the softmax outputs themselves, still in the autograd
graph, so one ``torch.autograd.grad(answer logit, all maps)`` gives every dA at once: one forward
and one backward pass, no hooks (`lxmert_viz.run.run` with ``grads=True``). The result is an
ordinary `Result` whose ``attention_grads`` are filled in; only gradient relevancy needs them.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ..inputs.item import Item
from ..result import Result
from ..run import Row, run


def run_result(model, tokens, regions, need_grads: bool = False, answer: int | None = None, question: str = "",
               image=None, answers=None, meta: dict | None = None, scoring: str = "softmax",
               drop_tokens: Iterable[int] = (), drop_regions: Iterable[int] = ()) -> Result:
    """Run ``model`` on one question's `Tokens` and an image's `Regions` into a `Result`.

    Args:
        model: an `Lxmert` (with the QA head when ``need_grads``); run in eval mode, its mode restored.
        tokens, regions: the inputs.
        need_grads: also compute d(logit of ``answer``)/dA for every map (one backward pass).
        answer: the answer whose logit is differentiated; None: the model's top answer.
        question, image, answers, meta, scoring: carried into the `Result` as given (``answers``: the
            list of ``(answer, score)`` to show).
        drop_tokens, drop_regions: positions masked out (`Result.dropped_tokens` / ``dropped_regions``).

    Returns:
        The `Result`; with ``need_grads``, ``attention_grads`` and ``explained_answer`` are set.
    """
    row = Row(Item(tokens, regions.real(), question=question, image=image), tuple(sorted(set(drop_tokens))),
              tuple(sorted(set(drop_regions))), answer=answer)
    res = run(model, [row], grads=need_grads, meta=meta).result(0)
    return replace(res, regions=regions.real(), answers=list(answers or []), scoring=scoring)


def with_gradients(model, result: Result, answer: int | None = None) -> Result:
    """The same question run again with its backward pass: ``result`` plus ``attention_grads``.

    Example:
        >>> g = with_gradients(kit.model, result)
        >>> g.attention_grads["l2v"].shape == result.attentions["l2v"].shape
        True
    """
    return run_result(model, result.tokens, result.regions, True, answer, result.question, result.image,
                      result.answers, result.meta, result.scoring, result.dropped_tokens, result.dropped_regions)
