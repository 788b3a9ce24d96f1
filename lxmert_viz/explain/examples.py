"""Examples for the perturbation benchmark: one question about one image, with its gold answer.

Shape letters: T tokens, R regions, F feature size.

Any data set works once it is a stream of `Example`s: `examples_from_files` reads region features
(a folder of ``<image_id>.npz`` or a ``.tsv`` file, as `lxmert_viz.features` writes them) plus a
questions file; `shapes_examples` generates the shapes world's held-out scenes offline.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..inputs.regions import Regions
from ..inputs.text import Tokens


@dataclass
class Example:
    """One benchmark item: a tokenized question, an image's regions and the gold answer.

    Attributes:
        tokens: the question's `Tokens`.
        regions: the image's `Regions` (padding rows are never used).
        gold: the right answer's index.
        meta: free-form (question text, image id, ...).
        gold_scores: ``{answer index: VQA score}`` (``min(1, humans / 3)``) for soft accuracy (the
            ``paper`` perturbation protocol); None: the gold answer scores 1, any other 0.
    """

    tokens: Tokens
    regions: Regions
    gold: int
    meta: dict | None = None
    gold_scores: dict | None = None


def _read_questions(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        rows = json.loads(text)
    for k, row in enumerate(rows):
        missing = {"image_id", "question", "answer"} - set(row)
        if missing:
            raise ValueError(f"{path}: question {k} lacks {sorted(missing)}")
    return rows


def examples_from_files(features: str | Path, questions: str | Path, tokenizer, answers,
                        skip_unknown: bool = True) -> Iterator[Example]:
    """Examples from feature files and a questions file.

    Args:
        features: a folder of ``<image_id>.npz`` files or one ``.tsv`` file (`lxmert_viz.features`).
        questions: JSON list or JSON-lines of ``{"image_id", "question", "answer"}``, optionally with
            ``"label": {answer: VQA score}`` (LXMERT's VQA files) for soft accuracy.
        tokenizer: a `Tokenizer`.
        answers: an `Answers`; questions whose answer is not in it are skipped (or an error when
            ``skip_unknown`` is False).

    Yields:
        `Example`s in the questions file's order.
    """
    features = Path(features)
    if features.is_file() and features.suffix == ".tsv":
        from ..features.tsv import read_tsv

        table = read_tsv(features)
        get = table.__getitem__
    elif features.is_dir():
        from ..features.npz import load_npz

        cache: dict[str, Regions] = {}

        def get(img_id: str) -> Regions:
            if img_id not in cache:
                cache.clear()  # questions are usually grouped by image; keep one
                cache[img_id] = load_npz(features / f"{img_id}.npz")
            return cache[img_id]
    else:
        raise FileNotFoundError(f"{features} is neither a folder of .npz files nor a .tsv file")
    for row in _read_questions(Path(questions)):
        try:
            gold = answers.index(str(row["answer"]))
        except KeyError:
            if skip_unknown:
                continue
            raise
        regions = get(str(row["image_id"]))
        scores = None
        if isinstance(row.get("label"), dict):
            scores = {answers.index(a): float(v) for a, v in row["label"].items() if a in answers.names}
        yield Example(tokenizer(row["question"]), regions, gold,
                      {"image_id": str(row["image_id"]), "question": row["question"]}, scores)


def shapes_examples(kit, n_scenes: int = 100, seed: int = 2, size: int = 128) -> Iterator[Example]:
    """The shapes world's generated questions, through the kit's own tokenizer and region extractor.

    Args:
        kit: a `Kit` (``lxmert_viz.load()``).
        n_scenes: scenes to draw (each gives several balanced questions).
        seed: data-set seed of `lxmert_viz.shapes.world.dataset.make_dataset`; 2 is the held-out seed of
            `lxmert_viz.shapes.evaluate` (training uses 1, the vocabulary 0; scene seeds are
            ``seed * 1e6 + i``, so different seeds share no scene).
        size: scene side in pixels.

    Yields:
        `Example`s whose gold answer is in the kit's answers; ``meta`` names the question's
        ``target`` object, its ``target_word`` and the ``target_region`` that the extractor found
        for it (None when the question names no single object).
    """
    from ..shapes.world.dataset import make_dataset
    from ..shapes.world.scenes import generate_scene

    for sample in make_dataset(n_scenes, seed, size=size):
        q = sample.question
        if q.answer not in kit.answers.names:
            continue
        scene = generate_scene(sample.scene_seed, size)
        regions = kit.extract(scene.image)
        target_region = None if q.target is None else matching_region(regions, scene.objects[q.target].box)
        yield Example(kit.tokenizer(q.text), regions, kit.answers.index(q.answer),
                      {"scene_seed": sample.scene_seed, "question": q.text, "qtype": q.qtype, "target": q.target,
                       "target_word": q.target_word, "target_region": target_region})


def matching_region(regions: Regions, box, min_iou: float = 0.5) -> int | None:
    """The region whose box overlaps ``box`` (x1, y1, x2, y2 px) best, if their IoU is at least ``min_iou``.

    Example:
        >>> import numpy as np
        >>> r = Regions(np.array([[0, 0, 10, 10], [2, 2, 4, 4]], "f4"), np.zeros((2, 3), "f4"), (10, 10))
        >>> matching_region(r, (2, 2, 4, 5))
        1
    """
    import numpy as np

    b = np.asarray(regions.boxes[: regions.num_real], dtype=np.float64)
    x1, y1, x2, y2 = (float(v) for v in box)
    iw = np.clip(np.minimum(b[:, 2], x2) - np.maximum(b[:, 0], x1), 0, None)
    ih = np.clip(np.minimum(b[:, 3], y2) - np.maximum(b[:, 1], y1), 0, None)
    inter = iw * ih
    union = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) + (x2 - x1) * (y2 - y1) - inter
    iou = inter / np.maximum(union, 1e-12)
    if not len(iou) or iou.max() < min_iou:
        return None
    return int(iou.argmax())
