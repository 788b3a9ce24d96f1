"""Auxiliary side questions of the trainer's curriculum: right answers, balanced, deterministic."""
from __future__ import annotations

import numpy as np
import pytest

from lxmert_viz.shapes.sides import BIG, MARGIN, SIDE_TEMPLATES, SMALL, side_corpus, side_of, side_questions
from lxmert_viz.shapes.world import Scene, SceneObject, generate_scene, match_template, referring_phrases
from lxmert_viz.shapes.world.scenes import render_objects


def _scene(objects):
    return Scene(render_objects(objects, 100), tuple(objects), seed=0)


def test_side_of_hand_placed_objects():
    sc = _scene([SceneObject("circle", "red", (5, 5, 25, 25)), SceneObject("triangle", "blue", (60, 70, 90, 95)),
                 SceneObject("rectangle", "teal", (44, 40, 56, 58))])
    areas = [o.area / 100 ** 2 for o in sc.objects]
    assert areas[1] >= BIG and SMALL < areas[2] < BIG, areas
    assert side_of(sc, 0) == {"left": True, "right": False, "top": True, "bottom": False,
                              "big": None if SMALL < areas[0] < BIG else areas[0] >= BIG}
    assert side_of(sc, 1) == {"left": False, "right": True, "top": False, "bottom": True, "big": True}
    mid = side_of(sc, 2)  # centre (50, 49): within MARGIN of the middle on both axes, middling area
    assert abs(49 / 100 - 0.5) <= MARGIN and set(mid.values()) == {None}


def test_side_questions_are_right_balanced_and_seeded():
    yes = total = 0
    for seed in range(200):
        sc = generate_scene(seed, size=128)
        qs = side_questions(sc, np.random.default_rng(seed), kinds=("left", "top", "big"))
        assert qs == side_questions(sc, np.random.default_rng(seed), kinds=("left", "top", "big")), "seeded"
        assert len(qs) <= len(SIDE_TEMPLATES)
        for q in qs:
            side = next(k for k, t in SIDE_TEMPLATES.items() if q.template == t)
            phrase = q.text[len("is the "):q.text.index({"left": " on ", "top": " at ", "big": " big"}[side])]
            assert phrase in [p for p, _ in referring_phrases(sc.objects, q.target)], "the phrase names one object"
            assert q.answer == ("yes" if side_of(sc, q.target)[side] else "no")
            assert q.text[q.target_char:].startswith(q.target_word)
            assert match_template(q.text) is None, "not one of the evaluated question templates"
            yes += q.answer == "yes"
            total += 1
    assert total > 250
    assert 0.4 < yes / total < 0.6, yes / total


def test_default_kinds_and_corpus():
    sc = generate_scene(3, size=128)
    assert {q.template for q in side_questions(sc, np.random.default_rng(0), kinds=("left", "top"))} <= {
        SIDE_TEMPLATES["left"], SIDE_TEMPLATES["top"]}
    assert side_corpus() == ["is the shape on the left?", "is the shape at the top?", "is the shape big?"]
    assert side_corpus(("left", "top")) == side_corpus()[:2]


def test_curriculum_needs_the_side_questions(tmp_path):
    from lxmert_viz.shapes.train import train
    from lxmert_viz.shapes.train_config import TrainConfig

    with pytest.raises(ValueError, match="sides"):
        train(TrainConfig.tiny(side_steps=1, sides=False), tmp_path, progress=False)
    assert not any(tmp_path.iterdir())  # refused before anything was written
