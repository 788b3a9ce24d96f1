"""Gradient-weighted relevancy of Chefer, Gur & Wolf (ICCV 2021, arXiv:2103.15679), for LXMERT.

Shape letters: H heads, T tokens, R regions; ``s`` the query stream of a map, ``q`` its key stream.

Per attention map A (H, Q, K) and its gradient dA w.r.t. the explained answer logit:

    Ā = E_h[(dA ⊙ A)^+]                                                  (paper eq. 5)

Four relevance matrices start at R_tt = I, R_ii = I, R_ti = 0, R_it = 0 and are updated map by map,
in the order the model applies them:

* self-attention of stream s (language layers, relationship layers, and the two self-attentions
  inside each cross layer):  R_ss += Ā·R_ss,  R_sq += Ā·R_sq             (eqs. 6, 7)
* co-attention, queries s, keys q (l2v: s = t, q = i; v2l: s = i, q = t):
      R̂_xx = row-normalise(R_xx − I),  R̄_xx = R̂_xx + I                   (eqs. 8, 9)
      R_sq += (R̄_ss)ᵀ·Ā·R̄_qq                                           (eq. 10)
      R_ss += Ā·R_qs                                                    (eq. 11)

Inside a cross layer LXMERT computes l2v and v2l from the same layer inputs, so both co-attention
updates read the matrices as they were before the layer and are added together; then the language
and the vision self-attention follow. Nothing is special-cased for the last layer: its vision side
does not reach the answer, so its dA and Ā are 0 and the updates vanish by themselves. All four
matrices and every row are kept (the paper reads only row [CLS]); `R_tt[cls, cls]` is left as it is
(the paper's code zeroes it for display).

A row of R_xx − I that is all zero (no self-attention has moved it yet, e.g. a model with no
relationship layers) is left at zero instead of dividing 0 by 0, so R̄_xx = I on that row.
"""
from __future__ import annotations

import torch

from .explanation import Explanation
from .trace import Trace


def grad_cam(a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Ā = mean over heads of the positive part of dA ⊙ A: (H, Q, K) -> (Q, K)."""
    return (g * a).clamp(min=0).mean(0)


def normalize_residual(r: torch.Tensor) -> torch.Tensor:
    """R̄ = row-normalise(R − I) + I for a square relevance matrix (eqs. 8-9)."""
    eye = torch.eye(r.shape[0], dtype=r.dtype)
    hat = r - eye
    total = hat.sum(-1, keepdim=True)
    hat = torch.where(total != 0, hat / torch.where(total != 0, total, torch.ones_like(total)), torch.zeros_like(hat))
    return hat + eye


def relevancy_matrices(trace: Trace) -> dict[str, torch.Tensor]:
    """Apply the rules to one `Trace` (which must hold gradients); returns R_tt, R_ii, R_ti, R_it."""
    if trace.grads is None:
        raise ValueError("gradient relevancy needs a trace run with need_grads=True")
    m, g = trace.maps, trace.grads
    t, r = len(trace.token_index), len(trace.region_index)
    f64 = torch.float64
    R = {"tt": torch.eye(t, dtype=f64), "ii": torch.eye(r, dtype=f64),
         "ti": torch.zeros(t, r, dtype=f64), "it": torch.zeros(r, t, dtype=f64)}

    def self_rule(s: str, q: str, cam: torch.Tensor) -> None:
        R[s + s] = R[s + s] + cam @ R[s + s]   # eq. 6
        R[s + q] = R[s + q] + cam @ R[s + q]   # eq. 7

    def co_rule(s: str, q: str, cam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Additions for (R_sq, R_ss) from co-attention with queries s, keys q."""
        bar_ss, bar_qq = normalize_residual(R[s + s]), normalize_residual(R[q + q])
        return bar_ss.T @ cam @ bar_qq, cam @ R[q + s]  # eqs. 10, 11

    for a, da in zip(m.get("lang", []), g.get("lang", [])):
        self_rule("t", "i", grad_cam(a, da))
    for a, da in zip(m.get("vis", []), g.get("vis", [])):
        self_rule("i", "t", grad_cam(a, da))
    for x in range(len(m.get("l2v", []))):
        add_ti, add_tt = co_rule("t", "i", grad_cam(m["l2v"][x], g["l2v"][x]))
        add_it, add_ii = co_rule("i", "t", grad_cam(m["v2l"][x], g["v2l"][x]))
        R["ti"], R["tt"] = R["ti"] + add_ti, R["tt"] + add_tt
        R["it"], R["ii"] = R["it"] + add_it, R["ii"] + add_ii
        self_rule("t", "i", grad_cam(m["cross_lang"][x], g["cross_lang"][x]))
        self_rule("i", "t", grad_cam(m["cross_vis"][x], g["cross_vis"][x]))
    return {"R_" + k: v for k, v in R.items()}


def relevancy(trace: Trace) -> Explanation:
    """The gradient-weighted relevancy `Explanation` of one traced example."""
    mats = relevancy_matrices(trace)
    return Explanation("relevancy", trace.answer, **{k: v.numpy() for k, v in mats.items()},
                       token_index=trace.token_index, region_index=trace.region_index, logit=trace.logit)
