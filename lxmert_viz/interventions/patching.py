"""Activation patching: run B with one activation taken from run A, and see whether B's answer moves.

Shape letters: B batch rows, N positions of a stream (T tokens or R regions), D hidden, H heads, S states.

A *site* is a hook point (`lxmert_viz.model.hooks`): a hidden state ``hidden.{stream}.{k}`` or one
family's per-head output ``{family}.{layer}.z``. The source run (A) is run once and the site's value
kept; the target run (B) is run again with that value written in at the chosen positions (all by
default; for ``.z`` optionally only some heads). Everything else of B, its inputs included, stays.

The change is reported as the patched answers and as the *effect*: with ``d(x) = x[a] - x[b]`` the
difference of the logits of A's answer ``a`` and B's answer ``b``, effect = (d(patched) - d(B)) /
(d(A) - d(B)): 0 = B's answer as it was, 1 = moved as far as A's own run (undefined, NaN, when A and
B give the same answer).
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import InputError, InputIndexError, UnknownNameError
from ..inputs.item import Item
from ..model.families import CROSS_FAMILIES, STREAMS, family, stage_names
from ..model.hooks import Intervention, hook_points
from ..printing import Card, Printable, listing, scored
from ..run import Row, run
from .items import as_item


def site_stream(site: str) -> str:
    """The stream whose positions a site's second axis indexes (``lang`` tokens or ``vis`` regions)."""
    parts = site.split(".")
    if parts[0] == "hidden":
        return parts[1]
    if parts[-1] != "z" or parts[0] not in ("lang", "vis", *CROSS_FAMILIES):
        raise InputError(f"patch sites are hidden states ('hidden.lang.3') or head outputs ('l2v.2.z'), got {site!r}")
    return family(parts[0]).query


def _positions(site: str, positions, n_source: int, n_target: int) -> list[int]:
    stream = site_stream(site)
    what = "tokens" if stream == "lang" else "regions"
    if positions is None:
        if n_source != n_target:
            raise InputError(f"patching {site} at every position needs the same number of {what} in both runs: "
                             f"source has {n_source}, target {n_target}; pass positions=[...]")
        return list(range(n_target))
    out = []
    for p in positions:
        p = int(p)
        n = min(n_source, n_target)
        if not -n <= p < n:
            raise InputIndexError(f"position {p} is out of range for {site}: source has {n_source} {what}, "
                             f"target {n_target}")
        out.append(p % n)
    return sorted(set(out))


def _lengths(item: Item) -> dict[str, int]:
    return {"lang": len(item.tokens), "vis": item.regions.num_real}


def _effect(patched: torch.Tensor, source: torch.Tensor, target: torch.Tensor) -> np.ndarray:
    """(rows,) effect of each patched row's logits (see the module docstring)."""
    a, b = int(source.argmax()), int(target.argmax())
    if a == b:
        return np.full(patched.shape[0], np.nan)
    d = lambda x: x[..., a] - x[..., b]  # noqa: E731
    return ((d(patched) - d(target)) / (d(source) - d(target))).numpy()


def patching(site: str, positions: list[int], heads: list[int] | None, source_value: torch.Tensor) -> Intervention:
    """The `Intervention` that writes ``source_value`` (the source run's (N, D) or (N, H, E) value at
    ``site``) into one row at ``positions`` (and ``heads`` of a ``.z`` site; None: all)."""

    def write(value, name):  # value (1, N, D) or (1, N, H, E)
        value = value.clone()
        if heads is None:
            value[0, positions] = source_value[positions]
        else:
            value[0, torch.tensor(positions)[:, None], torch.tensor(heads)[None, :]] = source_value[positions][:, heads]
        return value

    where = f"positions {positions}" + ("" if heads is None else f", heads {heads}")
    return Intervention("patch", (site,), note=f"{site} at {where} written in from the source run",
                        fns={site: write})


def _patch_rows(model, source: Item, target: Item, plan: list[tuple[str, list[int], list[int] | None]]):
    """Target logits with row 0 clean and row ``1 + i`` patched by ``plan[i]`` = (site, positions, heads)."""
    sites = sorted({p[0] for p in plan})
    src = run(model, [source], cache=sites)
    rows = [Row(target)] + [Row(target, intervention=patching(site, pos, heads, src.cache[site][0]))
                            for site, pos, heads in plan]
    return src.logits()[0], run(model, rows).logits()


@dataclass(repr=False)
class Patch(Printable):
    """What `patch` returns.

    Attributes:
        site, positions, heads: where the source's value was written (``heads`` None: all).
        source_answer, target_answer: each run's own top answer; answers: the patched run's top-k.
        source_logits, target_logits, patched_logits: (A,) answer logits.
        effect: see the module docstring (NaN when both runs give the same answer).
    """

    site: str
    positions: list[int]
    heads: list[int] | None
    source_answer: str
    target_answer: str
    answers: list[tuple[str, float]]
    source_logits: torch.Tensor
    target_logits: torch.Tensor
    patched_logits: torch.Tensor
    effect: float

    def _card(self) -> Card:
        rows = [("site", self.site), ("positions", listing(self.positions)),
                ("heads", "all" if self.heads is None else listing(self.heads)),
                ("source answer", self.source_answer), ("target answer", self.target_answer),
                ("patched answers", scored(self.answers)), ("effect", f"{self.effect:.3f}")]
        return Card(f"Patch {self.site}: {self.target_answer!r} -> {self.answer!r}", rows,
                    "patch.patched_logits / source_logits / target_logits; effect: 0 = target as it was, 1 = source's")

    @property
    def answer(self) -> str:
        return self.answers[0][0]


def patch(kit, source, target, site: str, positions: Iterable[int] | None = None,
          heads: Iterable[int] | None = None, top_k: int = 5) -> Patch:
    """Run ``target`` with the value at ``site`` replaced by ``source``'s, at ``positions``.

    Args:
        kit: a `Kit`.
        source, target: ``(image, question)`` pairs or `Example`s (A and B).
        site: a hook name: ``hidden.lang.{k}``, ``hidden.vis.{k}`` or ``{family}.{layer}.z``.
        positions: token or region positions of the site's stream (None: all; then both runs need
            as many).
        heads: for a ``.z`` site, only these heads (None: all).
        top_k: patched answers kept.

    Returns:
        `Patch`.

    Example:
        >>> p = kit.patch((sample, "what color is the circle?"), (sample, "what color is the triangle?"),
        ...               "hidden.lang.5")       # the last language state, every token
        >>> p.target_answer, p.answer, round(p.effect, 4)
        ('teal', 'black', 1.0)
    """
    model = kit.model
    if site not in hook_points(model):
        raise UnknownNameError(f"no hook point {site!r}; see lxmert_viz.model.hooks.hook_table")
    src, tgt = as_item(kit, source), as_item(kit, target)
    stream = site_stream(site)
    pos = _positions(site, positions, _lengths(src)[stream], _lengths(tgt)[stream])
    hs = None
    if heads is not None:
        if not site.endswith(".z"):
            raise InputError(f"heads= applies to head outputs ('l2v.2.z'), not to {site!r}")
        n = model.config.num_attention_heads
        heads = [int(h) for h in heads]
        bad = [h for h in heads if not -n <= h < n]
        if bad:
            raise InputIndexError(f"heads {bad} are out of range for {n} heads")
        hs = sorted({h % n for h in heads})
    src_logits, rows = _patch_rows(model, src, tgt, [(site, pos, hs)])
    eff = float(_effect(rows[1:], src_logits, rows[0])[0])
    names = kit.answers
    return Patch(site, pos, hs, names[int(src_logits.argmax())], names[int(rows[0].argmax())],
                 names.top_k(rows[1], top_k), src_logits, rows[0], rows[1], eff)


def hook_names_of_stream(model, stream: str) -> list[str]:
    """``hidden.{stream}.0``, ``hidden.{stream}.1``, ... in order (one per state)."""
    return [n for n in hook_points(model) if n.startswith(f"hidden.{stream}.")]


@dataclass(repr=False)
class PatchSweep(Printable):
    """What `patch_sweep` returns.

    Attributes:
        streams: the streams swept; stages[stream]: a name per state (``emb``, ``lang1``.., ``cross1``..).
        positions[stream]: the positions patched (all of them, or those given).
        per_position: True: one row per position and state; False: all positions at once.
        effect[stream]: (S,) or (S, positions) effect (NaN when both runs answer alike).
        prob_source[stream]: same shape: probability of the source's answer after patching.
        answers[stream]: same shape (nested lists): the patched run's top answer.
        source_answer, target_answer, seconds: the two runs' answers; wall time.
        position_labels[stream]: the target's token or region labels of ``positions``.
    """

    streams: tuple[str, ...]
    stages: dict[str, list[str]]
    positions: dict[str, list[int]]
    per_position: bool
    effect: dict[str, np.ndarray]
    prob_source: dict[str, np.ndarray]
    answers: dict[str, list]
    source_answer: str
    target_answer: str
    seconds: float
    position_labels: dict[str, list[str]] = field(default_factory=dict)

    def _card(self) -> Card:
        rows = [("source / target answer", f"{self.source_answer!r} / {self.target_answer!r}")]
        for s in self.streams:
            eff = np.asarray(self.effect[s], dtype=float)
            best = int(np.nanargmax(np.nanmax(eff.reshape(len(self.stages[s]), -1), 1))) if np.isfinite(eff).any() else None
            rows.append((f"{s}: states", listing(self.stages[s], 10)))
            rows.append((f"{s}: largest effect", "none (same answer)" if best is None else
                         f"{self.stages[s][best]} ({np.nanmax(eff[best]):.3f})"))
        return Card(f"PatchSweep over {', '.join(self.streams)}{' per position' if self.per_position else ''}",
                    rows, "sweep.effect[stream] / prob_source[stream] / answers[stream] per state")

    @property
    def same_answer(self) -> bool:
        return self.source_answer == self.target_answer


def patch_sweep(kit, source, target, streams: Iterable[str] = STREAMS,
                positions: Mapping[str, Iterable[int]] | None = None, per_position: bool = False) -> PatchSweep:
    """Patch every hidden state of each stream from ``source`` into ``target``: one call, one batch.

    Args:
        kit: a `Kit`.
        source, target: ``(image, question)`` pairs or `Example`s.
        streams: ``"lang"`` and/or ``"vis"``.
        positions: per stream, the positions to patch (default all; then both runs need as many).
        per_position: patch each position on its own (a state x position grid per stream).

    Returns:
        `PatchSweep`: for each stream and state, the effect, the probability of the source's answer
        and the patched answer.

    Example:
        >>> sweep = kit.patch_sweep((sample, "what color is the circle?"), (sample, "what color is the triangle?"))
        >>> sweep.stages["lang"], sweep.effect["lang"].shape
        (['emb', 'lang1', 'lang2', 'cross1', 'cross2', 'cross3'], (6,))
    """
    t0 = time.perf_counter()
    model = kit.model
    src, tgt = as_item(kit, source), as_item(kit, target)
    streams = tuple(streams)
    plan, where = [], {}
    pos_of, labels = {}, {}
    for stream in streams:
        if stream not in STREAMS:
            raise InputError(f"streams are {STREAMS}, got {stream!r}")
        sites = hook_names_of_stream(model, stream)
        pos = _positions(sites[0], None if positions is None or stream not in positions else positions[stream],
                         _lengths(src)[stream], _lengths(tgt)[stream])
        pos_of[stream] = pos
        names = tgt.tokens.labels() if stream == "lang" else tgt.regions.names()
        labels[stream] = [names[p] for p in pos]
        for k, site in enumerate(sites):
            for j, group in enumerate([[p] for p in pos] if per_position else [pos]):
                where[(stream, k, j)] = len(plan)
                plan.append((site, group, None))
    src_logits, rows = _patch_rows(model, src, tgt, plan)
    patched, clean = rows[1:], rows[0]
    eff = _effect(patched, src_logits, clean)
    a = int(src_logits.argmax())
    p_src = torch.softmax(patched, -1)[:, a].numpy()
    top = patched.argmax(-1).tolist()
    names = kit.answers
    effect, prob, answers, stages = {}, {}, {}, {}
    n_single = {"lang": model.config.l_layers, "vis": model.config.r_layers}
    for stream in streams:
        n_states = len(hook_names_of_stream(model, stream))
        n_groups = len(pos_of[stream]) if per_position else 1
        idx = np.array([[where[(stream, k, j)] for j in range(n_groups)] for k in range(n_states)])
        shape = (n_states, n_groups) if per_position else (n_states,)
        effect[stream] = eff[idx].reshape(shape)
        prob[stream] = p_src[idx].reshape(shape)
        ans = [[names[top[i]] for i in row] for row in idx]
        answers[stream] = ans if per_position else [r[0] for r in ans]
        stages[stream] = stage_names(stream, n_single[stream], n_states - 1 - n_single[stream])
    return PatchSweep(streams, stages, pos_of, per_position, effect, prob, answers,
                      names[a], names[int(clean.argmax())], time.perf_counter() - t0, labels)
