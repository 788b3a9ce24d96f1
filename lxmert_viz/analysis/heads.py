"""Per-head numbers of one result: how spread out each head's attention is, and how peaked.

Shape letters: L layers of a family, H heads, Q queries, K keys.
"""
from __future__ import annotations

import numpy as np

from .states import EPS


def head_stats(result, family: str) -> dict[str, np.ndarray]:
    """Per (layer, head) of ``family``: mean attention entropy over queries, and maximum weight.

    Padding is already cut from a `Result`, so every query is real.

    Returns:
        ``{"entropy": (L, H) nats, "max": (L, H), "max_entropy": log K}``.
    """
    a = result.attentions[family].numpy().astype(np.float64)  # (L, H, Q, K)
    p = np.clip(a, EPS, 1.0)
    ent = -(a * np.log(p)).sum(-1).mean(-1)  # (L, H): entropy per query, averaged over queries
    return {"entropy": ent, "max": a.max(axis=(-2, -1)), "max_entropy": float(np.log(max(a.shape[-1], 1)))}
