"""Statistics by name: what each computes from one `Result`, and the record columns it fills.

Shape letters: L layers of a family, H heads.

A statistic is a function ``(result, encoded, ctx) -> {column: value}`` with the column types it
promises (so every shard of a run has one schema, even a shard where a column is all null). Per
(family, layer, head) values are flattened layer-major: column ``entropy.l2v`` holds ``L * H``
numbers, value ``[l * H + h]`` belongs to layer ``l``, head ``h``.

Custom statistics: pass any `Stat` (or a plain function, whose columns are then typed from the
values) in ``stats=`` of `lxmert_viz.analysis.run`, or `register` one under a name.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ...errors import InputError, InputTypeError, UnknownNameError
from ...model.families import FAMILIES, family_layers

FLOATS = pa.list_(pa.float32())


@dataclass(frozen=True)
class ModelShape:
    """What the record columns depend on: each family's (layers, heads) and the answer count."""

    layers: dict[str, int]
    heads: int
    num_answers: int

    @classmethod
    def of(cls, model) -> ModelShape:
        c = model.config
        layers = {f: family_layers(c, f) for f in FAMILIES}
        return cls(layers, c.num_attention_heads, c.num_qa_labels)

    def to_dict(self) -> dict:
        return {"layers": dict(self.layers), "heads": self.heads, "num_answers": self.num_answers}


@dataclass
class StatContext:
    """What a statistic may use besides the result: the kit, settings, a per-example scratch dict."""

    kit: Any
    top_k: int = 5
    methods: tuple[str, ...] = ()
    scratch: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Stat:
    """A named statistic.

    Attributes:
        name: what ``stats=`` calls it.
        compute: ``(result, encoded, ctx) -> {column: value}``; a column that does not apply to an
            example (no referent, no gold answer) is None.
        columns: ``ModelShape -> {column: pyarrow type}``; None: typed from the first values.
        doc: one line for the schema table.
    """

    name: str
    compute: Callable[..., dict]
    columns: Callable[[ModelShape], dict[str, pa.DataType]] | None = None
    doc: str = ""


STATS: dict[str, Stat] = {}
DEFAULT_STATS = ("answer", "topk", "correct", "entropy", "max", "sink", "pointing")


def register(stat: Stat) -> Stat:
    """Make ``stat`` available by its name in ``stats=``."""
    STATS[stat.name] = stat
    return stat


def resolve(stats: Sequence[str | Stat | Callable] | str | None) -> list[Stat]:
    """`Stat`s from names (``"entropy"``, ``"entropy,sink"``), `Stat`s or plain functions.

    Example:
        >>> [s.name for s in resolve("answer,pointing")]
        ['answer', 'pointing']
    """
    if stats is None:
        stats = DEFAULT_STATS
    if isinstance(stats, str):
        stats = [s.strip() for s in stats.split(",") if s.strip()]
    out = []
    for s in stats:
        if isinstance(s, Stat):
            out.append(s)
        elif isinstance(s, str):
            if s not in STATS:
                raise UnknownNameError(f"unknown statistic {s!r}; choose from {sorted(STATS)}")
            out.append(STATS[s])
        elif callable(s):
            out.append(Stat(getattr(s, "__name__", "custom"), s))
        else:
            raise InputTypeError(f"a statistic is a name, a Stat or a function, got {type(s).__name__}")
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise InputError(f"statistics named twice: {names}")
    return out


def per_head(families: Sequence[str], *names: str) -> Callable[[ModelShape], dict[str, pa.DataType]]:
    """Column types of per-(layer, head) statistics: ``name.family`` -> list of float32."""
    return lambda shape: {f"{n}.{f}": FLOATS for n in names for f in families}
