"""The six attention families: one table that everyone reads.

Shape letters: T tokens, R regions, H heads, L layers of a family.

| family       | queries | keys | layers counted by | encoder                          |
|--------------|---------|------|-------------------|----------------------------------|
| `lang`       | lang    | lang | ``l_layers``      | language self-attention           |
| `vis`        | vis     | vis  | ``r_layers``      | object-relationship self-attention |
| `l2v`        | lang    | vis  | ``x_layers``      | cross: words attend to regions    |
| `v2l`        | vis     | lang | ``x_layers``      | cross: regions attend to words    |
| `cross_lang` | lang    | lang | ``x_layers``      | language self-attention inside cross layers |
| `cross_vis`  | vis     | vis  | ``x_layers``      | vision self-attention inside cross layers   |

Each family's layers are numbered from 0 and have two hook points (`lxmert_viz.model.hooks`):
``{family}.{layer}.pattern`` (B, H, Q, K) and ``{family}.{layer}.z`` (B, Q, H, E). The model's
outputs, the hooks, ablation, patching, results, statistics and widgets all take their rules from here.

Example:
    >>> family("l2v").query, family("l2v").key, family("l2v").layers(kit.model.config)
    ('lang', 'vis', 3)
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnknownNameError

STREAMS = ("lang", "vis")
STREAM_LETTER = {"lang": "T", "vis": "R"}  # the shape letter of a stream's positions


@dataclass(frozen=True)
class Family:
    """One attention family: its name, query and key streams and the config field counting its layers."""

    name: str
    query: str
    key: str
    layer_field: str
    what: str

    @property
    def cross(self) -> bool:
        """True for the four families that live in the cross-modality layers."""
        return self.layer_field == "x_layers"

    def layers(self, config) -> int:
        """How many layers this family has in a model of ``config``."""
        return int(getattr(config, self.layer_field))

    def hook_names(self, layer: int) -> tuple[str, str]:
        """The ``pattern`` and ``z`` hook points of one layer."""
        return f"{self.name}.{layer}.pattern", f"{self.name}.{layer}.z"

    def shape(self, kind: str = "pattern") -> str:
        """Shape letters of a hook value: ``(B, H, Q, K)`` for ``pattern``, ``(B, Q, H, E)`` for ``z``."""
        q, k = STREAM_LETTER[self.query], STREAM_LETTER[self.key]
        return f"(B, H, {q}, {k})" if kind == "pattern" else f"(B, {q}, H, E)"


TABLE = {f.name: f for f in (
    Family("lang", "lang", "lang", "l_layers", "language self-attention"),
    Family("vis", "vis", "vis", "r_layers", "object-relationship self-attention"),
    Family("l2v", "lang", "vis", "x_layers", "words attend to regions (cross)"),
    Family("v2l", "vis", "lang", "x_layers", "regions attend to words (cross)"),
    Family("cross_lang", "lang", "lang", "x_layers", "language self-attention inside cross layers"),
    Family("cross_vis", "vis", "vis", "x_layers", "vision self-attention inside cross layers"),
)}
FAMILIES = tuple(TABLE)
SELF_FAMILIES = tuple(f for f in FAMILIES if not TABLE[f].cross)
CROSS_FAMILIES = tuple(f for f in FAMILIES if TABLE[f].cross)
QUERY_STREAM = {f: TABLE[f].query for f in FAMILIES}
KEY_STREAM = {f: TABLE[f].key for f in FAMILIES}


def family(name: str) -> Family:
    """The `Family` called ``name``; an `UnknownNameError` (a `KeyError`) naming the valid ones otherwise."""
    if name not in TABLE:
        raise UnknownNameError(f"unknown attention family {name!r}; families are {list(FAMILIES)}")
    return TABLE[name]


def query_stream(name: str) -> str:
    """``"lang"`` or ``"vis"``: the stream the queries of family ``name`` come from."""
    return family(name).query


def key_stream(name: str) -> str:
    """``"lang"`` or ``"vis"``: the stream the keys of family ``name`` come from."""
    return family(name).key


def family_layers(config, name: str) -> int:
    """How many layers family ``name`` has in a model of ``config``."""
    return family(name).layers(config)


def stage_names(stream: str, single_layers: int, cross_layers: int) -> list[str]:
    """A name per hidden state of ``stream``: ``emb``, ``lang1..`` / ``vis1..``, ``cross1..``.

    Layers are numbered from 1 in these names (state k is the output of layer k); hook points and
    family layers count from 0.
    """
    return ["emb"] + [f"{stream}{i + 1}" for i in range(single_layers)] + [f"cross{i + 1}" for i in range(cross_layers)]
