"""Gradient-weighted relevancy of Chefer, Gur & Wolf (ICCV 2021, arXiv:2103.15679), for LXMERT.

Shape letters: H heads, T tokens, R regions; ``s`` the query stream of a map, ``q`` its key stream
(``lang`` or ``vis``; R_ss, R_sq, … are the `Explanation` matrices keyed by those streams).

Per attention map A (H, Q, K) and its gradient dA w.r.t. the explained answer logit:

    Ā = E_h[(dA ⊙ A)^+]                                                  (paper eq. 5)

Four relevance matrices start at R_ll = I, R_vv = I, R_lv = 0, R_vl = 0 and are updated map by map,
in the order the model applies them:

* self-attention of stream s (language layers, relationship layers, and the two self-attentions
  inside each cross layer):  R_ss += Ā·R_ss,  R_sq += Ā·R_sq             (eqs. 6, 7)
* co-attention, queries s, keys q (l2v: s = lang, q = vis; v2l: s = vis, q = lang):
      R̂_xx = row-normalise(R_xx − I),  R̄_xx = R̂_xx + I                   (eqs. 8, 9)
      R_sq += (R̄_ss)ᵀ·Ā·R̄_qq                                           (eq. 10)
      R_ss += Ā·R_qs                                                    (eq. 11)

Inside a cross layer LXMERT computes l2v and v2l from the same layer inputs, so both co-attention
updates read the matrices as they were before the layer and are added together; then the language
and the vision self-attention follow. Nothing is special-cased for the last layer: its vision side
does not reach the answer, so its dA and Ā are 0 and the updates vanish by themselves. All four
matrices and every row are kept (the paper reads only row [CLS]); R_ll[cls, cls] is left as it is
(the paper's code zeroes it for display; `relevance_rows` leaves it out too).

A row of R_xx − I that is all zero (no self-attention has moved it yet, e.g. a model with no
relationship layers) is left at zero instead of dividing 0 by 0, so R̄_xx = I on that row.
"""
from __future__ import annotations

import torch

from .attention_methods import start


def head_mean_positive_grad_attention(a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Ā = mean over heads of the positive part of dA ⊙ A (the paper's eq. 5): (H, Q, K) -> (Q, K).

    This is the per-map aggregation of the relevancy method, not the paper's Grad-CAM baseline
    (which uses the last layer's gradient-weighted map alone)."""
    return (g * a).clamp(min=0).mean(0)


def normalize_residual(r: torch.Tensor) -> torch.Tensor:
    """R̄ = row-normalise(R − I) + I for a square relevance matrix (eqs. 8-9)."""
    eye = torch.eye(r.shape[0], dtype=r.dtype)
    hat = r - eye
    total = hat.sum(-1, keepdim=True)
    hat = torch.where(total != 0, hat / torch.where(total != 0, total, torch.ones_like(total)), torch.zeros_like(hat))
    return hat + eye


def relevancy(maps: dict[str, torch.Tensor], grads: dict[str, torch.Tensor], t: int, r: int
              ) -> dict[tuple[str, str], torch.Tensor]:
    """Apply the rules to one example's maps and their gradients; returns the four matrices."""
    R = start(t, r)
    other = {"lang": "vis", "vis": "lang"}
    cam = head_mean_positive_grad_attention

    def self_rule(s: str, a_bar: torch.Tensor) -> None:
        q = other[s]
        R[s, s] = R[s, s] + a_bar @ R[s, s]   # eq. 6
        R[s, q] = R[s, q] + a_bar @ R[s, q]   # eq. 7

    def co_rule(s: str, a_bar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Additions for (R_sq, R_ss) from co-attention with queries s, keys q."""
        q = other[s]
        bar_ss, bar_qq = normalize_residual(R[s, s]), normalize_residual(R[q, q])
        return bar_ss.T @ a_bar @ bar_qq, a_bar @ R[q, s]  # eqs. 10, 11

    for a, da in zip(maps.get("lang", ()), grads.get("lang", ())):
        self_rule("lang", cam(a, da))
    for a, da in zip(maps.get("vis", ()), grads.get("vis", ())):
        self_rule("vis", cam(a, da))
    for x in range(len(maps.get("l2v", ()))):
        add_lv, add_ll = co_rule("lang", cam(maps["l2v"][x], grads["l2v"][x]))
        add_vl, add_vv = co_rule("vis", cam(maps["v2l"][x], grads["v2l"][x]))
        R["lang", "vis"], R["lang", "lang"] = R["lang", "vis"] + add_lv, R["lang", "lang"] + add_ll
        R["vis", "lang"], R["vis", "vis"] = R["vis", "lang"] + add_vl, R["vis", "vis"] + add_vv
        self_rule("lang", cam(maps["cross_lang"][x], grads["cross_lang"][x]))
        self_rule("vis", cam(maps["cross_vis"][x], grads["cross_vis"][x]))
    return R
