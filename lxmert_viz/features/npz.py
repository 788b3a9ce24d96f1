"""Regions <-> compressed NumPy files (``.npz``), lossless.

Shape letters: R regions, F feature size.

One file per image. Arrays: ``boxes`` (R, 4) float32, ``feats`` (R, F) float32, ``image_size``
(2,) int64 ``(W, H)``, ``num_real`` () int64, optional ``scores`` (R,) float32 and ``labels``
(R,) unicode, and every ``extra`` array as ``extra.<name>``. Written to a temporary file and
renamed, so a crash never leaves a half-written file under the final name.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..inputs.regions import Regions

EXTRA_PREFIX = "extra."


def regions_to_arrays(regions: Regions) -> dict[str, np.ndarray]:
    """The arrays that describe ``regions`` (what :func:`save_npz` writes)."""
    arrays = {
        "boxes": regions.boxes,
        "feats": regions.feats,
        "image_size": np.asarray(regions.image_size, dtype=np.int64),
        "num_real": np.asarray(regions.num_real, dtype=np.int64),
    }
    if regions.scores is not None:
        arrays["scores"] = regions.scores
    if regions.labels is not None:
        arrays["labels"] = np.asarray(regions.labels, dtype=np.str_).reshape(len(regions))
    for key, val in regions.extra.items():
        arrays[EXTRA_PREFIX + key] = np.asarray(val)
    return arrays


def arrays_to_regions(arrays) -> Regions:
    """Inverse of :func:`regions_to_arrays`."""
    labels = tuple(str(x) for x in arrays["labels"]) if "labels" in arrays else None
    extra = {k[len(EXTRA_PREFIX):]: np.asarray(arrays[k]) for k in arrays if k.startswith(EXTRA_PREFIX)}
    w, h = (int(v) for v in arrays["image_size"])
    return Regions(np.asarray(arrays["boxes"]), np.asarray(arrays["feats"]), (w, h), labels=labels,
                   scores=np.asarray(arrays["scores"]) if "scores" in arrays else None,
                   num_real=int(arrays["num_real"]), extra=extra)


def save_npz(path: str | Path, regions: Regions) -> Path:
    """Write one image's regions atomically (temp file + rename).

    Args:
        path: target ``.npz`` file.
        regions: what to store.

    Returns:
        Path: the written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **regions_to_arrays(regions))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load_npz(path: str | Path) -> Regions:
    """Read regions written by :func:`save_npz` (no pickle: ``allow_pickle=False``)."""
    with np.load(path, allow_pickle=False) as data:
        return arrays_to_regions({k: data[k] for k in data.files})
