"""Extract a folder of images into a feature TSV or a directory of ``.npz`` files, resumably.

No tensors here beyond what the extractor returns.

* ``fmt="npz"``: ``<out>/<img_id>.npz`` per image, each written atomically (temp + rename);
  an image whose file exists is done.
* ``fmt="tsv"``: one line per image appended to ``<out>`` (a ``.tsv`` file), flushed and synced
  after each image. On resume, the file is scanned; a torn last line (the process died while
  writing) is cut off, and images already present are skipped.

``img_id`` is the image's path relative to the folder, without suffix, with ``/`` separators.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm

from .npz import save_npz
from .tsv import FIELDNAMES, _set_field_limit, format_row, regions_to_row

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def list_images(folder: str | Path, suffixes=IMAGE_SUFFIXES) -> list[tuple[str, Path]]:
    """``(img_id, path)`` of every image under ``folder``, sorted by id."""
    folder = Path(folder)
    found = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes]
    return sorted(((p.relative_to(folder).with_suffix("").as_posix(), p) for p in found), key=lambda t: t[0])


def tsv_done_ids(path: str | Path) -> set[str]:
    """Ids already in a TSV; cuts a torn last line off the file first."""
    path = Path(path)
    if not path.is_file():
        return set()
    data = path.read_bytes()
    good = data.rfind(b"\n") + 1  # a line is complete only with its newline
    if good < len(data):
        with open(path, "r+b") as f:
            f.truncate(good)
    _set_field_limit()
    done = set()
    with open(path, encoding="ascii", newline="") as f:
        for row in csv.DictReader(f, FIELDNAMES, delimiter="\t"):
            if row.get("features") is not None:
                done.add(row["img_id"])
    return done


def extract_folder(folder: str | Path, out: str | Path, extractor, fmt: str = "npz",
                   num_regions: int | None = 36, recipe: str = "bottom_up", batch_size: int = 1,
                   progress: bool = True, on_done: Callable[[str], None] | None = None, **selection) -> list[str]:
    """Extract every image of ``folder``; safe to stop at any time and run again.

    Args:
        folder: images (searched recursively).
        out: a directory (``npz``) or a ``.tsv`` file (``tsv``).
        extractor: a ``FasterRCNNExtractor`` or ``CachedExtractor``.
        fmt: ``"npz"`` or ``"tsv"``.
        num_regions, recipe, **selection: passed to ``extractor.extract``.
        batch_size: images per forward pass; each image is written as soon as its batch ends.
        progress: show a tqdm bar.
        on_done: called with each img_id after it is safely written.

    Returns:
        list[str]: ids extracted in this call (not those skipped).
    """
    if fmt not in ("npz", "tsv"):
        raise ValueError(f"fmt must be 'npz' or 'tsv', got {fmt!r}")
    out = Path(out)
    items = list_images(folder)
    if fmt == "npz":
        out.mkdir(parents=True, exist_ok=True)
        todo = [(i, p) for i, p in items if not (out / f"{i}.npz").is_file()]
    else:
        done = tsv_done_ids(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        todo = [(i, p) for i, p in items if i not in done]
    written: list[str] = []
    bar = tqdm(total=len(items), initial=len(items) - len(todo), disable=not progress, desc="regions", unit="img")
    try:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start:start + batch_size]
            results = extractor.extract([p for _, p in chunk], num_regions=num_regions, recipe=recipe,
                                        batch_size=batch_size, **selection)
            for (img_id, _), regions in zip(chunk, results):
                if fmt == "npz":
                    save_npz(out / f"{img_id}.npz", regions)
                else:
                    with open(out, "a", encoding="ascii", newline="") as f:
                        f.write(format_row(regions_to_row(img_id, regions)))
                        f.flush()
                        os.fsync(f.fileno())
                written.append(img_id)
                if on_done is not None:
                    on_done(img_id)
                bar.update(1)
    finally:
        bar.close()
    return written
