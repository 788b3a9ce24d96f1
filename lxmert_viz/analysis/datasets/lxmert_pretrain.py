"""LXMERT's pre-training json (``data/lxmert/mscoco_train.json``, ``mscoco_nominival.json``,
``mscoco_minival.json``, ``vgnococo.json``) as questions with answer scores, read as the authors'
``src/pretrain/lxmert_data.py`` reads it.

One object per image::

    {"img_id": "COCO_val2014_000000000042",
     "sentf":  {"mscoco": [caption, ...], "vqa": [question, ...], "visual7w": [...], ...},
     "labelf": {"vqa": [{answer: score, ...}, ...], "visual7w": [...], ...}}

A source with a ``labelf`` entry (``vqa``, ``gqa``, ``visual7w``) is a question set: its i-th
sentence is a question whose answer scores are ``labelf[source][i]``, mapped as the authors'
``AnswerTable`` maps them (``src/pretrain/qa_answer_table.py``, applied in ``LXMERTDataset``):
each answer lower-cased, a final period dropped, a leading "a ", "an ", "the " dropped (in that
order), then ``ANS_CONVERT`` (``one``..``ten`` as digits, ``a man``/``the man`` -> ``man``, ...,
``grey`` -> ``gray``); an answer outside the answer table (``data/lxmert/all_ans.json``, limited
to ``qa_sets`` when given) is dropped, and one whose converted form is another's replaces it, in
the file's order, as the authors' loop does. Without an answer table every converted answer is
kept (the kit's named difference: the table is the authors' file, not shipped here). The
question's id is the authors' uid ``{img_id}_{source}_{i:03d}``; its question type is the source.

Sources without a ``labelf`` entry are captions (``mscoco``, ``vg``): the authors' evaluator skips
them; here they are left out too, unless ``captions=True``, which gives them as unlabelled items
(no answer, no score).

Scoring follows the authors' ``LXMERTEvaluator``: the prediction's score in the mapped table, 0 if
absent (`lxmert_viz.analysis.stats.answers.correctness`, rule ``score``).
"""
from __future__ import annotations

import json
from pathlib import Path

from ...errors import InputError, MissingFileError

ANS_CONVERT = {"a man": "man", "the man": "man", "a woman": "woman", "the woman": "woman", "one": "1", "two": "2",
               "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
               "ten": "10", "grey": "gray"}
"""The authors' ``AnswerTable.ANS_CONVERT``."""


def convert_answer(answer: str) -> str:
    """An answer as the authors' ``AnswerTable.convert_ans`` writes it.

    Example:
        >>> convert_answer("The Two."), convert_answer("a the dog"), convert_answer("Grey")
        ('2', 'dog', 'gray')
    """
    if len(answer) == 0:
        return ""
    answer = answer.lower()
    if answer[-1] == ".":
        answer = answer[:-1].strip()
    for article in ("a ", "an ", "the "):  # one after another, as three ifs
        if answer.startswith(article):
            answer = answer[len(article):].strip()
    return ANS_CONVERT.get(answer, answer)


def read_answer_table(path: str | Path, qa_sets=None) -> frozenset[str]:
    """The answers of the authors' ``data/lxmert/all_ans.json`` (``[{"ans", "dsets"}]``), those of
    ``qa_sets`` only when given (as ``AnswerTable(dsets)``; names lower-cased and stripped as
    ``lxmert_pretrain.py`` does with ``--qaSets``).

    Raises:
        MissingFileError: no file there.
        InputError: not the authors' layout (names the file, the entry and the key).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"no answer table at {path} (LXMERT's data/lxmert/all_ans.json)")
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path} is not valid UTF-8 JSON: {err}") from None
    if not isinstance(table, list):
        raise InputError(f"{path}: an answer table is a list of {{'ans': answer, 'dsets': [sources]}}, got "
                         f"{type(table).__name__}")
    wanted = None if qa_sets is None else {str(s).lower().strip() for s in qa_sets}
    answers = set()
    for k, entry in enumerate(table):
        if not isinstance(entry, dict) or not isinstance(entry.get("ans"), str) or not isinstance(entry.get("dsets"), list):
            raise InputError(f"{path}: entry {k} is {str(entry)[:80]}; each entry is {{'ans': answer, 'dsets': "
                             f"[sources]}}")
        if wanted is None or wanted & set(entry["dsets"]):
            answers.add(entry["ans"])
    return frozenset(answers)


def convert_label(label: dict, table: frozenset[str] | None) -> dict[str, float]:
    """One question's ``{answer: score}`` mapped as ``LXMERTDataset`` maps it (on a copy)."""
    out = dict(label)
    for answer in list(out):
        new = convert_answer(answer)
        if table is None or new in table:
            if answer != new:
                out[new] = out.pop(answer)
        else:
            out.pop(answer)
    return {a: float(s) for a, s in out.items()}


def is_pretraining(data) -> bool:
    """Whether a loaded json document is in this layout (a list of objects with ``sentf``)."""
    return isinstance(data, list) and bool(data) and isinstance(data[0], dict) and "sentf" in data[0]


def pretraining_rows(data: list, path: Path, table: frozenset[str] | None = None, captions: bool = False):
    """(question id, image id, sentence, answer, answers, scores, meta) per item, in the authors' order.

    Raises:
        InputError: an object without ``img_id`` / ``sentf`` / ``labelf``, or of the wrong type, or
            a labelled source whose label list is not as long as its sentences (names the file,
            the object and the source).
    """
    for k, datum in enumerate(data):
        where = f"{path}: object {k}"
        if not isinstance(datum, dict):
            raise InputError(f"{where} is {str(datum)[:60]}; LXMERT's pre-training json is a list of objects")
        for key in ("img_id", "sentf", "labelf"):
            if key not in datum:
                raise InputError(f"{where} has no {key!r}; each object holds img_id, sentf {{source: [sentences]}} "
                                 f"and labelf {{source: [{{answer: score}}]}}")
        img_id, sentf, labelf = datum["img_id"], datum["sentf"], datum["labelf"]
        if not isinstance(sentf, dict) or not isinstance(labelf, dict):
            raise InputError(f"{where} ({img_id!r}): sentf and labelf must be objects keyed by source")
        for source, sents in sentf.items():
            labels = labelf.get(source)
            if labels is None and not captions:
                continue
            if not isinstance(sents, list) or not all(isinstance(s, str) for s in sents):
                raise InputError(f"{where} ({img_id!r}): sentf[{source!r}] must be a list of sentences")
            if labels is not None and (not isinstance(labels, list) or len(labels) != len(sents)
                                       or not all(isinstance(x, dict) for x in labels)):
                n = len(labels) if isinstance(labels, list) else type(labels).__name__
                raise InputError(f"{where} ({img_id!r}): labelf[{source!r}] must be one {{answer: score}} per "
                                 f"sentence ({len(sents)}), got {n}")
            for i, sent in enumerate(sents):
                meta = {"image_id": img_id, "qtype": source, "source": source}
                uid = f"{img_id}_{source}_{i:03d}"
                if labels is None:
                    yield uid, img_id, sent, None, (), None, meta
                    continue
                try:
                    scores = convert_label(labels[i], table)
                except (TypeError, ValueError) as err:
                    raise InputError(f"{where} ({img_id!r}): labelf[{source!r}][{i}] holds a score that is not "
                                     f"a number: {err}") from None
                best = max(scores, key=scores.get) if scores else None
                yield uid, img_id, sent, best, (), scores, meta
