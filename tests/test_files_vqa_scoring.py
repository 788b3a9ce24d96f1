"""VQA accuracy equals the official evaluation's (``GT-Vision-Lab/VQA``
``PythonEvaluationTools/vqaEvaluation/vqaEval.py`` at a013f00).

Every expected number below is the official script's own per-question ``avgGTAcc``, obtained by
running that file (ported to Python 3 by turning its ``print`` statements into calls, nothing else)
on a one-question VQA object with these ten annotations, annotator ids 1..10; the same comparison
over 20,000 random cases from a pool of tricky answers found no difference. Compared exactly.
"""
from __future__ import annotations

import pytest

from lxmert_viz.analysis.example import Example
from lxmert_viz.analysis.stats import normalize_answer, vqa_accuracy
from lxmert_viz.analysis.stats.answers import correctness, vqa_answer_scores

OFFICIAL = [
    # prediction, the ten answers, official accuracy        what it exercises
    ("10", ["10."] * 8 + ["10"] * 2, 1.0),                  # a period after a digit goes (the kit gave 0.6)
    ("10.", ["10."] * 8 + ["10"] * 2, 1.0),
    ("Yes", ["yes"] * 10, 0.0),                             # all alike: nothing is normalised, not even case
    ("yes", ["Yes"] * 9 + ["yes"], 1.0),                    # not all alike: lower case
    ("yes", ["yes"] * 2 + ["no"] * 8, 0.6),                 # (2 x 1/3 + 8 x 2/3) / 10
    ("yes", ["yes"] * 3 + ["no"] * 7, 0.9),
    ("yes", ["yes"] + ["no"] * 9, 0.3),
    ("2", ["two"] * 3 + ["2"] + ["3"] * 6, 1.0),            # number words
    ("0", ["none"] * 4 + ["nothing"] * 6, 1.0),             # "none" is 0
    ("don't know", ["dont know"] * 5 + ["no"] * 5, 1.0),    # contractions
    ("dog", ["a dog"] * 2 + ["the dog"] * 2 + ["dogs"] * 6, 1.0),  # articles
    ("1000", ["1,000"] * 3 + ["1000"] + ["100"] * 6, 1.0),  # a comma between digits: every mark deleted
    ("red white", ["red, white"] * 4 + ["red,white"] * 2 + ["red"] * 4, 1.0),  # beside a space: deleted, else a space
    ("redwhite", ["red, white"] * 4 + ["red,white"] * 2 + ["red"] * 4, 0.0),
    ("t shirt", ["t-shirt"] * 5 + ["shirt"] * 5, 1.0),
    ("1.5", ["1.5"] * 3 + ["1 .5"] * 7, 0.9),               # a period before a digit stays
    ("x" + "." * 8, ["x" + "." * 40] * 5 + ["y"] * 5, 0.0),  # at most 32 periods go (re.UNICODE as the count)
    ("yes", ["yes\n"] * 5 + ["yes"] * 5, 1.0),              # newlines, tabs and ends stripped first
    ("somebodyd", ["somebody'd"] * 3 + ["no"] * 7, 0.9),    # the table's own odd entry
    ("Im", ["im"] * 3 + ["no"] * 7, 0.9),                   # capitalised keys of the table never match
]


@pytest.mark.parametrize("prediction, answers, official", OFFICIAL)
def test_vqa_accuracy_equals_the_official_script(prediction, answers, official):
    before = list(answers)
    assert vqa_accuracy(prediction, answers) == official
    assert answers == before  # nothing the user gave is modified (the official script rewrites its dicts)


def test_normalize_always_is_the_kits_named_alternative():
    assert vqa_accuracy("Yes", ["yes"] * 10, normalize="always") == 1.0
    assert vqa_accuracy("Yes", ["yes"] * 10, normalize="official") == 0.0
    assert vqa_accuracy("yes", ["yes"] * 2 + ["no"] * 8, normalize="always") == 0.6  # same where they disagree
    with pytest.raises(ValueError, match="normalize must be one of"):
        vqa_accuracy("yes", ["yes"] * 10, normalize="sometimes")
    with pytest.raises(TypeError, match="list of every annotator"):
        vqa_accuracy("yes", "yes")


def test_one_answer_is_exact_match_after_normalisation():
    # the official script leaves each annotator out, so one answer would give 0 to everything
    assert vqa_accuracy("a dog", ["dog"]) == 1.0 and vqa_accuracy("cat", ["dog"]) == 0.0


def test_normal_form():
    assert normalize_answer("10.") == "10" and normalize_answer("1.5") == "1.5"
    assert normalize_answer(" The Two Dogs! ") == "2 dogs" and normalize_answer("dont") == "don't"
    assert normalize_answer("none") == "0" and normalize_answer("1,000") == "1000"
    assert normalize_answer("e.g.") == "eg" and normalize_answer("x" + "." * 40) == "x" + "." * 8


def test_correctness_rules_follow_each_owner():
    ex = lambda **kw: Example("q", "what?", image="x.png", **kw)  # noqa: E731
    assert correctness("10", ex(answers=("10.",) * 8 + ("10",) * 2)) == (1.0, "vqa-soft")
    # LXMERT's evaluators look the answer up as written: label[ans] if ans in label
    assert correctness("2", ex(answer_scores={"2": 0.6, "3": 1.0})) == (0.6, "score")
    assert correctness("two", ex(answer_scores={"2": 0.6})) == (0.0, "score")
    assert correctness("Red", ex(answer="red")) == (1.0, "exact")


@pytest.mark.parametrize("prediction, answers, official", OFFICIAL)
def test_answer_score_tables_agree_with_the_official_accuracy(prediction, answers, official):
    names = sorted({prediction, *answers, "zebra"})
    for normalize in ("official", "always"):
        table = vqa_answer_scores(answers, names, normalize)
        assert table == {n: vqa_accuracy(n, answers, normalize) for n in names if vqa_accuracy(n, answers, normalize) > 0}
    assert vqa_answer_scores(answers, names).get(prediction, 0.0) == official
