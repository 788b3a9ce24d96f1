"""Data sets from files you have: a questions file over a folder of images or over feature files.

The questions file is a JSON list or JSON lines, one object per question:

| key | meaning |
|---|---|
| ``question`` | the text (required) |
| ``image`` or ``image_id`` | a path relative to the image folder, or an id: ``<id>.png/.jpg/.jpeg`` in it, or the id of a feature file / TSV line |
| ``answer`` / ``answers`` | the gold answer; every annotator's answer (optional) |
| ``id`` / ``question_id`` | unique id (default: the line number) |
| ``qtype`` | a question type for the summaries (optional) |
| ``referent`` | ``{"word": ..., "region": k}`` or ``{"char": ..., "box": [x1, y1, x2, y2]}`` (optional) |

This is also the format of `lxmert_viz.analysis.items.examples_from_files` (``image_id``,
``question``, ``answer``), which reads it through `questions_dataset`.
"""
from __future__ import annotations

import json
from pathlib import Path

from ...errors import InputError, MissingFileError, UnknownNameError
from ..example import Example, Referent
from .base import Dataset
from .features import FeatureStore

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def read_json_rows(path: Path) -> list:
    """A JSON document, or the rows of a JSON-lines file; errors name the file and line."""
    if not path.is_file():
        raise MissingFileError(f"no questions file at {path}")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise InputError(f"{path} line {n} is not JSON: {err}") from None
        return rows
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path} is not valid JSON: {err}") from None


def _referent(row: dict, path: Path, k: int) -> Referent | None:
    ref = row.get("referent")
    if ref is None:
        return None
    if not isinstance(ref, dict):
        raise InputError(f"{path}: question {k} has a referent that is not an object: {ref!r}")
    try:
        box = ref.get("box")
        return Referent(ref.get("char"), ref.get("word"), ref.get("region"),
                        None if box is None else tuple(float(v) for v in box))
    except (ValueError, TypeError) as err:
        raise InputError(f"{path}: question {k}: {err}") from None


def _image_finder(folder: Path):
    def find(row: dict, k: int, path: Path) -> str:
        if "image" in row:
            p = folder / str(row["image"])
            if not p.is_file():
                raise MissingFileError(f"{path}: question {k} names image {row['image']!r}, not found in {folder}")
            return str(p)
        for suf in IMAGE_SUFFIXES:
            p = folder / f"{row['image_id']}{suf}"
            if p.is_file():
                return str(p)
        raise MissingFileError(f"{path}: question {k}: no image {row['image_id']}{{{','.join(IMAGE_SUFFIXES)}}} "
                                f"in {folder}")
    return find


def questions_dataset(questions: str | Path, images: str | Path | None = None,
                      features: str | Path | FeatureStore | None = None) -> Dataset:
    """Questions (see the module table) over a folder of images or over region feature files.

    Args:
        questions: the JSON / JSON-lines questions file.
        images: the image folder (default: the questions file's folder), when no ``features``.
        features: a folder of ``<image_id>.npz`` or an LXMERT ``.tsv`` (`FeatureStore`).

    Returns:
        A `Dataset` in the file's order.

    Example:
        >>> import json
        >>> _ = (tmp / "q.json").write_text(json.dumps([{"image": "scene_00.png", "question": "what color is the circle?"}]))
        >>> _ = (tmp / "scene_00.png").write_bytes(sample.read_bytes())
        >>> [e.image.endswith("scene_00.png") for e in questions_dataset(tmp / "q.json")]
        [True]
    """
    path = Path(questions)
    rows = read_json_rows(path)
    if not isinstance(rows, list):
        raise InputError(f"{path}: expected a list of question objects (or JSON lines); for the VQA / GQA "
                         "files use lxmert_viz.analysis.datasets.vqa_dataset")
    for k, row in enumerate(rows):
        if isinstance(row, dict) and "question" not in row and ("sentf" in row or "sent" in row):
            which = "pre-training format ({img_id, sentf, labelf})" if "sentf" in row else "format ({img_id, sent, label})"
            raise InputError(f"{path}: question {k} is in LXMERT's {which}, which is read over region features: "
                             f"use vqa_dataset(questions, features) (command line: --features)")
        if not isinstance(row, dict) or "question" not in row:
            raise InputError(f"{path}: question {k} has no 'question' key: {str(row)[:80]}")
        if "image" not in row and "image_id" not in row:
            raise InputError(f"{path}: question {k} has neither 'image' nor 'image_id'")
    store = features if isinstance(features, FeatureStore) or features is None else FeatureStore(features)
    find = _image_finder(Path(images) if images is not None else path.parent)
    if store is not None:
        missing = [r.get("image_id", r.get("image")) for r in rows if r.get("image_id", r.get("image")) not in store]
        if missing:
            raise UnknownNameError(f"{len(missing)} questions of {path} have no features in {store.path}, e.g. image "
                           f"{missing[0]!r}")

    def make():
        for k, row in enumerate(read_json_rows(path)):
            qid = str(row.get("id", row.get("question_id", k)))
            answers = tuple(str(a) for a in row.get("answers", ()))
            answer = row.get("answer")
            meta = {key: row[key] for key in ("qtype", "image_id") if key in row}
            if store is not None:
                src = dict(regions=store.ref(row.get("image_id", row.get("image"))))
            else:
                src = dict(image=find(row, k, path))
            yield Example(qid, row["question"], **src, answer=None if answer is None else str(answer),
                          answers=answers, referent=_referent(row, path, k), meta=meta)

    spec = {"kind": "questions", "questions": str(path), "images": None if images is None else str(images),
            "features": None if store is None else str(store.path)}
    return Dataset(path.name, make, len(rows), spec)


def image_folder_dataset(folder: str | Path, questions: str = "questions") -> Dataset:
    """A folder of images with a ``questions.json`` or ``questions.jsonl`` beside them."""
    folder = Path(folder)
    for suffix in (".json", ".jsonl"):
        if (folder / f"{questions}{suffix}").is_file():
            return questions_dataset(folder / f"{questions}{suffix}", images=folder)
    raise MissingFileError(f"{folder} has no {questions}.json or {questions}.jsonl (one object per question: "
                            "image, question, optional answer)")
