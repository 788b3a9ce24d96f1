"""Regions <-> the two region-feature TSV layouts researchers have: LXMERT's and bottom-up-attention's.

Shape letters: R regions (``num_boxes``), F feature size (2048).

One line per image, tab-separated, no header, in one of two layouts, told apart by their number
of columns (one file holds one layout):

| layout | writer | fields |
|---|---|---|
| ``lxmert`` (10) | LXMERT's ``data/mscoco_imgfeat/extract_coco_image.py`` (and ``extract_gqa_image.py``, ``extract_nlvr2_image.py``): bottom-up-attention's writer modified to keep the detector's labels; read by LXMERT's ``src/utils.py`` ``load_obj_tsv``; LXMERT's ``*_obj36.tsv`` downloads | ``img_id, img_h, img_w, objects_id, objects_conf, attrs_id, attrs_conf, num_boxes, boxes, features`` |
| ``bottom-up`` (6) | bottom-up-attention's ``tools/generate_tsv.py`` (read by its ``tools/read_tsv.py``); the COCO ``trainval_36`` and adaptive 10-100 box downloads | ``image_id, image_w, image_h, num_boxes, boxes, features`` |

Array fields are base64 of the raw little-endian buffers: ``objects_id``/``attrs_id`` int64 (R,),
``objects_conf``/``attrs_conf`` float32 (R,), ``boxes`` float32 (R, 4) in original pixels,
``features`` float32 (R, F). Heights and widths are read by name, in the order each layout writes
them (LXMERT's height first, bottom-up-attention's width first). Both writers use Python's
``csv.DictWriter`` with ``delimiter='\t'``, so their lines end in ``\r\n``; ``\n`` is read too.
The image id is kept as the text written (bottom-up-attention writes integers: ``262148``).

The bottom-up layout stores no object or attribute fields: its regions have ``labels=None``,
``scores=None``, no ``extra`` arrays, and ``labels_absent`` saying why (region names then read
``r0 (no label)``); a `VGLabels` given to the reader is not used for them.

The format has no padding: only the ``num_real`` real rows are written; :func:`read_tsv` can pad
back to a fixed count (``pad_to``), giving ``num_real`` and the mask again. Labels are not stored;
they are rebuilt from the ids with :class:`~lxmert_viz.features.vg_labels.VGLabels`.

Reading checks every line of either layout and raises `~lxmert_viz.errors.FeatureFileError`
naming the file, the line (and the image id and field when known) for: bytes that are not ASCII, a
number of columns that is neither layout's (or a layout that changes between lines), a
``num_boxes`` / size that is not a non-negative integer, base64 that does not decode, a field whose
byte count does not fit ``num_boxes`` (or a feature size that changes between lines), NaN or
infinite values, pixel boxes outside the image or reversed, boxes that look normalised (none beyond
1 px, on an image larger than 2 px: the format stores pixels), and an image id on two lines. One
documented fallback: a first line that is exactly either layout's field names is a header and is
skipped. Writing (LXMERT's layout) refuses image ids that LXMERT's reader would split or mangle.
"""
from __future__ import annotations

import base64
import binascii
import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FeatureFileError, InputError, MissingFileError
from ..inputs.regions import Regions
from .vg_labels import VGLabels

FIELDNAMES = ["img_id", "img_h", "img_w", "objects_id", "objects_conf", "attrs_id", "attrs_conf",
              "num_boxes", "boxes", "features"]
"""LXMERT's layout (``extract_coco_image.py``, ``load_obj_tsv``): what :func:`write_tsv` writes."""
BOTTOM_UP_FIELDNAMES = ["image_id", "image_w", "image_h", "num_boxes", "boxes", "features"]
"""bottom-up-attention's layout (``tools/generate_tsv.py``): width before height, no labels."""


@dataclass(frozen=True)
class TsvLayout:
    """One TSV layout: its fields, which of them hold the id, height and width, and its writer."""

    name: str
    writer: str
    fields: tuple[str, ...]
    id_field: str
    h_field: str
    w_field: str
    labelled: bool


LXMERT_LAYOUT = TsvLayout("lxmert", "LXMERT's extract_coco_image.py", tuple(FIELDNAMES), "img_id", "img_h", "img_w",
                          True)
BOTTOM_UP_LAYOUT = TsvLayout("bottom-up", "bottom-up-attention's generate_tsv.py", tuple(BOTTOM_UP_FIELDNAMES),
                             "image_id", "image_h", "image_w", False)
LAYOUTS = {len(layout.fields): layout for layout in (LXMERT_LAYOUT, BOTTOM_UP_LAYOUT)}
NO_LABELS = "bottom-up-attention's 6-field TSV (generate_tsv.py) stores no object or attribute labels"
"""``Regions.labels_absent`` of regions read from the bottom-up layout."""


def layout_of_fields(fields: list[str], where: str, ended: bool = True) -> TsvLayout:
    """The layout of a line split at its tabs, by its number of columns.

    Raises:
        FeatureFileError: neither layout's count (the message names both layouts and their fields).
    """
    layout = LAYOUTS.get(len(fields))
    if layout is None:
        torn = "" if ended else " (the last line has no newline: an interrupted write?)"
        want = " or ".join(f"{len(lay.fields)} ({lay.writer}: {', '.join(lay.fields)})" for lay in LAYOUTS.values())
        raise FeatureFileError(f"{where}: {len(fields)} tab-separated columns, expected {want}{torn}")
    return layout
_ARRAYS = [("objects_id", "obj_ids", np.int64), ("objects_conf", "obj_conf", np.float32),
           ("attrs_id", "attr_ids", np.int64), ("attrs_conf", "attr_conf", np.float32)]
MAX_SIDE = 1_000_000
"""Largest ``img_h`` / ``img_w`` accepted."""
MAX_BOXES = 100_000
"""Largest ``num_boxes`` accepted."""
BOX_SLACK = 2.0
"""How many pixels a box may reach beyond the image (detector rounding)."""


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


def _unb64(text: str, dtype, n: int, width: int | None, where: str, field: str) -> np.ndarray:
    """Decode one base64 field into (n,) or (n, width) values; ``width=-1``: infer it."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise FeatureFileError(f"{where}: field {field!r} is not valid base64 ({err})") from None
    size = np.dtype(dtype).itemsize
    per_row = size * (1 if width is None else max(width, 1))
    if width == -1:
        if n == 0:
            if raw:
                raise FeatureFileError(f"{where}: field {field!r} holds {len(raw)} bytes for num_boxes=0")
            return np.zeros((0, 0), dtype)
        if not raw or len(raw) % (size * n):
            raise FeatureFileError(f"{where}: field {field!r} holds {len(raw)} bytes, not a whole number of "
                                   f"{size}-byte values per box for num_boxes={n}")
        width = len(raw) // (size * n)
    elif len(raw) != per_row * n:
        raise FeatureFileError(f"{where}: field {field!r} holds {len(raw)} bytes; num_boxes={n} needs "
                               f"{per_row * n} ({n} x {per_row // size} {np.dtype(dtype).name})")
    buf = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
    out = buf.reshape((n,) if width is None else (n, width))
    if out.dtype.kind == "f" and not np.isfinite(out).all():
        raise FeatureFileError(f"{where}: field {field!r} holds {int((~np.isfinite(out)).sum())} NaN or "
                               f"infinite values")
    return out


def _check_img_id(img_id) -> str:
    img_id = str(img_id)
    if not img_id or not img_id.isascii() or any(c in img_id for c in '\t\n\r"') or not img_id.isprintable():
        raise InputError(f"image id {img_id!r} cannot go into a feature TSV: it must be printable ASCII "
                         f"without tabs, newlines or double quotes (LXMERT's reader would split it)")
    return img_id


def regions_to_row(img_id: str, regions: Regions) -> dict[str, str]:
    """One TSV row (a dict of strings) for ``regions``' real rows."""
    img_id = _check_img_id(img_id)
    n = regions.num_real
    w, h = regions.image_size
    row = {"img_id": img_id, "img_h": str(h), "img_w": str(w), "num_boxes": str(n),
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


def _int_field(row: dict, field: str, low: int, high: int, where: str) -> int:
    text = row[field]
    if not (text.isascii() and text.isdigit()):
        raise FeatureFileError(f"{where}: {field} is {text[:40]!r}; it must be an integer in {low}..{high}")
    value = int(text)
    if not low <= value <= high:
        raise FeatureFileError(f"{where}: {field} is {value}; it must be in {low}..{high}")
    return value


def _check_boxes(boxes: np.ndarray, w: int, h: int, where: str) -> None:
    if not len(boxes):
        return
    x1, y1, x2, y2 = boxes.T
    if (x2 < x1).any() or (y2 < y1).any():
        i = int(np.flatnonzero((x2 < x1) | (y2 < y1))[0])
        raise FeatureFileError(f"{where}: box {i} {boxes[i].tolist()} is reversed; boxes are x1, y1, x2, y2 "
                               f"with x1 <= x2 and y1 <= y2")
    if boxes.min() < -BOX_SLACK or (x2 > w + BOX_SLACK).any() or (y2 > h + BOX_SLACK).any():
        raise FeatureFileError(f"{where}: boxes reach {boxes.min():g}..{max(x2.max(), y2.max()):g}, outside the "
                               f"{w} x {h} image; the format stores pixel boxes of the original image")
    if w > 2 and h > 2 and 0 < boxes.max() <= 1.0:
        raise FeatureFileError(f"{where}: every box lies within 0..1 on a {w} x {h} image: normalised boxes? "
                               f"the format stores pixel boxes (multiply by W, H, W, H)")


def row_to_regions(row: dict[str, str], labels: VGLabels | None = None, pad_to: int | None = None,
                   where: str = "TSV row") -> Regions:
    """Decode one TSV row of either layout into :class:`Regions` (padded to ``pad_to`` rows when given).

    Args:
        row: field name -> text, with either layout's field names (``img_id`` ... or ``image_id`` ...).
        labels: the detector's label names, to name LXMERT-layout regions (the bottom-up layout has none).
        pad_to: pad to this many rows.
        where: what to call the row in errors (the file and line).

    Raises:
        FeatureFileError: a field that does not decode or does not fit (see the module docstring).
    """
    layout = BOTTOM_UP_LAYOUT if BOTTOM_UP_LAYOUT.id_field in row else LXMERT_LAYOUT
    where = f"{where} ({layout.id_field} {row.get(layout.id_field, '?')!r})"
    h = _int_field(row, layout.h_field, 1, MAX_SIDE, where)
    w = _int_field(row, layout.w_field, 1, MAX_SIDE, where)
    n = _int_field(row, "num_boxes", 0, MAX_BOXES, where)
    boxes = _unb64(row["boxes"], np.float32, n, 4, where, "boxes")
    feats = _unb64(row["features"], np.float32, n, -1, where, "features")
    arrays = _ARRAYS if layout.labelled else []
    extra = {key: _unb64(row[field], dtype, n, None, where, field) for field, key, dtype in arrays}
    _check_boxes(boxes, w, h, where)
    r = max(n, pad_to or 0)
    if r > n:
        dim = feats.shape[1]
        boxes = np.concatenate([boxes, np.zeros((r - n, 4), np.float32)])
        feats = np.concatenate([feats, np.zeros((r - n, dim), np.float32)])
        extra = {k: np.concatenate([v, np.full(r - n, -1 if v.dtype == np.int64 else 0, v.dtype)])
                 for k, v in extra.items()}
    if not layout.labelled:
        return Regions(boxes, feats, (w, h), num_real=n, labels_absent=NO_LABELS)
    names = None
    if labels is not None:
        names = tuple(labels.region_label(int(o), int(a), float(c))
                      for o, a, c in zip(extra["obj_ids"], extra["attr_ids"], extra["attr_conf"]))
    return Regions(boxes, feats, (w, h), labels=names, scores=extra["obj_conf"].copy(), num_real=n, extra=extra)


def write_tsv(path: str | Path, items, append: bool = False) -> Path:
    """Write ``(img_id, Regions)`` pairs, one line each, in LXMERT's 10-field layout (``\n`` line ends).

    Args:
        path: the ``.tsv`` file.
        items: iterable of ``(img_id, Regions)`` or a dict ``{img_id: Regions}``.
        append: add to an existing file instead of replacing it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pairs = items.items() if isinstance(items, dict) else items
    lines = [format_row(regions_to_row(img_id, regions)) for img_id, regions in pairs]  # all checked first
    with open(path, "a" if append else "w", encoding="ascii", newline="") as f:
        f.writelines(lines)
    return path


def iter_tsv(path: str | Path, labels: VGLabels | None = None, pad_to: int | None = None,
             ) -> Iterator[tuple[str, Regions]]:
    """Yield ``(img_id, Regions)`` per line of a feature TSV in either layout (see the module docstring).

    Args:
        path: the ``.tsv`` file (LXMERT's 10 fields or bottom-up-attention's 6; ``\r\n`` or ``\n``).
        labels: label names for LXMERT-layout regions (the bottom-up layout has no labels to name).
        pad_to: pad each image's regions to this many rows.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"no feature TSV at {path}")
    if pad_to is not None and (isinstance(pad_to, bool) or not isinstance(pad_to, int) or pad_to < 0):
        raise InputError(f"pad_to must be None or an integer >= 0, got {pad_to!r}")
    seen: dict[str, int] = {}
    dim: tuple[int, int] | None = None  # (feature size, line it was first seen on)
    first: tuple[TsvLayout, int] | None = None  # (layout, line it was first seen on)
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            where = f"{path} line {lineno}"
            ended = raw.endswith(b"\n")
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue
            try:
                text = raw.decode("ascii")
            except UnicodeDecodeError as err:
                raise FeatureFileError(f"{where}: byte {err.start} is {raw[err.start:err.start + 1]!r}, not ASCII; "
                                       f"a feature TSV holds ASCII text only") from None
            fields = text.split("\t")
            if lineno == 1 and any(fields == list(lay.fields) for lay in LAYOUTS.values()):
                continue  # a header line: the documented fallback
            layout = layout_of_fields(fields, where, ended)
            if first is None:
                first = (layout, lineno)
            elif layout is not first[0]:
                raise FeatureFileError(f"{where}: {len(fields)} columns (the layout of {layout.writer}), but "
                                       f"line {first[1]} has {len(first[0].fields)} (the layout of "
                                       f"{first[0].writer}); one file holds one layout")
            row = dict(zip(layout.fields, fields))
            try:
                regions = row_to_regions(row, labels, pad_to, where)
            except FeatureFileError as err:
                torn = "" if ended else " (the last line has no newline: an interrupted write?)"
                raise FeatureFileError(f"{err}{torn}") from None
            img_id = row[layout.id_field]
            if img_id in seen:
                raise FeatureFileError(f"{where}: {layout.id_field} {img_id!r} is also on line {seen[img_id]}; each image "
                                       f"must appear once")
            seen[img_id] = lineno
            if regions.num_real:
                if dim is None:
                    dim = (regions.feats.shape[1], lineno)
                elif regions.feats.shape[1] != dim[0]:
                    raise FeatureFileError(f"{where}: {regions.feats.shape[1]} features per box, but line {dim[1]} "
                                           f"has {dim[0]}; one file holds one feature size")
            yield img_id, regions


def read_tsv(path: str | Path, labels: VGLabels | None = None, pad_to: int | None = None) -> dict[str, Regions]:
    """All images of a feature TSV (either layout) as ``{img_id: Regions}``.

    Args:
        path: the ``.tsv`` file.
        labels: label names for LXMERT-layout regions.
        pad_to: pad each image's regions to this many rows.

    Returns:
        ``{img_id: Regions}`` in file order; ids as written (bottom-up-attention's are integers as text).

    Example:
        >>> from lxmert_viz import Regions
        >>> path = write_tsv(tmp / "feats.tsv", {"img1": Regions(np.zeros((2, 4), "f4"), np.ones((2, 8), "f4"), (64, 48))})
        >>> read_tsv(tmp / "feats.tsv", pad_to=3)["img1"].feats.shape
        (3, 8)
    """
    return dict(iter_tsv(path, labels, pad_to))
