"""Prepared `Item`s from data sets, for the perturbation benchmark, the head ranking and notebooks.

Shape letters: T tokens, R regions, F feature size.

The data sets are those of `lxmert_viz.analysis.datasets` and the encoding (tokens, regions cached
per image, gold index) is `lxmert_viz.analysis.encode`. `examples_from_files` reads region
features (a folder of ``<image_id>.npz`` or a ``.tsv`` file, as `lxmert_viz.features` writes them)
plus a questions file; `shapes_examples` generates the shapes world's held-out scenes offline.
``Item(tokens, regions, gold)`` (`lxmert_viz.inputs.item`) builds one by hand.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError, MissingFileError
from ..inputs.item import Item
from .datasets import questions_dataset, shapes_dataset
from .encode import Encoder


def examples_from_files(features: str | Path, questions: str | Path, tokenizer, answers,
                        skip_unknown: bool = True) -> Iterator[Item]:
    """Examples from feature files and a questions file.

    Args:
        features: a folder of ``<image_id>.npz`` files or one ``.tsv`` file (`lxmert_viz.features`).
        questions: JSON list or JSON-lines of ``{"image_id", "question", "answer"}``, optionally with
            ``"label": {answer: VQA score}`` (LXMERT's VQA files) for soft accuracy
            (`lxmert_viz.analysis.datasets.questions_dataset`).
        tokenizer: a `Tokenizer`.
        answers: an `Answers`; questions whose answer is not in it are skipped (or an error when
            ``skip_unknown`` is False).

    Yields:
        `Item`s in the questions file's order.
    """
    path = Path(features)
    if not (path.is_dir() or (path.is_file() and path.suffix == ".tsv")):
        raise MissingFileError(f"{features} is neither a folder of .npz files nor a .tsv file")
    encode = Encoder(tokenizer, answers)
    for k, ex in enumerate(questions_dataset(questions, features=features)):
        if ex.answer is None:
            raise InputError(f"{questions}: question {k} lacks ['answer']")
        enc = encode(ex)
        if enc.gold < 0:
            if skip_unknown:
                continue
            answers.index(ex.answer)  # raises the KeyError that names the answer
        enc.meta = {"image_id": str(ex.meta.get("image_id"))}
        yield enc


def shapes_examples(kit, n_scenes: int = 100, seed: int = 2, size: int = 128) -> Iterator[Item]:
    """The shapes world's generated questions, through the kit's own tokenizer and region extractor.

    Args:
        kit: a `Kit` (``lxmert_viz.load()``).
        n_scenes: scenes to draw (each gives several balanced questions).
        seed: data-set seed of `lxmert_viz.shapes.world.dataset.make_dataset`; 2 is the held-out seed of
            `lxmert_viz.shapes.evaluate` (training uses 1, the vocabulary 0; scene seeds are
            ``seed * 1e6 + i``, so different seeds share no scene).
        size: scene side in pixels.

    Yields:
        `Item`s whose gold answer is in the kit's answers; ``meta`` names the question's
        ``target`` object, its ``target_word`` and the ``target_region`` that the extractor found
        for it (None when the question names no single object).
    """
    encode = Encoder.from_kit(kit)
    for ex in shapes_dataset(n_scenes, seed, size):
        enc = encode(ex)
        if enc.gold < 0:
            continue
        enc.meta = {"scene_seed": ex.meta["scene_seed"], "qtype": ex.qtype,
                    "target": None if ex.meta["target"] < 0 else ex.meta["target"],
                    "target_word": None if ex.referent is None else ex.referent.word,
                    "target_region": None if enc.referent_region < 0 else enc.referent_region}
        yield enc
