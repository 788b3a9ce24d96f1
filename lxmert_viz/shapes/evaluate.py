"""Evaluate a shapes-world model: answers, pointing, and its pretraining heads, on held-out data.

Shape letters: Q questions, B batch, T tokens, R regions.

    python -m lxmert_viz.shapes.evaluate --out assets/shapes/RESULTS.md
    python -m lxmert_viz.shapes.evaluate --model assets/shapes-plain --out assets/shapes-plain/RESULTS.md

Figures (a ``.json`` beside the ``.md`` holds all of them):

* answers per question type on easy-vqa's test split, on held-out generated scenes (the varied
  look the model trains on, and easy-vqa's plain look), and on the independent robustness set
  (``robustness.py``: another drawing routine, other palettes' colours);
* the pointing game per cross layer and head (``pointing.py``);
* masked words, image-text matching and region labels, each beside a text-only baseline
  (``pretraining_metrics.py``);
* the question-only baseline (majority answer per question text).

The seeds never meet training's: training scenes use data seed 1 (``training_data.TRAIN_SEED``),
the vocabulary seed 0, the held-out scenes ``HELD_OUT_SEED``, the robustness set ``ROBUST_SEED``.
"""
from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import torch

from ..inputs.text import Tokenizer
from ..model.pretrained import from_pretrained
from . import pretraining_metrics as pm
from .batched import forward_batches
from .data import QTYPES, easyvqa_split, encode_questions, regions_table, scenes_split, statements_split
from .pointing import pointed_regions, pointing_game
from .report import to_markdown
from .robustness import drawn_set
from .training_data import TRAIN_SEED
from .world.dataset import make_dataset, question_only_baseline
from .world.templates import match_template

HELD_OUT_SEED = 2
ROBUST_SEED = 14


def answer(model, table, qa, attentions: bool = False):
    """Predicted answers (Q,) and, with ``attentions``, the pointed regions per aggregate."""
    preds, points = [], defaultdict(list)
    for rows, out in forward_batches(model, table, qa.ids, qa.attn, qa.image, attentions=attentions):
        preds.append(out.question_answering_score.argmax(-1))
        if attentions:
            img = qa.image[rows]
            for k, v in pointed_regions(out, torch.tensor(qa.target_token[rows]), table.mask[img]).items():
                points[k].append(v)
    return torch.cat(preds), ({k: torch.cat(v) for k, v in points.items()} if attentions else None)


def accuracy_by_type(qa, pred: torch.Tensor, qtypes=None) -> dict:
    """Overall accuracy and per question type (``qa.qtype`` unless ``qtypes`` are given)."""
    right = (pred == qa.answer).tolist()
    groups = defaultdict(list)
    for t, r in zip(qtypes or qa.qtype, right):
        groups[t].append(r)
    return {"questions": len(right), "accuracy": sum(right) / len(right),
            "by_type": {t: {"n": len(groups[t]), "accuracy": sum(groups[t]) / len(groups[t])}
                        for t in QTYPES if groups[t]}}


def robustness_split(tok: Tokenizer, n_scenes: int, seed: int = ROBUST_SEED):
    """The robustness set's images, questions and scenes as tables (``robustness.drawn_set``)."""
    scenes = drawn_set(n_scenes, seed)
    table = regions_table([s.image for s in scenes], [s.objects for s in scenes])
    qs = [(i, q) for i, s in enumerate(scenes) for q in s.questions]
    qa = encode_questions(tok, [q.text for _, q in qs], [q.answer for _, q in qs], [i for i, _ in qs],
                          [q.qtype for _, q in qs], [q.target for _, q in qs], [q.target_char for _, q in qs])
    return table, qa, scenes


def evaluate(model_dir: Path, n_scenes: int = 2000, robust_scenes: int = 1000, easyvqa: bool = True,
             baseline_scenes: int = 5000) -> dict:
    """Every figure of the model in ``model_dir`` (see the module docstring); also its seconds.

    Args:
        model_dir: a model folder (``assets/shapes``, ``assets/shapes-plain`` or a training's ``--out``).
        n_scenes: held-out generated scenes of the varied look (and half as many of the plain look).
        robust_scenes: pictures of the robustness set.
        easyvqa: also easy-vqa's test split (needs the ``easy-vqa`` package).
        baseline_scenes: training-seed scenes behind the blind baselines (question-only, matching).
    """
    t0 = time.perf_counter()
    model = from_pretrained(model_dir).eval()
    tok = Tokenizer.from_pretrained(model_dir)
    res: dict = {"model": str(model_dir)}
    if easyvqa:
        table, qa = easyvqa_split(tok, "test")
        types = [m[0].qtype if (m := match_template(t)) else "other" for t in qa.text]
        res["easyvqa_test"] = {**accuracy_by_type(qa, answer(model, table, qa)[0], types),
                               "images": int(table.feats.shape[0])}
    table, qa, scenes = scenes_split(tok, n_scenes, HELD_OUT_SEED, style="varied")
    pred, points = answer(model, table, qa, attentions=True)
    res["held_out"] = {**accuracy_by_type(qa, pred), "scenes": len(scenes), "look": "varied"}
    res["pointing_game"] = pointing_game(table, qa, points, tok)
    st = statements_split(tok, scenes, HELD_OUT_SEED)
    res["masked_words"] = pm.masked_words(model, tok, table, st)
    res["matching"] = pm.matching(model, table, st, pm.blind_matching_baseline(st, baseline_scenes, TRAIN_SEED))
    res["region_labels"] = pm.region_labels(model, table, qa)
    table, qa, scenes = scenes_split(tok, n_scenes // 2, HELD_OUT_SEED + 1, style="plain")
    res["held_out_plain"] = {**accuracy_by_type(qa, answer(model, table, qa)[0]), "scenes": len(scenes),
                             "look": "plain"}
    table, qa, scenes = robustness_split(tok, robust_scenes)
    res["robustness"] = {**accuracy_by_type(qa, answer(model, table, qa)[0]), "scenes": len(scenes),
                         "region_labels": pm.region_labels(model, table, qa)}
    train = make_dataset(baseline_scenes, TRAIN_SEED, style="varied")
    res["question_only_baseline"] = {"held_out": question_only_baseline(train, make_dataset(n_scenes, HELD_OUT_SEED,
                                                                                              style="varied"))}
    if easyvqa:
        from .world import load_easyvqa_questions

        pairs = lambda s: [(q, a) for q, a, _ in load_easyvqa_questions(s)]  # noqa: E731
        res["question_only_baseline"]["easyvqa_test"] = question_only_baseline(pairs("train"), pairs("test"))
    res["seconds"] = round(time.perf_counter() - t0, 1)
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m lxmert_viz.shapes.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--model", default=None, help="model folder (default: the embedded assets/shapes)")
    p.add_argument("--scenes", type=int, default=2000, help="held-out generated scenes")
    p.add_argument("--robust-scenes", type=int, default=1000, help="scenes of the robustness set")
    p.add_argument("--out", default=None, help="write the figures here (.md; a .json beside it)")
    p.add_argument("--no-easyvqa", action="store_true")
    a = p.parse_args(argv)
    cmd = "python -m lxmert_viz.shapes.evaluate" + (f" --model {a.model}" if a.model else "") + (
        f" --out {a.out}" if a.out else "")
    if a.model is None:
        from ..assets import shapes_model_dir

        a.model = str(shapes_model_dir())
    torch.set_num_threads(2)
    res = evaluate(Path(a.model), a.scenes, a.robust_scenes, easyvqa=not a.no_easyvqa)
    cfg_file = Path(a.model) / "train_config.json"
    cfg = json.loads(cfg_file.read_text()) if cfg_file.is_file() else None
    title = "Shapes-world model" if not cfg or cfg.get("word_weight") else "Shapes-world control model (shapes-plain)"
    md = to_markdown(res, cmd, cfg, title)
    print(md)
    if a.out:
        Path(a.out).write_text(md)
        Path(a.out).with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
