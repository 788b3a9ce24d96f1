"""Train the embedded shapes-world LXMERT (seeded, 2 CPU threads, minutes) and write it to a folder.

Shape letters: B rows, T tokens, R regions, F region features.

    lxmert-viz train --out runs/shapes                          # the default model's recipe
    lxmert-viz train --word-weight 0 --out runs/shapes-plain    # the control model's
    (``python -m lxmert_viz.shapes.train`` is the same command; ``--force`` to write over a model folder)

The recipe is a `TrainConfig` (``train_config.py``), saved as ``train_config.json`` beside the
weights; the losses are ``objectives.py``, the tables ``training_data.py``. Each step draws
``batch`` questions with their images (the answer, region-label and, for the default model,
word-referent losses), ``itm_rows`` sentences, half of them true of their image (the matching
loss), and ``mlm_rows`` true sentences with words masked (the masked-word loss), and runs them
through the model as one batch. A curriculum opens the run: ``side_steps`` steps of side questions
only ("is the red circle on the left?", ``sides.py``), then ``pair_steps`` of side, relation and
size questions, then everything. How the recipe and its numbers were reached is in
``assets/shapes/TRAINING.md``.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import random
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..errors import ConfigError, InputError, MissingFileError
from ..inputs.answers import Answers
from ..inputs.text import Tokenizer
from ..model.config import LxmertConfig
from ..model.lxmert import Lxmert
from . import objectives
from .data import NUM_OBJECT_LABELS
from .sides import side_corpus
from .train_config import TrainConfig, from_arguments
from .train_config import add_arguments as train_config_arguments
from .training_data import LOG_QTYPES, TWO_OBJECT_QTYPES, build_data, object_word_ids, of_types
from .world.dataset import ANSWERS
from .world.extract import F as FEATURE_DIM
from .world.statements import statement_corpus
from .world.vocab import question_corpus, save_wordpiece, train_wordpiece


def shapes_config(vocab_size: int, **overrides) -> LxmertConfig:
    """The embedded model's size: 128 hidden, 4 heads, 2 language / 2 relationship / 3 cross layers.

    The `feat` regression head (``visual_feat_loss``) is there for the word-referent objective;
    ``task_matched`` because the matching head is trained.

    Example:
        >>> c = shapes_config(100)
        >>> c.hidden_size, (c.l_layers, c.r_layers, c.x_layers), c.visual_feat_dim, c.num_qa_labels
        (128, (2, 2, 3), 35, 20)
    """
    base = dict(
        vocab_size=vocab_size, hidden_size=128, num_attention_heads=4, intermediate_size=256,
        l_layers=2, r_layers=2, x_layers=3, visual_feat_dim=FEATURE_DIM, visual_pos_dim=4,
        max_position_embeddings=32, num_qa_labels=len(ANSWERS), num_object_labels=NUM_OBJECT_LABELS,
        num_attr_labels=8, visual_attr_loss=False, visual_feat_loss=True, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0, task_matched=True, pad_token_id=0,
        id2label={i: a for i, a in enumerate(ANSWERS)},
    )
    base.update(overrides)
    return LxmertConfig(**base)


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_tokenizer(cfg: TrainConfig, out: Path, progress: bool = False) -> Tokenizer:
    """Train the WordPiece vocabulary on the questions, side questions and sentences; save it in ``out``."""
    if progress:
        print(f"vocabulary: questions of {cfg.vocab_scenes} scenes and the sentences (about 2 s)",
              file=sys.stderr, flush=True)
    corpus = {*question_corpus(n_scenes=cfg.vocab_scenes, seed=0, easyvqa=cfg.easyvqa), *statement_corpus()}
    if cfg.sides:
        corpus |= set(side_corpus(cfg.side_kinds))
    save_wordpiece(train_wordpiece(sorted(corpus)), out)
    return Tokenizer.from_pretrained(out)


class Sampler:
    """Which rows each step trains on: the curriculum's question pools, easy-vqa's share, sentences."""

    def __init__(self, data: dict, cfg: TrainConfig, gen: torch.Generator):
        self.data, self.cfg, self.gen = data, cfg, gen
        self.scene_q = torch.nonzero(data["source"] == 0).squeeze(1)
        self.easy_q = torch.nonzero(data["source"] == 1).squeeze(1)
        self.n_easy = int(round(cfg.batch * cfg.easyvqa_share)) if len(self.easy_q) else 0
        w = torch.where(of_types(data, TWO_OBJECT_QTYPES), cfg.two_object_weight, 1.0)
        self.scene_w = torch.where(of_types(data, ("count",)), cfg.count_weight, w)[self.scene_q].double()
        self.weighted = cfg.two_object_weight != 1.0 or cfg.count_weight != 1.0
        self.phases = [(cfg.side_steps, torch.nonzero(of_types(data, ("side",))).squeeze(1)),
                       (cfg.pair_steps, torch.nonzero(of_types(data, ("side", *TWO_OBJECT_QTYPES))).squeeze(1))]
        self.matched = torch.nonzero(data["st_match"] == 1).squeeze(1)

    def _draw(self, pool: torch.Tensor, n: int) -> torch.Tensor:
        return pool[torch.randint(0, len(pool), (n,), generator=self.gen)]

    def questions(self, step: int) -> torch.Tensor:
        """(batch,) question rows of this step."""
        start = 0
        for n_phase, pool in self.phases:
            if start <= step < start + n_phase:  # curriculum: side questions first, then two-object ones
                return self._draw(pool, self.cfg.batch)
            start += n_phase
        n = self.cfg.batch - self.n_easy
        if not self.weighted:
            idx = self._draw(self.scene_q, n)
        else:
            idx = self.scene_q[torch.multinomial(self.scene_w, n, replacement=True, generator=self.gen)]
        return torch.cat([idx, self._draw(self.easy_q, self.n_easy)]) if self.n_easy else idx

    def sentences(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Sentence rows for matching (any) and for masked words (matched only)."""
        n_all = len(self.data["st_match"])
        itm = torch.randint(0, n_all, (self.cfg.itm_rows,), generator=self.gen)
        return itm, self._draw(self.matched, self.cfg.mlm_rows)


def make_optimizer(model: Lxmert, cfg: TrainConfig):
    """AdamW (weight decay 0.01 on matrices), warm-up over 5% of the steps, then cosine decay to 0."""
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=cfg.lr, betas=(0.9, 0.98), fused=True)
    warm, steps = max(1, cfg.steps // 20), cfg.steps
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))))
    return opt, sched


def _rows(data: dict, q: torch.Tensor, itm: torch.Tensor, mlm_ids: torch.Tensor, mlm: torch.Tensor):
    """One batch: [questions | matching sentences | masked sentences], padding trimmed to what is used."""
    texts = [(data["ids"][q], data["attn"][q]), (data["st_ids"][itm], data["st_attn"][itm]),
             (mlm_ids, data["st_attn"][mlm])]
    t = max(x.shape[1] for x, _ in texts)
    ids = torch.cat([F.pad(x, (0, t - x.shape[1])) for x, _ in texts])
    attn = torch.cat([F.pad(a, (0, t - a.shape[1])) for _, a in texts])
    t = int(attn.sum(1).max())
    img = torch.cat([data["image"][q], data["st_image"][itm], data["st_image"][mlm]])
    vmask = data["mask"][img]
    r = int(vmask.sum(1).max())  # (B, R) -> the regions some row uses
    return ids[:, :t], attn[:, :t], img, data["feats"][img, :r], data["pos"][img, :r], vmask[:, :r], r


def train_step(model, data: dict, cfg: TrainConfig, sampler: Sampler, step: int, tok: Tokenizer,
               object_ids: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Draw the step's rows, run them as one batch and return (total loss, parts for the log)."""
    q = sampler.questions(step)
    itm, mlm = sampler.sentences()
    mlm_ids, mlm_labels = objectives.mask_tokens(data["st_ids"][mlm], data["st_attn"][mlm], tok, sampler.gen,
                                                 p=cfg.mask_rate, object_ids=object_ids, object_p=cfg.object_mask)
    ids, attn, img, feats, pos, vmask, r = _rows(data, q, itm, mlm_ids, mlm)
    o = model(input_ids=ids, attention_mask=attn, visual_feats=feats, visual_pos=pos, visual_attention_mask=vmask,
              output_attentions=False)
    b, n_itm, t = len(q), len(itm), ids.shape[1]
    mlm_labels = F.pad(mlm_labels, (0, max(0, t - mlm_labels.shape[1])), value=-100)[:, :t]
    qa_logits = o.question_answering_score[:b]
    parts = {"qa": F.cross_entropy(qa_logits, data["answer"][q]),
             "obj": objectives.region_label_loss(o.obj_predictions["obj"][:b], data["obj"][img[:b], :r]),
             "itm": objectives.matching_loss(o.cross_relationship_score[b:b + n_itm], data["st_match"][itm]),
             "mlm": objectives.masked_word_loss(o.prediction_logits[b + n_itm:], mlm_labels)}
    loss = parts["qa"] + cfg.obj_weight * parts["obj"] + cfg.itm_weight * parts["itm"] + parts["mlm"]
    wp, wr = data["word_pos"][q], data["word_region"][q]
    named = torch.nonzero(wp >= 0).squeeze(1)
    parts["word"] = torch.zeros(())
    if cfg.word_weight and len(named):
        ri, rr = img[named], wr[named]
        parts["word"] = objectives.referent_loss(model.obj_predict_head, o.lang_hidden[-1][named], wp[named],
                                                 data["obj"][ri, rr], data["feats"][ri, rr])
        loss = loss + cfg.word_weight * parts["word"]
    log = {k: v.item() for k, v in parts.items()}
    log["hit"] = (qa_logits.argmax(-1) == data["answer"][q]).float()
    log["qtype"] = data["qtype"][q]
    log["itm_acc"] = (o.cross_relationship_score[b:b + n_itm].argmax(-1) == data["st_match"][itm]).float().mean().item()
    return loss, log


def update(model: Lxmert, opt, sched, loss: torch.Tensor) -> None:
    """One optimiser update: gradients of ``loss``, their norm clipped at 1, the step, the schedule's step."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()


class History:
    """Running means of the step logs, one entry per ``log_every`` steps (answer accuracy per type)."""

    KEYS = ("qa", "obj", "itm", "mlm", "word", "itm_acc")

    def __init__(self, every: int):
        self.every, self.entries = every, []
        self._reset()

    def _reset(self):
        self.sums = dict.fromkeys(self.KEYS, 0.0)
        self.hits, self.seen = torch.zeros(len(LOG_QTYPES)), torch.zeros(len(LOG_QTYPES))

    def add(self, step: int, log: dict) -> dict | None:
        for k in self.KEYS:
            self.sums[k] += log[k]
        self.hits.index_add_(0, log["qtype"], log["hit"])
        self.seen.index_add_(0, log["qtype"], torch.ones_like(log["hit"]))
        if (step + 1) % self.every:
            return None
        entry = {"step": step + 1, **{f"{k}_loss" if k != "itm_acc" else k: v / self.every for k, v in self.sums.items()},
                 "train_acc": float(self.hits.sum() / self.seen.sum()),
                 "train_acc_by_type": {t: round(float(h / n), 4) for t, h, n in zip(LOG_QTYPES, self.hits, self.seen)
                                       if n > 0}}
        self.entries.append(entry)
        self._reset()
        return entry


def start(cfg: TrainConfig, tok: Tokenizer, data: dict) -> tuple:
    """A fresh model in training mode and what its steps need: ``(model, opt, sched, sampler, object_ids)``.

    Call after ``seed_all(cfg.seed)`` and the data build: the weights are the next draws of torch's
    global generator, the sampler has its own, seeded with ``cfg.seed``.
    """
    model = Lxmert(shapes_config(tok.vocab_size, initializer_range=cfg.init_std), output_heads=("pretraining", "qa"))
    model.train()
    opt, sched = make_optimizer(model, cfg)
    sampler = Sampler(data, cfg, torch.Generator().manual_seed(cfg.seed))
    return model, opt, sched, sampler, object_word_ids(tok)


def train(cfg: TrainConfig, out: str | Path, progress: bool = True, command: str | None = None) -> dict:
    """Train a model by ``cfg`` and save it in ``out``; returns the history and timings.

    Writes ``config.json``, ``model.safetensors`` (loadable by `transformers`'
    ``LxmertForPreTraining``), ``tokenizer.json``, ``vocab.txt``, ``answers.json``,
    ``train_config.json`` (``cfg``) and ``training.json`` (history, sizes, seconds, and ``command``:
    the command line that ran it, when given). ``progress``: a bar (count, rate, ETA) for each phase.
    """
    cfg.check()
    t0 = time.perf_counter()
    torch.set_num_threads(cfg.threads)
    seed_all(cfg.seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(cfg, out, progress)
    data = build_data(tok, cfg, progress)
    t_data = time.perf_counter() - t0
    model, opt, sched, sampler, object_ids = start(cfg, tok, data)
    history = History(cfg.log_every)
    bar = tqdm(range(cfg.steps), desc="train", disable=not progress, mininterval=2.0)
    for step in bar:
        loss, log = train_step(model, data, cfg, sampler, step, tok, object_ids)
        update(model, opt, sched, loss)
        entry = history.add(step, log)
        if entry:
            bar.set_postfix(qa=f"{entry['qa_loss']:.3f}", acc=f"{entry['train_acc']:.3f}", itm=f"{entry['itm_acc']:.2f}")
    model.eval()
    model.save_pretrained(out)
    Answers(list(ANSWERS)).save(out / "answers.json")
    cfg.save(out)
    t_total = time.perf_counter() - t0
    info = {"command": command, "questions": int(data["ids"].shape[0]), "sentences": int(data["st_ids"].shape[0]),
            "images": int(data["feats"].shape[0]), "data_seconds": round(t_data, 1),
            "total_seconds": round(t_total, 1), "seconds_per_step": round((t_total - t_data) / max(cfg.steps, 1), 4),
            "history": history.entries}
    (out / "training.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


MODEL_FILES = ("model.safetensors", "config.json", "train_config.json")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``lxmert-viz train`` flags: ``--out``, ``--force``, ``--config``, ``--quiet`` and one per recipe field."""
    p.add_argument("--out", required=True, help="output folder (created; its parent must exist)")
    p.add_argument("--force", action="store_true", help="write over a folder that already holds a model")
    p.add_argument("--config", default=None, help="start from this train_config.json (flags override it)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    train_config_arguments(p)


def writable_folder(out: Path, force: bool, holds: tuple[str, ...], what: str) -> Path:
    """``out`` if a run may write its files there; otherwise `InputError` saying why and what to do."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; --out names a folder")
    parent = out if out.is_dir() else (out.parent if str(out.parent) else Path("."))
    if not parent.is_dir():
        raise MissingFileError(f"folder {parent} does not exist; create it or choose another --out")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"folder {parent} is not writable; choose another --out")
    there = [n for n in holds if (out / n).exists()]
    if there and not force:
        raise InputError(f"{out} already holds {what} ({', '.join(there)}); pass --force to write over it, "
                         "or choose another --out")
    return out


def check_arguments(a: argparse.Namespace) -> tuple[TrainConfig, Path]:
    """The recipe and output folder of a parsed command line, every check done before any work."""
    base = None
    if a.config:
        if not Path(a.config).is_file():
            raise MissingFileError(f"--config {a.config}: no such file")
        try:
            base = TrainConfig.load(a.config)
        except (ValueError, TypeError, KeyError) as err:
            raise ConfigError(f"--config {a.config} is not a train_config.json: {err}") from None
    try:
        cfg = from_arguments(a, base)
        cfg.check()
    except (ValueError, TypeError) as err:
        raise ConfigError(f"bad recipe: {err}") from None
    if cfg.easyvqa and importlib.util.find_spec("easy_vqa") is None:
        raise InputError("training reads easy-vqa's train split, which is not installed: "
                         "pip install 'lxmert_viz[train]' (or pass --no-easyvqa)")
    return cfg, writable_folder(Path(a.out), a.force, MODEL_FILES, "a model")


def run(a: argparse.Namespace, command: str) -> int:
    """``lxmert-viz train``: check everything, train, print one summary line."""
    cfg, out = check_arguments(a)
    info = train(cfg, out, progress=not a.quiet, command=command)
    last = info["history"][-1] if info["history"] else {}
    print(f"wrote {out}: {info['questions']} questions, {info['sentences']} sentences on {info['images']} images, "
          f"{info['total_seconds']} s, last train acc {last.get('train_acc', float('nan')):.3f}")
    return 0


def main(argv=None) -> int:
    """``python -m lxmert_viz.shapes.train``: the same as ``lxmert-viz train`` (without its one-line errors)."""
    p = argparse.ArgumentParser(prog="lxmert-viz train", description=__doc__.split("\n")[0])
    add_arguments(p)
    given = list(sys.argv[1:] if argv is None else argv)
    return run(p.parse_args(given), shlex.join(["lxmert-viz", "train", *given]))


if __name__ == "__main__":
    raise SystemExit(main())
