"""`RunPlan`: everything one data-set run is asked to do, in one frozen object both backends read.

`lxmert_viz.analysis.run` checks its keyword arguments and builds a plan; the shard loop
(`lxmert_viz.analysis.shards`) and the backends (this process, or `lxmert_viz.analysis.ray_backend`)
read it, and its `RunPlan.config` is what the manifest records, so a resumed run is checked
against the settings that made the shards on disk.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .batch import BatchWorker, MapsRequest
from .datasets import Dataset
from .example import Example
from .stats import Stat

BACKENDS = ("local", "ray")
DEFAULT_SHARD_SIZE = {"local": 1000, "ray": 20000}
BATCHES = "index // batch_size"  # how examples are grouped into forward passes (recorded in the manifest)
BatchFn = Callable[[BatchWorker, list[tuple[int, Example]]], list[dict]]


@dataclass(frozen=True)
class RayOptions:
    """How the Ray backend runs (ignored by the local backend).

    Attributes:
        address: the cluster to join (``ray.init(address=...)``); None starts a local Ray unless
            one is already running in this process.
        concurrency: workers (each loads the model once): a count, or ``(min, max)``.
        num_gpus, num_cpus: per worker.
        blocks: Ray blocks per segment (``override_num_blocks``); None lets Ray choose. A Ray row
            is one whole batch, so no block boundary can split a batch: the records do not
            depend on this.
    """

    address: str | None = None
    concurrency: int | tuple[int, int] = 1
    num_gpus: float = 0
    num_cpus: float | None = None
    blocks: int | None = None


def describe_model(model, kit_name: str, answers: int) -> dict:
    """What the manifest says about the model: the spec the run was given and the kit it made."""
    if model is None or isinstance(model, str) or hasattr(model, "__fspath__"):
        spec = "shapes (embedded)" if model is None else str(model)
    else:
        spec = getattr(model, "__qualname__", type(model).__name__)
    return {"spec": spec, "kit": kit_name, "answers": answers}


@dataclass(frozen=True)
class RunPlan:
    """One data-set run: what to read, what to compute, how to cut and where to write.

    Examples ``[k * shard_size, (k + 1) * shard_size)`` make shard ``k``; batch ``j`` (one
    forward pass) is examples ``[j * batch_size, (j + 1) * batch_size)`` whatever the shard size,
    the backend or Ray's blocks, so a record depends only on its batch (see
    `lxmert_viz.analysis.shards`).

    Attributes:
        dataset: the examples (a `Dataset`, with ``limit`` already applied).
        stats: the statistics (`lxmert_viz.analysis.stats.resolve`).
        out: the run folder.
        backend: ``"local"`` or ``"ray"``.
        batch_size, shard_size: examples per forward pass and per shard.
        model: what `BatchWorker` (and each Ray worker) loads: None, a name or folder, a `Kit`,
            or a function returning one.
        top_k, methods, maps: as `BatchWorker`.
        batch_fn: the per-batch function (None: `BatchWorker.records`).
        device: local: where the model runs.
        detector: False when every example comes with its features (no detector is loaded).
        progress: show progress bars.
        ray: `RayOptions`.
    """

    dataset: Dataset
    stats: tuple[Stat, ...]
    out: Path
    backend: str = "local"
    batch_size: int = 32
    shard_size: int = DEFAULT_SHARD_SIZE["local"]
    model: Any = None
    top_k: int = 5
    methods: tuple[str, ...] = ()
    maps: MapsRequest | None = None
    batch_fn: BatchFn | None = None
    device: str | None = None
    detector: bool = True
    progress: bool = True
    ray: RayOptions = field(default_factory=RayOptions)

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise InputError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.shard_size < 1:
            raise InputError(f"shard_size must be at least 1, got {self.shard_size}")

    @property
    def records(self) -> BatchFn:
        """The per-batch function: ``(worker, [(index, example), ...]) -> records``."""
        return self.batch_fn or BatchWorker.records

    def worker_args(self) -> dict:
        """The keyword arguments of a `BatchWorker` for this plan (device aside)."""
        return {"stats": self.stats, "top_k": self.top_k, "methods": self.methods, "maps": self.maps,
                "detector": self.detector}

    def make_worker(self) -> BatchWorker:
        """This process's worker (loads the model)."""
        return BatchWorker(self.model, device=self.device, **self.worker_args())

    def config(self, worker: BatchWorker) -> dict:
        """The settings the manifest records; a resumed run must match them."""
        fn = self.batch_fn
        return {
            "dataset": self.dataset.describe(),
            "model": describe_model(self.model, worker.kit.name, len(worker.kit.answers)),
            "shape": worker.shape.to_dict(), "stats": [s.name for s in self.stats], "top_k": self.top_k,
            "methods": list(self.methods), "maps": None if self.maps is None else self.maps.to_dict(),
            "backend": self.backend, "batch_size": self.batch_size, "batches": BATCHES,
            "shard_size": self.shard_size,
            "batch_fn": None if fn is None else getattr(fn, "__qualname__", repr(fn)),
        }
