"""`summarize`: a run's records as tables by (family, layer, head) and by question type, read shard
by shard (memory flat in the number of examples), and the examples behind one cell.

Shape letters: N examples, L layers of a family, H heads, M = L * H values of a per-head column.

Per-head columns (``entropy.l2v``, ``ref_top1.l2v``, ...) give a (L, H) grid of means over the
examples where the column applies (a null is "does not apply": no referent, no whole-image row);
per-layer columns (``ref_top1_mean.l2v``) give an (L,) curve; scalar columns (``correct``,
``answer_prob``, ``explain.raw.ref_top1``) give one mean per question type.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import InputError, InputIndexError, MissingFileError, UnknownNameError
from ..printing import Card, listing
from .manifest import iter_shard_paths, read_manifest

ALL = "all"
DISPLAY = ("index", "id", "question", "qtype", "image", "features", "tokens", "gold", "referent_token",
           "referent_region", "n_regions")
_SKIP = ("maps.",)


@dataclass
class _Acc:
    """Running sums of one column in one group: sum, sum of squares and count per value."""

    total: np.ndarray
    squares: np.ndarray
    count: np.ndarray
    layer_total: np.ndarray | None = None  # per-example head means, per layer (per-head columns)
    layer_squares: np.ndarray | None = None
    layer_count: np.ndarray | None = None

    @classmethod
    def new(cls, m: int, layers: int | None) -> _Acc:
        z = lambda n: np.zeros(n, dtype=np.float64)  # noqa: E731
        if layers is None:
            return cls(z(m), z(m), z(m))
        return cls(z(m), z(m), z(m), z(layers), z(layers), z(layers))

    def add(self, values: np.ndarray, layers: int | None) -> None:
        ok = ~np.isnan(values)
        v = np.where(ok, values, 0.0)
        self.total += v.sum(0)
        self.squares += (v * v).sum(0)
        self.count += ok.sum(0)
        if layers is not None and self.layer_total is not None:
            per = values.reshape(values.shape[0], layers, -1).mean(-1)  # (n, L) head mean per example
            ok = ~np.isnan(per)
            p = np.where(ok, per, 0.0)
            self.layer_total += p.sum(0)
            self.layer_squares += (p * p).sum(0)
            self.layer_count += ok.sum(0)


def _mean_std(total, squares, count):
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        var = np.where(count > 1, (squares - count * mean ** 2) / np.maximum(count - 1, 1), np.nan)
    return mean, np.sqrt(np.clip(var, 0, None))


def _column_values(col: pa.ChunkedArray | pa.Array, m: int | None) -> np.ndarray:
    """(n, m) float64 of a list column (nulls as NaN rows), or (n, 1) of a numeric column."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    n = len(arr)
    if pa.types.is_list(arr.type):
        out = np.full((n, m), np.nan)
        valid = np.asarray(arr.is_valid())
        if valid.any():
            flat = np.asarray(arr.filter(pa.array(valid)).flatten().to_numpy(zero_copy_only=False), dtype=np.float64)
            out[valid] = flat.reshape(int(valid.sum()), m)
        return out
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64).reshape(n, 1)


class Summary:
    """What `summarize` returns. Attributes: ``run_dir``, ``manifest``, ``layers`` (family ->
    layers), ``heads``, ``groups`` (question types, with ``"all"`` first), ``counts`` (group ->
    examples), ``pointing_chance`` (mean of 1 / real regions over the examples with a referent).
    """

    def __init__(self, run_dir: Path, manifest: dict, accs: dict, counts: dict, chance: tuple[float, int]):
        self.run_dir = run_dir
        self.manifest = manifest
        shape = manifest["config"]["shape"]
        self.layers: dict[str, int] = shape["layers"]
        self.heads: int = shape["heads"]
        self._accs = accs
        self.counts = dict(counts)
        self.groups = [ALL] + sorted(g for g in counts if g != ALL)
        self.pointing_chance = chance[0] / chance[1] if chance[1] else float("nan")

    def __repr__(self) -> str:
        return (f"Summary({self.counts.get(ALL, 0)} examples, {len(self.head_columns())} per-head columns, "
                f"groups {listing(self.groups, 8)})")

    def _repr_html_(self) -> str:
        return Card(f"Summary of {self.run_dir}", [
            ("examples", self.counts.get(ALL, 0)), ("question types", listing(self.groups[1:], 8) or "none"),
            ("per-head columns", listing(self.head_columns(), 6)), ("other columns", listing(self.scalar_columns(), 6)),
            ("pointing chance", f"{self.pointing_chance:.3f}")],
            "summary.grid(stat, family), .top_heads(stat, family), .by_group(), .to_markdown()").html()

    # -- what is there ------------------------------------------------------------------------------
    def _kind(self, column: str) -> str:
        fam = column.rsplit(".", 1)[-1]
        m = len(self._accs[ALL][column].total) if column in self._accs.get(ALL, {}) else 0
        if fam in self.layers and m == self.layers[fam] * self.heads:
            return "head"
        if fam in self.layers and m == self.layers[fam]:
            return "layer"
        return "scalar"

    def columns(self) -> list[str]:
        return sorted(self._accs.get(ALL, {}))

    def head_columns(self) -> list[str]:
        """Per-(layer, head) columns, ``stat.family``."""
        return [c for c in self.columns() if self._kind(c) == "head"]

    def scalar_columns(self) -> list[str]:
        return [c for c in self.columns() if self._kind(c) == "scalar"]

    def _acc(self, column: str, group: str | None) -> _Acc:
        g = ALL if group is None else group
        if g not in self._accs:
            raise UnknownNameError(f"no question type {g!r}; this run has {self.groups}")
        if column not in self._accs[g]:
            raise UnknownNameError(f"no column {column!r} in this run; per-head columns: {self.head_columns()}, "
                           f"others: {[c for c in self.columns() if self._kind(c) != 'head']}")
        return self._accs[g][column]

    @staticmethod
    def _name(stat: str, family: str | None) -> str:
        return stat if family is None else f"{stat}.{family}"

    # -- tables --------------------------------------------------------------------------------
    def grid(self, stat: str, family: str, group: str | None = None) -> np.ndarray:
        """(L, H) mean of a per-head statistic over the examples where it applies.

        Example:
            >>> from lxmert_viz.analysis import run
        >>> _ = run("shapes:2", ["pointing"], tmp / "r", progress=False)
            >>> summarize(tmp / "r").grid("ref_top1", "l2v").shape     # cross layers x heads
            (3, 4)
        """
        col = self._name(stat, family)
        acc = self._acc(col, group)
        if self._kind(col) != "head":
            raise InputError(f"{col!r} is not a per-head column; per-head columns are {self.head_columns()}")
        mean, _ = _mean_std(acc.total, acc.squares, acc.count)
        return mean.reshape(self.layers[family], self.heads)

    def std(self, stat: str, family: str, group: str | None = None) -> np.ndarray:
        """(L, H) standard deviation over examples (ddof 1)."""
        acc = self._acc(self._name(stat, family), group)
        return _mean_std(acc.total, acc.squares, acc.count)[1].reshape(self.layers[family], self.heads)

    def count(self, stat: str, family: str | None = None, group: str | None = None) -> int:
        """How many examples the column applies to."""
        return int(self._acc(self._name(stat, family), group).count.max(initial=0))

    def curve(self, stat: str, family: str, group: str | None = None) -> dict[str, np.ndarray]:
        """Per-layer view: ``mean`` (L,) over examples and heads; ``head_min`` / ``head_max`` (L,),
        the range of the per-head means (the spread over heads); ``example_std`` (L,), the standard
        deviation over examples of each example's head mean (the spread over examples). A
        per-layer column (``ref_top1_mean``) has its mean and example spread, with no head range."""
        col = self._name(stat, family)
        acc = self._acc(col, group)
        kind = self._kind(col)
        if kind == "layer":
            mean, sd = _mean_std(acc.total, acc.squares, acc.count)
            return {"mean": mean, "head_min": mean, "head_max": mean, "example_std": sd}
        if kind != "head":
            raise InputError(f"{col!r} is a scalar column; curves need a per-head or per-layer column")
        g = self.grid(stat, family, group)
        mean, sd = _mean_std(acc.layer_total, acc.layer_squares, acc.layer_count)
        return {"mean": mean, "head_min": np.nanmin(g, 1), "head_max": np.nanmax(g, 1), "example_std": sd}

    def scalar(self, column: str, group: str | None = None) -> float:
        acc = self._acc(column, group)
        return float(_mean_std(acc.total, acc.squares, acc.count)[0][0])

    def heads_table(self, stat: str, family: str, group: str | None = None) -> list[dict]:
        """One row per (layer, head): ``layer, head, mean, std, n``."""
        mean, sd = self.grid(stat, family, group), self.std(stat, family, group)
        acc = self._acc(self._name(stat, family), group)
        n = acc.count.reshape(mean.shape)
        return [{"family": family, "stat": stat, "layer": layer, "head": h, "mean": float(mean[layer, h]),
                 "std": float(sd[layer, h]), "n": int(n[layer, h])}
                for layer in range(mean.shape[0]) for h in range(mean.shape[1])]

    def top_heads(self, stat: str, family: str, k: int = 5, largest: bool = True, group: str | None = None):
        """The ``k`` (layer, head) cells with the largest (or smallest) mean, best first."""
        rows = [r for r in self.heads_table(stat, family, group) if not np.isnan(r["mean"])]
        return sorted(rows, key=lambda r: r["mean"], reverse=largest)[:k]

    def by_group(self, columns: list[str] | None = None) -> list[dict]:
        """Scalar columns' means by question type: ``[{"group", "n", column: mean, ...}]``."""
        columns = self.scalar_columns() if columns is None else columns
        rows = []
        for g in self.groups:
            row = {"group": g, "n": self.counts[g]}
            for c in columns:
                acc = self._accs[g].get(c)
                row[c] = float("nan") if acc is None or acc.count[0] == 0 else float(acc.total[0] / acc.count[0])
            rows.append(row)
        return rows

    def to_markdown(self, columns: list[str] | None = None) -> str:
        """The by-question-type table and, per family of each per-head column, the best heads."""
        rows = self.by_group(columns)
        cols = [c for c in rows[0] if c not in ("group", "n")]
        lines = ["| question type | n | " + " | ".join(cols) + " |", "|---" * (len(cols) + 2) + "|"]
        for r in rows:
            lines.append(f"| {r['group']} | {r['n']} | " + " | ".join(f"{r[c]:.3f}" for c in cols) + " |")
        for col in self.head_columns():
            stat, fam = col.rsplit(".", 1)
            c = self.curve(stat, fam)
            top = self.top_heads(stat, fam, 3)
            lines += ["", f"**{col}** (n={self.count(stat, fam)}): by layer " +
                      ", ".join(f"{i}: {m:.3f} [{lo:.3f}..{hi:.3f}]" for i, (m, lo, hi)
                                in enumerate(zip(c["mean"], c["head_min"], c["head_max"]))) +
                      "; highest heads " + ", ".join(f"L{r['layer']}H{r['head']} {r['mean']:.3f}" for r in top)]
        return "\n".join(lines)

    # -- the examples behind a cell --------------------------------------------------------------
    def examples(self, stat: str, family: str | None = None, layer: int | None = None, head: int | None = None,
                 k: int = 3, group: str | None = None) -> dict[str, list[dict]]:
        """The ``k`` examples with the highest and the lowest value of one cell.

        Args:
            stat, family: the column (``"ref_attn", "l2v"``; a scalar column with family None).
            layer, head: the cell (a per-layer column takes ``layer`` only).
            k: examples at each end.
            group: only this question type.

        Returns:
            ``{"best": [...], "worst": [...]}``: records (the `DISPLAY` columns) with ``value``;
            ties are broken by data-set order. Reads the shards again (two passes are not needed:
            only 2k candidates are kept at any time).
        """
        col = self._name(stat, family)
        kind = self._kind(col) if col in self.columns() else None
        if kind is None:
            self._acc(col, group)  # raises the KeyError naming the columns
        if kind == "head":
            n_l = self.layers[family]
            if layer is None or head is None or not (-n_l <= layer < n_l and -self.heads <= head < self.heads):
                raise InputIndexError(f"{col} needs layer in 0..{n_l - 1} and head in 0..{self.heads - 1}")
            pos = (layer % n_l) * self.heads + head % self.heads
        elif kind == "layer":
            pos = layer % self.layers[family]
        else:
            pos = 0
        m = {"head": self.layers.get(family, 0) * self.heads, "layer": self.layers.get(family, 0)}.get(kind)
        keep: list[tuple[float, int, dict]] = []  # (value, index, record): at most 2k kept between batches
        for f in iter_shard_paths(self.run_dir):
            pf = pq.ParquetFile(f)
            names = [c for c in DISPLAY if c in pf.schema_arrow.names]
            for batch in pf.iter_batches(columns=names + [col]):
                vals = _column_values(batch.column(col), m)[:, pos]
                ok = ~np.isnan(vals)
                if group not in (None, ALL):
                    ok &= np.array([q == group for q in batch.column("qtype").to_pylist()])
                rows = np.flatnonzero(ok)
                index = np.asarray(batch.column("index").to_numpy(zero_copy_only=False))[rows]
                high = rows[np.lexsort((index, -vals[rows]))[:k]]  # highest first, data-set order on ties
                low = rows[np.lexsort((index, vals[rows]))[:k]]
                for i in dict.fromkeys(np.concatenate([high, low]).tolist()):
                    rec = {c: batch.column(c)[i].as_py() for c in names}
                    keep.append((float(vals[i]), rec["index"], rec))
                if len(keep) > 2 * k:
                    best = sorted(keep, key=lambda t: (-t[0], t[1]))[:k]
                    worst = sorted(keep, key=lambda t: (t[0], t[1]))[:k]
                    keep = list({t[1]: t for t in best + worst}.values())
        best = sorted(keep, key=lambda t: (-t[0], t[1]))[:k]
        worst = sorted(keep, key=lambda t: (t[0], t[1]))[:k]
        wrap = lambda t: {**t[2], "value": t[0]}  # noqa: E731
        return {"best": [wrap(t) for t in best], "worst": [wrap(t) for t in worst]}


def _summable(fl: pa.Field, layers: dict) -> bool:
    """Float columns, and float lists of a family (``stat.family``): what the summary averages."""
    if fl.name.startswith(_SKIP):
        return False
    if pa.types.is_floating(fl.type):
        return True
    return (pa.types.is_list(fl.type) and pa.types.is_floating(fl.type.value_type)
            and fl.name.rsplit(".", 1)[-1] in layers and "." in fl.name)


def summarize(run_dir: str | Path, group_by: str = "qtype") -> Summary:
    """Tables of a run: per-head means by (family, layer, head) and scalar means by question type.

    Args:
        run_dir: a folder written by `lxmert_viz.analysis.run` (finished or not: the shards done).
        group_by: the record column that groups examples (default the question type).

    Returns:
        A `Summary`.

    Example:
        >>> from lxmert_viz.analysis import run
        >>> _ = run("shapes:3", ["correct", "pointing"], tmp / "r", progress=False)
        >>> s = summarize(tmp / "r")
        >>> s.groups[0], s.grid("ref_top1", "l2v").shape, 0 <= s.scalar("correct") <= 1
        ('all', (3, 4), True)
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if manifest is None:
        raise MissingFileError(f"{run_dir} is not a run folder (no manifest.json); make one with lxmert_viz.analysis.run")
    shape = manifest["config"]["shape"]
    layers, heads = shape["layers"], shape["heads"]
    accs: dict[str, dict[str, _Acc]] = defaultdict(dict)
    counts: dict[str, int] = defaultdict(int)
    chance = [0.0, 0]
    for f in iter_shard_paths(run_dir):
        pf = pq.ParquetFile(f)
        schema = pf.schema_arrow
        numeric = [fl.name for fl in schema if _summable(fl, layers)]
        cols = list(dict.fromkeys(numeric + [group_by, "referent_region", "n_regions"]))
        for batch in pf.iter_batches(columns=[c for c in cols if c in schema.names]):
            groups = np.array([ALL if v is None else str(v) for v in batch.column(group_by).to_pylist()], dtype=object) \
                if group_by in schema.names else np.array([ALL] * batch.num_rows, dtype=object)
            ref = np.asarray(batch.column("referent_region").to_numpy(zero_copy_only=False))
            n_reg = np.asarray(batch.column("n_regions").to_numpy(zero_copy_only=False), dtype=np.float64)
            chance[0] += float((1.0 / n_reg[ref >= 0]).sum())
            chance[1] += int((ref >= 0).sum())
            counts[ALL] += batch.num_rows
            for g in set(groups) - {ALL}:
                counts[g] += int((groups == g).sum())
            for c in numeric:
                fam = c.rsplit(".", 1)[-1]
                m = None
                if pa.types.is_list(schema.field(c).type):
                    lens = pc.list_value_length(batch.column(c)).fill_null(0)
                    m = int(pc.max(lens).as_py() or 0)
                    if m == 0:
                        continue  # null in the whole batch: nothing to add
                values = _column_values(batch.column(c), m)
                per_layer = layers.get(fam) if (m is not None and fam in layers and m == layers[fam] * heads) else None
                for g in [ALL] + sorted(set(groups) - {ALL}):
                    sel = values if g == ALL else values[groups == g]
                    if g not in accs or c not in accs[g]:
                        accs[g][c] = _Acc.new(values.shape[1], per_layer)
                    accs[g][c].add(sel, per_layer)
    if not counts:
        raise MissingFileError(f"{run_dir} holds no finished shard yet")
    return Summary(run_dir, manifest, dict(accs), counts, tuple(chance))


def record_json(record: dict) -> str:
    """One record (as `Summary.examples` gives) as a JSON line, for printing."""
    return json.dumps(record, default=str)
