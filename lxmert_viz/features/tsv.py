"""Regions <-> the original LXMERT feature TSV (bottom-up-attention's ``generate_tsv.py`` format).

Shape letters: R regions (``num_boxes``), F feature size (2048).

One line per image, tab-separated, no header, fields::

    img_id, img_h, img_w, objects_id, objects_conf, attrs_id, attrs_conf, num_boxes, boxes, features

Array fields are base64 of the raw little-endian buffers: ``objects_id``/``attrs_id`` int64 (R,),
``objects_conf``/``attrs_conf`` float32 (R,), ``boxes`` float32 (R, 4) in original pixels,
``features`` float32 (R, F). LXMERT's ``load_obj_tsv`` reads these files as they are.

The format has no padding: only the ``num_real`` real rows are written; :func:`read_tsv` can pad
back to a fixed count (``pad_to``), giving ``num_real`` and the mask again. Labels are not stored;
they are rebuilt from the ids with :class:`~lxmert_viz.features.vg_labels.VGLabels`.
"""
from __future__ import annotations

import base64
import csv
import sys
from pathlib import Path
from typing import Iterator

import numpy as np

from ..inputs.regions import Regions
from .vg_labels import VGLabels

FIELDNAMES = ["img_id", "img_h", "img_w", "objects_id", "objects_conf", "attrs_id", "attrs_conf",
              "num_boxes", "boxes", "features"]
_ARRAYS = [("objects_id", "obj_ids", np.int64), ("objects_conf", "obj_conf", np.float32),
           ("attrs_id", "attr_ids", np.int64), ("attrs_conf", "attr_conf", np.float32)]


def _set_field_limit() -> None:
    limit = sys.maxsize
    while True:  # the C long may be smaller than sys.maxsize (Windows)
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


def _b64(arr: np.ndarray, dtype) -> str:
    return base64.b64encode(np.ascontiguousarray(arr, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()).decode("ascii")


def _unb64(text: str, dtype, shape) -> np.ndarray:
    buf = np.frombuffer(base64.b64decode(text), dtype=np.dtype(dtype).newbyteorder("<"))
    return buf.astype(dtype).reshape(shape)


def regions_to_row(img_id: str, regions: Regions) -> dict[str, str]:
    """One TSV row (a dict of strings) for ``regions``' real rows."""
    n = regions.num_real
    w, h = regions.image_size
    row = {"img_id": str(img_id), "img_h": str(h), "img_w": str(w), "num_boxes": str(n),
           "boxes": _b64(regions.boxes[:n], np.float32), "features": _b64(regions.feats[:n], np.float32)}
    for field, key, dtype in _ARRAYS:
        if key in regions.extra:
            val = np.asarray(regions.extra[key])[:n]
        elif key == "obj_conf" and regions.scores is not None:
            val = regions.scores[:n]
        else:
            val = np.full(n, -1 if dtype == np.int64 else 0, dtype=dtype)
        row[field] = _b64(val, dtype)
    return row


def format_row(row: dict[str, str]) -> str:
    """The TSV line (with trailing newline) for a row dict."""
    return "\t".join(row[f] for f in FIELDNAMES) + "\n"


def row_to_regions(row: dict[str, str], labels: VGLabels | None = None, pad_to: int | None = None) -> Regions:
    """Decode one TSV row into :class:`Regions` (padded to ``pad_to`` rows when given)."""
    n = int(row["num_boxes"])
    boxes = _unb64(row["boxes"], np.float32, (n, 4))
    feats = _unb64(row["features"], np.float32, (n, -1)) if n else np.zeros((0, 0), np.float32)
    extra = {key: _unb64(row[field], dtype, (n,)) for field, key, dtype in _ARRAYS}
    r = max(n, pad_to or 0)
    if r > n:
        boxes = np.concatenate([boxes, np.zeros((r - n, 4), np.float32)])
        feats = np.concatenate([feats, np.zeros((r - n, feats.shape[1]), np.float32)])
        extra = {k: np.concatenate([v, np.full(r - n, -1 if v.dtype == np.int64 else 0, v.dtype)])
                 for k, v in extra.items()}
    names = None
    if labels is not None:
        names = tuple(labels.region_label(int(o), int(a), float(c))
                      for o, a, c in zip(extra["obj_ids"], extra["attr_ids"], extra["attr_conf"]))
    return Regions(boxes, feats, (int(row["img_w"]), int(row["img_h"])), labels=names,
                   scores=extra["obj_conf"].copy(), num_real=n, extra=extra)


def write_tsv(path: str | Path, items, append: bool = False) -> Path:
    """Write ``(img_id, Regions)`` pairs, one line each.

    Args:
        path: the ``.tsv`` file.
        items: iterable of ``(img_id, Regions)`` or a dict ``{img_id: Regions}``.
        append: add to an existing file instead of replacing it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pairs = items.items() if isinstance(items, dict) else items
    with open(path, "a" if append else "w", encoding="ascii", newline="") as f:
        for img_id, regions in pairs:
            f.write(format_row(regions_to_row(img_id, regions)))
    return path


def iter_tsv(path: str | Path, labels: VGLabels | None = None, pad_to: int | None = None,
             ) -> Iterator[tuple[str, Regions]]:
    """Yield ``(img_id, Regions)`` per line of an LXMERT feature TSV."""
    _set_field_limit()
    with open(path, encoding="ascii", newline="") as f:
        for row in csv.DictReader(f, FIELDNAMES, delimiter="\t"):
            yield row["img_id"], row_to_regions(row, labels, pad_to)


def read_tsv(path: str | Path, labels: VGLabels | None = None, pad_to: int | None = None) -> dict[str, Regions]:
    """All images of a feature TSV as ``{img_id: Regions}``.

    Example:
        >>> from lxmert_viz import Regions
        >>> path = write_tsv(tmp / "feats.tsv", {"img1": Regions(np.zeros((2, 4), "f4"), np.ones((2, 8), "f4"), (64, 48))})
        >>> read_tsv(tmp / "feats.tsv", pad_to=3)["img1"].feats.shape
        (3, 8)
    """
    return dict(iter_tsv(path, labels, pad_to))
