"""The head atlas: for every head of every family, what it attends to and what removing it does.

Shape letters: N examples, L layers of a family, H heads, M = L * H heads of a family.

One data-set run (`lxmert_viz.analysis.run`, local or Ray) computes per example the statistics
``entropy``, ``sink``, ``pointing``, ``correct`` and ``causal`` (this module's statistic); the
atlas is then read from the run's `summarize` tables, so every number in it is the data-set
runner's own. One row per (family, layer, head):

- ``entropy``: mean over examples of the head's mean query entropy, nats (``entropy.F``);
- ``mass_cls`` / ``mass_sep``: mean weight on [CLS] / [SEP] (families whose keys are tokens; NaN
  elsewhere); ``mass_scene``: mean weight on the whole-image row (families whose keys are regions);
- ``pointing``, ``pointing_lo`` / ``pointing_hi``, ``pointing_n`` (l2v only): the share of examples
  with a referent where the naming token's row ranks the named region first (``ref_top1.l2v``),
  with its Wilson interval;
- ``d_accuracy`` (``_lo`` / ``_hi`` / ``_n``): change in accuracy (answer == gold) when the head
  alone is removed: the mean of the per-question paired change, with a normal interval;
- ``d_score`` (``_lo`` / ``_hi`` / ``_n``): change in the probability of the full model's answer
  when the head alone is removed (negative: it falls); ``flips``: share of questions whose top
  answer changes;
- ``dormant``: True when neither interval shows a change: the accuracy interval meets 0 and the
  score interval meets [-tolerance, tolerance].

The causal columns are those of `lxmert_viz.interventions.ranking.rank_heads` on the same items:
the ``causal`` statistic calls it per example (row 0 the full model, then one row per ablated
head, ``chunk`` rows per forward through `lxmert_viz.run.run`), so ``d_score = -prob_drop`` and
``d_accuracy = correct - base_correct`` of the ranking, question by question. Accuracy is hard
accuracy against the gold index (the ranking's rule), not VQA soft accuracy.

Cost: the statistics need one forward per data-set batch; the causal column one forward of
``1 + heads`` rows per question (``ceil((1 + heads) / chunk)`` forwards), i.e. ``N * (1 + heads)``
rows in all (65 rows per question for the embedded model). `AtlasTable.meta` records both.

Command line (`main`; the CLI's ``lxmert-viz atlas`` can hand its arguments to it):
    python -m lxmert_viz.analysis.atlas shapes:20 --out atlas_run
    python -m lxmert_viz.analysis.atlas DATA --out DIR --model unc-nlp/lxmert-vqa-uncased --backend ray
"""
from __future__ import annotations

import argparse
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError, MissingFileError
from ..interventions.ranking import rank_heads
from ..model.families import FAMILIES, KEY_STREAM, family
from ..printing import Card
from .runner import run
from .stats import Stat
from .stats.registry import per_head, register
from .summary import Summary, summarize

ATLAS_STATS = ("correct", "entropy", "sink", "pointing")
CAUSAL_COLUMNS = ("causal_acc", "causal_score", "causal_flip")
Z95 = 1.959963984540054


def wilson(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / n`` (NaN, NaN when n is 0).

    Example:
        >>> [round(v, 4) for v in wilson(8, 10)]
        [0.4902, 0.9433]
    """
    if n <= 0:
        return float("nan"), float("nan")
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0))
    return centre - half, centre + half


def mean_interval(mean: float, std: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Normal interval ``mean ± z std / sqrt(n)`` (the mean itself when n is 1 or std is NaN)."""
    if n <= 1 or not np.isfinite(std):
        return mean, mean
    half = z * std / math.sqrt(n)
    return mean - half, mean + half


class CausalStat:
    """The ``causal`` statistic: per example, each head of ``families`` removed alone (`rank_heads`).

    Columns (per family, layer-major ``L * H``): ``causal_score.F`` the change in the full model's
    answer's probability; ``causal_acc.F`` the change in correctness (-1, 0, 1; null without a
    gold answer); ``causal_flip.F`` 1 where the top answer changed.
    """

    def __init__(self, families: Sequence[str] = FAMILIES, chunk: int = 128):
        self.families = tuple(family(f).name for f in families)
        self.chunk = int(chunk)

    def __call__(self, result, encoded, ctx) -> dict:
        rank = rank_heads(ctx.kit, [encoded], self.families, batch_size=self.chunk)
        out = {}
        for f in self.families:
            cols = [i for i, h in enumerate(rank.heads) if h[0] == f]
            out[f"causal_score.{f}"] = (-rank.per_question[0, cols]).astype(np.float32).tolist()
            out[f"causal_flip.{f}"] = rank.flipped[0, cols].astype(np.float32).tolist()
            out[f"causal_acc.{f}"] = None if rank.correct is None else (
                rank.correct[0, cols].astype(np.float32) - float(rank.base_correct[0])).tolist()
        return out

    def columns(self, shape) -> dict:
        return per_head(self.families, *CAUSAL_COLUMNS)(shape)

    def stat(self) -> Stat:
        return Stat("causal", self, self.columns,
                    "each head removed alone: change in the answer's probability, correctness, flips")


register(CausalStat().stat())


@dataclass
class AtlasTable:
    """What `head_atlas` returns: one row per (family, layer, head) and the dormant share per family.

    Attributes:
        rows: list of dicts, the columns of the module table plus ``family, layer, head``.
        dormant_share: family -> share of its heads that are dormant.
        summary: the run's `Summary` (the same numbers, with per-question-type tables).
        path: the Parquet file written (``atlas.parquet``), or None.
        meta: examples, heads, forwards, rows, seconds, tolerance.
    """

    rows: list[dict]
    dormant_share: dict[str, float]
    summary: Summary | None = None
    path: Path | None = None
    meta: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        share = ", ".join(f"{f} {v:.0%}" for f, v in self.dormant_share.items())
        return (f"AtlasTable({len(self.rows)} heads over {self.meta.get('examples', '?')} examples; dormant: {share}; "
                ".grid(column, family), .to_arrow())")

    def _repr_html_(self) -> str:
        rows = [("examples", self.meta.get("examples", "?")), ("heads", len(self.rows)),
                *((f"{f} dormant", f"{v:.0%}") for f, v in self.dormant_share.items()), ("table", self.path)]
        return Card("AtlasTable", rows, "atlas.grid(column, family), atlas.to_arrow(), atlas.rows").html()

    def to_arrow(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows)

    def grid(self, column: str, family_name: str) -> np.ndarray:
        """(L, H) of one column for one family."""
        rows = [r for r in self.rows if r["family"] == family_name]
        if not rows:
            raise InputError(f"the atlas has no family {family_name!r}; it has {list(self.dormant_share)}")
        if column not in rows[0]:
            raise InputError(f"the atlas has no column {column!r}; columns: {sorted(rows[0])}")
        layers, heads = 1 + max(r["layer"] for r in rows), 1 + max(r["head"] for r in rows)
        out = np.full((layers, heads), np.nan)
        for r in rows:
            out[r["layer"], r["head"]] = float(r[column])
        return out


def _cell(summary: Summary, stat: str, fam: str, layer: int, head: int) -> tuple[float, float, int]:
    """(mean, std, n) of one per-head column at one head; NaN, NaN, 0 when the run has no such column."""
    col = f"{stat}.{fam}"
    if col not in summary.columns():
        return float("nan"), float("nan"), 0
    mean, sd = summary.grid(stat, fam)[layer, head], summary.std(stat, fam)[layer, head]
    rows = summary.heads_table(stat, fam)
    n = rows[layer * summary.heads + head]["n"]
    return float(mean), float(sd), int(n)


def atlas_rows(summary: Summary, families: Sequence[str] = FAMILIES, tolerance: float = 0.01,
               z: float = Z95) -> tuple[list[dict], dict[str, float]]:
    """The atlas rows and dormant shares from a run's `Summary` (see the module table)."""
    rows, dormant = [], {}
    for fam in families:
        n_fam = []
        for layer in range(summary.layers[fam]):
            for head in range(summary.heads):
                cell = lambda stat: _cell(summary, stat, fam, layer, head)  # noqa: E731
                row = {"family": fam, "layer": layer, "head": head, "entropy": cell("entropy")[0]}
                token_keys = KEY_STREAM[fam] == "lang"
                row["mass_cls"] = cell("mass_cls")[0] if token_keys else float("nan")
                row["mass_sep"] = cell("mass_sep")[0] if token_keys else float("nan")
                row["mass_scene"] = cell("mass_scene")[0] if not token_keys else float("nan")
                p, _, n = cell("ref_top1")
                lo, hi = wilson(p * n, n, z) if n else (float("nan"), float("nan"))
                row.update(pointing=p, pointing_lo=lo, pointing_hi=hi, pointing_n=n)
                for name, stat in (("d_accuracy", "causal_acc"), ("d_score", "causal_score")):
                    m, sd, k = cell(stat)
                    lo, hi = mean_interval(m, sd, k, z)
                    row.update({name: m, f"{name}_lo": lo, f"{name}_hi": hi, f"{name}_n": k})
                row["flips"] = cell("causal_flip")[0]
                acc_meets_0 = not (row["d_accuracy_lo"] > 0 or row["d_accuracy_hi"] < 0)  # NaN: no evidence
                score_meets = not (row["d_score_lo"] > tolerance or row["d_score_hi"] < -tolerance)
                row["dormant"] = bool(acc_meets_0 and score_meets and row["d_score_n"] > 0)
                n_fam.append(row["dormant"])
                rows.append(row)
        dormant[fam] = float(np.mean(n_fam)) if n_fam else float("nan")
    return rows, dormant


def head_atlas(dataset, out: str | Path, model=None, families: Sequence[str] = FAMILIES, backend: str = "local",
               batch_size: int = 32, chunk: int = 128, limit: int | None = None, tolerance: float = 0.01,
               progress: bool = False, **run_kwargs) -> AtlasTable:
    """Compute the head atlas of a data set: one run, then its table (``out/atlas.parquet``).

    Args:
        dataset: anything `lxmert_viz.analysis.run` takes (``"shapes:20"``, a `Dataset`, Examples).
        out: a folder; the run goes to ``out/run`` (resumed when it is there), the table to
            ``out/atlas.parquet``.
        model: as in `lxmert_viz.analysis.run` (None: the embedded model).
        families: whose heads are ablated (the attention statistics cover all six).
        backend: ``"local"`` or ``"ray"`` (the runner's backends; the causal statistic runs in
            the workers like any statistic).
        batch_size: questions per forward of the statistics pass.
        chunk: ablated rows per forward of the causal column (`rank_heads`' ``batch_size``).
        limit: only the first ``limit`` examples.
        tolerance: a change of the answer's probability within ±tolerance counts as none (dormant).
        **run_kwargs: passed on to `lxmert_viz.analysis.run` (``address``, ``concurrency``, ...).

    Returns:
        `AtlasTable`.

    Example:
        >>> atlas = head_atlas("shapes:1", tmp / "atlas", families=["l2v"], limit=2)
        >>> atlas.grid("d_score", "l2v").shape, sorted(atlas.dormant_share)
        ((3, 4), ['l2v'])
    """
    t0 = time.perf_counter()
    out = Path(out)
    causal = CausalStat(families, chunk)
    info = run(dataset, [*ATLAS_STATS, causal.stat()], out / "run", backend=backend, batch_size=batch_size,
               model=model, limit=limit, progress=progress, **run_kwargs)
    summary = summarize(out / "run")
    rows, dormant = atlas_rows(summary, causal.families, tolerance)
    path = out / "atlas.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    examples = summary.counts.get("all", 0)
    n_heads = len(rows)
    meta = {"examples": examples, "heads": n_heads, "tolerance": tolerance, "chunk": chunk,
            "batch_size": batch_size, "seconds": time.perf_counter() - t0,
            "forwards_statistics": math.ceil(examples / batch_size),
            "forwards_causal": examples * math.ceil((1 + n_heads) / chunk),
            "rows_causal": examples * (1 + n_heads), "run": getattr(info, "__dict__", {}).get("seconds")}
    return AtlasTable(rows, dormant, summary, path, meta)


def read_atlas(out: str | Path, families: Iterable[str] | None = None) -> pa.Table:
    """The Parquet table of a finished atlas (``out/atlas.parquet``), optionally some families."""
    path = Path(out) / "atlas.parquet"
    if not path.exists():
        raise MissingFileError(f"{path} does not exist; make it with lxmert_viz.analysis.atlas.head_atlas")
    table = pq.read_table(path)
    if families is None:
        return table
    keep = set(families)
    return table.filter(pa.array([f in keep for f in table.column("family").to_pylist()]))


DESCRIPTION = ("the head atlas: every head's attention statistics and the effect of removing it alone, over a "
               "data set (Parquet table)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``lxmert-viz atlas`` flags."""
    p.add_argument("data", help="a data-set spec for lxmert_viz.analysis.open_dataset ('shapes:20', a questions file)")
    p.add_argument("--out", required=True, help="folder for the run and atlas.parquet")
    p.add_argument("--model", default=None, help="checkpoint folder or hub id (default: the embedded model)")
    p.add_argument("--families", default=",".join(FAMILIES), help="families whose heads are removed")
    p.add_argument("--backend", choices=("local", "ray"), default="local")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--chunk", type=int, default=128, help="ablated rows per forward")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--tolerance", type=float, default=0.01)


def main(argv: Sequence[str] | None = None, prog: str = "lxmert-viz atlas") -> AtlasTable:
    """The command line: compute the atlas of a data set into ``--out`` and print the dormant shares."""
    p = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(p)
    return run_command(p.parse_args(argv))


def run_command(args: argparse.Namespace) -> AtlasTable:
    """Compute the atlas ``args`` describe and print its size, cost and dormant shares."""
    table = head_atlas(args.data, args.out, model=args.model, families=[f for f in args.families.split(",") if f],
                       backend=args.backend, batch_size=args.batch_size, chunk=args.chunk, limit=args.limit,
                       tolerance=args.tolerance)
    print(f"{table.meta['examples']} questions, {table.meta['heads']} heads, {table.meta['seconds']:.1f} s "
          f"({table.meta['forwards_causal']} forwards for the causal column); table: {table.path}")
    for fam, share in table.dormant_share.items():
        print(f"{fam:<11} dormant {share:.0%}")
    return table


if __name__ == "__main__":
    main()
