"""The embedded model says when a question is outside the forms it was trained on (`Result.notice`)."""
from __future__ import annotations

SAMPLE = "assets/samples/scene_00.png"


def test_an_unfamiliar_phrasing_comes_back_with_a_notice(kit):
    odd = kit.ask(SAMPLE, "what shape is on the left?")
    assert odd.notice is not None and "not one of the question forms" in odd.notice
    assert "'is the {a} on the left?'" in odd.notice, "the notice names the nearest known forms"
    assert "notice" in repr(odd) and "notice" in odd._repr_html_()


def test_a_trained_form_has_none(kit):
    for q in ("what color is the circle?", "how many shapes are there?", "is the red circle on the left?"):
        assert kit.ask(SAMPLE, q).notice is None, q
