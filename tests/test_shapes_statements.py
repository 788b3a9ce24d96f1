"""Sentences for image-text matching: what "matches" means, and the mismatched sentences built from it."""
from __future__ import annotations

from collections import Counter

import numpy as np

from lxmert_viz.shapes.world.scenes import SceneObject, layout_scene
from lxmert_viz.shapes.world.statements import (
    STATEMENTS,
    near_miss,
    parse_statement,
    statement_corpus,
    statement_pairs,
    statement_truth,
)

OBJS = [SceneObject("circle", "red", (0, 0, 10, 10)), SceneObject("circle", "blue", (5, 20, 25, 40)),
        SceneObject("triangle", "red", (40, 0, 52, 10))]


def test_truth_by_hand():
    truth = lambda s: statement_truth(OBJS, s)  # noqa: E731
    assert truth("there is a blue circle.") is True and truth("there is a teal shape.") is False
    assert truth("the triangle is red.") is True and truth("the triangle is blue.") is False
    assert truth("the circle is red.") is False  # two circles: "the circle" names no single object
    assert truth("the blue shape is a circle.") is True and truth("the red shape is a circle.") is False  # two red
    assert truth("the red circle is above the blue circle.") is True
    assert truth("the blue circle is above the red circle.") is False
    assert truth("the red circle is left of the blue circle.") is None  # overlapping projections: undecided
    assert truth("the blue circle is bigger than the red circle.") is True
    assert truth("the red circle is bigger than the red triangle.") is None  # area ratio under 1.5
    assert truth("the green circle is left of the red triangle.") is False  # names nothing
    assert truth("what color is the circle?") is None  # not a statement


def test_pairs_are_what_they_say_and_balanced():
    kinds, types = Counter(), Counter()
    rng = np.random.default_rng(0)
    for seed in range(300):
        objs, other = layout_scene(seed)[0], layout_scene(seed + 5000)[0]
        for text, match, kind in statement_pairs(objs, other, rng):
            assert statement_truth(objs, text) is match, (text, kind)
            kinds[kind] += 1
            types[parse_statement(text)[0].qtype] += 1
            if kind == "other scene":
                assert statement_truth(other, text) is True
    assert kinds["true"] == 600 and kinds["other scene"] + kinds["near miss"] >= 580
    assert abs(kinds["other scene"] - kinds["near miss"]) <= 20
    assert min(types.values()) >= 60 and set(types) == {"exist", "color", "shape", "relation", "size"}


def test_a_near_miss_changes_one_word_and_is_false():
    rng = np.random.default_rng(1)
    for text in ("the triangle is red.", "the blue shape is a circle.", "the red circle is above the blue circle.",
                 "there is a blue circle."):
        miss = near_miss(OBJS, text, rng)
        assert miss is not None and statement_truth(OBJS, miss) is False
        diff = [(a, b) for a, b in zip(text.split(), miss.split()) if a != b]
        assert len(miss.split()) == len(text.split()) and len(diff) == 1, (text, miss)


def test_corpus_has_every_phrasing():
    corpus = statement_corpus()
    assert len(corpus) == len(STATEMENTS)
    assert all(parse_statement(s) is not None for s in corpus)
