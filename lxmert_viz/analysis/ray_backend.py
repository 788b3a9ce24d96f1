"""The Ray Data backend: the same per-batch function on a Ray cluster (or a local Ray).

Shape letters: N examples, S examples per segment, B batch size.

Ray Data's batch-inference pattern: the examples of a segment become a `ray.data` dataset of
plain rows (`Example.row`: paths and strings, no pickled objects), ``map_batches`` runs a callable
class, `RecordWorker`, whose constructor builds a `BatchWorker` (so each Ray worker loads the model
once) and whose call turns a batch of rows into an Arrow table of records, and ``write_parquet``
streams the records to a hidden folder that is renamed into ``OUT/shards/part-K`` when the
segment is complete. ``concurrency`` (workers: a count or ``(min, max)``; an actor pool),
``num_gpus`` and ``num_cpus`` (per worker) go to ``map_batches``. A killed run resumes from the last complete segment.

Ray is optional: ``pip install 'lxmert_viz[ray]'``.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pyarrow as pa

from .batch import BatchWorker
from .example import example_from_row
from .manifest import publish_folder, shard_path, shards_on_disk, write_manifest
from .run_info import RunInfo
from .schema import records_to_table

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
        gpu: move the model to the worker's GPU (when ``num_gpus`` gave it one).
        schema: the records' Arrow schema, serialized (``schema.serialize().to_pybytes()``).
        batch_fn: the per-batch function (default `BatchWorker.records`).
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

    def __call__(self, batch: pa.Table) -> pa.Table:
        pairs = [(int(r["index"]), example_from_row(r)) for r in batch.to_pylist()]
        return records_to_table(self.batch_fn(self.worker, pairs), self.schema)


def _pool(ray, concurrency):
    """``concurrency`` workers: a count, or ``(min, max)`` for an autoscaling pool (Ray 2.51+ takes
    this as ``compute=ActorPoolStrategy``; its own ``concurrency=`` argument is deprecated)."""
    if isinstance(concurrency, (tuple, list)):
        lo, hi = concurrency
        return ray.data.ActorPoolStrategy(min_size=int(lo), max_size=int(hi))
    if int(concurrency) < 1:
        raise ValueError(f"concurrency must be at least 1 worker, got {concurrency}")
    return ray.data.ActorPoolStrategy(size=int(concurrency))


def _connect(ray, address: str | None) -> None:
    if ray.is_initialized():
        return
    if address is not None:
        ray.init(address=address)
    else:  # a local instance for this process
        ray.init(include_dashboard=False)


def run_ray(ds, worker: BatchWorker, model, out: Path, manifest, done, batch_size, shard_size, batch_fn, progress,
            t0, detector=True, address=None, concurrency=1, num_gpus=0, num_cpus=None, schema_of=None):
    """Run the segments of ``ds`` that are not done on Ray; see `lxmert_viz.analysis.run`."""
    ray = require_ray()
    _connect(ray, address)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = bool(progress)
    schema = None
    written = n_written = count = 0
    segment: list[dict] = []

    def run_segment(k: int, start: int, stop: int):
        nonlocal schema, written, n_written
        if not segment:
            return
        if schema is None:  # typed on the driver from the first batch (custom columns too)
            first = [(r["index"], example_from_row(r)) for r in segment[:batch_size]]
            schema = schema_of((batch_fn or BatchWorker.records)(worker, first))
        final = shard_path(out, k, ray=True)
        tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        final.parent.mkdir(parents=True, exist_ok=True)
        data = ray.data.from_items(list(segment))
        kwargs = {"num_gpus": num_gpus} if num_gpus else {}
        if num_cpus is not None:
            kwargs["num_cpus"] = num_cpus
        records = data.map_batches(
            RecordWorker, batch_size=batch_size, batch_format="pyarrow", compute=_pool(ray, concurrency),
            fn_constructor_kwargs={"model": model, "stats": worker.stats, "top_k": worker.top_k,
                                   "methods": worker.methods, "maps": worker.maps,
                                   "schema": schema.serialize().to_pybytes(), "batch_fn": batch_fn,
                                   "threads": int(num_cpus) if num_cpus else None, "gpu": bool(num_gpus),
                                   "detector": detector},
            **kwargs)
        # writing is I/O: a small CPU share, so it is scheduled even while the workers hold every CPU
        records.write_parquet(str(tmp), min_rows_per_file=min(len(segment), 10_000), ray_remote_args={"num_cpus": 0.25})
        publish_folder(tmp, final)
        rows = shards_on_disk(out)[k]["rows"]
        if rows != len(segment):
            raise RuntimeError(f"Ray wrote {rows} records for {len(segment)} examples of segment {k}")
        manifest["shards"][str(k)] = {"path": str(final.relative_to(out)), "rows": rows, "start": start, "stop": stop}
        write_manifest(out, manifest)
        written += 1
        n_written += rows
        segment.clear()

    for i, ex in enumerate(ds):
        count = i + 1
        k = i // shard_size
        if k in done:
            continue
        segment.append({"index": i, **ex.row()})
        if count % shard_size == 0:
            run_segment(k, k * shard_size, count)
    if segment:
        k = (count - 1) // shard_size
        run_segment(k, k * shard_size, count)
    manifest["examples"] = count
    manifest["complete"] = True
    write_manifest(out, manifest)
    return RunInfo(out, count, len(done), written, n_written, time.perf_counter() - t0)
