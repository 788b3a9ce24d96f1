"""The Ray Data backend: the same per-batch function on a Ray cluster (or a local Ray).

Shape letters: B batch size.

Ray Data's batch-inference pattern: a segment (a shard of the run, `lxmert_viz.analysis.shards`)
becomes a `ray.data` dataset with one row per batch: batch ``j`` is examples ``[j * B, (j + 1) * B)``
as `Example.row` dicts (paths and strings, no pickled objects) in one JSON string, plus the
segment's range. ``map_batches`` runs a callable class, `RecordWorker`, whose constructor builds a
`BatchWorker` (so each Ray worker loads the model once) and whose call turns each such row into
the records of the segment's examples in it. A Ray block holds whole rows, so no block boundary
can split a batch: the records equal the local backend's bit for bit whatever Ray's blocks (with
the same torch thread count per worker). ``write_parquet`` streams the records to a hidden folder
that is renamed into ``OUT/shards/part-K`` when the segment is complete. ``concurrency`` (workers:
a count or ``(min, max)``; an actor pool), ``num_gpus`` and ``num_cpus`` (per worker) go to
``map_batches``. A killed run resumes from the last complete segment.

Ray is optional: ``pip install 'lxmert_viz[ray]'``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa

from ..errors import InputError
from .batch import BatchWorker
from .example import example_from_row
from .manifest import publish_folder, shard_path, shards_on_disk
from .plan import RunPlan
from .schema import records_to_table
from .shards import Shard, run_schema

INSTALL = "pip install 'lxmert_viz[ray]'"


def require_ray():
    """The ``ray`` module with Ray Data, or an ImportError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise ImportError(f"backend='ray' needs Ray Data, which is not installed: {INSTALL} "
                          "(or use the default backend='local')") from None
    return ray


class RecordWorker:
    """The callable class ``map_batches`` runs: one per Ray worker, model loaded once.

    Args:
        model, stats, top_k, methods, maps, detector: as `BatchWorker`.
        schema: the records' Arrow schema, serialized (``schema.serialize().to_pybytes()``).
        batch_fn: the per-batch function (default `BatchWorker.records`).
        threads: torch threads of the worker (records are bitwise equal only at equal thread counts).
        gpu: move the model to the worker's GPU (when ``num_gpus`` gave it one).
    """

    def __init__(self, model, stats, top_k, methods, maps, schema: bytes, batch_fn=None, threads: int | None = None,
                 gpu: bool = False, detector: bool = True):
        import torch

        if threads:
            torch.set_num_threads(threads)
        device = "cuda" if gpu and torch.cuda.is_available() else None  # Ray sets CUDA_VISIBLE_DEVICES
        self.worker = BatchWorker(model, stats, top_k, methods, maps, device=device, detector=detector)
        self.schema = pa.ipc.read_schema(pa.py_buffer(schema))
        self.batch_fn = batch_fn or BatchWorker.records

    def __call__(self, rows: pa.Table) -> pa.Table:
        """Rows of `batch_rows` (whole batches) -> the records of their examples that lie in the segment."""
        recs = []
        for row in rows.to_pylist():
            pairs = [(int(r["index"]), example_from_row(r)) for r in json.loads(row["examples"])]
            out = self.batch_fn(self.worker, pairs)
            if len(out) != len(pairs):
                raise InputError(f"the batch function returned {len(out)} records for {len(pairs)} examples")
            recs += [r for r in out if row["start"] <= r["index"] < row["stop"]]
        return records_to_table(recs, self.schema)


def batch_rows(shard: Shard) -> list[dict]:
    """One Ray row per whole batch of the segment: its examples' rows (JSON) and the segment's range.

    Example:
        >>> from lxmert_viz.analysis import Example
        >>> s = Shard(1, 2, 4, tuple((i, Example(str(i), "q?", image="x.png")) for i in range(6)), 3)
        >>> [(len(json.loads(r["examples"])), r["start"], r["stop"]) for r in batch_rows(s)]
        [(3, 2, 4), (3, 2, 4)]
    """
    return [{"examples": json.dumps([{"index": i, **ex.row()} for i, ex in batch]), "start": shard.start,
             "stop": shard.stop} for batch in shard.batches()]


def _pool(ray, concurrency):
    """``concurrency`` workers: a count, or ``(min, max)`` for an autoscaling pool (Ray 2.51+ takes
    this as ``compute=ActorPoolStrategy``; its own ``concurrency=`` argument is deprecated)."""
    if isinstance(concurrency, (tuple, list)):
        lo, hi = concurrency
        return ray.data.ActorPoolStrategy(min_size=int(lo), max_size=int(hi))
    if int(concurrency) < 1:
        raise InputError(f"concurrency must be at least 1 worker, got {concurrency}")
    return ray.data.ActorPoolStrategy(size=int(concurrency))


def _connect(ray, address: str | None) -> None:
    if ray.is_initialized():
        return
    if address is not None:
        ray.init(address=address)
    else:  # a local instance for this process
        ray.init(include_dashboard=False)


class RayShards:
    """Computes and writes segments on Ray (the shard loop's ``write``); ``close()`` does nothing.

    Args:
        plan: the run (its `RayOptions` say where and how).
        worker: the driver's `BatchWorker`: it types the schema from the first batch.
        done: the segments already on disk.
    """

    def __init__(self, plan: RunPlan, worker: BatchWorker, done: dict):
        self.ray = require_ray()
        _connect(self.ray, plan.ray.address)
        self.ray.data.DataContext.get_current().enable_progress_bars = bool(plan.progress)
        self.plan, self.worker, self.done = plan, worker, done
        self.schema = None

    def _args(self) -> dict:
        p, opts = self.plan, self.plan.ray
        kwargs = {"num_gpus": opts.num_gpus} if opts.num_gpus else {}
        if opts.num_cpus is not None:
            kwargs["num_cpus"] = opts.num_cpus
        ctor = {"model": p.model, **p.worker_args(),
                "schema": self.schema.serialize().to_pybytes(), "batch_fn": p.batch_fn,
                "threads": int(opts.num_cpus) if opts.num_cpus else None, "gpu": bool(opts.num_gpus)}
        return {"fn_constructor_kwargs": ctor, "compute": _pool(self.ray, opts.concurrency), **kwargs}

    def __call__(self, shard: Shard) -> tuple[Path, int]:
        ray, out = self.ray, Path(self.plan.out)
        rows = batch_rows(shard)
        if self.schema is None:  # typed on the driver from the first batch (custom columns too)
            first = shard.batches()[0]
            self.schema = run_schema(self.worker, out, self.done, self.plan.records(self.worker, first))
        final = shard_path(out, shard.k, ray=True)
        tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        final.parent.mkdir(parents=True, exist_ok=True)
        data = ray.data.from_items(rows, override_num_blocks=self.plan.ray.blocks)
        # one row (one whole batch) per call: how Ray groups rows into blocks cannot change a record
        records = data.map_batches(RecordWorker, batch_size=1, batch_format="pyarrow", **self._args())
        # writing is I/O: a small CPU share, so it is scheduled even while the workers hold every CPU
        records.write_parquet(str(tmp), min_rows_per_file=min(shard.rows, 10_000), ray_remote_args={"num_cpus": 0.25})
        publish_folder(tmp, final)
        return final, shards_on_disk(out)[shard.k]["rows"]

    def close(self) -> None:
        pass
