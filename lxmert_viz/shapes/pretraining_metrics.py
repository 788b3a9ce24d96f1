"""Held-out figures of LXMERT's pretraining heads on the shapes world, each beside a text-only baseline.

Shape letters: S sentences, Q texts, N images, R regions, T tokens, L region labels.

* masked words: every colour and shape word of a held-out TRUE sentence masked alone (one copy per
  word) and predicted by ``cls.predictions``; with the image, and with the image's objects masked
  out (``batched.object_free``: the text-only view of the same model);
* matching: ``cls.seq_relationship`` on held-out matched and mismatched sentences (index 1: match,
  ``world/statements.py``); with the image, with the objects masked out, and a blind baseline
  (the majority label of the exact sentence text among sentences about other, training-seed scenes);
* region labels: the ``obj`` head on each real region that has a ground-truth object, read with
  the image's first held-out question as the text; beside it the region descriptor's own name
  (its soft colour and guessed shape) and the most common label.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import torch

from ..inputs.text import Tokenizer
from .batched import forward_batches
from .data import StatementTable, statement_rows
from .world import COLORS, SHAPES
from .world.extract import FEATURE_NAMES
from .world.scenes import layout_scene

_COLOR_COLS = [FEATURE_NAMES.index(f"color_{c}") for c in COLORS]
_SHAPE_COLS = [FEATURE_NAMES.index(f"shape_{s}") for s in SHAPES]


def _masked_copies(tok: Tokenizer, st: StatementTable):
    """One copy per colour/shape word of each true sentence, that word masked: ids, attn, image, target, tags."""
    words = {tok.token_to_id(w): ("colour" if w in COLORS else "shape") for w in (*COLORS, *SHAPES)}
    rows, targets, tags = [], [], []
    for j in torch.nonzero(st.match == 1).squeeze(1).tolist():
        ids = st.ids[j]
        spots = [k for k in range(ids.shape[0]) if int(ids[k]) in words and st.attn[j, k]]
        for k in spots:
            said_of = st.stype[j] in ("color", "shape") and k == spots[-1]  # "the circle is [red]."
            rows.append((j, k))
            targets.append(int(ids[k]))
            tags.append((words[int(ids[k])], "said of the object" if said_of else "naming the object"))
    j_idx = torch.tensor([r[0] for r in rows])
    ids = st.ids[j_idx].clone()
    pos = torch.tensor([r[1] for r in rows])
    ids[torch.arange(len(rows)), pos] = tok.mask_id
    return ids, st.attn[j_idx], st.image[j_idx], pos, torch.tensor(targets), tags


def masked_words(model, tok: Tokenizer, table, st: StatementTable) -> dict:
    """Top-1 accuracy of the masked colour/shape word, with the image and with the objects masked out."""
    ids, attn, image, pos, target, tags = _masked_copies(tok, st)
    res: dict = {"words": len(target)}
    for view, regions in (("with image", True), ("objects masked", False)):
        right = []
        for rows, out in forward_batches(model, table, ids, attn, image, regions=regions):
            logits = out.prediction_logits[torch.arange(len(pos[rows])), pos[rows]]
            right += (logits.argmax(-1) == target[rows]).tolist()
        groups = defaultdict(list)
        for r, (kind, role) in zip(right, tags):
            groups[kind].append(r)
            groups[role].append(r)
        res[view] = {"accuracy": sum(right) / len(right),
                     "by_group": {k: {"n": len(v), "accuracy": sum(v) / len(v)} for k, v in sorted(groups.items())}}
    res["chance"] = {"colour": 1 / len(COLORS), "shape": 1 / len(SHAPES)}
    return res


def blind_matching_baseline(st: StatementTable, n_scenes: int, seed: int, style: str = "varied") -> float:
    """Accuracy on ``st`` of the majority label per exact sentence text over other scenes' sentences.

    The reference sentences are ``statement_pairs`` of ``n_scenes`` layouts of data seed ``seed``
    (the training seed: the texts a model could have memorised); an unseen text gets the overall
    majority.
    """
    rows = statement_rows([layout_scene(seed * 1_000_000 + i, style=style)[0] for i in range(n_scenes)], seed)
    by_text: dict[str, Counter] = defaultdict(Counter)
    for _, text, m, _ in rows:
        by_text[text][int(m)] += 1
    overall = Counter(int(r[2]) for r in rows).most_common(1)[0][0]
    guess = [max(sorted(by_text[t].items()), key=lambda kv: kv[1])[0] if t in by_text else overall for t in st.text]
    return float(np.mean([g == int(m) for g, m in zip(guess, st.match.tolist())]))


def matching(model, table, st: StatementTable, blind: float | None = None) -> dict:
    """Matching accuracy (argmax of ``cross_relationship_score``), by mismatch kind, with and without objects."""
    res: dict = {"sentences": len(st.text), "matched_share": float(st.match.float().mean())}
    for view, regions in (("with image", True), ("objects masked", False)):
        pred = torch.cat([out.cross_relationship_score.argmax(-1)
                          for _, out in forward_batches(model, table, st.ids, st.attn, st.image, regions=regions)])
        right = (pred == st.match).tolist()
        groups = defaultdict(list)
        for r, kind, stype in zip(right, st.kind, st.stype):
            groups[kind].append(r)
            groups[f"sentence: {stype}"].append(r)
        res[view] = {"accuracy": sum(right) / len(right),
                     "by_group": {k: {"n": len(v), "accuracy": sum(v) / len(v)} for k, v in sorted(groups.items())}}
    if blind is not None:
        res["blind_by_text"] = blind
    return res


def region_labels(model, table, qa) -> dict:
    """Accuracy of the ``obj`` head on labelled regions, beside the descriptor's own name and the majority."""
    first = {}
    for j, i in enumerate(qa.image.tolist()):
        first.setdefault(i, j)
    images = sorted(first)
    q = torch.tensor([first[i] for i in images])
    img = torch.tensor(images)
    preds = torch.cat([out.obj_predictions["obj"].argmax(-1)
                       for _, out in forward_batches(model, table, qa.ids[q], qa.attn[q], img)])  # (N, R)
    labels = table.obj[img]
    has = labels >= 0
    feats = table.feats[img]
    desc = feats[..., _COLOR_COLS].argmax(-1) * len(SHAPES) + feats[..., _SHAPE_COLS].argmax(-1)
    y, p, d = labels[has], preds[has], desc[has]
    n_shapes = len(SHAPES)
    majority = Counter(y.tolist()).most_common(1)[0][1] / len(y)
    return {"regions": int(has.sum()), "accuracy": float((p == y).float().mean()),
            "colour": float((p // n_shapes == y // n_shapes).float().mean()),
            "shape": float((p % n_shapes == y % n_shapes).float().mean()),
            "descriptor": float((d == y).float().mean()), "majority": majority,
            "text": "the image's first held-out question"}
