"""Statistics per example, by name, from a `Result` (see each module for what a column means).

    answer    answer, answer_prob
    topk      topk_answers, topk_probs
    correct   correct (VQA soft accuracy / score / exact match), correct_rule
    entropy   entropy.F           per family F, layer, head
    max       max.F
    sink      mass_cls.F, mass_sep.F, mass_punct.F (token keys), mass_scene.F (region keys)
    pointing  ref_attn.l2v, ref_top1.l2v, ref_top1_mean.l2v      (examples with a referent)
    explain   explain.M.ref_rel, explain.M.ref_top1              per explanation method M
"""
from . import answers, attention, pointing  # noqa: F401  (register the statistics)
from .answers import normalize_answer, vqa_accuracy
from .attention import is_punctuation_token, key_mass
from .pointing import example_seed
from .registry import DEFAULT_STATS, STATS, ModelShape, Stat, StatContext, register, resolve

__all__ = [
    "DEFAULT_STATS", "ModelShape", "STATS", "Stat", "StatContext", "example_seed", "is_punctuation_token", "key_mass",
    "normalize_answer", "register", "resolve", "vqa_accuracy",
]
