"""Per (family, layer, head) statistics of one result's attention: entropy, maximum weight, and
the mass that goes to [CLS], [SEP], punctuation and the whole-image row ("sinks").

Shape letters: L layers, H heads, Q queries, K keys.

Every value is over the result's real queries and keys (a `Result` has no padding):

- ``entropy.F``: mean over queries of each query's attention entropy, nats (`head_stats`);
- ``max.F``: the largest weight any query gives any key (`head_stats`);
- ``mass_cls.F`` / ``mass_sep.F`` / ``mass_punct.F``: mean over queries of the weight on the
  [CLS] token / the [SEP] token / punctuation tokens (families whose keys are tokens: lang, v2l,
  cross_lang); 0 for punctuation when the question has none;
- ``mass_scene.F``: mean over queries of the weight on the whole-image region (families whose keys
  are regions: vis, l2v, cross_vis); the shapes world's row 0, or for a detector a region whose box
  is the whole image (`whole_image_region`); null when there is none.
"""
from __future__ import annotations

import numpy as np

from ...inputs.referents import whole_image_region
from ...inputs.words import is_punctuation
from ...model.families import FAMILIES, KEY_STREAM
from ..heads import head_stats
from .registry import Stat, per_head, register

TOKEN_KEYS = tuple(f for f in FAMILIES if KEY_STREAM[f] == "lang")
REGION_KEYS = tuple(f for f in FAMILIES if KEY_STREAM[f] == "vis")
SPECIAL = ("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]")


def is_punctuation_token(piece: str) -> bool:
    """A token that is punctuation only (``?``, ``,``, ``'``), never a special token.

    Example:
        >>> is_punctuation_token("?"), is_punctuation_token("##s"), is_punctuation_token("[SEP]")
        (True, False, False)
    """
    text = piece.removeprefix("##")
    return bool(text) and piece not in SPECIAL and is_punctuation(text)


def _flat(a: np.ndarray) -> list[float]:
    return np.asarray(a, dtype=np.float32).reshape(-1).tolist()


def _head_stats(result, ctx, family):
    key = ("head_stats", family)
    if key not in ctx.scratch:
        ctx.scratch[key] = head_stats(result, family)
    return ctx.scratch[key]


def _entropy(result, encoded, ctx) -> dict:
    return {f"entropy.{f}": _flat(_head_stats(result, ctx, f)["entropy"]) for f in result.attentions}


def _max(result, encoded, ctx) -> dict:
    return {f"max.{f}": _flat(_head_stats(result, ctx, f)["max"]) for f in result.attentions}


def key_mass(result, family: str, keys) -> np.ndarray:
    """(L, H) mean over queries of the weight on the key positions ``keys`` (empty: zeros)."""
    a = result.attentions[family]  # (L, H, Q, K)
    keys = list(keys)
    if not keys:
        return np.zeros(a.shape[:2], dtype=np.float32)
    return a[..., keys].sum(-1).mean(-1).numpy()


def _sink(result, encoded, ctx) -> dict:
    pieces = result.tokens.pieces
    groups = {"mass_cls": [i for i, p in enumerate(pieces) if p == "[CLS]"],
              "mass_sep": [i for i, p in enumerate(pieces) if p == "[SEP]"],
              "mass_punct": [i for i, p in enumerate(pieces) if is_punctuation_token(p)]}
    out = {}
    for f in TOKEN_KEYS:
        for name, keys in groups.items():
            out[f"{name}.{f}"] = _flat(key_mass(result, f, keys))
    scene = whole_image_region(result.regions)
    for f in REGION_KEYS:
        out[f"mass_scene.{f}"] = None if scene < 0 else _flat(key_mass(result, f, [scene]))
    return out


def _sink_columns(shape):
    cols = per_head(TOKEN_KEYS, "mass_cls", "mass_sep", "mass_punct")(shape)
    cols.update(per_head(REGION_KEYS, "mass_scene")(shape))
    return cols


register(Stat("entropy", _entropy, per_head(FAMILIES, "entropy"),
              "mean attention entropy over queries (nats), per family, layer, head"))
register(Stat("max", _max, per_head(FAMILIES, "max"), "largest attention weight, per family, layer, head"))
register(Stat("sink", _sink, _sink_columns,
              "mass on [CLS], [SEP], punctuation (token keys) and the whole-image row (region keys)"))
