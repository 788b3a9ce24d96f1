"""The pointing game per head, and per explanation method: does the naming token's attention (or
relevance) rank the named region first?

Shape letters: L layers, H heads, R regions.

Only for examples with a referent (`Item.has_referent`); null otherwise.

- ``ref_attn.l2v``: (L * H) the naming token's l2v weight on the named region;
- ``ref_top1.l2v``: (L * H) 1 when the named region has the largest weight of the naming
  token's l2v row (argmax over real regions, the first on a tie), else 0;
- ``ref_top1_mean.l2v``: (L) the same with the row averaged over heads: at the last layer this is
  the documented rule of the shapes evaluation's pointing game (`lxmert_viz.shapes.evaluate`);
- ``explain.M.ref_rel`` / ``explain.M.ref_top1``: for each explanation method M
  (`lxmert_viz.explain.explain_all`: raw, rollout, relevancy, random), the naming token's row of
  the method's ``lang_vis`` matrix: the relevance of the named region and whether it ranks first.
  The random baseline is seeded by the example's id (CRC-32), so a rerun gives the same numbers.
  Relevancy needs one forward and backward pass per example (`with_gradients`).
"""
from __future__ import annotations

import zlib

import numpy as np
import pyarrow as pa

from ...explain.explanation import METHODS
from ...explain.methods import explain_all
from .registry import FLOATS, Stat, register


def _pointing(result, encoded, ctx) -> dict:
    cols = ("ref_attn.l2v", "ref_top1.l2v", "ref_top1_mean.l2v")
    if not encoded.has_referent:
        return dict.fromkeys(cols)
    a = result.attentions["l2v"][:, :, encoded.referent_token, :].numpy()  # (L, H, R)
    r = encoded.referent_region
    top = (a.argmax(-1) == r).astype(np.float32)  # (L, H)
    top_mean = (a.mean(1).argmax(-1) == r).astype(np.float32)  # (L,)
    return dict(zip(cols, (a[..., r].reshape(-1).tolist(), top.reshape(-1).tolist(), top_mean.tolist())))


def example_seed(example_id: str) -> int:
    """A stable seed from an example id (CRC-32; Python's ``hash`` changes between processes)."""
    return zlib.crc32(str(example_id).encode("utf-8")) & 0x7FFFFFFF


def _explain(result, encoded, ctx) -> dict:
    methods = ctx.methods or METHODS
    if not encoded.has_referent:
        return {f"explain.{m}.{c}": None for m in methods for c in ("ref_rel", "ref_top1")}

    ex_id = encoded.example.id if encoded.example is not None else str(encoded.meta)
    maps = explain_all(result, methods, model=ctx.kit.model, seed=example_seed(ex_id))
    out = {}
    for m, e in maps.items():
        row = e.token_to_regions(int(np.flatnonzero(e.token_index == encoded.referent_token)[0]))
        col = int(np.flatnonzero(e.region_index == encoded.referent_region)[0])
        out[f"explain.{m}.ref_rel"] = float(row[col])
        out[f"explain.{m}.ref_top1"] = float(int(np.argmax(row)) == col)
    return out


def _explain_columns(shape, methods=METHODS):
    return {f"explain.{m}.{c}": pa.float32() for m in methods for c in ("ref_rel", "ref_top1")}


register(Stat("pointing", _pointing,
              lambda s: {"ref_attn.l2v": FLOATS, "ref_top1.l2v": FLOATS, "ref_top1_mean.l2v": FLOATS},
              "naming token's l2v weight on the named region and whether it ranks first, per layer and head"))
register(Stat("explain", _explain, _explain_columns,
              "per explanation method: relevance of the named region in the naming token's row, and rank-1 hit"))
