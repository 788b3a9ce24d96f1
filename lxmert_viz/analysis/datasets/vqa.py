"""The VQA v2 and GQA file layouts (and LXMERT's own preprocessed question files) over LXMERT
feature files (a ``.tsv`` or a folder of ``.npz``).

Three question formats are read, told apart by their shape:

| format | file | what is read |
|---|---|---|
| VQA v2 | ``v2_OpenEnded_mscoco_val2014_questions.json``: ``{"questions": [{image_id, question, question_id}]}`` + optional ``v2_mscoco_val2014_annotations.json``: ``{"annotations": [{question_id, answers: [{answer}] x 10, multiple_choice_answer, answer_type, question_type}]}`` | ten answers per question: the soft accuracy |
| GQA | ``testdev_balanced_questions.json``: ``{qid: {imageId, question, answer, types: {structural, ...}}}`` | one answer: exact match |
| LXMERT | ``minival.json`` / ``testdev.json``: ``[{img_id, sent, question_id, label: {answer: score}}]`` | the answer scores LXMERT trains and evaluates with |

Question types for the summaries: VQA's ``answer_type`` (yes/no, number, other; ``question_type``
is kept in meta), GQA's ``types.structural`` (query, verify, logical, choose, compare).
"""
from __future__ import annotations

from pathlib import Path

from ..example import Example
from .base import Dataset
from .features import FeatureStore
from .files import read_json_rows


def _format(data, path: Path) -> str:
    if isinstance(data, dict) and isinstance(data.get("questions"), list):
        return "vqa"
    if isinstance(data, list) and data and isinstance(data[0], dict) and "sent" in data[0]:
        return "lxmert"
    if isinstance(data, dict) and data and all(isinstance(v, dict) and "imageId" in v for v in list(data.values())[:5]):
        return "gqa"
    raise ValueError(f"{path} is neither VQA v2 ({{'questions': [...]}}), GQA ({{qid: {{'imageId', ...}}}}) nor "
                     "LXMERT's format ([{'img_id', 'sent', 'label'}]); for a plain list of {image_id, question, "
                     "answer} use questions_dataset")


def _annotations(path: Path) -> dict:
    data = read_json_rows(path)
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise ValueError(f"{path} is not a VQA annotations file ({{'annotations': [...]}})")
    out = {}
    for k, a in enumerate(data["annotations"]):
        if "question_id" not in a or "answers" not in a:
            raise ValueError(f"{path}: annotation {k} lacks question_id or answers")
        out[a["question_id"]] = a
    return out


def _rows(path: Path, annotations: Path | None):
    """(question id, image id, question, answer, answers, scores, meta) per question, in file order."""
    data = read_json_rows(path)
    kind = _format(data, path)
    if kind == "vqa":
        ann = _annotations(annotations) if annotations is not None else {}
        for k, q in enumerate(data["questions"]):
            for key in ("image_id", "question", "question_id"):
                if key not in q:
                    raise ValueError(f"{path}: question {k} lacks {key!r}")
            a = ann.get(q["question_id"])
            if annotations is not None and a is None:
                raise KeyError(f"{annotations} has no annotation for question {q['question_id']} of {path}")
            answers = tuple(str(x["answer"]) for x in a["answers"]) if a else ()
            meta = {"image_id": q["image_id"]}
            if a:
                meta.update(qtype=a.get("answer_type"), question_type=a.get("question_type"))
            yield (str(q["question_id"]), q["image_id"], q["question"], a.get("multiple_choice_answer") if a else None,
                   answers, None, {k2: v for k2, v in meta.items() if v is not None})
    elif kind == "gqa":
        for qid, q in data.items():
            types = q.get("types") or {}
            meta = {"image_id": q["imageId"], "qtype": types.get("structural"), "semantic": types.get("semantic")}
            yield (str(qid), q["imageId"], q["question"], q.get("answer"), (), None,
                   {k2: v for k2, v in meta.items() if v is not None})
    else:
        for k, q in enumerate(data):
            for key in ("img_id", "sent"):
                if key not in q:
                    raise ValueError(f"{path}: question {k} lacks {key!r}")
            label = {str(a): float(s) for a, s in (q.get("label") or {}).items()}
            best = max(label, key=label.get) if label else None
            meta = {"image_id": q["img_id"], "qtype": q.get("answer_type"), "question_type": q.get("question_type")}
            yield (str(q.get("question_id", k)), q["img_id"], q["sent"], best, (), label if "label" in q else None,
                   {k2: v for k2, v in meta.items() if v is not None})


def vqa_dataset(questions: str | Path, features: str | Path | FeatureStore, annotations: str | Path | None = None,
                pad_to: int | None = None) -> Dataset:
    """VQA v2 / GQA / LXMERT-format questions over feature files (see the module table).

    Args:
        questions: the questions JSON.
        features: a folder of ``<image id>.npz`` or an LXMERT feature ``.tsv``; ids are matched as
            given or by number (``262148`` finds ``COCO_val2014_000000262148``).
        annotations: VQA's annotations JSON (ten answers per question), optional.
        pad_to: pad TSV regions to this many rows.

    Returns:
        A `Dataset` in the questions file's order; every image must have features (checked now).
    """
    qpath = Path(questions)
    apath = None if annotations is None else Path(annotations)
    store = features if isinstance(features, FeatureStore) else FeatureStore(features, pad_to)
    count, missing = 0, []
    for _, image_id, *_ in _rows(qpath, apath):
        count += 1
        if image_id not in store:
            missing.append(image_id)
    if missing:
        raise KeyError(f"{len(missing)} of {count} questions in {qpath} have no features in {store.path}, "
                       f"e.g. image {missing[0]!r}")

    def make():
        for qid, image_id, text, answer, answers, scores, meta in _rows(qpath, apath):
            yield Example(qid, text, regions=store.ref(image_id), answer=None if answer is None else str(answer),
                          answers=answers, answer_scores=scores, meta=meta)

    spec = {"kind": "vqa", "questions": str(qpath), "annotations": None if apath is None else str(apath),
            "features": str(store.path)}
    return Dataset(qpath.name, make, count, spec)
