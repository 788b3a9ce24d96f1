"""The pointing game: does the word that names an object attend most to that object's region?

Shape letters: B batch, T tokens, R regions, H heads, L cross layers.

For each held-out question that names one object (``Question.target``), take the naming word's
first token ("circle" in "what color is the circle?", "red" in "what is the red shape?"), its
``l2v`` attention in a cross layer, and check whether the region it ranks first (over the real
regions, the scene row included) is that object's region. The documented rule is the LAST cross
layer averaged over heads; every layer's mean and every layer-and-head pair are reported beside
it. Chance is the mean of 1 / real regions.

What the figure measures depends on the model's objectives: the default model is trained with a
word-referent objective that asks the naming word's final state for its object's label and region
features (``objectives.py``; no loss touches an attention map, but where the word must read its
answer from is asked for); the ``shapes-plain`` control is trained without it, so its figure is
what answering, matching and masked words teach on their own.
"""
from __future__ import annotations

from collections import defaultdict

import torch

from ..inputs.text import Tokenizer
from .data import referent_regions
from .world import COLORS

RULE = "argmax over real regions of the naming word's l2v, last cross layer, mean over heads"


def pointed_regions(out, word_pos: torch.Tensor, region_mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Region each row's naming word points at, per aggregate: (B,) each.

    Keys: ``"last"`` (the rule), ``"layer k"`` (mean over heads of cross layer k) and
    ``"layer k, head h"``.
    """
    rows = torch.arange(len(word_pos))
    pad = region_mask == 0  # (B, R)
    pick = lambda a: a[rows, word_pos.clamp(min=0)].masked_fill(pad, -1.0).argmax(-1)  # noqa: E731  (B, T, R) -> (B,)
    layers = out.attentions.layers("l2v")  # each (B, H, T, R)
    points = {"last": pick(layers[-1].mean(1))}
    for k, a in enumerate(layers):
        points[f"layer {k}"] = pick(a.mean(1))
        for h in range(a.shape[1]):
            points[f"layer {k}, head {h}"] = pick(a[:, h])
    return points


def _phrase(tok: Tokenizer, ids: torch.Tensor, tt: int) -> str:
    """How the object is named: ``COLOUR SHAPE``, ``COLOUR shape``, ``SHAPE`` or ``shape`` alone."""
    word, before = (tok.id_to_token(int(ids[k])) for k in (tt, tt - 1))
    if word in COLORS:
        return "COLOUR shape"
    if word == "shape":
        return "shape"
    return "COLOUR SHAPE" if before in COLORS else "SHAPE"


def pointing_game(table, qa, points: dict[str, torch.Tensor], tok: Tokenizer) -> dict:
    """Hit rates over questions that name one object found by the extractor.

    Args:
        table, qa: the held-out ``ImageTable`` and ``QATable``.
        points: ``pointed_regions`` of every question, concatenated.
        tok: the model's tokenizer (to tell the naming phrases apart).

    Returns:
        ``questions``, ``accuracy`` (the rule), ``chance``, ``rule``, ``by_layer`` (mean over heads),
        ``by_layer_head`` ({"layer k, head h": rate}) and ``by_phrase`` ({phrase: {n, accuracy}}).
    """
    hits, kinds, chance = defaultdict(int), defaultdict(lambda: [0, 0]), 0.0
    pos, region = (x.tolist() for x in referent_regions(table, qa))
    named = [j for j, r in enumerate(region) if r >= 0]
    for j in named:
        chance += 1.0 / float(table.mask[int(qa.image[j])].sum())
        for name, p in points.items():
            hits[name] += int(p[j]) == region[j]
        kind = kinds[_phrase(tok, qa.ids[j], pos[j])]
        kind[0] += int(points["last"][j]) == region[j]
        kind[1] += 1
    n = max(len(named), 1)
    return {"questions": len(named), "accuracy": hits["last"] / n, "chance": chance / n, "rule": RULE,
            "by_layer": {k: hits[k] / n for k in points if k.startswith("layer") and "head" not in k},
            "by_layer_head": {k: hits[k] / n for k in points if "head" in k},
            "by_phrase": {k: {"n": c, "accuracy": h / c} for k, (h, c) in sorted(kinds.items())}}
