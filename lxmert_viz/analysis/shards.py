"""The shard loop both backends share: which examples make shard k, which batches compute it,
skipping the shards done, and the manifest after each shard.

Shape letters: N examples, S shard size, B batch size.

Shard ``k`` is examples ``[k * S, (k + 1) * S)``. Batch ``j`` (one forward pass) is examples
``[j * B, (j + 1) * B)``, fixed by the example's index alone. LXMERT's float32 numbers depend on
the shape of the padded batch (its rows, tokens and images: the same question at batch 1 and
batch 8 differs in the last bits), so fixing the membership of each batch is what makes a record
the same, bit for bit, whatever the shard size, the backend, Ray's blocks or where a killed run
resumed, for the same B and torch thread count. A batch that straddles two shards is computed
whole and each shard keeps its own rows: the local backend computes it once, a Ray segment
computes the batches at both of its ends (none straddles when B divides S, as 32 divides Ray's
default 20,000). Records do depend on B, which the manifest records (`RunPlan.config`).

`run_shards` is the loop; a backend is a function ``write(shard) -> (path, rows)`` that computes
the shard's records and writes them atomically under ``OUT/shards`` (`lxmert_viz.analysis.manifest`).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .batch import BatchWorker
from .example import Example
from .manifest import shard_files, write_manifest
from .plan import RunPlan
from .run_info import RunInfo
from .schema import infer_columns, record_schema

Pair = tuple[int, Example]


@dataclass(frozen=True)
class Shard:
    """Shard ``k``: examples ``[start, stop)``, and every example of the batches that cover them.

    Attributes:
        k, start, stop: the shard's number and its examples' indices.
        pairs: ``(index, example)`` of each batch that holds one of the shard's examples, in
            order; the first and last batch may reach outside ``[start, stop)``.
        batch_size: B.
    """

    k: int
    start: int
    stop: int
    pairs: tuple[Pair, ...]
    batch_size: int

    @property
    def rows(self) -> int:
        return self.stop - self.start

    def batches(self) -> list[list[Pair]]:
        """The shard's batches, whole: batch ``j`` is the pairs with ``index // B == j``."""
        return [list(g) for _, g in groupby(self.pairs, key=lambda p: p[0] // self.batch_size)]

    def holds(self, index: int) -> bool:
        return self.start <= index < self.stop


def cut_shards(examples: Iterable[Example], batch_size: int, shard_size: int, done: dict,
               count: list[int]) -> Iterator[Shard]:
    """The shards not in ``done``, in order, each with the whole batches that cover it; at most one
    shard's examples (and two batches) are held. ``count[0]`` is the examples read so far (N at
    the end).

    Example:
        >>> n = [0]
        >>> [(s.k, s.start, s.stop, [i for i, _ in s.pairs]) for s in cut_shards("abcdefg", 3, 4, {1: {}}, n)]
        [(0, 0, 4, [0, 1, 2, 3, 4, 5])]
        >>> n
        [7]
        >>> [[len(b) for b in s.batches()] for s in cut_shards("abcdefg", 3, 2, {}, n)]
        [[3], [3, 3], [3], [1]]
    """
    b, s = batch_size, shard_size
    held: list[Pair] = []
    k = 0

    def ready(k: int) -> int:  # examples read when the batch holding shard k's last example is complete
        return (((k + 1) * s - 1) // b + 1) * b

    def shard(k: int, stop: int) -> Shard:
        first = k * s // b * b  # the first example of the batch that holds the shard's first
        return Shard(k, k * s, stop, tuple(p for p in held if p[0] >= first), b)

    count[0] = 0
    for i, ex in enumerate(examples):
        count[0] = i + 1
        held.append((i, ex))
        while i + 1 >= ready(k):
            if k not in done:
                yield shard(k, (k + 1) * s)
            k += 1
            held = [p for p in held if p[0] >= k * s // b * b]
    n = count[0]
    while k * s < n:  # the last shard: its last batch ends with the data set
        if k not in done:
            yield shard(k, min((k + 1) * s, n))
        k += 1


def run_schema(worker: BatchWorker, out: Path, done: dict, first_records: list[dict] | None) -> pa.Schema:
    """The records' schema: a finished shard's (so a resumed run matches it), else the declared
    columns plus those of undeclared (custom) columns typed from the first batch."""
    if done:
        return pq.read_schema(shard_files(Path(out) / done[min(done)]["path"])[0])
    cols = worker.columns()
    if first_records:
        cols.update(infer_columns([{k: v for k, v in r.items() if k not in cols} for r in first_records]))
    return record_schema(cols)


def run_shards(plan: RunPlan, manifest: dict, done: dict, write: Callable[[Shard], tuple[Path, int]],
               t0: float) -> RunInfo:
    """Every shard not ``done``: ``write`` computes and writes it, then the manifest lists it."""
    out = Path(plan.out)
    count = [0]
    written = n_written = 0
    for shard in cut_shards(plan.dataset, plan.batch_size, plan.shard_size, done, count):
        path, rows = write(shard)
        if rows != shard.rows:
            raise RuntimeError(f"{rows} records were written for the {shard.rows} examples of shard {shard.k}")
        manifest["shards"][str(shard.k)] = {"path": str(path.relative_to(out)), "rows": rows,
                                            "start": shard.start, "stop": shard.stop}
        write_manifest(out, manifest)
        written += 1
        n_written += rows
    manifest["examples"] = count[0]
    manifest["complete"] = True
    write_manifest(out, manifest)
    return RunInfo(out, count[0], len(done), written, n_written, time.perf_counter() - t0)
