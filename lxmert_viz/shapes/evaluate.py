"""Evaluate a shapes-world model: answers, pointing, and its pretraining heads, on held-out data.

Shape letters: Q questions, B batch, T tokens, R regions.

    lxmert-viz evaluate --out runs/RESULTS.md
    lxmert-viz evaluate --model assets/shapes-plain --out runs/RESULTS-plain.md
    (``python -m lxmert_viz.shapes.evaluate`` is the same command; ``--force`` to write over a file)

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
import importlib.util
import json
import os
import shlex
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..assets import shapes_model_dir
from ..errors import InputError, MissingFileError
from ..inputs.text import Tokenizer
from ..model.pretrained import from_pretrained
from . import pretraining_metrics as pm
from .batched import forward_batches
from .data import QTYPES, easyvqa_split, encode_questions, regions_table, scenes_split, statements_split
from .pointing import pointed_regions, pointing_game
from .report import to_markdown
from .robustness import drawn_set
from .training_data import TRAIN_SEED
from .world import load_easyvqa_questions
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


PHASES = ("easy-vqa test", "held-out scenes (varied)", "sentences: masked words, matching, region labels",
          "held-out scenes (plain)", "robustness set", "question-only baselines")


def evaluate(model_dir: Path, n_scenes: int = 2000, robust_scenes: int = 1000, easyvqa: bool = True,
             baseline_scenes: int = 5000, progress: bool = False) -> dict:
    """Every figure of the model in ``model_dir`` (see the module docstring); also its seconds.

    Args:
        model_dir: a model folder (``assets/shapes``, ``assets/shapes-plain`` or a training's ``--out``).
        n_scenes: held-out generated scenes of the varied look (and half as many of the plain look).
        robust_scenes: pictures of the robustness set.
        easyvqa: also easy-vqa's test split (needs the ``easy-vqa`` package).
        baseline_scenes: training-seed scenes behind the blind baselines (question-only, matching).
        progress: on stderr, a bar over the phases (`PHASES`, with an ETA) and one for each image set.
    """
    t0 = time.perf_counter()
    model = from_pretrained(model_dir).eval()
    tok = Tokenizer.from_pretrained(model_dir)
    res: dict = {"model": str(model_dir)}
    phases = tqdm(total=len(PHASES) - (not easyvqa), desc="evaluate", unit="phase", disable=not progress,
                  position=0, bar_format="{desc}: {n}/{total} phases [{elapsed}<{remaining}] {postfix}")

    def phase(name: str) -> None:
        if phases.n or name != PHASES[0]:
            phases.update(1)
        phases.set_postfix_str(f"now: {name}")
        phases.refresh()

    if easyvqa:
        phase(PHASES[0])
        table, qa = easyvqa_split(tok, "test", progress=progress)
        types = [m[0].qtype if (m := match_template(t)) else "other" for t in qa.text]
        res["easyvqa_test"] = {**accuracy_by_type(qa, answer(model, table, qa)[0], types),
                               "images": int(table.feats.shape[0])}
    phase(PHASES[1])
    table, qa, scenes = scenes_split(tok, n_scenes, HELD_OUT_SEED, style="varied", progress=progress)
    pred, points = answer(model, table, qa, attentions=True)
    res["held_out"] = {**accuracy_by_type(qa, pred), "scenes": len(scenes), "look": "varied"}
    res["pointing_game"] = pointing_game(table, qa, points, tok)
    phase(PHASES[2])
    st = statements_split(tok, scenes, HELD_OUT_SEED)
    res["masked_words"] = pm.masked_words(model, tok, table, st)
    res["matching"] = pm.matching(model, table, st, pm.blind_matching_baseline(st, baseline_scenes, TRAIN_SEED))
    res["region_labels"] = pm.region_labels(model, table, qa)
    phase(PHASES[3])
    table, qa, scenes = scenes_split(tok, n_scenes // 2, HELD_OUT_SEED + 1, style="plain", progress=progress)
    res["held_out_plain"] = {**accuracy_by_type(qa, answer(model, table, qa)[0]), "scenes": len(scenes),
                             "look": "plain"}
    phase(PHASES[4])
    table, qa, scenes = robustness_split(tok, robust_scenes)
    res["robustness"] = {**accuracy_by_type(qa, answer(model, table, qa)[0]), "scenes": len(scenes),
                         "region_labels": pm.region_labels(model, table, qa)}
    phase(PHASES[5])
    train = make_dataset(baseline_scenes, TRAIN_SEED, style="varied")
    res["question_only_baseline"] = {"held_out": question_only_baseline(train, make_dataset(n_scenes, HELD_OUT_SEED,
                                                                                              style="varied"))}
    if easyvqa:
        pairs = lambda s: [(q, a) for q, a, _ in load_easyvqa_questions(s)]  # noqa: E731
        res["question_only_baseline"]["easyvqa_test"] = question_only_baseline(pairs("train"), pairs("test"))
    phases.update(1)
    phases.close()
    res["seconds"] = round(time.perf_counter() - t0, 1)
    return res


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``lxmert-viz evaluate`` flags."""
    p.add_argument("--model", default=None, help="model folder (default: the embedded assets/shapes)")
    p.add_argument("--scenes", type=int, default=2000, help="held-out generated scenes (default 2000)")
    p.add_argument("--robust-scenes", type=int, default=1000, help="scenes of the robustness set (default 1000)")
    p.add_argument("--out", default=None, help="write the figures here (.md; a .json beside it)")
    p.add_argument("--force", action="store_true", help="write over existing --out files")
    p.add_argument("--no-easyvqa", action="store_true", help="leave easy-vqa's test split out")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def output_files(out: str | None, force: bool) -> tuple[Path, Path] | None:
    """The .md and .json that ``--out`` names, checked before any work (None without ``--out``)."""
    if out is None:
        return None
    md = Path(out)
    if md.suffix.lower() != ".md":
        raise InputError(f"--out must name a .md file (a .json goes beside it), got {out}")
    folder = md.parent if str(md.parent) else Path(".")
    if not folder.is_dir():
        raise MissingFileError(f"folder {folder} does not exist; create it or choose another --out")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"folder {folder} is not writable; choose another --out")
    pair = (md, md.with_suffix(".json"))
    there = [str(p) for p in pair if p.exists()]
    if there and not force:
        raise InputError(f"{' and '.join(there)} already exist; pass --force to write over them, or choose another --out")
    return pair


def check_arguments(a: argparse.Namespace) -> tuple[Path, tuple[Path, Path] | None]:
    """The model folder and output files of a parsed command line, every check done before any work."""
    model = Path(a.model) if a.model else shapes_model_dir()
    if not (model / "config.json").is_file():
        raise MissingFileError(f"--model {model}: no model folder there (no config.json); give a folder "
                               "written by lxmert-viz train, or leave --model out for the embedded model")
    if a.scenes < 2 or a.robust_scenes < 1:
        raise InputError(f"--scenes must be at least 2 and --robust-scenes at least 1, got {a.scenes} and {a.robust_scenes}")
    if not a.no_easyvqa and importlib.util.find_spec("easy_vqa") is None:
        raise InputError("evaluate reads easy-vqa's test split, which is not installed: "
                         "pip install 'lxmert_viz[train]' (or pass --no-easyvqa)")
    return model, output_files(a.out, a.force)


def run(a: argparse.Namespace, command: str) -> int:
    """``lxmert-viz evaluate``: check everything, evaluate, print (and write) the figures."""
    model, files = check_arguments(a)
    torch.set_num_threads(2)
    res = evaluate(model, a.scenes, a.robust_scenes, easyvqa=not a.no_easyvqa, progress=not a.quiet)
    cfg_file = model / "train_config.json"
    cfg = json.loads(cfg_file.read_text()) if cfg_file.is_file() else None
    title = "Shapes-world model" if not cfg or cfg.get("word_weight") else "Shapes-world control model (shapes-plain)"
    md = to_markdown(res, command, cfg, title)
    print(md)
    if files:
        files[0].write_text(md)
        files[1].write_text(json.dumps({"command": command, **res}, indent=1) + "\n")
    return 0


def main(argv=None) -> int:
    """``python -m lxmert_viz.shapes.evaluate``: the same as ``lxmert-viz evaluate`` (without its one-line errors)."""
    p = argparse.ArgumentParser(prog="lxmert-viz evaluate", description=__doc__.split("\n")[0])
    add_arguments(p)
    given = list(sys.argv[1:] if argv is None else argv)
    return run(p.parse_args(given), shlex.join(["lxmert-viz", "evaluate", *given]))


if __name__ == "__main__":
    raise SystemExit(main())
