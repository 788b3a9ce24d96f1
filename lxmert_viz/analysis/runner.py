"""`run`: statistics of every example of a data set, in batches, into Parquet shards.

Shape letters: N examples, S shard size, B batch size.

Examples ``[k * S, (k + 1) * S)`` make shard ``k``. A shard is computed in batches of B by
`BatchWorker.records` (or a custom ``batch_fn``) and written atomically when it is complete, so
at most one shard of records is in memory and memory stays flat in N; a run that is killed and
started again with the same arguments skips the shards on disk (`lxmert_viz.analysis.manifest`)
and computes only the rest. The Ray backend runs the same per-batch code on a Ray cluster
(`lxmert_viz.analysis.ray_backend`).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .batch import BatchWorker, MapsRequest
from .datasets import Dataset, as_dataset, open_dataset
from .example import Example
from .manifest import (
    FORMAT, MANIFEST, clean_temporary, completed_shards, read_manifest, shard_path, shard_files, write_manifest,
    write_shard,
)
from .run_info import RunInfo
from .schema import infer_columns, record_schema, records_to_table
from .stats import Stat, resolve

BACKENDS = ("local", "ray")
DEFAULT_SHARD_SIZE = {"local": 1000, "ray": 20000}
BatchFn = Callable[[BatchWorker, list[tuple[int, Example]]], list[dict]]


def _describe_model(model, kit) -> dict:
    if model is None or isinstance(model, str) or hasattr(model, "__fspath__"):
        spec = "shapes (embedded)" if model is None else str(model)
    else:
        spec = getattr(model, "__qualname__", type(model).__name__)
    return {"spec": spec, "kit": kit.name, "answers": len(kit.answers)}


def _config(ds: Dataset, worker: BatchWorker, model, backend, batch_size, shard_size, batch_fn) -> dict:
    return {
        "dataset": ds.describe(), "model": _describe_model(model, worker.kit), "shape": worker.shape.to_dict(),
        "stats": [s.name for s in worker.stats], "top_k": worker.top_k, "methods": list(worker.methods),
        "maps": None if worker.maps is None else worker.maps.to_dict(), "backend": backend,
        "batch_size": batch_size, "shard_size": shard_size,
        "batch_fn": None if batch_fn is None else getattr(batch_fn, "__qualname__", repr(batch_fn)),
    }


def _prepare(out: Path, config: dict) -> tuple[dict, dict[int, dict]]:
    """The manifest to continue (or a new one) and the shards already done."""
    manifest = read_manifest(out)
    if manifest is None:
        if out.exists() and any(out.iterdir()):
            raise FileExistsError(f"{out} is not empty and holds no {MANIFEST}: give a new or empty folder for a run")
        out.mkdir(parents=True, exist_ok=True)
        manifest = {"format": FORMAT, "config": config, "shards": {}, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
        write_manifest(out, manifest)
        return manifest, {}
    old = manifest["config"]
    diff = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
    if diff:
        k = diff[0]
        raise ValueError(f"{out} holds a run with other settings ({k}: {old.get(k)!r} there, {config.get(k)!r} now); "
                         "resume it with the same arguments or start in a new folder")
    clean_temporary(out)
    done = completed_shards(out, manifest)
    manifest["shards"] = {str(k): v for k, v in sorted(done.items())}
    return manifest, done


def _schema(worker: BatchWorker, done: dict, out: Path, first_records: list[dict] | None) -> pa.Schema:
    """The records' schema: a finished shard's (so a resumed run matches it), else the declared
    columns plus those of undeclared (custom) columns typed from the first batch."""
    if done:
        first = min(done)
        return pq.read_schema(shard_files(out / done[first]["path"])[0])
    cols = worker.columns()
    if first_records:
        extra = infer_columns([{k: v for k, v in r.items() if k not in cols} for r in first_records])
        cols.update(extra)
    return record_schema(cols)


def _progress(total, initial, enabled, desc):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, unit="ex", desc=desc, dynamic_ncols=True)


def _run_local(ds, worker, out, manifest, done, batch_size, shard_size, batch_fn, progress, t0) -> RunInfo:
    fn = batch_fn or BatchWorker.records
    total = ds.length
    skipped_examples = sum(v["rows"] for v in done.values())
    bar = _progress(total, skipped_examples, progress, "analyze")
    schema = None
    written = n_written = 0
    shard_records: list[dict] = []
    batch: list[tuple[int, Example]] = []
    count = 0

    def flush_batch():
        nonlocal schema
        if not batch:
            return
        recs = fn(worker, list(batch))
        if len(recs) != len(batch):
            raise ValueError(f"the batch function returned {len(recs)} records for {len(batch)} examples")
        if schema is None:
            schema = _schema(worker, done, out, recs)
        shard_records.extend(recs)
        bar.update(len(batch))
        batch.clear()

    def flush_shard(k: int, start: int, stop: int):
        nonlocal written, n_written
        flush_batch()
        if not shard_records:
            return
        path = shard_path(out, k)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_shard(path, records_to_table(shard_records, schema))
        manifest["shards"][str(k)] = {"path": str(path.relative_to(out)), "rows": len(shard_records),
                                      "start": start, "stop": stop}
        write_manifest(out, manifest)
        written += 1
        n_written += len(shard_records)
        shard_records.clear()

    try:
        for i, ex in enumerate(ds):
            count = i + 1
            k = i // shard_size
            if k in done:
                continue
            batch.append((i, ex))
            if len(batch) == batch_size:
                flush_batch()
            if count % shard_size == 0:
                flush_shard(k, k * shard_size, count)
        if count % shard_size and (count - 1) // shard_size not in done:
            k = (count - 1) // shard_size
            flush_shard(k, k * shard_size, count)
    finally:
        bar.close()
    manifest["examples"] = count
    manifest["complete"] = True
    write_manifest(out, manifest)
    return RunInfo(out, count, len(done), written, n_written, time.perf_counter() - t0)


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
        batch_size: questions per forward pass.
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
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    shard_size = DEFAULT_SHARD_SIZE[backend] if shard_size is None else int(shard_size)
    if shard_size < 1:
        raise ValueError(f"shard_size must be at least 1, got {shard_size}")
    if backend == "ray":
        from .ray_backend import require_ray

        require_ray()
    stats = resolve(stats)  # names checked before any model loads
    ds = open_dataset(dataset) if isinstance(dataset, str) else as_dataset(dataset)
    if limit is not None:
        ds = ds.take(limit)
    maps = MapsRequest.of(maps)
    first = next(iter(ds), None)
    detector = first is None or first.regions is None  # a features-only data set needs no detector
    worker = BatchWorker(model, stats, top_k, methods, maps, device=device, detector=detector)
    out = Path(out)
    manifest, done = _prepare(out, _config(ds, worker, model, backend, batch_size, shard_size, batch_fn))
    if backend == "local":
        return _run_local(ds, worker, out, manifest, done, batch_size, shard_size, batch_fn, progress, t0)
    from .ray_backend import run_ray

    return run_ray(ds, worker, model, out, manifest, done, batch_size, shard_size, batch_fn, progress, t0,
                   detector=detector, address=address, concurrency=concurrency, num_gpus=num_gpus, num_cpus=num_cpus,
                   schema_of=lambda recs: _schema(worker, done, out, recs))


def read_records(out: str | Path, columns: Sequence[str] | None = None) -> pa.Table:
    """Every record of a run as one Arrow table (for small runs; `summarize` streams instead).

    Example:
        >>> _ = run("shapes:1", ["answer"], tmp / "r", progress=False)
        >>> read_records(tmp / "r", ["id", "answer"]).num_rows
        10
    """
    from .manifest import iter_shard_paths

    files = iter_shard_paths(Path(out))
    if not files:
        raise FileNotFoundError(f"{out} holds no finished shard yet")
    tables = [pq.read_table(f, columns=list(columns) if columns is not None else None) for f in files]
    return pa.concat_tables(tables).sort_by("index") if "index" in tables[0].column_names else pa.concat_tables(tables)
