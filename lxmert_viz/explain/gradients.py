"""One pass with its backward pass: every attention map's gradient for the explained answer.

Shape letters: B batch, H heads, L layers, Q queries, K keys.

The maps in `LxmertOutput.attentions` are the softmax outputs themselves, still in the autograd
graph, so one ``torch.autograd.grad(answer logit, all maps)`` gives every dA at once: one forward
and one backward pass, no hooks. The result is an ordinary `Result` whose ``attention_grads``
are filled in; only gradient relevancy needs them.
"""
from __future__ import annotations

import torch

from ..inputs.model_inputs import model_inputs
from ..result import Result


def _graph_ready(model, kwargs: dict) -> dict:
    """Make sure every map is in the graph even when the caller froze the parameters."""
    if any(p.requires_grad for p in model.parameters()):
        return kwargs
    kwargs = dict(kwargs)
    if "input_ids" in kwargs:
        kwargs["inputs_embeds"] = model.lxmert.embeddings.word_embeddings(kwargs.pop("input_ids"))
    kwargs["inputs_embeds"] = kwargs["inputs_embeds"].detach().requires_grad_(True)
    kwargs["visual_feats"] = kwargs["visual_feats"].detach().requires_grad_(True)
    return kwargs


def run_result(model, tokens, regions, need_grads: bool = False, answer: int | None = None, question: str = "",
               image=None, answers=None, meta: dict | None = None, scoring: str = "softmax") -> Result:
    """Run ``model`` on one question's `Tokens` and an image's `Regions` into a `Result`.

    Args:
        model: an `Lxmert` (with the QA head when ``need_grads``); run in eval mode, its mode restored.
        tokens, regions: the inputs; positions in ``meta["dropped_tokens"]`` / ``["dropped_regions"]``
            are masked out.
        need_grads: also compute d(logit of ``answer``)/dA for every map (one backward pass).
        answer: the answer whose logit is differentiated; None: the model's top answer.
        question, image, answers, meta, scoring: carried into the `Result` as given.

    Returns:
        The `Result`; with ``need_grads``, ``attention_grads`` and ``explained_answer`` are set.
    """
    if need_grads and "qa" not in getattr(model, "output_heads", ()):
        raise ValueError("gradients of an answer need a model with the QA head (output_heads=('qa',))")
    meta = dict(meta or {})
    kwargs = model_inputs(tokens, regions.real(), model.dtype, model.device, meta.get("dropped_tokens", ()),
                          meta.get("dropped_regions", ()))
    was_training = model.training
    model.eval()
    try:
        with torch.set_grad_enabled(need_grads):
            if need_grads:
                kwargs = _graph_ready(model, kwargs)
            out = model(**kwargs, output_attentions=True)
            grads, ans = None, None
            if need_grads:
                logits = out.question_answering_score[0]  # (A,)
                ans = int(logits.detach().argmax()) if answer is None else int(answer)
                if not 0 <= ans < logits.shape[0]:
                    raise ValueError(f"answer index {ans} is out of range 0..{logits.shape[0] - 1}")
                fams = list(out.attentions)
                flat = [a for f in fams for a in out.attentions.layers(f)]
                got = torch.autograd.grad(logits[ans], flat, allow_unused=True)
                # A map with no path to the answer (the last layer's vision side) has dA = 0.
                got = [torch.zeros_like(a) if g is None else g for a, g in zip(flat, got)]
                grads, k = {}, 0
                for f in fams:
                    n = len(out.attentions.layers(f))
                    grads[f], k = tuple(got[k:k + n]), k + n
    finally:
        model.train(was_training)
    return Result.from_output(out, 0, question, tokens, regions, image=image, answers=answers, meta=meta,
                              grads=grads, explained_answer=ans, scoring=scoring)


def with_gradients(model, result: Result, answer: int | None = None) -> Result:
    """The same question run again with its backward pass: ``result`` plus ``attention_grads``.

    Example:
        >>> g = with_gradients(kit.model, result)
        >>> g.attention_grads["l2v"].shape == result.attentions["l2v"].shape
        True
    """
    return run_result(model, result.tokens, result.regions, True, answer, result.question, result.image,
                      result.answers, result.meta, result.scoring)
