"""The local backend: a shard's batches computed in this process and written as one Parquet file.

Shape letters: B batch size.

`LocalShards` is the ``write`` function of the shard loop (`lxmert_viz.analysis.shards`): for each
shard it runs the per-batch function on the shard's whole batches (batch ``j`` = examples
``[j * B, (j + 1) * B)``), keeps the shard's own records, and writes them atomically as
``OUT/shards/shard-K.parquet``. A batch that straddles two shards runs once: its records are kept
for the next shard.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .batch import BatchWorker
from .manifest import shard_path, write_shard
from .plan import RunPlan
from .schema import records_to_table
from .shards import Pair, Shard, run_schema


class LocalShards:
    """Computes and writes shards in this process; ``close()`` ends its progress bar.

    Args:
        plan: the run.
        worker: this process's `BatchWorker` (model loaded).
        done: the shards already on disk (their schema is kept; their rows start the bar).
    """

    def __init__(self, plan: RunPlan, worker: BatchWorker, done: dict):
        from tqdm.auto import tqdm

        self.plan, self.worker, self.done = plan, worker, done
        self.schema = None
        self._last: tuple[int, list[dict]] | None = None  # (batch number, its records)
        total = plan.dataset.length
        self.bar = tqdm(total=total, initial=sum(v["rows"] for v in done.values()), disable=not plan.progress,
                        unit="ex", desc="analyze", dynamic_ncols=True)

    def records(self, batch: list[Pair]) -> list[dict]:
        """The records of one whole batch (the last batch's again when it straddled two shards)."""
        j = batch[0][0] // self.plan.batch_size
        if self._last is not None and self._last[0] == j:
            return self._last[1]
        recs = self.plan.records(self.worker, batch)
        if len(recs) != len(batch):
            raise InputError(f"the batch function returned {len(recs)} records for {len(batch)} examples")
        if self.schema is None:
            self.schema = run_schema(self.worker, self.plan.out, self.done, recs)
        self._last = (j, recs)
        return recs

    def __call__(self, shard: Shard) -> tuple[Path, int]:
        kept: list[dict] = []
        for batch in shard.batches():
            mine = [r for r in self.records(batch) if shard.holds(r["index"])]
            kept += mine
            self.bar.update(len(mine))
        path = shard_path(self.plan.out, shard.k)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_shard(path, records_to_table(kept, self.schema))
        return path, len(kept)

    def close(self) -> None:
        self.bar.close()
