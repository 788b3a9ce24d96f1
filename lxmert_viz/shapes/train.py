"""Train the embedded shapes-world LXMERT (seeded, CPU, minutes) and write it to ``assets/shapes``.

Shape letters: B batch, T tokens, R regions, F region features.

    python -m lxmert_viz.shapes.train --out assets/shapes

Data: balanced questions on generated scenes plus easy-vqa's train split, all through the pixel
region extractor. Objectives: the answer (cross entropy), LXMERT's region-label prediction on
generated scenes (colour x shape of the region's object), masked words (a masked copy of part
of each batch, predicted with the tied decoder) and a referent objective on words: the final state
of the word that names a question's one object ("circle" in "what color is the circle?"), read by
LXMERT's region heads, must give that object's label (colour x shape, the `obj` head, cross
entropy) and its region's feature vector (where it is, how big: the `feat` regression head,
squared error). No loss touches an attention map; where a word looks is left to the model.

Why (pointing game, `evaluate.py`; held-out scenes, chance 23%): in the last cross layer only
[CLS] feeds the answer, so with answer, region and masked-word losses alone the other words'
last-layer attention is never trained: the naming word's l2v there found its object 34% of the
time (the middle layer's best head 69%). With the label alone: 90.0%, the misses mostly on the
scene row, for phrases like "red circle" whose label the text already gives. Adding the
features, which the text never gives: 99.9% (counting 99.8% -> 96.1%, the rest unchanged).

Curriculum: the first 400 steps draw only the auxiliary side questions ("is the red circle on
the left?", "… big?", `sides.py`), the next 800 only side, relation and size questions, the rest
everything. Without it the relation questions stayed at chance: trained on the mixture from the
start, the model settles on a way of answering that ignores where objects are, and even the side
questions then stay at 50% for 5000 steps (see `training.json`'s accuracy per type).
"""
from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..inputs.answers import Answers
from ..model.config import LxmertConfig
from ..model.lxmert import Lxmert
from ..inputs.text import Tokenizer
from .world import COLORS, SHAPES
from .world.dataset import ANSWERS
from .world.extract import F as FEATURE_DIM
from .world.vocab import question_corpus, save_wordpiece, train_wordpiece
from .data import (NUM_OBJECT_LABELS, QATable, easyvqa_split, encode_questions, referent_regions,
                   scenes_split)
from .sides import DEFAULT_KINDS, side_corpus, side_questions

TRAIN_SEED = 1  # data seed of the training scenes; evaluation uses others
TWO_OBJECT_QTYPES = ("relation", "size")  # questions comparing two named objects
LOG_QTYPES = ("color", "shape", "exist", "count", "relation", "size", "side", "easyvqa")  # training accuracy per type


def shapes_config(vocab_size: int, **overrides) -> LxmertConfig:
    """The embedded model's size: 128 hidden, 4 heads, 2 language / 2 relationship / 3 cross layers.

    The `feat` regression head (``visual_feat_loss``) is there for the referent objective.
    """
    base = dict(
        vocab_size=vocab_size, hidden_size=128, num_attention_heads=4, intermediate_size=256,
        l_layers=2, r_layers=2, x_layers=3, visual_feat_dim=FEATURE_DIM, visual_pos_dim=4,
        max_position_embeddings=32, num_qa_labels=len(ANSWERS), num_object_labels=NUM_OBJECT_LABELS,
        num_attr_labels=8, visual_attr_loss=False, visual_feat_loss=True, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0, task_matched=False, pad_token_id=0,
        id2label={i: a for i, a in enumerate(ANSWERS)},
    )
    base.update(overrides)
    return LxmertConfig(**base)


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_data(tok: Tokenizer, n_scenes: int, easyvqa: bool = True, sides: bool = False,
               side_kinds: tuple[str, ...] = DEFAULT_KINDS):
    """Concatenate generated scenes and easy-vqa train into one image table and one QA table.

    With ``sides``, the generated scenes also get the auxiliary side questions (`sides.py`).
    """
    table, qa, scenes = scenes_split(tok, n_scenes, TRAIN_SEED)
    if sides:
        rng = np.random.default_rng(TRAIN_SEED)
        extra = [(i, q) for i, sc in enumerate(scenes) for q in side_questions(sc, rng, kinds=side_kinds)]
        side_qa = encode_questions(tok, [q.text for _, q in extra], [q.answer for _, q in extra],
                                   [i for i, _ in extra], [q.qtype for _, q in extra],
                                   [q.target for _, q in extra], [q.target_char for _, q in extra])
        qa = concat_qa(qa, side_qa, tok.pad_id)
    parts = [(table, qa)]
    if easyvqa:
        parts.append(easyvqa_split(tok, "train"))
    feats, pos, mask, obj, ids, attn, ans, img = [], [], [], [], [], [], [], []
    offset, t = 0, max(p[1].ids.shape[1] for p in parts)
    for tb, q in parts:
        feats.append(tb.feats), pos.append(tb.pos), mask.append(tb.mask), obj.append(tb.obj)
        ids.append(F.pad(q.ids, (0, t - q.ids.shape[1]), value=tok.pad_id))
        attn.append(F.pad(q.attn, (0, t - q.attn.shape[1])))
        ans.append(q.answer)
        img.append(q.image + offset)
        offset += tb.feats.shape[0]
    cat = torch.cat
    source = cat([torch.full((len(q.answer),), k) for k, (_, q) in enumerate(parts)])  # 0 scenes, 1 easy-vqa
    words = [referent_regions(tb, q) for tb, q in parts]  # easy-vqa names no object: all -1
    qtype = cat([torch.tensor([LOG_QTYPES.index(t) for t in q.qtype]) for _, q in parts])
    return dict(feats=cat(feats), pos=cat(pos), mask=cat(mask), obj=cat(obj), ids=cat(ids), attn=cat(attn),
                answer=cat(ans), image=cat(img), source=source,
                qtype=qtype, word_pos=cat([w[0] for w in words]), word_region=cat([w[1] for w in words]))


def of_types(data: dict, names) -> torch.Tensor:
    """(Q,) bool: which questions of ``build_data``'s table are of the named types."""
    return torch.isin(data["qtype"], torch.tensor([LOG_QTYPES.index(t) for t in names]))


def object_word_ids(tok: Tokenizer) -> torch.Tensor:
    """Token ids of the words that describe objects (colours and shapes, singular and plural)."""
    words = [*COLORS, *SHAPES, *(s + "s" for s in SHAPES)]
    vocab = tok._tok.get_vocab()
    ids = {vocab[w] for w in words if w in vocab}
    return torch.tensor(sorted(ids), dtype=torch.long)


def concat_qa(a: QATable, b: QATable, pad_id: int) -> QATable:
    """Questions of ``a`` then ``b`` (same image table), token tensors padded to the longer."""
    t = max(a.ids.shape[1], b.ids.shape[1])
    ids = torch.cat([F.pad(x.ids, (0, t - x.ids.shape[1]), value=pad_id) for x in (a, b)])
    attn = torch.cat([F.pad(x.attn, (0, t - x.attn.shape[1])) for x in (a, b)])
    return QATable(ids, attn, torch.cat([a.answer, b.answer]), torch.cat([a.image, b.image]), a.text + b.text,
                   a.qtype + b.qtype, a.target + b.target, a.target_token + b.target_token)


def mask_tokens(ids: torch.Tensor, attn: torch.Tensor, tok: Tokenizer, gen: torch.Generator, p: float = 0.15,
                object_ids: torch.Tensor | None = None, object_p: float = 0.15):
    """BERT masking of real, non-special tokens: returns (masked ids, labels with -100 elsewhere).

    Words in ``object_ids`` (colours, shapes) are masked with probability ``object_p`` instead of
    ``p``: predicting a masked colour or shape from the rest of the question needs the image.
    """
    special = (ids == tok.cls_id) | (ids == tok.sep_id) | (attn == 0)
    rate = torch.full(ids.shape, p)
    if object_ids is not None:
        rate = torch.where(torch.isin(ids, object_ids), torch.tensor(object_p), rate)
    pick = (torch.rand(ids.shape, generator=gen) < rate) & ~special
    labels = torch.where(pick, ids, torch.full_like(ids, -100))
    masked = torch.where(pick, torch.full_like(ids, tok.mask_id), ids)
    return masked, labels


def train(out: Path, n_scenes: int = 10000, steps: int = 5600, batch: int = 128, lr: float = 1e-3,
          seed: int = 0, mlm_fraction: float = 0.125, obj_weight: float = 0.5, easyvqa: bool = True,
          threads: int = 2, log_every: int = 100, progress: bool = True, vocab_scenes: int = 2000,
          init_std: float = 0.02, easyvqa_share: float = 0.1, two_object_weight: float = 1.0,
          object_mask: float = 0.15, sides: bool = True, side_steps: int = 400, pair_steps: int = 800,
          side_kinds: tuple[str, ...] = DEFAULT_KINDS, word_weight: float = 0.5) -> dict:
    """Train and save; returns the loss history and timings.

    Args:
        out: folder for config.json, model.safetensors, tokenizer.json, vocab.txt, answers.json.
        n_scenes: generated training scenes (about 10 balanced questions each).
        steps: optimiser steps (fixed, so the result does not depend on the machine's speed).
        mlm_fraction: share of each batch that is also fed masked, for the masked-word loss.
        two_object_weight: sampling weight of relation and size questions (1: as generated).
        side_steps: curriculum: the first steps draw side questions only (needs ``sides``).
        pair_steps: then these steps draw side, relation and size questions only; the rest of the
            ``steps`` draw from everything.
        sides: add the auxiliary side questions ("is the red circle on the left?", `sides.py`).
        side_kinds: which of them (``sides.SIDE_TEMPLATES``; default left, top and big).
        object_mask: masking probability of colour and shape words in the masked-word copy (other
            words: 0.15).
        easyvqa_share: share of each batch drawn from easy-vqa (its one-shape questions are learnt
            early; the rest of the batch goes to the multi-object scenes).
        word_weight: weight of the referent objective (label + region features) on the naming
            word's final state (0: off).
    """
    from tqdm.auto import tqdm

    if (side_steps or pair_steps) and not sides:
        raise ValueError("side_steps/pair_steps need sides=True (the side questions)")
    t0 = time.perf_counter()
    torch.set_num_threads(threads)
    seed_all(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    corpus = question_corpus(n_scenes=vocab_scenes, seed=0, easyvqa=easyvqa)
    if sides:
        corpus = sorted({*corpus, *side_corpus(side_kinds)})
    hf_tok = train_wordpiece(corpus)
    save_wordpiece(hf_tok, out)
    tok = Tokenizer.from_pretrained(out)
    data = build_data(tok, n_scenes, easyvqa, sides, side_kinds)
    t_data = time.perf_counter() - t0
    cfg = shapes_config(tok.vocab_size, initializer_range=init_std)
    model = Lxmert(cfg, output_heads=("pretraining", "qa")).train()
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.98))
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))))
    gen = torch.Generator().manual_seed(seed)
    obj_ids = object_word_ids(tok)
    nq = data["ids"].shape[0]
    scene_q = torch.nonzero(data["source"] == 0).squeeze(1)
    easy_q = torch.nonzero(data["source"] == 1).squeeze(1)
    n_easy = int(round(batch * easyvqa_share)) if len(easy_q) else 0
    scene_w = torch.where(of_types(data, TWO_OBJECT_QTYPES)[scene_q], two_object_weight, 1.0).double()
    history = []
    bar = tqdm(range(steps), desc="train", disable=not progress, mininterval=2.0)
    run_loss = run_acc = run_word = 0.0
    run_hits = torch.zeros(len(LOG_QTYPES))
    run_seen = torch.zeros(len(LOG_QTYPES))
    phase_pools = [(side_steps, torch.nonzero(of_types(data, ("side",))).squeeze(1)),
                   (pair_steps, torch.nonzero(of_types(data, ("side", *TWO_OBJECT_QTYPES))).squeeze(1))]
    for step in bar:
        pool, start = None, 0
        for n_phase, phase_q in phase_pools:
            if start <= step < start + n_phase:
                pool = phase_q
            start += n_phase
        if pool is not None:  # curriculum: side questions first, then the two-object questions
            idx = pool[torch.randint(0, len(pool), (batch,), generator=gen)]
        elif two_object_weight == 1.0:  # plain uniform draw
            idx = scene_q[torch.randint(0, len(scene_q), (batch - n_easy,), generator=gen)]
        else:
            idx = scene_q[torch.multinomial(scene_w, batch - n_easy, replacement=True, generator=gen)]
        if n_easy and pool is None:
            idx = torch.cat([idx, easy_q[torch.randint(0, len(easy_q), (n_easy,), generator=gen)]])
        img = data["image"][idx]
        ids, attn = data["ids"][idx], data["attn"][idx]
        feats, pos, vmask = data["feats"][img], data["pos"][img], data["mask"][img]
        n_mlm = int(batch * mlm_fraction)
        mids, mlabels = mask_tokens(ids[:n_mlm], attn[:n_mlm], tok, gen, object_ids=obj_ids, object_p=object_mask)
        all_ids = torch.cat([ids, mids])
        all_attn = torch.cat([attn, attn[:n_mlm]])
        vf, vp, vm = (torch.cat([x, x[:n_mlm]]) for x in (feats, pos, vmask))
        o = model(input_ids=all_ids, attention_mask=all_attn, visual_feats=vf, visual_pos=vp,
                  visual_attention_mask=vm, output_attentions=False)
        qa_logits = o.question_answering_score[:batch]
        loss_qa = F.cross_entropy(qa_logits, data["answer"][idx])
        obj_logits = o.obj_predictions["obj"][:batch]
        loss_obj = F.cross_entropy(obj_logits.reshape(-1, cfg.num_object_labels), data["obj"][img].reshape(-1),
                                   ignore_index=-1)
        loss_obj = torch.nan_to_num(loss_obj)  # a batch of easy-vqa images only has no region labels
        loss = loss_qa + obj_weight * loss_obj
        wp, wr = data["word_pos"][idx], data["word_region"][idx]
        rows = torch.nonzero(wp >= 0).squeeze(1)
        if word_weight and len(rows):
            pred = model.obj_predict_head(o.lang_hidden[-1][rows, wp[rows]])
            ref_img, ref_region = img[rows], wr[rows]
            loss_word = F.cross_entropy(pred["obj"], data["obj"][ref_img, ref_region])
            if "feat" in pred:  # and the object's region features (where it is, how big)
                target = data["feats"][ref_img, ref_region]
                loss_word = loss_word + F.mse_loss(pred["feat"], target, reduction="none").sum(-1).mean()
            loss = loss + word_weight * loss_word
            run_word += loss_word.item()
        if n_mlm:
            mlm_logits = o.prediction_logits[batch:]
            loss_mlm = F.cross_entropy(mlm_logits.reshape(-1, cfg.vocab_size), mlabels.reshape(-1), ignore_index=-100)
            loss = loss + torch.nan_to_num(loss_mlm)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        hit = (qa_logits.argmax(-1) == data["answer"][idx]).float()
        acc = hit.mean().item()
        run_hits.index_add_(0, data["qtype"][idx], hit)
        run_seen.index_add_(0, data["qtype"][idx], torch.ones_like(hit))
        run_loss += loss_qa.item()
        run_acc += acc
        if (step + 1) % log_every == 0:
            by_type = {t: round(float(h / n), 4) for t, h, n in zip(LOG_QTYPES, run_hits, run_seen) if n > 0}
            history.append({"step": step + 1, "qa_loss": run_loss / log_every, "word_loss": run_word / log_every,
                            "train_acc": run_acc / log_every,
                            "train_acc_by_type": by_type})
            bar.set_postfix(qa_loss=f"{run_loss / log_every:.3f}", acc=f"{run_acc / log_every:.3f}",
                            rel=f"{by_type.get('relation', float('nan')):.2f}", word=f"{run_word / log_every:.3f}")
            run_loss = run_acc = run_word = 0.0
            run_hits.zero_()
            run_seen.zero_()
    model.eval()
    model.save_pretrained(out)
    Answers(list(ANSWERS)).save(out / "answers.json")
    info = {"n_scenes": n_scenes, "steps": steps, "batch": batch, "lr": lr, "seed": seed, "sides": sides,
            "mlm_fraction": mlm_fraction, "object_mask": object_mask, "two_object_weight": two_object_weight,
            "side_steps": side_steps, "pair_steps": pair_steps, "side_kinds": list(side_kinds),
            "easyvqa_share": easyvqa_share, "word_weight": word_weight, "questions": nq,
            "images": int(data["feats"].shape[0]), "data_seconds": round(t_data, 1),
            "total_seconds": round(time.perf_counter() - t0, 1), "history": history}
    (out / "training.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m lxmert_viz.shapes.train", description=__doc__.split("\n")[0])
    p.add_argument("--out", default="assets/shapes", help="output folder (default: assets/shapes)")
    p.add_argument("--scenes", type=int, default=10000, help="generated training scenes")
    p.add_argument("--steps", type=int, default=5600, help="optimiser steps, curriculum phases included")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--mlm", type=float, default=0.125, help="share of each batch also fed masked (masked words)")
    p.add_argument("--easyvqa-share", type=float, default=0.1, help="share of each batch from easy-vqa")
    p.add_argument("--two-object-weight", type=float, default=1.0,
                   help="sampling weight of relation and size questions")
    p.add_argument("--no-side-questions", dest="side_questions", action="store_false",
                   help='leave out "is the red circle on the left?" (and the curriculum, which needs them)')
    p.add_argument("--no-big-questions", dest="big_questions", action="store_false",
                   help='leave "is the red circle big?" out of the side questions')
    p.add_argument("--side-steps", type=int, default=400, help="curriculum: first steps on side questions only")
    p.add_argument("--pair-steps", type=int, default=800,
                   help="curriculum: then steps on side, relation and size questions only")
    p.add_argument("--object-mask", type=float, default=0.15,
                   help="masking probability of colour and shape words in the masked-word copy")
    p.add_argument("--word-weight", type=float, default=0.5,
                   help="weight of the referent objective (object label + region features) on the word that "
                        "names a question's object (0: off)")
    p.add_argument("--init-std", type=float, default=0.02, help="std of the initial weights")
    p.add_argument("--no-easyvqa", action="store_true", help="train on generated scenes only")
    a = p.parse_args(argv)
    info = train(Path(a.out), a.scenes, a.steps, a.batch, a.lr, a.seed, mlm_fraction=a.mlm, easyvqa=not a.no_easyvqa,
                 threads=a.threads, init_std=a.init_std,
                 easyvqa_share=a.easyvqa_share, two_object_weight=a.two_object_weight, object_mask=a.object_mask,
                 sides=a.side_questions, side_steps=a.side_steps if a.side_questions else 0,
                 pair_steps=a.pair_steps if a.side_questions else 0,
                 side_kinds=DEFAULT_KINDS if a.big_questions else ("left", "top"), word_weight=a.word_weight)
    last = info["history"][-1] if info["history"] else {}
    print(f"wrote {a.out}: {info['questions']} questions on {info['images']} images, "
          f"{info['total_seconds']} s, last train acc {last.get('train_acc', float('nan')):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
