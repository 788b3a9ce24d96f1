"""Regions <-> compressed NumPy files (``.npz``), lossless.

Shape letters: R regions, F feature size.

One file per image. Arrays: ``boxes`` (R, 4) float32, ``feats`` (R, F) float32, ``image_size``
(2,) int64 ``(W, H)``, ``num_real`` () int64, optional ``scores`` (R,) float32, ``labels``
(R,) unicode or ``labels_absent`` () unicode (why there are none), and every ``extra`` array as
``extra.<name>`` (one row per region: a single value is refused, naming its key). Written to a temporary file and
renamed, so a crash never leaves a half-written file under the final name.

Reading never unpickles (``allow_pickle=False``) and raises `~lxmert_viz.errors.FeatureFileError`
naming the file (and the key) for: an empty, truncated or non-zip file, members that are not
``.npy`` arrays or would expand beyond `MAX_NPZ_BYTES`, object arrays, a missing key, a key of the
wrong shape or dtype, and NaN or infinite boxes, features or scores.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from ..errors import FeatureFileError, InputError, MissingFileError
from ..inputs.regions import Regions

EXTRA_PREFIX = "extra."
REQUIRED = ("boxes", "feats", "image_size", "num_real")
MAX_NPZ_BYTES = 2 * 2**30
"""Most bytes the arrays of one file may expand to (a zip bomb stops here, before any is read)."""


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
    if regions.labels_absent is not None:
        arrays["labels_absent"] = np.asarray(regions.labels_absent, dtype=np.str_)
    for key, val in regions.extra.items():
        arrays[EXTRA_PREFIX + key] = np.asarray(val)
    return arrays


def _int_scalar(arrays, key: str, source: str) -> int:
    a = np.asarray(arrays[key])
    if a.shape != () or a.dtype.kind not in "iu":
        raise FeatureFileError(f"{source}: {key!r} must be one integer, got a {a.dtype} array of shape {a.shape}")
    return int(a)


def arrays_to_regions(arrays, source: str = "arrays") -> Regions:
    """Inverse of :func:`regions_to_arrays`; raises `FeatureFileError` naming ``source`` and the key."""
    lacking = [k for k in REQUIRED if k not in arrays]
    if lacking:
        raise FeatureFileError(f"{source} has no {', '.join(map(repr, lacking))}; a regions file holds "
                               f"{', '.join(REQUIRED)} (it has {', '.join(sorted(arrays)) or 'nothing'})")
    size = np.asarray(arrays["image_size"])
    if size.shape != (2,) or size.dtype.kind not in "iu":
        raise FeatureFileError(f"{source}: 'image_size' must be two integers (W, H), got a {size.dtype} array "
                               f"of shape {size.shape}")
    num_real = _int_scalar(arrays, "num_real", source)
    for key in ("boxes", "feats", "scores"):
        if key in arrays and np.asarray(arrays[key]).dtype.kind not in "uif":
            raise FeatureFileError(f"{source}: {key!r} must hold numbers, got dtype {np.asarray(arrays[key]).dtype}")
    labels = None
    if "labels" in arrays:
        lab = np.asarray(arrays["labels"])
        if lab.dtype.kind != "U" or lab.ndim != 1:
            raise FeatureFileError(f"{source}: 'labels' must be a 1-d unicode array, got {lab.dtype} {lab.shape}")
        labels = tuple(str(x) for x in lab)
    absent = None
    if "labels_absent" in arrays:
        note = np.asarray(arrays["labels_absent"])
        if note.dtype.kind != "U" or note.ndim != 0:
            raise FeatureFileError(f"{source}: 'labels_absent' must be one unicode string, got {note.dtype} {note.shape}")
        absent = str(note)
    extra = {}
    for k in arrays:
        if k.startswith(EXTRA_PREFIX):
            val = np.asarray(arrays[k])
            if val.ndim == 0:
                raise FeatureFileError(f"{source}: {k!r} is a single value (a 0-d {val.dtype} array); an extra array "
                                       f"holds one row per region")
            extra[k[len(EXTRA_PREFIX):]] = val
    known = (*REQUIRED, "scores", "labels", "labels_absent")
    unknown = sorted(k for k in arrays if k not in known and not k.startswith(EXTRA_PREFIX))
    if unknown:
        raise FeatureFileError(f"{source} holds keys a regions file does not have: {', '.join(unknown)}")
    w, h = (int(v) for v in size)
    try:
        return Regions(np.asarray(arrays["boxes"]), np.asarray(arrays["feats"]), (w, h), labels=labels,
                       scores=np.asarray(arrays["scores"]) if "scores" in arrays else None,
                       num_real=num_real, extra=extra, labels_absent=absent)
    except InputError as err:
        raise FeatureFileError(f"{source}: {err}") from None


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
    try:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **regions_to_arrays(regions))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _check_archive(path: Path) -> None:
    if path.stat().st_size == 0:
        raise FeatureFileError(f"{path} is empty (0 bytes): an interrupted write?")
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except Exception as err:  # BadZipFile, NotImplementedError (odd version fields), OSError, struct errors...
        raise FeatureFileError(f"{path} is not an npz archive (truncated or damaged?): "
                               f"{err or type(err).__name__}") from None
    if not infos:
        raise FeatureFileError(f"{path} is an empty archive; a regions file holds {', '.join(REQUIRED)}")
    odd = [i.filename for i in infos if not i.filename.endswith(".npy")]
    if odd:
        raise FeatureFileError(f"{path} holds members that are not .npy arrays: {', '.join(odd[:5])}")
    total = sum(i.file_size for i in infos)
    if total > MAX_NPZ_BYTES:
        raise FeatureFileError(f"{path} would expand to {total:,} bytes, more than the {MAX_NPZ_BYTES:,} allowed")


def load_npz(path: str | Path) -> Regions:
    """Read regions written by :func:`save_npz` (no pickle: ``allow_pickle=False``).

    Raises:
        MissingFileError: no file there.
        FeatureFileError: anything that keeps the file from being these regions (see the module docstring).
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"no regions file at {path}")
    if not path.is_file():
        raise FeatureFileError(f"{path} is not a file")
    _check_archive(path)
    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as data:
            for key in data.files:
                arrays[key] = data[key]
    except FeatureFileError:
        raise
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise FeatureFileError(f"{path} holds object arrays, which would need unpickling; a regions file "
                                   f"holds numbers and strings only") from None
        raise FeatureFileError(f"{path} is damaged: {err}") from None
    except Exception as err:  # zipfile / zlib / numpy header errors on a damaged member
        raise FeatureFileError(f"{path} is damaged (truncated member?): {type(err).__name__}: {err}") from None
    return arrays_to_regions(arrays, source=str(path))
