"""Tensors for training and evaluating the shapes-world model.

Shape letters: N images, Q questions, R regions (``MAX_REGIONS``), F region features, T tokens.

Every image goes through the same pixel-only region extractor the kit uses at run time
(`lxmert_viz.shapes.visual_input.shapes_regions`: a scene row, then the objects), so training sees
exactly what `kit.ask` will give the model. Generated scenes also give a region label (colour x
shape of the ground-truth object whose box the region overlaps most) for LXMERT's region-label
objective; easy-vqa images give none. Sentences about the scenes, matched and mismatched
(``world/statements.py``), feed the image-text matching and masked-word objectives.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..inputs.referents import referent_region, referent_token
from ..inputs.text import Tokenizer
from .pool import ordered_map
from .visual_input import MAX_OBJECTS, shapes_regions
from .world import COLORS, SHAPES, generate_scene, load_easyvqa
from .world.dataset import ANSWERS, SCENE_SEED_STRIDE, make_dataset
from .world.statements import parse_statement, statement_pairs

MAX_REGIONS = 1 + MAX_OBJECTS  # the scene row, then objects
SCENE_SIZE = 128
NUM_OBJECT_LABELS = len(COLORS) * len(SHAPES)  # "red circle" = COLORS.index * 3 + SHAPES.index
QTYPES = ("color", "shape", "exist", "count", "relation", "size")


def object_label(color: str, shape: str) -> int:
    return COLORS.index(color) * len(SHAPES) + SHAPES.index(shape)


@dataclass
class ImageTable:
    """Region tensors of N images: feats (N, R, F), pos (N, R, 4), mask (N, R), obj (N, R) or -1,
    and for scenes the region index of each ground-truth object (list of lists)."""

    feats: torch.Tensor
    pos: torch.Tensor
    mask: torch.Tensor
    obj: torch.Tensor
    object_region: list[list[int]]


def region_row(image, objects=None) -> tuple:
    """One image's row of an `ImageTable`: feats, boxes, mask, labels and each object's region."""
    reg = shapes_regions(image)
    labels = np.full(MAX_REGIONS, -1, dtype=np.int64)
    found = []
    for o in objects or ():
        best = referent_region(reg, box=o.box)
        found.append(best)
        if best >= 0:
            labels[best] = object_label(o.color, o.shape)
    return reg.feats, reg.boxes_norm, reg.mask, labels, found


def stack_rows(rows) -> ImageTable:
    """The `ImageTable` of ``region_row`` results, in order."""
    feats, pos, mask, obj, where = zip(*rows)
    return ImageTable(torch.tensor(np.stack(feats)), torch.tensor(np.stack(pos)), torch.tensor(np.stack(mask)),
                      torch.tensor(np.stack(obj)), list(where))


def _region_row_of(pair) -> tuple:
    return region_row(*pair)


def regions_table(images, objects=None, workers: int = 1, progress: str | None = None) -> ImageTable:
    """Extract regions of PIL images; ``objects`` (per image, ground-truth objects) adds labels.

    ``workers`` processes share the images (``pool.ordered_map``; the table is the same);
    ``progress`` names a progress bar (None: none).
    """
    images = list(images)
    pairs = list(zip(images, objects if objects is not None else [None] * len(images)))
    return stack_rows(ordered_map(_region_row_of, pairs, workers, progress))


@dataclass
class QATable:
    """Q questions: ids (Q, T), attention mask (Q, T), answer (Q,), image index (Q,), plus text,
    question type, target object and target word's first token index (-1 when none)."""

    ids: torch.Tensor
    attn: torch.Tensor
    answer: torch.Tensor
    image: torch.Tensor
    text: list[str]
    qtype: list[str]
    target: list[int]
    target_token: list[int]


def encode_questions(tokenizer: Tokenizer, texts, answers, image_index, qtypes=None, targets=None,
                     target_chars=None, max_length: int = 20) -> QATable:
    toks, batch = tokenizer.batch(list(texts), max_length)
    index = {a: i for i, a in enumerate(ANSWERS)}
    chars = target_chars if target_chars is not None else [None] * len(texts)
    target_token = [referent_token(tokenizer, text, t, char=c) for text, t, c in zip(texts, toks, chars)]
    return QATable(
        batch["input_ids"], batch["attention_mask"], torch.tensor([index[a] for a in answers]),
        torch.tensor(list(image_index)), list(texts),
        list(qtypes) if qtypes is not None else ["easyvqa"] * len(texts),
        [(-1 if t is None else t) for t in targets] if targets is not None else [-1] * len(texts),
        target_token,
    )


def referent_regions(table: ImageTable, qa: QATable) -> tuple[torch.Tensor, torch.Tensor]:
    """(Q,) token index of the word that names the question's one object, and that object's region.

    Both are -1 when the question names no single object or the extractor did not find it.
    """
    pos = torch.full((len(qa.text),), -1)
    region = torch.full((len(qa.text),), -1)
    for j, (tgt, tt) in enumerate(zip(qa.target, qa.target_token)):
        if tgt < 0 or tt < 0:
            continue
        r = table.object_region[int(qa.image[j])][tgt]
        if r >= 0:
            pos[j], region[j] = tt, r
    return pos, region


def _drawn_scene(args) -> tuple:
    seed, style = args
    scene = generate_scene(seed, size=SCENE_SIZE, style=style)
    return scene, region_row(scene.image, scene.objects)


def scenes_split(tokenizer: Tokenizer, n_scenes: int, seed: int, style: str = "varied", workers: int = 1,
                 progress: bool = False):
    """A balanced generated split: (ImageTable, QATable, scenes), scenes ``"plain"`` or ``"varied"``.

    The scenes are drawn and their regions extracted first (over ``workers`` processes), then the
    questions are drawn about those layouts (``make_dataset``); the scenes no kept question asks
    about are left out of the tables. ``progress``: a bar (count, rate, ETA) while the scenes are drawn.
    """
    seeds = [seed * SCENE_SEED_STRIDE + i for i in range(n_scenes)]
    drawn = ordered_map(_drawn_scene, [(s, style) for s in seeds], workers,
                        f"draw + read {style} scenes" if progress else None)
    samples = make_dataset(n_scenes, seed, size=SCENE_SIZE, style=style, layouts=[sc.objects for sc, _ in drawn])
    used = sorted({s.scene_seed - seeds[0] for s in samples})
    pos_of = {seeds[k]: i for i, k in enumerate(used)}
    scenes = [drawn[k][0] for k in used]
    table = stack_rows([drawn[k][1] for k in used])
    qs = [s.question for s in samples]
    qa = encode_questions(tokenizer, [q.text for q in qs], [q.answer for q in qs],
                          [pos_of[s.scene_seed] for s in samples], [q.qtype for q in qs],
                          [q.target for q in qs], [q.target_char for q in qs])
    return table, qa, scenes


def _easyvqa_row(path) -> tuple:
    from PIL import Image

    with Image.open(path) as im:
        return region_row(im.convert("RGB"))


def easyvqa_split(tokenizer: Tokenizer, split: str, workers: int = 1, progress: bool = False):
    """easy-vqa's images and questions: (ImageTable, QATable); ``workers`` as in `regions_table`,
    ``progress``: a bar while the images are read."""
    items = load_easyvqa(split)
    table = stack_rows(ordered_map(_easyvqa_row, [it.path for it in items], workers,
                                   f"read easy-vqa {split}" if progress else None))
    texts, answers, idx = [], [], []
    for i, it in enumerate(items):
        for q, a in it.qa:
            texts.append(q)
            answers.append(a)
            idx.append(i)
    return table, encode_questions(tokenizer, texts, answers, idx)


@dataclass
class StatementTable:
    """S sentences about the images of an ImageTable: ids (S, T), attention mask (S, T), image index
    (S,), match (S,) 1 when the sentence is true of its image (``world/statements.py``), and per
    sentence its text, its kind (``true``, ``other scene``, ``near miss``) and its sentence type."""

    ids: torch.Tensor
    attn: torch.Tensor
    image: torch.Tensor
    match: torch.Tensor
    text: list[str]
    kind: list[str]
    stype: list[str]


def statement_rows(objects: list, seed: int, n_matched: int = 2) -> list[tuple[int, str, bool, str]]:
    """Matched and mismatched sentences for every scene: ``(scene index, text, matches, kind)``.

    Args:
        objects: each scene's objects, in image-table order.
        seed: the draws' seed.
        n_matched: true sentences per scene (and about as many that are not; the mismatched ones
            from a random other scene of the list and from near misses, ``statement_pairs``).
    """
    rng = np.random.default_rng([seed, 16])
    rows = []
    n = len(objects)
    for i, objs in enumerate(objects):
        other = objects[(i + 1 + int(rng.integers(max(1, n - 1)))) % n] if n > 1 else objs
        rows += [(i, *p) for p in statement_pairs(objs, other, rng, n_matched)]
    return rows


def statements_split(tokenizer: Tokenizer, scenes, seed: int, n_matched: int = 2) -> StatementTable:
    """``statement_rows`` of a split's scenes (``scenes_split``'s third value), tokenized."""
    rows = statement_rows([sc.objects for sc in scenes], seed, n_matched)
    texts = [r[1] for r in rows]
    _, batch = tokenizer.batch(texts, 24)
    return StatementTable(batch["input_ids"], batch["attention_mask"], torch.tensor([r[0] for r in rows]),
                          torch.tensor([int(r[2]) for r in rows]), texts, [r[3] for r in rows],
                          [parse_statement(t)[0].qtype for t in texts])
