"""Explanations of LXMERT's answers: raw attention, rollout, gradient relevancy, a random baseline,
live masking and the perturbation benchmark. Computation only (torch/numpy).

    explain(model, inputs, method="relevancy", answer=None, seed=0) -> Explanation
    explain_batch(model, inputs, methods=METHODS, answer=None, seed=0) -> [{method: Explanation}]
    explain_result(model, result, method="relevancy", answer=None, answers=None) -> Explanation
    ask_masked(model, inputs, drop_regions=(), drop_tokens=(), tokens=None, regions=None, ...) -> MaskedRun
    perturbation_benchmark(model, examples, ...) -> PerturbationReport   (explain.perturbation)
"""
from .explanation import METHODS, Explanation
from .masking import MaskedRun, ask_masked, masked_inputs
from .methods import (
    explain, explain_batch, explain_result, from_trace, inputs_from, random_baseline, raw_attention, rollout,
)
from .relevancy import grad_cam, normalize_residual, relevancy
from .trace import Trace, run_trace

__all__ = [
    "METHODS", "Explanation", "MaskedRun", "Trace", "ask_masked", "explain", "explain_batch", "explain_result",
    "from_trace", "grad_cam", "inputs_from", "masked_inputs", "normalize_residual", "random_baseline",
    "raw_attention", "relevancy", "rollout", "run_trace",
]
