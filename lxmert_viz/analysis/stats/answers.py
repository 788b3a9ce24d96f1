"""Answer statistics: the answer, the top k, and whether it is right.

``correct`` follows the data set's annotations:

- ten annotators' answers (VQA v2): the official soft accuracy, min(#annotators who gave the
  answer / 3, 1), averaged over the ten subsets of nine annotators (leave one out);
- answer scores (LXMERT's files): the score of the predicted answer (0 if absent);
- one gold answer (GQA, the shapes world, easy-vqa): 1 if the prediction equals it, else 0.

Answers are compared after `normalize_answer`, the official VQA script's normalisation in a
simplified form: lower case; its punctuation marks dropped where they touch a space (or the text
has a comma between digits), else turned into a space; a period dropped unless it is between
digits; number words zero..ten as digits; the articles a/an/the removed. Its table of
contractions (``dont`` -> ``don't``) is not applied, and both answers are always normalised.
"""
from __future__ import annotations

import re

import pyarrow as pa

from .registry import FLOATS, Stat, register

_PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!")
_COMMA_DIGITS = re.compile(r"(\d)(,)(\d)")
_NUMBERS = {w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}
_ARTICLES = {"a", "an", "the"}
_PERIOD = re.compile(r"(?<!\d)\.(?!\d)")


def normalize_answer(answer: str) -> str:
    """The form answers are compared in (see the module docstring).

    Example:
        >>> normalize_answer(" Two dogs! "), normalize_answer("the 1.5"), normalize_answer("a cat.")
        ('2 dogs', '1.5', 'cat')
    """
    text = str(answer).lower().replace("\n", " ").replace("\t", " ").strip()
    for p in _PUNCT:
        glued = (p + " " in text) or (" " + p in text) or _COMMA_DIGITS.search(text) is not None
        text = text.replace(p, "" if glued else " ")
    text = _PERIOD.sub("", text)
    words = [_NUMBERS.get(w, w) for w in text.split() if w not in _ARTICLES]
    return " ".join(words)


def vqa_accuracy(prediction: str, answers) -> float:
    """VQA's soft accuracy of ``prediction`` against the annotators' ``answers``.

    With ten answers: the mean over the ten leave-one-out subsets of min(matches / 3, 1).
    With fewer or more, the same rule over each leave-one-out subset (one answer: exact match).

    Example:
        >>> vqa_accuracy("yes", ["yes"] * 2 + ["no"] * 8)        # (2 x 1/3 + 8 x 2/3) / 10
        0.6
        >>> vqa_accuracy("yes", ["yes"] * 3 + ["no"] * 7)        # (3 x 2/3 + 7 x 1) / 10
        0.9
    """
    answers = [normalize_answer(a) for a in answers]
    if not answers:
        raise ValueError("vqa_accuracy needs at least one annotated answer")
    p = normalize_answer(prediction)
    if len(answers) == 1:
        return float(answers[0] == p)
    hits = [a == p for a in answers]
    total = sum(hits)
    return round(sum(min((total - h) / 3.0, 1.0) for h in hits) / len(answers), 10)


def correctness(prediction: str, example) -> tuple[float | None, str | None]:
    """(correct, rule) of a prediction for a data-set `Example`; (None, None) without annotations."""
    if example is None:
        return None, None
    if example.answers:
        return vqa_accuracy(prediction, example.answers), "vqa-soft" if len(example.answers) >= 10 else "soft"
    if example.answer_scores is not None:
        scores = {normalize_answer(a): s for a, s in example.answer_scores.items()}
        return float(scores.get(normalize_answer(prediction), 0.0)), "score"
    if example.answer is not None:
        return float(normalize_answer(prediction) == normalize_answer(example.answer)), "exact"
    return None, None


def _answer(result, encoded, ctx) -> dict:
    a, p = result.answers[0]
    return {"answer": a, "answer_prob": float(p)}


def _topk(result, encoded, ctx) -> dict:
    top = result.answers[: ctx.top_k]
    return {"topk_answers": [a for a, _ in top], "topk_probs": [float(p) for _, p in top]}


def _correct(result, encoded, ctx) -> dict:
    value, rule = correctness(result.answers[0][0], encoded.example)
    if value is None and encoded.gold >= 0:  # an example built by hand: its gold index
        value, rule = float(int(result.logits.argmax()) == encoded.gold), "exact"
    return {"correct": value, "correct_rule": rule}


register(Stat("answer", _answer, lambda s: {"answer": pa.string(), "answer_prob": pa.float32()},
              "the top answer and its probability"))
register(Stat("topk", _topk, lambda s: {"topk_answers": pa.list_(pa.string()), "topk_probs": FLOATS},
              "the k best answers and their probabilities (k = top_k, default 5)"))
register(Stat("correct", _correct, lambda s: {"correct": pa.float32(), "correct_rule": pa.string()},
              "VQA soft accuracy / answer score / exact match of the top answer (see correct_rule); "
              "null without annotations"))
