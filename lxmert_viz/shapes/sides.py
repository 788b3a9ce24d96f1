"""Auxiliary training questions about one object: "is the red circle on the left?", "… big?".

They are not part of the shapes world's question set (``shapes.world.templates``) and are never
evaluated; the trainer's curriculum opens with them (``TrainConfig.sides``, ``side_steps``) as a
stepping stone towards the relation and size questions. "Is A left of B?" needs the model to find
two objects *and* tell which is which before any of it pays off, so from a random start its answer
stays at chance. Asking where one named object is rewards, on its own, reading the position of the
region a phrase names; the relation questions can then build on that (what the curriculum bought is
in ``assets/shapes/TRAINING.md``).

An object is "on the left" when its box centre lies left of the image's middle by more than
``MARGIN`` of the width (likewise right, top, bottom); objects nearer the middle get no question.
An object is big when its area is at least ``BIG`` of the image's, not big when at most ``SMALL``
(about the upper and lower thirds of the generator's objects); in between, no question. Only
"left", "top" and "big" are asked, so the answer follows the object's position or size directly
(yes on the left); objects lie on either side about equally often, so yes and no are about
equally likely.
"""
from __future__ import annotations

import numpy as np

from .world import Question, Scene, referring_phrases

MARGIN = 0.1
BIG, SMALL = 0.035, 0.015
SIDE_TEMPLATES: dict[str, str] = {
    "left": "is the {a} on the left?",
    "top": "is the {a} at the top?",
    "big": "is the {a} big?",
}


def side_of(scene: Scene, i: int) -> dict[str, bool | None]:
    """For object ``i``: is it on the left/right/top/bottom, is it big (None when in between)?"""
    w, h = scene.image.size
    x1, y1, x2, y2 = scene.objects[i].box
    dx, dy = (x1 + x2) / 2 / w - 0.5, (y1 + y2) / 2 / h - 0.5
    horiz = None if abs(dx) <= MARGIN else dx < 0
    vert = None if abs(dy) <= MARGIN else dy < 0
    share = scene.objects[i].area / (w * h)
    big = True if share >= BIG else False if share <= SMALL else None
    return {"left": horiz, "right": None if horiz is None else not horiz,
            "top": vert, "bottom": None if vert is None else not vert, "big": big}


DEFAULT_KINDS = ("left", "top", "big")


def side_questions(scene: Scene, rng: np.random.Generator, per_kind: int = 1,
                   kinds: tuple[str, ...] = DEFAULT_KINDS) -> list[Question]:
    """Up to ``per_kind`` questions per template about objects that are clearly on one side (or big/small).

    Args:
        scene: a generated scene.
        rng: the only source of randomness.

    Returns:
        Questions with ``qtype="side"``, answers ``yes``/``no``, the named object as ``target``.

    Example:
        >>> from lxmert_viz.shapes.world import generate_scene
        >>> qs = side_questions(generate_scene(0), np.random.default_rng(0))
        >>> all(q.answer in ("yes", "no") and q.qtype == "side" for q in qs)
        True
    """
    out: list[Question] = []
    phrases = [referring_phrases(scene.objects, i) for i in range(len(scene.objects))]
    where = [side_of(scene, i) for i in range(len(scene.objects))]
    for side in kinds:
        cands = [i for i in range(len(scene.objects)) if phrases[i] and where[i][side] is not None]
        for i in rng.permutation(cands)[:per_kind]:
            i = int(i)
            phrase, word = phrases[i][int(rng.integers(len(phrases[i])))]
            text = SIDE_TEMPLATES[side].format(a=phrase)
            answer = "yes" if where[i][side] else "no"
            out.append(Question(text, answer, "side", i, word, SIDE_TEMPLATES[side], text.index(word)))
    return out


def side_corpus(kinds: tuple[str, ...] = DEFAULT_KINDS) -> list[str]:
    """The phrasings, for the vocabulary (every word of the templates becomes a token)."""
    return [SIDE_TEMPLATES[k].format(a="shape") for k in kinds]
