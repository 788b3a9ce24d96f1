"""Attention-based explanations and the entry points `explain` / `explain_batch`.

Shape letters: H heads, T tokens, R regions.

Methods (all return an `Explanation` with R_tt, R_ii, R_ti, R_it over the real tokens/regions):

* ``raw``: the last cross layer's maps, mean over heads: R_ti = l2v, R_it = v2l,
  R_tt = cross_lang, R_ii = cross_vis.
* ``rollout``: attention rollout (Abnar & Zuidema, 2020) over LXMERT's joint token graph. Every
  attention sub-layer computes ``x + Attn(x)``, so each map is taken as Â = ½(A_mean + I), and the
  relevance of the inputs for each state is carried forward exactly as rollout multiplies maps:
    - self-attention of stream s (keys s):   R_ss ← Â·R_ss,   R_sq ← Â·R_sq
    - co-attention, queries s, keys q:       R_ss ← ½R_ss + ½A·R_qs,   R_sq ← ½R_sq + ½A·R_qq
      (the state's own half keeps what it had; the attended half brings the key states' relevance,
      from both their own stream and the one they mixed in earlier). l2v and v2l both read the
      matrices as they were before the cross layer, as the model computes them.
  Starting from R_tt = I, R_ii = I, R_ti = R_it = 0, every row of [R_tt | R_ti] and of
  [R_it | R_ii] sums to 1 (a distribution over all inputs); before the first cross layer R_tt and
  R_ii alone are row-stochastic. This is Chefer et al.'s bookkeeping of four matrices with plain
  attention, but kept stochastic instead of additive and without their R̄ normalisation, which
  rollout does not need.
* ``relevancy``: gradient-weighted relevancy (Chefer, Gur & Wolf, 2021), see `relevancy.py`.
* ``random``: uniform [0, 1) numbers from ``numpy.random.default_rng(seed)``, a baseline.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from .explanation import METHODS, Explanation
from .relevancy import relevancy
from .trace import Trace, run_trace


def _mean(a: torch.Tensor) -> torch.Tensor:
    return a.mean(0)  # (H, Q, K) -> (Q, K)


def _make(method: str, trace: Trace, mats: dict[str, torch.Tensor], **meta) -> Explanation:
    arrays = {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in mats.items()}
    return Explanation(method, trace.answer, **arrays, token_index=trace.token_index,
                       region_index=trace.region_index, logit=trace.logit, meta=meta)


def raw_attention(trace: Trace) -> Explanation:
    """Head-mean maps of the last cross layer."""
    m = trace.maps
    if not m.get("l2v"):
        raise ValueError("raw attention needs at least one cross layer (x_layers >= 1)")
    return _make("raw", trace, {"R_tt": _mean(m["cross_lang"][-1]), "R_ii": _mean(m["cross_vis"][-1]),
                                "R_ti": _mean(m["l2v"][-1]), "R_it": _mean(m["v2l"][-1])})


def rollout(trace: Trace) -> Explanation:
    """Joint-graph attention rollout over both streams (see the module docstring)."""
    m = trace.maps
    t, r = len(trace.token_index), len(trace.region_index)
    f64 = torch.float64
    R = {"tt": torch.eye(t, dtype=f64), "ii": torch.eye(r, dtype=f64),
         "ti": torch.zeros(t, r, dtype=f64), "it": torch.zeros(r, t, dtype=f64)}

    def self_step(s: str, q: str, a: torch.Tensor) -> None:
        n = a.shape[-1]
        hat = 0.5 * (_mean(a) + torch.eye(n, dtype=f64))
        hat = hat / hat.sum(-1, keepdim=True)  # exact rows of 1 even when a row was all masked
        R[s + s], R[s + q] = hat @ R[s + s], hat @ R[s + q]

    for a in m.get("lang", []):
        self_step("t", "i", a)
    for a in m.get("vis", []):
        self_step("i", "t", a)
    for x in range(len(m.get("l2v", []))):
        a_ti, a_it = _mean(m["l2v"][x]), _mean(m["v2l"][x])
        a_ti = a_ti / a_ti.sum(-1, keepdim=True).clamp_min(1e-300)
        a_it = a_it / a_it.sum(-1, keepdim=True).clamp_min(1e-300)
        new = {"tt": 0.5 * R["tt"] + 0.5 * a_ti @ R["it"], "ti": 0.5 * R["ti"] + 0.5 * a_ti @ R["ii"],
               "ii": 0.5 * R["ii"] + 0.5 * a_it @ R["ti"], "it": 0.5 * R["it"] + 0.5 * a_it @ R["tt"]}
        R.update(new)
        self_step("t", "i", m["cross_lang"][x])
        self_step("i", "t", m["cross_vis"][x])
    return _make("rollout", trace, {"R_" + k: v for k, v in R.items()})


def random_baseline(trace: Trace, seed: int = 0) -> Explanation:
    """Seeded uniform random maps of the right shapes."""
    rng = np.random.default_rng(seed)
    t, r = len(trace.token_index), len(trace.region_index)
    return _make("random", trace, {"R_tt": rng.random((t, t)), "R_ii": rng.random((r, r)),
                                   "R_ti": rng.random((t, r)), "R_it": rng.random((r, t))}, seed=seed)


def from_trace(trace: Trace, method: str, seed: int = 0) -> Explanation:
    """The `Explanation` of ``method`` from an already computed `Trace`."""
    if method == "raw":
        return raw_attention(trace)
    if method == "rollout":
        return rollout(trace)
    if method == "relevancy":
        return relevancy(trace)
    if method == "random":
        return random_baseline(trace, seed)
    raise ValueError(f"unknown method {method!r}; choose from {METHODS}")


def explain_batch(model, inputs: Mapping, methods: Sequence[str] = METHODS,
                  answer: int | Sequence[int] | None = None, seed: int = 0) -> list[dict[str, Explanation]]:
    """Explain every example of a batch with several methods from ONE forward (+ one backward) pass.

    Args:
        model: an `Lxmert` with the QA head; run in eval mode for the pass, its mode restored after.
        inputs: batched model keyword arguments (``input_ids``, ``visual_feats``, ``visual_pos``,
            optional ``attention_mask``, ``visual_attention_mask``); other keys are ignored.
        methods: any of ``"raw"``, ``"rollout"``, ``"relevancy"``, ``"random"``.
        answer: None (each example's top answer), one index, or one index per example.
        seed: seed of the random baseline; example ``b`` uses ``seed + b``.

    Returns:
        Per example, ``{method: Explanation}``.

    Example:
        >>> maps = explain_batch(model, inputs, methods=("relevancy", "raw"))   # doctest: +SKIP
        >>> maps[0]["relevancy"].cls_regions()                                  # doctest: +SKIP
    """
    methods = tuple(methods)
    for meth in methods:
        if meth not in METHODS:
            raise ValueError(f"unknown method {meth!r}; choose from {METHODS}")
    traces = run_trace(model, inputs, answer, need_grads="relevancy" in methods)
    return [{meth: from_trace(tr, meth, seed + b) for meth in methods} for b, tr in enumerate(traces)]


def explain(model, inputs: Mapping, method: str = "relevancy", answer: int | None = None,
            seed: int = 0) -> Explanation:
    """Explain one example (batch of 1) with one method.

    Args:
        model: an `Lxmert` with the QA head.
        inputs: model keyword arguments with batch size 1.
        method: ``"raw"``, ``"rollout"``, ``"relevancy"`` (default) or ``"random"``.
        answer: answer index to explain; None for the model's top answer.
        seed: seed of the random baseline.

    Returns:
        The `Explanation`.

    Example:
        >>> ex = explain(model, {"input_ids": ids, "visual_feats": f, "visual_pos": p})  # doctest: +SKIP
        >>> ex.word_to_regions(2)                                                       # doctest: +SKIP
    """
    n = len(inputs["visual_feats"])
    if n != 1:
        raise ValueError(f"explain takes one example; got a batch of {n} (use explain_batch)")
    return explain_batch(model, inputs, (method,), answer, seed)[0][method]


def inputs_from(tokens, regions, model=None) -> dict:
    """Batch-of-one model keyword arguments from `Tokens` and `Regions` (on the model's device/dtype)."""
    dev = None if model is None else model.device
    dt = torch.float32 if model is None else model.dtype
    return {"input_ids": torch.tensor([list(tokens.ids)], dtype=torch.long, device=dev),
            "visual_feats": torch.as_tensor(regions.feats, dtype=dt, device=dev)[None],
            "visual_pos": torch.as_tensor(regions.boxes_norm, dtype=dt, device=dev)[None],
            "visual_attention_mask": torch.as_tensor(regions.mask, dtype=dt, device=dev)[None]}


def explain_result(model, result, method: str = "relevancy", answer: int | str | None = None,
                   answers=None, seed: int = 0) -> Explanation:
    """Explain the question of a `Result` (re-running ``model`` on its tokens and regions).

    Args:
        model: the model that made the result.
        result: a `Result` (its tokens and its real regions are used).
        method: see `explain`.
        answer: an index, an answer text (with ``answers``, an `Answers`), or None for the top one.
        answers: the model's `Answers`, to look a text answer up.
        seed: seed of the random baseline.

    Returns:
        The `Explanation`; its rows/columns line up with ``result.tokens`` and ``result.regions``.

    Example:
        >>> res = kit.ask(image, "what color is the circle?")                      # doctest: +SKIP
        >>> explain_result(kit.model, res, "relevancy").cls_regions()              # doctest: +SKIP
    """
    if isinstance(answer, str):
        if answers is None:
            raise ValueError("an answer given as text needs answers= (the model's Answers)")
        answer = answers.index(answer)
    return explain(model, inputs_from(result.tokens, result.regions, model), method, answer, seed)
