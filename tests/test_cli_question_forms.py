"""The question forms `lxmert-viz ask` checks against are exactly what the embedded models trained on."""
from __future__ import annotations

import numpy as np
import pytest

from lxmert_viz.shapes.question_forms import FORMS, check_question_form
from lxmert_viz.shapes.sides import side_questions
from lxmert_viz.shapes.world import generate_scene, load_easyvqa_questions
from lxmert_viz.shapes.world.dataset import make_dataset


def test_every_training_question_follows_a_known_form():
    generated = [s.question.text for s in make_dataset(150, 1, style="varied")]
    rng = np.random.default_rng(0)
    sides = [q.text for i in range(30) for q in side_questions(generate_scene(i), rng)]
    assert len(generated) > 1000 and len(sides) > 20
    unknown = [q for q in generated + sides if not check_question_form(q).known]
    assert unknown == []
    used = {check_question_form(q).form for q in generated + sides}
    assert {f.qtype for f in used} == {f.qtype for f in FORMS}


def test_easyvqa_questions_follow_known_forms():
    pytest.importorskip("easy_vqa")
    questions = [q for q, _, _ in load_easyvqa_questions("test")]
    assert [q for q in questions if not check_question_form(q).known] == []


@pytest.mark.parametrize("question,nearest", [
    ("what shape is on the left?", "is the {a} on the left?"),
    ("is the circle to the left of the square?", "is the {a} left of the {b}?"),
    ("what colour is the circle?", "what color is the {a}?"),
    ("how many circles do you see?", "how many {things} are there?"),
])
def test_other_phrasings_get_a_notice_naming_the_nearest_forms(question, nearest):
    check = check_question_form(question)
    assert not check.known and len(check.nearest) == 3
    assert nearest in [f.pattern for f in check.nearest]
    assert question in check.notice() and repr(nearest) in check.notice()


def test_case_spaces_and_the_question_mark_do_not_matter():
    assert check_question_form("  What  COLOR is the red Circle ").form.pattern == "what color is the {a}?"
    with pytest.raises(TypeError, match="must be a string"):
        check_question_form(3)
