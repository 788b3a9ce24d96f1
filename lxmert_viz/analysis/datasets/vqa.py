"""The VQA v2 and GQA file layouts (and LXMERT's own question and pre-training files) over region
feature files (a ``.tsv`` in either layout, or a folder of ``.npz``).

Four question formats are read, told apart by their shape:

| format | file | what is read |
|---|---|---|
| VQA v2 | ``v2_OpenEnded_mscoco_val2014_questions.json``: ``{"questions": [{image_id, question, question_id}]}`` + optional ``v2_mscoco_val2014_annotations.json``: ``{"annotations": [{question_id, answers: [{answer}] x 10, multiple_choice_answer, answer_type, question_type}]}`` | ten answers per question: the soft accuracy |
| GQA | ``testdev_balanced_questions.json``: ``{qid: {imageId, question, answer, types: {structural, ...}}}`` | one answer: exact match |
| LXMERT | ``minival.json`` / ``testdev.json``: ``[{img_id, sent, question_id, label: {answer: score}}]`` | the answer scores LXMERT trains and evaluates with |
| LXMERT pre-training | ``data/lxmert/mscoco_minival.json`` ...: ``[{img_id, sentf: {source: [sentences]}, labelf: {source: [{answer: score}]}}]`` | the labelled sentences (vqa, gqa, visual7w) as questions, answers mapped by the authors' answer table; captions only on request (`lxmert_viz.analysis.datasets.lxmert_pretrain`) |

Question types for the summaries: VQA's ``answer_type`` (yes/no, number, other; ``question_type``
is kept in meta), GQA's ``types.structural`` (query, verify, logical, choose, compare).
"""
from __future__ import annotations

from pathlib import Path

from ...errors import InputError, UnknownNameError
from ..example import Example
from .base import Dataset
from .features import FeatureStore
from .files import read_json_rows
from .lxmert_pretrain import is_pretraining, pretraining_rows, read_answer_table


def _format(data, path: Path) -> str:
    if isinstance(data, dict) and isinstance(data.get("questions"), list):
        return "vqa"
    if is_pretraining(data):
        return "lxmert-pretrain"
    if isinstance(data, list) and data and isinstance(data[0], dict) and "sent" in data[0]:
        return "lxmert"
    if isinstance(data, dict) and data and all(isinstance(v, dict) and "imageId" in v for v in list(data.values())[:5]):
        return "gqa"
    raise InputError(f"{path} is neither VQA v2 ({{'questions': [...]}}), GQA ({{qid: {{'imageId', ...}}}}), "
                     "LXMERT's format ([{'img_id', 'sent', 'label'}]) nor LXMERT's pre-training format ([{'img_id', "
                     "'sentf', 'labelf'}]); for a plain list of {image_id, question, answer} use questions_dataset")


def _annotations(path: Path) -> dict:
    data = read_json_rows(path)
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise InputError(f"{path} is not a VQA annotations file ({{'annotations': [...]}})")
    out = {}
    for k, a in enumerate(data["annotations"]):
        if "question_id" not in a or "answers" not in a:
            raise InputError(f"{path}: annotation {k} lacks question_id or answers")
        out[a["question_id"]] = a
    return out


def _rows(path: Path, annotations: Path | None, table: frozenset[str] | None = None, captions: bool = False):
    """(question id, image id, question, answer, answers, scores, meta) per question, in file order."""
    data = read_json_rows(path)
    kind = _format(data, path)
    if kind == "lxmert-pretrain":
        yield from pretraining_rows(data, path, table, captions)
    elif kind == "vqa":
        ann = _annotations(annotations) if annotations is not None else {}
        for k, q in enumerate(data["questions"]):
            for key in ("image_id", "question", "question_id"):
                if key not in q:
                    raise InputError(f"{path}: question {k} lacks {key!r}")
            a = ann.get(q["question_id"])
            if annotations is not None and a is None:
                raise UnknownNameError(f"{annotations} has no annotation for question {q['question_id']} of {path}")
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
                    raise InputError(f"{path}: question {k} lacks {key!r}")
            label = {str(a): float(s) for a, s in (q.get("label") or {}).items()}
            best = max(label, key=label.get) if label else None
            meta = {"image_id": q["img_id"], "qtype": q.get("answer_type"), "question_type": q.get("question_type")}
            yield (str(q.get("question_id", k)), q["img_id"], q["sent"], best, (), label if "label" in q else None,
                   {k2: v for k2, v in meta.items() if v is not None})


def vqa_dataset(questions: str | Path, features: str | Path | FeatureStore, annotations: str | Path | None = None,
                pad_to: int | None = None, answer_table: str | Path | None = None, qa_sets=None,
                captions: bool = False) -> Dataset:
    """VQA v2 / GQA / LXMERT-format / LXMERT pre-training questions over feature files (see the module table).

    Args:
        questions: the questions JSON.
        features: a folder of ``<image id>.npz`` or a feature ``.tsv`` (LXMERT's or bottom-up-attention's
            layout); ids are matched as given or by number (``262148`` finds ``COCO_val2014_000000262148``).
        annotations: VQA's annotations JSON (ten answers per question), optional.
        pad_to: pad TSV regions to this many rows.
        answer_table: pre-training files only: the authors' ``data/lxmert/all_ans.json``; answers
            outside it are dropped, as the authors drop them (default: every answer kept).
        qa_sets: pre-training files only: limit the answer table to these sources (``--qaSets``).
        captions: pre-training files only: also give the captions, as items with no answer.

    Returns:
        A `Dataset` in the questions file's order; every image must have features (checked now).

    Example:
        >>> import json
        >>> from lxmert_viz import Regions
        >>> from lxmert_viz.features.npz import save_npz
        >>> _ = save_npz(tmp / "feats" / "COCO_val2014_000000000042.npz",
        ...              Regions(np.zeros((2, 4), "f4"), np.ones((2, 8), "f4"), (64, 48)))
        >>> _ = (tmp / "mscoco_minival.json").write_text(json.dumps([{"img_id": "COCO_val2014_000000000042",
        ...     "sentf": {"mscoco": ["A pizza."], "vqa": ["What food is this?"]}, "labelf": {"vqa": [{"The pizza": 1.0}]}}]))
        >>> [(e.id, e.question, e.answer_scores) for e in vqa_dataset(tmp / "mscoco_minival.json", tmp / "feats")]
        [('COCO_val2014_000000000042_vqa_000', 'What food is this?', {'pizza': 1.0})]
    """
    qpath = Path(questions)
    apath = None if annotations is None else Path(annotations)
    table = None if answer_table is None else read_answer_table(answer_table, qa_sets)
    store = features if isinstance(features, FeatureStore) else FeatureStore(features, pad_to)
    count, missing = 0, []
    for _, image_id, *_ in _rows(qpath, apath, table, captions):
        count += 1
        if image_id not in store:
            missing.append(image_id)
    if missing:
        raise UnknownNameError(f"{len(missing)} of {count} questions in {qpath} have no features in {store.path}, "
                       f"e.g. image {missing[0]!r}")

    def make():
        for qid, image_id, text, answer, answers, scores, meta in _rows(qpath, apath, table, captions):
            yield Example(qid, text, regions=store.ref(image_id), answer=None if answer is None else str(answer),
                          answers=answers, answer_scores=scores, meta=meta)

    spec = {"kind": "vqa", "questions": str(qpath), "annotations": None if apath is None else str(apath),
            "features": str(store.path)}
    if answer_table is not None or qa_sets is not None or captions:
        spec.update(answer_table=None if answer_table is None else str(answer_table),
                    qa_sets=None if qa_sets is None else sorted(qa_sets), captions=captions)
    return Dataset(qpath.name, make, count, spec)
