"""Extract a folder of images into a feature TSV or a directory of ``.npz`` files, resumably.

No tensors here beyond what the extractor returns.

* ``fmt="npz"``: ``<out>/<img_id>.npz`` per image, each written atomically (temp + rename);
  an image whose file exists is done.
* ``fmt="tsv"``: one line per image appended to ``<out>`` (a ``.tsv`` file), flushed and synced
  after each image. On resume, the file is scanned; a torn last line (the process died while
  writing) is cut off, and images already present are skipped.

A killed run (even by SIGKILL) loses at most the batch in flight and redoes nothing written.
An image that cannot be opened (truncated, not an image, a decompression bomb) does not stop the
run: it is recorded with the reason, the others go on, and the failures come back in the
:class:`FolderReport` and in one summary line logged at the end (``logging``, logger
``lxmert_viz.features.batch``). Nothing is written for a failed image, so a later run tries it
again. Images are opened and resized in a background thread while the detector runs on the
previous batch, so the detector's threads (``torch.get_num_threads()``, or ``threads=``) are
not kept waiting on JPEG decoding.

``img_id`` is the image's path relative to the folder, without suffix, with ``/`` separators.
"""
from __future__ import annotations

import csv
import logging
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..errors import InputError, MissingFileError
from ..printing import Card, Printable, listing
from .npz import save_npz
from .preprocess import load_image
from .tsv import FIELDNAMES, _set_field_limit, format_row, regions_to_row

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
log = logging.getLogger(__name__)


@dataclass
class Failure:
    """An image that could not be extracted: its id, its file and why."""

    img_id: str
    path: Path
    reason: str


@dataclass(repr=False)
class FolderReport(Printable):
    """What one :func:`extract_folder` call did.

    Attributes:
        done: ids extracted and written by this call, in order.
        skipped: ids already in the output (a resumed run), not redone.
        failed: images that could not be opened, with the reason; nothing was written for them.
    """

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)

    def _card(self) -> Card:
        return Card("FolderReport", [("extracted", len(self.done)), ("already done", len(self.skipped)),
                                     ("failed", listing(f"{f.path} ({f.reason})" for f in self.failed) or 0)],
                    "report.done / skipped / failed")

    def summary(self) -> str:
        """One line: counts, and each failed file with its reason."""
        line = (f"extract_folder: {len(self.done)} extracted, {len(self.skipped)} already done, "
                f"{len(self.failed)} failed")
        if self.failed:
            line += ": " + "; ".join(f"{f.path} ({f.reason})" for f in self.failed)
        return line


def list_images(folder: str | Path, suffixes=IMAGE_SUFFIXES) -> list[tuple[str, Path]]:
    """``(img_id, path)`` of every image under ``folder``, sorted by id."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(f"no image folder at {folder}")
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


def _reason(err: BaseException) -> str:
    return f"{type(err).__name__}: {' '.join(str(err).split()) or 'no message'}"


class _Prefetcher:
    """Opens (and, for a FasterRCNNExtractor, resizes) images in one background thread, in order."""

    def __init__(self, items: list[tuple[str, Path]], prepare: Callable, ahead: int):
        self.items, self.prepare, self.ahead = items, prepare, max(1, ahead)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="frcnn-prefetch")
        self.futures: dict[int, Future] = {}
        self.next = 0

    def _fill(self, upto: int):
        while self.next < min(upto, len(self.items)):
            self.futures[self.next] = self.pool.submit(self.prepare, self.items[self.next][1])
            self.next += 1

    def get(self, i: int):
        """The prepared item ``i`` (raises what preparing it raised), keeping ``ahead`` in flight."""
        self._fill(i + 1 + self.ahead)
        return self.futures.pop(i).result()

    def close(self):
        for f in self.futures.values():
            f.cancel()
        self.pool.shutdown(wait=True)


def _write(out: Path, fmt: str, img_id: str, regions) -> None:
    if fmt == "npz":
        save_npz(out / f"{img_id}.npz", regions)
        return
    with open(out, "a", encoding="ascii", newline="") as f:
        f.write(format_row(regions_to_row(img_id, regions)))
        f.flush()
        os.fsync(f.fileno())


def extract_folder(folder: str | Path, out: str | Path, extractor, fmt: str = "npz",
                   num_regions: int | None = 36, recipe: str = "bottom_up", batch_size: int = 1,
                   progress: bool = True, on_done: Callable[[str], None] | None = None,
                   threads: int | None = None, **selection) -> FolderReport:
    """Extract every image of ``folder``; safe to stop at any time and run again.

    Args:
        folder: images (searched recursively).
        out: a directory (``npz``) or a ``.tsv`` file (``tsv``).
        extractor: a ``FasterRCNNExtractor`` or ``CachedExtractor`` (anything with ``extract``).
        fmt: ``"npz"`` or ``"tsv"``.
        num_regions, recipe, **selection: passed to ``extractor.extract``.
        batch_size: images per forward pass; each image is written as soon as its batch ends.
        progress: show a tqdm bar.
        on_done: called with each img_id after it is safely written.
        threads: torch threads for the detector during this call (default: leave as set).

    Returns:
        FolderReport: ids extracted, ids skipped as already done, and failures with reasons.

    Example:
        >>> from PIL import Image
        >>> from lxmert_viz.features import FRCNNConfig, FasterRCNNExtractor
        >>> folder = tmp / "images"
        >>> folder.mkdir()
        >>> Image.new("RGB", (64, 48)).save(folder / "a.png")
        >>> _ = (folder / "broken.jpg").write_text("not an image")
        >>> ex = FasterRCNNExtractor.random(FRCNNConfig.tiny())
        >>> report = extract_folder(folder, tmp / "feats.tsv", ex, fmt="tsv", num_regions=5, progress=False)
        >>> report.done, [(f.path.name, f.reason.split(":")[0]) for f in report.failed]
        (['a'], [('broken.jpg', 'ImageError')])
    """
    if fmt not in ("npz", "tsv"):
        raise InputError(f"fmt must be 'npz' or 'tsv', got {fmt!r}")
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}")
    out = Path(out)
    items = list_images(folder)
    if fmt == "npz":
        out.mkdir(parents=True, exist_ok=True)
        done_ids = {i for i, _ in items if (out / f"{i}.npz").is_file()}
    else:
        done_ids = tsv_done_ids(out)
        out.parent.mkdir(parents=True, exist_ok=True)
    report = FolderReport(skipped=[i for i, _ in items if i in done_ids])
    todo = [(i, p) for i, p in items if i not in done_ids]
    # A FasterRCNNExtractor prepares images (open + resize) apart from running the network;
    # any other extractor gets decoded arrays.
    split = hasattr(extractor, "prepare") and hasattr(extractor, "extract_prepared")
    settings = extractor.settings(num_regions, recipe, **selection) if split else None
    prefetch = _Prefetcher(todo, extractor.prepare if split else load_image, ahead=2 * batch_size)
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    bar = tqdm(total=len(items), initial=len(report.skipped), disable=not progress, desc="regions", unit="img")
    try:
        pos = 0
        while pos < len(todo):
            chunk, ready = [], []
            while pos < len(todo) and len(chunk) < batch_size:
                img_id, path = todo[pos]
                try:
                    ready.append(prefetch.get(pos))
                    chunk.append(img_id)
                except Exception as err:  # one bad image: record it, go on with the others
                    report.failed.append(Failure(img_id, path, _reason(err)))
                    bar.update(1)
                pos += 1
            if not chunk:
                continue
            if split:
                results = extractor.extract_prepared(ready, settings)
            else:
                results = extractor.extract(ready, num_regions=num_regions, recipe=recipe,
                                            batch_size=batch_size, **selection)
            for img_id, regions in zip(chunk, results):
                _write(out, fmt, img_id, regions)
                report.done.append(img_id)
                if on_done is not None:
                    on_done(img_id)
                bar.update(1)
    finally:
        bar.close()
        prefetch.close()
        if threads is not None:
            torch.set_num_threads(old_threads)
    (log.warning if report.failed else log.info)(report.summary())
    return report
