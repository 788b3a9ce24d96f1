"""Pure-numpy numbers behind the figures: head statistics, state drift, PCA, attention rows.

Shape letters: L layers of a family, H heads, Q queries, K keys, S states, N items (T tokens or
R regions), D hidden.

Nothing here imports a plotting library, so these helpers are usable (and tested) on their own.
"""
from __future__ import annotations

import numpy as np

from ..result import KEY_SIDE, QUERY_SIDE

DRIFT_METRICS = ("cosine", "norm", "distance")


def head_stats(result, family: str) -> dict[str, np.ndarray]:
    """Per (layer, head) of ``family``: mean attention entropy over queries, and maximum weight.

    Padding is already cut from a `Result`, so every query is real.

    Returns:
        ``{"entropy": (L, H) nats, "max": (L, H), "max_entropy": log K}``.
    """
    a = result.attentions[family].numpy().astype(np.float64)  # (L, H, Q, K)
    p = np.clip(a, 1e-12, 1.0)
    ent = -(a * np.log(p)).sum(-1).mean(-1)  # (L, H): entropy per query, averaged over queries
    return {"entropy": ent, "max": a.max(axis=(-2, -1)), "max_entropy": float(np.log(max(a.shape[-1], 1)))}


def attention_row(result, family: str, query: int, layer: int = -1, head: int | str = "mean") -> np.ndarray:
    """(K,) weights of one query of ``family`` at a layer and head (or ``"mean"``/``"max"``)."""
    a = result.attn(family, layer, head)
    if not -a.shape[0] <= query < a.shape[0]:
        raise IndexError(f"{family} has {a.shape[0]} queries; query {query} is out of range")
    return a[query]


def query_side(family: str) -> str:
    """``"lang"`` or ``"vis"``: which side the queries of ``family`` come from."""
    if family not in QUERY_SIDE:
        raise KeyError(f"unknown attention family {family!r}; families are {list(QUERY_SIDE)}")
    return QUERY_SIDE[family]


def key_side(family: str) -> str:
    query_side(family)
    return KEY_SIDE[family]


def state_drift(result, side: str, metric: str = "cosine") -> tuple[np.ndarray, list[str]]:
    """How far each item's state moves from the last single-modality state through the cross layers.

    Args:
        side: ``"lang"`` (tokens) or ``"vis"`` (regions).
        metric: ``"cosine"`` (similarity to the single-modality state; 1 at the start),
            ``"norm"`` (L2 norm of the state) or ``"distance"`` (L2 distance to the single state).

    Returns:
        ``(values (1 + x_layers, N), stage names)``; row 0 is the single-modality state.
    """
    if metric not in DRIFT_METRICS:
        raise ValueError(f"metric must be one of {DRIFT_METRICS}, got {metric!r}")
    h = result.states(side).numpy().astype(np.float64)  # (S, N, D)
    s0 = result.single_index(side)
    h = h[s0:]  # (1 + X, N, D): single state, then each cross layer
    names = result.stage_names(side)[s0:]
    base = h[0]
    if metric == "norm":
        vals = np.linalg.norm(h, axis=-1)
    elif metric == "distance":
        vals = np.linalg.norm(h - base, axis=-1)
    else:
        num = (h * base).sum(-1)
        den = np.linalg.norm(h, axis=-1) * np.linalg.norm(base, axis=-1)
        vals = num / np.maximum(den, 1e-12)
    return vals, names


def pca_2d(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project rows of ``x`` (M, D) on their first two principal axes (numpy SVD).

    Returns:
        ``(coords (M, 2), explained variance ratio (2,))``; signs are fixed so that the largest
        loading of each axis is positive, which keeps plots stable from run to run.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"pca_2d needs a (rows, dims) array, got shape {x.shape}")
    xc = x - x.mean(0, keepdims=True)
    u, s, vt = np.linalg.svd(xc, full_matrices=False)
    k = min(2, vt.shape[0])
    comps = vt[:k]
    signs = np.sign(comps[np.arange(k), np.abs(comps).argmax(1)])
    comps = comps * np.where(signs == 0, 1, signs)[:, None]
    coords = np.zeros((x.shape[0], 2))
    coords[:, :k] = xc @ comps.T
    var = s ** 2
    ratio = np.zeros(2)
    ratio[:k] = var[:k] / max(var.sum(), 1e-12)
    return coords, ratio


def state_points(result) -> dict[str, object]:
    """Every hidden state of both sides projected together by `pca_2d`.

    Returns a dict of flat per-point lists/arrays: ``xy`` (M, 2), ``side``, ``item`` (index),
    ``label``, ``stage`` (name), ``depth`` (state index), plus ``ratio`` (2,) and ``stages``
    (every stage name, in drawing order).
    """
    rows, side, item, label, stage, depth = [], [], [], [], [], []
    for sd in ("lang", "vis"):
        h = result.states(sd).numpy()  # (S, N, D)
        names, labs = result.stage_names(sd), result.side_labels(sd)
        for s in range(h.shape[0]):
            for n in range(h.shape[1]):
                rows.append(h[s, n])
                side.append(sd)
                item.append(n)
                label.append(labs[n])
                stage.append(names[s])
                depth.append(s)
    xy, ratio = pca_2d(np.stack(rows)) if rows else (np.zeros((0, 2)), np.zeros(2))
    stages = []
    for sd in ("lang", "vis"):
        for n in result.stage_names(sd):
            if n not in stages and not n.startswith("cross"):
                stages.append(n)
    stages += [f"cross{i + 1}" for i in range(result.x_layers)]
    return {"xy": xy, "side": side, "item": np.array(item, dtype=int), "label": label, "stage": stage,
            "depth": np.array(depth, dtype=int), "ratio": ratio, "stages": stages}


def normalise(w: np.ndarray) -> np.ndarray:
    """Weights scaled to 0..1 by their maximum (all zeros stay zeros)."""
    w = np.asarray(w, dtype=np.float64)
    m = w.max() if w.size else 0.0
    return w / m if m > 0 else np.zeros_like(w)
