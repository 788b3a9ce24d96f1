"""Explanations of LXMERT's answers: raw attention, rollout, gradient relevancy, a random baseline
and live masking. Computation only (torch/numpy). The perturbation benchmark, a data-set run, is in
`lxmert_viz.analysis.perturbation`.

    explain(result, method="relevancy", model=None, answer=None) -> Explanation
    explain_all(result, methods=METHODS, model=None, answer=None) -> {method: Explanation}
    with_gradients(model, result, answer=None) -> Result        (attention_grads filled in)
    run_result(model, tokens, regions, need_grads=False) -> Result
    relevance_rows(explanation, result, token=None) -> (regions (R,), tokens (T,))
    ask_masked(model, inputs, drop_regions=(), drop_tokens=(), tokens=None, regions=None, ...) -> MaskedRun
    faithfulness(model, item, explanation, fractions, k=0.15) -> Faithfulness   (deletion / insertion, Del@k, Ins@k)
    with_faithfulness(result, model, methods) -> Result               (its faithfulness field filled, per method)
    rank_methods(model, items, methods) -> MethodRanking                  (the methods' AUC rank over a data set)
    relevancy_top_k(model, item, k=5) -> [Explanation]                   (k answers, one backward pass)
"""
from .explanation import ALL_METHODS, EXTRA_METHODS, METHODS, Explanation, relevance_rows
from .faithfulness import Faithfulness, MethodRanking, faithfulness, rank_methods, with_faithfulness
from .gradients import run_result, with_gradients
from .masking import MaskedRun, ask_masked, masked_inputs
from .methods import explain, explain_all, kept_maps
from .relevancy import head_mean_positive_grad_attention, normalize_residual
from .top_answers import relevancy_top_k, top_answers

__all__ = [
    "ALL_METHODS", "EXTRA_METHODS", "METHODS", "Explanation", "Faithfulness", "MaskedRun", "MethodRanking", "ask_masked",
    "explain", "explain_all", "faithfulness",
    "head_mean_positive_grad_attention", "kept_maps", "masked_inputs", "normalize_residual", "rank_methods", "relevance_rows",
    "relevancy_top_k", "run_result", "top_answers", "with_faithfulness", "with_gradients",
]
