"""`run`: statistics of every example of a data set, in batches, into Parquet shards.

Shape letters: N examples, S shard size, B batch size.

`run` checks its arguments and makes a `RunPlan`; `execute` runs a plan: it loads the model
once in this process, opens the run folder (`lxmert_viz.analysis.manifest`) and hands the shards
not yet done to one loop (`lxmert_viz.analysis.shards`) with the backend's writer: this process
(`lxmert_viz.analysis.local_backend`) or Ray Data (`lxmert_viz.analysis.ray_backend`).

Examples ``[k * S, (k + 1) * S)`` make shard ``k``; a shard is written atomically when it is
complete, so at most one shard of records is in memory and memory stays flat in N, and a run that
is killed and started again with the same arguments skips the shards on disk and computes only
the rest. Batch ``j`` (one forward pass) is examples ``[j * B, (j + 1) * B)`` in both backends, so
a record is the same, bit for bit, whatever the shard size, the backend, Ray's blocks or a resume,
for the same B, torch thread count and device. It is not the same across batch sizes: float32
results depend on the padded batch's shape (the same question in batches of 3 and of 8 differs by
up to 4e-6, answers equal, even with the tokens padded to one length), and only one fixed batch
shape for every run would remove that (batch 1 runs at about a third of batch 32's rate), so B is
one of the run's settings.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError, MissingFileError
from .batch import MapsRequest
from .datasets import Dataset, as_dataset, open_dataset
from .example import Example
from .local_backend import LocalShards
from .manifest import iter_shard_paths, open_run
from .plan import BACKENDS, DEFAULT_SHARD_SIZE, BatchFn, RayOptions, RunPlan
from .ray_backend import RayShards, require_ray
from .run_info import RunInfo
from .shards import run_shards
from .stats import Stat, resolve


def execute(plan: RunPlan, t0: float | None = None) -> RunInfo:
    """Run a plan: load the model, open (or resume) the run folder, write every shard not done."""
    t0 = time.perf_counter() if t0 is None else t0
    worker = plan.make_worker()
    manifest, done = open_run(plan.out, plan.config(worker))
    write = (LocalShards if plan.backend == "local" else RayShards)(plan, worker, done)
    try:
        return run_shards(plan, manifest, done, write, t0)
    finally:
        write.close()


def run(dataset: Dataset | Iterable[Example] | str, stats: Sequence[str | Stat | Callable] | str | None = None,
        out: str | Path = "analysis", backend: str = "local", batch_size: int = 32, model=None,
        shard_size: int | None = None, top_k: int = 5, methods: Sequence[str] = (), maps=None,
        limit: int | None = None, progress: bool = True, batch_fn: BatchFn | None = None,
        address: str | None = None, concurrency: int = 1, num_gpus: float = 0, num_cpus: float | None = None,
        device: str | None = None) -> RunInfo:
    """Compute statistics for every example of a data set and write them as Parquet shards.

    Args:
        dataset: a `Dataset`, a list of `Example`s, or a spec for `open_dataset` (``"shapes:500"``).
        stats: statistic names (``"entropy,pointing"`` or a list), `Stat`s or functions
            ``(result, encoded, ctx) -> {column: value}``; default `DEFAULT_STATS`.
        out: the run folder (made if missing; an existing run there is resumed).
        backend: ``"local"`` (this process) or ``"ray"`` (Ray Data; ``pip install 'lxmert_viz[ray]'``).
        batch_size: questions per forward pass: batch j is examples ``[j * B, (j + 1) * B)``, so the
            records are the same bit for bit across backends, shard sizes and Ray's blocks for
            one batch size (not across batch sizes: see the module's docstring).
        model: None (the embedded shapes model), a name or folder for `lxmert_viz.load`, a `Kit`,
            or a function returning a kit (what each Ray worker calls once).
        shard_size: examples per shard, the unit a killed run resumes from (default 1000 local,
            20000 per Ray segment).
        top_k: answers kept by the ``topk`` statistic.
        methods: explanation methods of the ``explain`` statistic (default: all four).
        maps: keep full float16 maps for some examples: a count (the first n), ids, or a `MapsRequest`.
        limit: only the first ``limit`` examples.
        progress: show a progress bar (tqdm).
        batch_fn: a custom per-batch function ``(worker, [(index, example), ...]) -> records``
            in place of `BatchWorker.records` (use ``worker.encode`` / ``forward`` / ``results`` /
            ``statistics``); it must return one record per example, with ``index`` and ``id``.
        address: Ray: the cluster to join (``ray.init(address=...)``); None starts a local Ray
            unless one is already running in this process.
        concurrency: Ray: workers (each loads the model once).
        num_gpus, num_cpus: Ray: per worker (a worker given a GPU moves its model there).
        device: local: where the model runs (``"cuda"``); default where it is.

    Returns:
        `RunInfo`; read the records with `read_records` or `summarize`.

    Example:
        >>> info = run("shapes:2", ["answer", "pointing"], tmp / "run", batch_size=8, progress=False)
        >>> info.examples, info.shards_written, sorted(p.name for p in (tmp / "run").iterdir())
        (24, 1, ['manifest.json', 'shards'])
    """
    t0 = time.perf_counter()
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "ray":
        require_ray()
    stats = resolve(stats)  # names checked before any model loads
    ds = open_dataset(dataset) if isinstance(dataset, str) else as_dataset(dataset)
    if limit is not None:
        ds = ds.take(limit)
    first = next(iter(ds), None)
    plan = RunPlan(
        dataset=ds, stats=tuple(stats), out=Path(out), backend=backend, batch_size=int(batch_size),
        shard_size=DEFAULT_SHARD_SIZE[backend] if shard_size is None else int(shard_size), model=model,
        top_k=int(top_k), methods=tuple(methods), maps=MapsRequest.of(maps), batch_fn=batch_fn, device=device,
        detector=first is None or first.regions is None,  # a features-only data set needs no detector
        progress=progress, ray=RayOptions(address, concurrency, num_gpus, num_cpus))
    return execute(plan, t0)


def read_records(out: str | Path, columns: Sequence[str] | None = None) -> pa.Table:
    """Every record of a run as one Arrow table (for small runs; `summarize` streams instead).

    Example:
        >>> _ = run("shapes:1", ["answer"], tmp / "r", progress=False)
        >>> read_records(tmp / "r", ["id", "answer"]).num_rows
        10
    """
    files = iter_shard_paths(Path(out))
    if not files:
        raise MissingFileError(f"{out} holds no finished shard yet")
    tables = [pq.read_table(f, columns=list(columns) if columns is not None else None) for f in files]
    return pa.concat_tables(tables).sort_by("index") if "index" in tables[0].column_names else pa.concat_tables(tables)
