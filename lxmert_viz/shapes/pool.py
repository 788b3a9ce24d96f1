"""Per-image work of the shapes tables spread over processes, results in input order.

Drawing a scene and extracting its regions is pure numpy and Pillow, one image at a time, and
deterministic in its input: running it in another process gives the same bytes, so a table built
with ``workers=2`` equals the one built with ``workers=1`` (``tests/test_shapes_pool.py``). Fresh
``spawn`` processes are used (no fork of a process that may hold torch or tokenizers threads), so
a script that builds tables with workers must guard its top level with ``if __name__ == "__main__"``.
"""
from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from tqdm.auto import tqdm

from ..errors import InputError

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS_PER_WORKER = 200
"""Fewer items than this per worker run in this process: starting a worker costs about a second."""


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int = 1, progress: str | None = None) -> list[R]:
    """``[fn(x) for x in items]``, over ``workers`` processes when there are enough items.

    Args:
        fn: a module-level function (it is sent to the workers by name).
        items: its inputs (picklable).
        workers: processes; 1 (or too few items) runs here.
        progress: the description of a progress bar (count, rate, ETA) on stderr; None: no bar.

    Example:
        >>> ordered_map(abs, [-2, 1, -3])
        [2, 1, 3]
    """
    items = list(items)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be an integer >= 1, got {workers!r}")
    workers = min(workers, len(items) // MIN_ITEMS_PER_WORKER)
    with tqdm(total=len(items), desc=progress, disable=progress is None, mininterval=2.0) as bar:
        if workers <= 1:
            return [_counted(fn(x), bar) for x in items]
        chunk = max(1, len(items) // (workers * 8))
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as ex:
            return [_counted(r, bar) for r in ex.map(fn, items, chunksize=chunk)]


def _counted(result: R, bar) -> R:
    bar.update(1)
    return result
