"""How hidden states move: drift from the last single-modality state through the cross layers, and a
joint 2-D PCA of every state of both streams.

Shape letters: S states, N items (T tokens or R regions), D hidden, M points.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError

DRIFT_METRICS = ("cosine", "norm", "distance")
EPS = 1e-12  # guards divisions by a zero norm or variance


def drift(result, side: str, metric: str = "cosine") -> tuple[np.ndarray, list[str]]:
    """How far each item's state moves from the last single-modality state through the cross layers.

    Args:
        side: the stream, ``"lang"`` (tokens) or ``"vis"`` (regions).
        metric: ``"cosine"`` (similarity to the single-modality state; 1 at the start),
            ``"norm"`` (L2 norm of the state) or ``"distance"`` (L2 distance to the single state).

    Returns:
        ``(values (1 + x_layers, N), stage names)``; row 0 is the single-modality state.
    """
    if metric not in DRIFT_METRICS:
        raise InputError(f"metric must be one of {DRIFT_METRICS}, got {metric!r}")
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
        vals = num / np.maximum(den, EPS)
    return vals, names


def pca_2d(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project rows of ``x`` (M, D) on their first two principal axes (numpy SVD).

    Returns:
        ``(coords (M, 2), explained variance ratio (2,))``; signs are fixed so that the largest
        loading of each axis is positive, which keeps plots stable from run to run.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"pca_2d needs a (rows, dims) array, got shape {x.shape}")
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
    ratio[:k] = var[:k] / max(var.sum(), EPS)
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
