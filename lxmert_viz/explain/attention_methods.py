"""Explanations read from the attention maps alone (no gradient): raw attention, rollout, random.

Shape letters: L layers, H heads, T tokens, R regions; ``maps[family]`` is (L, H, Q, K) float64
over the kept tokens and regions (see `methods.kept_maps`).

* ``raw``: the last cross layer's maps, mean over heads: lang_vis = l2v, vis_lang = v2l,
  lang_lang = cross_lang, vis_vis = cross_vis.
* ``rollout``: this kit's two-stream attention rollout, an extension of Abnar & Zuidema (2020) to
  LXMERT's joint token graph (it is NOT the rollout baseline of Chefer et al. 2021, which rolls out
  each stream's self-attention and ignores the co-attention). Every attention sub-layer computes
  ``x + Attn(x)``, so each self-attention map is taken as Â = ½(A_mean + I), and the relevance of
  the inputs for each state is carried forward as rollout multiplies maps:
    - self-attention of stream s (keys s):   R_ss ← Â·R_ss,   R_sq ← Â·R_sq
    - co-attention, queries s, keys q:       R_ss ← ½R_ss + ½A·R_qs,   R_sq ← ½R_sq + ½A·R_qq
      (the state's own half keeps what it had; the attended half brings the key states' relevance,
      from both their own stream and the one they mixed in earlier). l2v and v2l both read the
      matrices as they were before the cross layer, as the model computes them.
  Starting from R_ll = I, R_vv = I, R_lv = R_vl = 0, every row of [R_ll | R_lv] and of
  [R_vl | R_vv] sums to 1 (a distribution over all inputs).
* ``chefer_rollout``: the rollout baseline as the code of Chefer, Gur & Wolf (2021) computes it for
  LXMERT (``GeneratorBaselines.generate_rollout`` in Transformer-MM-Explainability), offered so
  that the kit's numbers can stand beside theirs. Each stream's self-attention maps (the
  single-modality layers, then the self-attentions of every cross layer but the last) are rolled
  out on their own, Â = row-normalise(A_mean + I), joint = Â_L ··· Â_1; the co-attention enters
  only once, through the last cross layer's l2v: lang_vis = R_llᵀ · A_l2v · R_vv (the transpose is
  theirs), with R_ll before the last cross layer's language self-attention; lang_lang then adds that
  last one. Their code returns no vision rows for it: vis_lang is 0 and vis_vis is the vision
  rollout. As in their code, lang_lang[cls, cls] is set to 0. Its [CLS] rows differ from the kit's
  ``rollout`` (which carries relevance through both co-attentions of every cross layer).
* ``random``: uniform [0, 1) numbers from ``numpy.random.default_rng(seed)``, a baseline.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import InputError

F64 = torch.float64


def _mean(a: torch.Tensor) -> torch.Tensor:
    return a.mean(0)  # (H, Q, K) -> (Q, K)


def start(t: int, r: int) -> dict[tuple[str, str], torch.Tensor]:
    """The relevance matrices before any layer: identity on each stream, nothing across."""
    return {("lang", "lang"): torch.eye(t, dtype=F64), ("vis", "vis"): torch.eye(r, dtype=F64),
            ("lang", "vis"): torch.zeros(t, r, dtype=F64), ("vis", "lang"): torch.zeros(r, t, dtype=F64)}


def raw_attention(maps: dict[str, torch.Tensor]) -> dict[tuple[str, str], torch.Tensor]:
    """Head-mean maps of the last cross layer."""
    if "l2v" not in maps or not len(maps["l2v"]):
        raise InputError("raw attention needs at least one cross layer (x_layers >= 1)")
    return {("lang", "lang"): _mean(maps["cross_lang"][-1]), ("vis", "vis"): _mean(maps["cross_vis"][-1]),
            ("lang", "vis"): _mean(maps["l2v"][-1]), ("vis", "lang"): _mean(maps["v2l"][-1])}


def rollout(maps: dict[str, torch.Tensor], t: int, r: int) -> dict[tuple[str, str], torch.Tensor]:
    """Two-stream attention rollout over both streams (see the module docstring)."""
    R = start(t, r)
    other = {"lang": "vis", "vis": "lang"}

    def self_step(s: str, a: torch.Tensor) -> None:
        hat = 0.5 * (_mean(a) + torch.eye(a.shape[-1], dtype=F64))
        hat = hat / hat.sum(-1, keepdim=True)  # exact rows of 1 even when a row was all masked
        q = other[s]
        R[s, s], R[s, q] = hat @ R[s, s], hat @ R[s, q]

    for a in maps.get("lang", ()):
        self_step("lang", a)
    for a in maps.get("vis", ()):
        self_step("vis", a)
    for x in range(len(maps.get("l2v", ()))):
        a_lv, a_vl = _mean(maps["l2v"][x]), _mean(maps["v2l"][x])
        a_lv = a_lv / a_lv.sum(-1, keepdim=True).clamp_min(1e-300)
        a_vl = a_vl / a_vl.sum(-1, keepdim=True).clamp_min(1e-300)
        R.update({("lang", "lang"): 0.5 * R["lang", "lang"] + 0.5 * a_lv @ R["vis", "lang"],
                  ("lang", "vis"): 0.5 * R["lang", "vis"] + 0.5 * a_lv @ R["vis", "vis"],
                  ("vis", "vis"): 0.5 * R["vis", "vis"] + 0.5 * a_vl @ R["lang", "vis"],
                  ("vis", "lang"): 0.5 * R["vis", "lang"] + 0.5 * a_vl @ R["lang", "lang"]})
        self_step("lang", maps["cross_lang"][x])
        self_step("vis", maps["cross_vis"][x])
    return R


def _stream_rollout(mats: list[torch.Tensor], n: int) -> torch.Tensor:
    """Abnar & Zuidema's rollout of one stream's head-mean maps, as Chefer et al.'s code writes it."""
    joint = torch.eye(n, dtype=F64)
    for k, a in enumerate(mats):
        hat = a + torch.eye(n, dtype=F64)
        hat = hat / hat.sum(-1, keepdim=True)
        joint = hat if k == 0 else hat @ joint
    return joint


def chefer_rollout(maps: dict[str, torch.Tensor], t: int, r: int) -> dict[tuple[str, str], torch.Tensor]:
    """The authors' rollout baseline for LXMERT (see the module docstring)."""
    if "l2v" not in maps or not len(maps["l2v"]):
        raise InputError("the rollout baseline needs at least one cross layer (x_layers >= 1)")
    x = len(maps["l2v"])
    text = [_mean(a) for a in maps.get("lang", ())] + [_mean(maps["cross_lang"][i]) for i in range(x - 1)]
    image = [_mean(a) for a in maps.get("vis", ())] + [_mean(maps["cross_vis"][i]) for i in range(x - 1)]
    r_tt, r_ii = _stream_rollout(text, t), _stream_rollout(image, r)
    r_ti = r_tt.T @ _mean(maps["l2v"][-1]) @ r_ii
    r_tt = _stream_rollout(text + [_mean(maps["cross_lang"][-1])], t)
    r_tt[0, 0] = 0.0
    return {("lang", "lang"): r_tt, ("vis", "vis"): r_ii, ("lang", "vis"): r_ti,
            ("vis", "lang"): torch.zeros(r, t, dtype=F64)}


def random_baseline(t: int, r: int, seed: int = 0) -> dict[tuple[str, str], np.ndarray]:
    """Seeded uniform random maps of the right shapes."""
    rng = np.random.default_rng(seed)
    return {("lang", "lang"): rng.random((t, t)), ("vis", "vis"): rng.random((r, r)),
            ("lang", "vis"): rng.random((t, r)), ("vis", "lang"): rng.random((r, t))}
