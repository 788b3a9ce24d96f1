"""The independent robustness set, and the shipped model on pictures drawn in MS Paint's colours."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

import lxmert_viz
from lxmert_viz.shapes import robustness
from lxmert_viz.shapes.robustness import DRAWN_COLORS, draw_scene, drawn_set
from lxmert_viz.shapes.world.checker import answer_question

# MS Paint's default palette (Windows 7 and later), the entries a person calls by the world's names
PAINT = {"red": (("paint red", (237, 28, 36)), ("paint dark red", (136, 0, 21))),
         "green": (("paint green", (34, 177, 76)),), "blue": (("paint indigo", (63, 72, 204)),),
         "black": (("paint black", (0, 0, 0)),), "gray": (("paint gray-50%", (127, 127, 127)),),
         "brown": (("paint brown", (185, 122, 87)),),
         "yellow": (("paint yellow", (255, 242, 0)), ("paint gold", (255, 201, 14)))}


def test_shares_no_code_with_the_scene_generator():
    tree = ast.parse(Path(robustness.__file__).read_text())
    imported = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    world = {(m, a) for m, a in imported if m and m.startswith("world")}
    assert world == {("world.dataset", "balance_questions"), ("world.questions", "Question"),
                     ("world.questions", "make_questions"), ("world.scenes", "SceneObject")}  # records and rules only
    assert not any("variation" in (m or "") or "color_naming" in (m or "") for m, _ in imported)


def test_drawn_set_is_seeded_and_its_answers_follow_the_checker():
    a, b = draw_scene(11), draw_scene(11)
    assert a.objects == b.objects and np.array_equal(np.asarray(a.image), np.asarray(b.image))
    scenes = drawn_set(60, seed=3)
    sizes = {s.image.size for s in scenes}
    assert len(sizes) > 5
    n = 0
    for s in scenes:
        assert set(s.sources) <= {src for v in DRAWN_COLORS.values() for src, _ in v}
        for q in s.questions:
            assert answer_question(s.objects, q.text) == q.answer, q
            n += 1
    assert n > 300
    assert {q.qtype for s in scenes for q in s.questions} == {"color", "shape", "exist", "count", "relation", "size"}


def test_the_shipped_model_answers_about_shapes_drawn_in_paint_colours():
    kit = lxmert_viz.load()
    right = {"color": [], "shape": [], "exist": []}
    for seed in range(25):
        scene = draw_scene(70_000 + seed, palette=PAINT)
        qs = [q for q in _questions(scene) if q.qtype in right]
        for q, res in zip(qs, kit.ask_many(scene.image, [q.text for q in qs])):
            right[q.qtype].append(res.answers[0][0] == q.answer)
    for qtype, hits in right.items():
        assert len(hits) >= 15 and np.mean(hits) >= 0.95, (qtype, np.mean(hits), len(hits))


def _questions(scene):
    from lxmert_viz.shapes.world.questions import make_questions

    return make_questions(scene.objects, np.random.default_rng(0))
