"""The entry points: `explain` one `Result` with one method, `explain_all` with several.

Shape letters: L layers, H heads, T kept tokens, R kept regions.

Raw attention, rollout and the random baseline read the maps the `Result` already holds; gradient
relevancy also needs each map's gradient, which `with_gradients` computes (one forward and one
backward pass) when the result does not carry them yet. Positions that were masked out of the run
(``result.dropped_tokens`` / ``dropped_regions``) are left out of every explanation.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

import torch

from ..errors import InputError
from ..inputs.item import Item
from ..model.families import KEY_STREAM, QUERY_STREAM
from ..result import Result
from ..run import run
from .attention_methods import chefer_rollout, random_baseline, raw_attention, rollout
from .explanation import ALL_METHODS, METHODS, Explanation
from .gradients import with_gradients
from .relevancy import relevancy


def kept_maps(result: Result, grads: bool = False) -> dict[str, torch.Tensor]:
    """family -> (L, H, Q, K) float64 maps (or their gradients) over the kept tokens and regions."""
    idx = {"lang": torch.as_tensor(result.kept("lang")), "vis": torch.as_tensor(result.kept("vis"))}
    src = result.attention_grads if grads else result.attentions
    return {f: a.to(torch.float64).index_select(2, idx[QUERY_STREAM[f]]).index_select(3, idx[KEY_STREAM[f]])
            for f, a in src.items()}


def _answer_index(result: Result, answer, answers) -> int | None:
    if isinstance(answer, str):
        if answers is None:
            raise InputError("an answer given as text needs answers= (the model's Answers)")
        return answers.index(answer)
    return None if answer is None else int(answer)


def explain_all(result: Result, methods: Sequence[str] = METHODS, model=None, answer: int | str | None = None,
                answers=None, seed: int = 0) -> dict[str, Explanation]:
    """Explain one result's answer with several methods (at most one extra pass, for relevancy).

    Args:
        result: a `Result` (from `Kit.ask`, `ask_masked`, `run_result`, ...).
        methods: any of ``"raw"``, ``"rollout"`` (the kit's two-stream variant), ``"relevancy"``,
            ``"random"`` (`METHODS`, the default) and ``"chefer_rollout"`` (the authors' rollout
            baseline, see `attention_methods`).
        model: the model that made the result; needed by ``"relevancy"`` unless the result already
            carries gradients for the explained answer (`with_gradients`).
        answer: the answer to explain: an index, a text (with ``answers``), or None (the top answer).
        answers: the model's `Answers`, to look a text answer up.
        seed: seed of the random baseline.

    Returns:
        ``{method: Explanation}``; every explanation's rows and columns are the kept tokens and
        regions (``token_index`` / ``region_index`` say which).

    Example:
        >>> ex = explain_all(result, ("raw", "rollout", "relevancy"), model=kit.model)
        >>> sorted(ex), ex["relevancy"].cls_regions().shape
        (['raw', 'relevancy', 'rollout'], (4,))
    """
    methods = tuple(methods)
    for meth in methods:
        if meth not in ALL_METHODS:
            raise InputError(f"unknown method {meth!r}; choose from {ALL_METHODS}")
    ans = _answer_index(result, answer, answers)
    if "relevancy" in methods:
        if result.attention_grads is None or (ans is not None and ans != result.explained_answer):
            if model is None:
                raise InputError("gradient relevancy needs model= (or a result from with_gradients)")
            result = with_gradients(model, result, ans)
        ans = result.explained_answer
    if ans is None:
        ans = int(result.logits.argmax()) if result.logits is not None else -1
    logit = float(result.logits[ans]) if result.logits is not None and ans >= 0 else float("nan")
    ti, ri = result.kept("lang"), result.kept("vis")
    t, r = len(ti), len(ri)
    maps = kept_maps(result)
    out = {}
    for meth in methods:
        meta = {}
        if meth == "raw":
            mats = raw_attention(maps)
        elif meth == "rollout":
            mats = rollout(maps, t, r)
        elif meth == "chefer_rollout":
            mats = chefer_rollout(maps, t, r)
        elif meth == "relevancy":
            mats = relevancy(maps, kept_maps(result, grads=True), t, r)
        else:
            mats, meta = random_baseline(t, r, seed), {"seed": seed}
        arrays = {f"{q}_{k}": (v.numpy() if isinstance(v, torch.Tensor) else v) for (q, k), v in mats.items()}
        out[meth] = Explanation(meth, ans, **arrays, token_index=ti, region_index=ri, logit=logit, meta=meta)
    return out


def explain(result: Result, method: str = "relevancy", model=None, answer: int | str | None = None,
            answers=None, seed: int = 0) -> Explanation:
    """Explain one result's answer with one method; see `explain_all` for the arguments.

    Example:
        >>> ex = explain(result, "relevancy", model=kit.model)
        >>> ex.method, ex.lang_vis.shape == (len(result.tokens), result.regions.num_real)
        ('relevancy', True)
    """
    return explain_all(result, (method,), model, answer, answers, seed)[method]


def explained_items(model, items: Iterable[Item], methods: Sequence[str], limit: int | None = None,
                    seed: int = 0) -> Iterator[tuple[int, Item, dict[str, Explanation]]]:
    """``(q, item, {method: Explanation})`` for each of ``items`` (at most ``limit``): the item with its
    regions cut to the real ones, run once through `lxmert_viz.run.run` (with its backward pass
    when ``"relevancy"`` is asked), explained by every method (the random baseline seeded ``seed + q``).
    The loop that data-set measurements of explanations share (faithfulness, the published protocol)."""
    for m in methods:
        if m not in ALL_METHODS:
            raise InputError(f"unknown method {m!r}; choose from {ALL_METHODS}")
    for q, item in enumerate(items):
        if limit is not None and q >= limit:
            break
        item = replace(item, regions=item.regions.real())
        res = run(model, [item], grads="relevancy" in methods).result(0)
        yield q, item, explain_all(res, methods, seed=seed + q)
