"""Evaluate the shapes-world model: easy-vqa test, held-out scenes per question type, pointing game.

Shape letters: B batch, T tokens, R regions, H heads.

    python -m lxmert_viz.shapes.evaluate --model assets/shapes --out assets/shapes/RESULTS.md

Pointing game: for each held-out question that names one object (``Question.target``), take the
naming word's first token, its `l2v` attention in the LAST cross layer averaged over heads (the
documented aggregate), and check that the region it ranks first is that object's region. No loss
ever supervised attention; this measures what answering and pretraining taught (the trainer's
referent objective asks the naming word's final state for its object's label and region
features and leaves open where the word looks, see `train.py`). Chance, the rate by naming phrase, each cross
layer and each last-layer head are reported beside it.
"""
from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import torch

from ..model.pretrained import from_pretrained
from ..inputs.text import Tokenizer
from .world import COLORS
from .world.dataset import make_dataset, question_only_baseline
from .data import QTYPES, easyvqa_split, referent_regions, scenes_split

HELD_OUT_SEED = 2  # training scenes use seed 1, the vocabulary corpus seed 0


@torch.inference_mode()
def run(model, table, qa, batch: int = 256, attentions: bool = False):
    """Predictions (Q,) and, with ``attentions``, each question's pointed region per aggregate.

    The aggregates (dict of (Q,) region indices): ``"last"`` is the pointing game's documented
    rule (last cross layer, mean over heads); ``"layer k"`` the mean over heads of cross layer k and
    ``"last, head h"`` one head of the last layer, reported beside it for diagnosis.
    """
    preds, points = [], defaultdict(list)
    for s in range(0, qa.ids.shape[0], batch):
        sl = slice(s, s + batch)
        img = qa.image[sl]
        out = model(input_ids=qa.ids[sl], attention_mask=qa.attn[sl], visual_feats=table.feats[img],
                    visual_pos=table.pos[img], visual_attention_mask=table.mask[img], output_attentions=attentions)
        preds.append(out.question_answering_score.argmax(-1))
        if attentions:
            tt = torch.tensor(qa.target_token[sl]).clamp(min=0)
            rows = torch.arange(len(tt))
            pad = table.mask[img] == 0  # (B, R)
            layers = out.attentions.layers("l2v")  # each (B, H, T, R)
            word = lambda a: a[rows, tt].masked_fill(pad, -1.0).argmax(-1)  # noqa: E731  (B, T, R) -> (B,)
            points["last"].append(word(layers[-1].mean(1)))
            for k, a in enumerate(layers):
                points[f"layer {k}"].append(word(a.mean(1)))
            for h in range(layers[-1].shape[1]):
                points[f"last, head {h}"].append(word(layers[-1][:, h]))
    return torch.cat(preds), ({k: torch.cat(v) for k, v in points.items()} if attentions else None)


def pointing_game(table, qa, points: dict, tok: Tokenizer) -> dict:
    """Hit rates of each aggregate over questions that name one object found by the extractor.

    Also the documented rule's rate by the phrase that names the object (``SHAPE`` as in "the
    circle", ``COLOUR shape`` as in "the red shape", ``COLOUR SHAPE`` as in "the red circle", or
    ``shape`` alone in a one-object scene) and chance (the mean of 1 / real regions).
    """
    colours = set(COLORS)
    hits, kinds, chance = defaultdict(int), defaultdict(lambda: [0, 0]), 0.0
    pos, region = (x.tolist() for x in referent_regions(table, qa))
    named = [j for j, r in enumerate(region) if r >= 0]
    for j in named:
        tt, image = pos[j], int(qa.image[j])
        chance += 1.0 / float(table.mask[image].sum())
        for name, p in points.items():
            hits[name] += int(p[j]) == region[j]
        word, before = (tok._tok.id_to_token(int(qa.ids[j, k])) for k in (tt, tt - 1))
        if word in colours:
            kind = "COLOUR shape"
        elif word == "shape":
            kind = "shape"
        else:
            kind = "COLOUR SHAPE" if before in colours else "SHAPE"
        kinds[kind][0] += int(points["last"][j]) == region[j]
        kinds[kind][1] += 1
    n = max(len(named), 1)
    return {"questions": len(named), "accuracy": hits["last"] / n, "chance": chance / n,
            "rule": "argmax over real regions of the naming word's l2v, last cross layer, mean over heads",
            "by_aggregate": {k: v / n for k, v in hits.items() if k != "last"},
            "by_phrase": {k: {"n": c, "accuracy": h / c} for k, (h, c) in kinds.items()}}


def evaluate(model_dir: Path, n_scenes: int = 2000, easyvqa: bool = True) -> dict:
    t0 = time.perf_counter()
    model = from_pretrained(model_dir).eval()
    tok = Tokenizer.from_pretrained(model_dir)
    res: dict = {"model": str(model_dir)}
    if easyvqa:
        table, qa = easyvqa_split(tok, "test")
        pred, _ = run(model, table, qa)
        res["easyvqa_test"] = {"questions": len(qa.text), "images": int(table.feats.shape[0]),
                               "accuracy": float((pred == qa.answer).float().mean())}
    table, qa, scenes = scenes_split(tok, n_scenes, HELD_OUT_SEED)
    pred, point = run(model, table, qa, attentions=True)
    right = (pred == qa.answer).tolist()
    by_type = defaultdict(list)
    for q, r in zip(qa.qtype, right):
        by_type[q].append(r)
    res["held_out"] = {"scenes": len(scenes), "questions": len(right), "accuracy": sum(right) / len(right),
                       "by_type": {t: {"n": len(by_type[t]), "accuracy": sum(by_type[t]) / len(by_type[t])}
                                   for t in QTYPES if by_type[t]}}
    res["pointing_game"] = pointing_game(table, qa, point, tok)
    train = make_dataset(5000, 1)
    test = make_dataset(n_scenes, HELD_OUT_SEED)
    res["question_only_baseline"] = {"held_out": question_only_baseline(train, test)}
    if easyvqa:
        from .world import load_easyvqa_questions

        pairs = lambda s: [(q, a) for q, a, _ in load_easyvqa_questions(s)]  # noqa: E731
        res["question_only_baseline"]["easyvqa_test"] = question_only_baseline(pairs("train"), pairs("test"))
    res["seconds"] = round(time.perf_counter() - t0, 1)
    return res


def to_markdown(res: dict, command: str) -> str:
    pct = lambda x: f"{100 * x:.1f}%"  # noqa: E731
    lines = ["# Shapes-world model: evaluation", "", f"Command: `{command}`", ""]
    if "easyvqa_test" in res:
        e = res["easyvqa_test"]
        lines += [f"- easy-vqa test split: **{pct(e['accuracy'])}** on {e['questions']} questions, "
                  f"{e['images']} images (easy-vqa's reference model: 93.8%)"]
    h = res["held_out"]
    lines += [f"- held-out generated scenes: **{pct(h['accuracy'])}** on {h['questions']} questions, "
              f"{h['scenes']} scenes", "", "| question type | questions | accuracy |", "|---|---|---|"]
    lines += [f"| {t} | {v['n']} | {pct(v['accuracy'])} |" for t, v in h["by_type"].items()]
    p = res["pointing_game"]
    qb = res["question_only_baseline"]
    lines += ["", f"- pointing game: **{pct(p['accuracy'])}** of {p['questions']} questions that name one object "
              f"({p['rule']}; chance {pct(p['chance'])})"]
    if "by_phrase" in p:
        lines += ["  - by the phrase naming the object: " + ", ".join(
            f"{k} {pct(v['accuracy'])} ({v['n']})" for k, v in sorted(p["by_phrase"].items()))
                  + ' (as in "the red circle", "the red shape", "the circle", and "shape" in a one-object scene)',
                  "  - other aggregates, for diagnosis: " + ", ".join(
            f"{k} {pct(v)}" for k, v in p["by_aggregate"].items())]
    lines += [
              f"- question-only baseline (majority answer per question text): held-out scenes {pct(qb['held_out'])}"
              + (f", easy-vqa test {pct(qb['easyvqa_test'])} (easy-vqa reports 67.0%)" if "easyvqa_test" in qb else ""),
              f"- took {res['seconds']} s", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m lxmert_viz.shapes.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--model", default=None, help="model folder (default: the embedded assets/shapes)")
    p.add_argument("--scenes", type=int, default=2000, help="held-out generated scenes")
    p.add_argument("--out", default=None, help="write the figures here (.md; a .json beside it)")
    p.add_argument("--no-easyvqa", action="store_true")
    a = p.parse_args(argv)
    if a.model is None:
        from ..assets import shapes_model_dir

        a.model = str(shapes_model_dir())
    torch.set_num_threads(2)
    res = evaluate(Path(a.model), a.scenes, easyvqa=not a.no_easyvqa)
    cmd = "python -m lxmert_viz.shapes.evaluate" + (f" --out {a.out}" if a.out else "")
    md = to_markdown(res, cmd)
    print(md)
    if a.out:
        Path(a.out).write_text(md)
        Path(a.out).with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
