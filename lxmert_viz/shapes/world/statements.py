"""Sentences about a scene, and what "the sentence matches the scene" means (image-text matching).

Shape letters: N objects.

LXMERT's image-text matching head (``cls.seq_relationship``) says whether a sentence describes an
image. In the shapes world a sentence follows one of ``STATEMENTS`` ("there is a red circle.",
"the circle is red.", "the red shape is a circle.", "the circle is left of the triangle.",
"the circle is bigger than the triangle.") and **matches** a scene exactly when it is true of the
scene's objects (``statement_truth``):

* "there is a X." is true when at least one object is an X;
* every definite phrase ("the circle", "the red shape") must name exactly one object: when it
  names none or several, the sentence is not true (it does not describe this scene);
* the property or relation must hold, with the question rules (``checker.relation_holds``):
  left/right/above/below need disjoint box projections, bigger/smaller an area ratio of 1.5;
  where those rules leave a relation undecided the sentence is neither (``None``) and is never used.

``statement_pairs`` gives a scene its matched and mismatched sentences: true sentences about it, and
as many that are not: a true sentence about *another* scene that is false here, or a *near miss*:
one of its own true sentences with one word changed (a colour, a shape, or the relation flipped)
so that it becomes false ("the circle is red." -> "the circle is blue.").
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .checker import matching, relation_holds, resolve
from .palette import COLORS, SHAPES
from .questions import referring_phrases
from .scenes import SceneObject
from .templates import Template, template_regex

_OPPOSITE = {"left": "right", "right": "left", "above": "below", "below": "above",
             "bigger": "smaller", "smaller": "bigger"}
STATEMENTS: tuple[Template, ...] = (
    Template("exist", "there is a {thing}."),
    Template("color", "the {a} is {color}."),
    Template("shape", "the {color} shape is a {shape}."),
    Template("relation", "the {a} is left of the {b}.", relation="left"),
    Template("relation", "the {a} is right of the {b}.", relation="right"),
    Template("relation", "the {a} is above the {b}.", relation="above"),
    Template("relation", "the {a} is below the {b}.", relation="below"),
    Template("size", "the {a} is bigger than the {b}.", relation="bigger"),
    Template("size", "the {a} is smaller than the {b}.", relation="smaller"),
)
_REGEX = tuple((t, template_regex(t)) for t in STATEMENTS)
_BY_RELATION = {t.relation: t for t in STATEMENTS if t.relation}
MISMATCH_KINDS = ("other scene", "near miss")


def parse_statement(text: str) -> tuple[Template, re.Match] | None:
    """The statement template a sentence follows and its match, or None."""
    text = text.strip().lower()
    for t, rx in _REGEX:
        m = rx.match(text)
        if m:
            return t, m
    return None


def statement_truth(objects: Sequence[SceneObject], text: str) -> bool | None:
    """Whether a sentence matches (is true of) a scene's objects; None when undecided or unparsed.

    Example:
        >>> objs = [SceneObject("circle", "red", (0, 0, 10, 10)), SceneObject("triangle", "blue", (20, 0, 30, 10))]
        >>> [statement_truth(objs, s) for s in ("the circle is red.", "the circle is left of the triangle.",
        ...                                     "there is a blue circle.", "the rectangle is red.")]
        [True, True, False, False]
    """
    found = parse_statement(text)
    if found is None:
        return None
    t, m = found
    g = m.groupdict()
    if t.qtype == "exist":
        return len(matching(objects, g["t_color"], g["t_noun"])) > 0
    if t.qtype == "color":
        i = resolve(objects, g["a_color"], g["a_noun"])
        return i is not None and objects[i].color == g["color"]
    if t.qtype == "shape":
        i = resolve(objects, g["color"], None)
        return i is not None and objects[i].shape == g["shape"]
    i, j = resolve(objects, g["a_color"], g["a_noun"]), resolve(objects, g["b_color"], g["b_noun"])
    if i is None or j is None or i == j:
        return False
    return relation_holds(objects[i], objects[j], t.relation or "")


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def true_statements(objects: Sequence[SceneObject], rng: np.random.Generator, n_pairs: int = 2) -> dict[str, list[str]]:
    """Candidate sentences that are true of the scene, by kind (``STATEMENTS``' question types).

    One colour sentence per object with a phrase that names it without its colour, one shape
    sentence per object with a unique colour, one "there is" sentence per object, and up to
    ``n_pairs`` relation or size sentences about pairs of objects that phrases name.
    """
    objects = list(objects)
    out: dict[str, list[str]] = {}
    add = lambda kind, text: out.setdefault(kind, []).append(text)  # noqa: E731
    for i, o in enumerate(objects):
        plain = [p for p, _ in referring_phrases(objects, i) if p in (*SHAPES, "shape")]
        if plain:
            add("color", f"the {_pick(rng, plain)} is {o.color}.")
        if sum(p.color == o.color for p in objects) == 1:
            add("shape", f"the {o.color} shape is a {o.shape}.")
        add("exist", f"there is a {_pick(rng, [f'{o.color} shape', o.shape, f'{o.color} {o.shape}'])}.")
    named = [i for i in range(len(objects)) if referring_phrases(objects, i)]
    pairs = [(i, j) for i in named for j in named if i != j]
    for p in rng.permutation(len(pairs))[:n_pairs] if pairs else []:
        i, j = pairs[int(p)]
        relation = _pick(rng, list(_BY_RELATION))
        holds = relation_holds(objects[i], objects[j], relation)
        if holds is None:
            continue
        t = _BY_RELATION[relation if holds else _OPPOSITE[relation]]
        a, b = _pick(rng, referring_phrases(objects, i))[0], _pick(rng, referring_phrases(objects, j))[0]
        add(t.qtype, t.pattern.format(a=a, b=b))
    return out


def _sample(by_kind: dict[str, list[str]], rng: np.random.Generator, n: int) -> list[str]:
    """Up to ``n`` different sentences, each of a kind drawn uniformly from the kinds left."""
    pools = {k: list(v) for k, v in sorted(by_kind.items())}
    out: list[str] = []
    while pools and len(out) < n:
        kind = _pick(rng, list(pools))
        out.append(pools[kind].pop(int(rng.integers(len(pools[kind])))))
        if not pools[kind]:
            del pools[kind]
    return out


def near_miss(objects: Sequence[SceneObject], text: str, rng: np.random.Generator, tries: int = 8) -> str | None:
    """The sentence with one word changed (a colour, a shape, the relation) so that it is false here."""
    found = parse_statement(text)
    if found is None:
        return None
    t, m = found
    slots = [k for k, v in m.groupdict().items() if v is not None and (v in COLORS or v in SHAPES)]
    if t.relation:
        slots.append("relation")
    for _ in range(tries):
        slot = _pick(rng, slots)
        if slot == "relation":
            phrase = lambda k: " ".join(w for w in (m[f"{k}_color"], m[f"{k}_noun"]) if w)  # noqa: E731
            new = _BY_RELATION[_OPPOSITE[t.relation]].pattern.format(a=phrase("a"), b=phrase("b"))
        else:
            old = m[slot]
            pool = COLORS if old in COLORS else SHAPES
            word = _pick(rng, [w for w in pool if w != old])
            new = text[:m.start(slot)] + word + text[m.end(slot):]
        if statement_truth(objects, new) is False:
            return new
    return None


def statement_pairs(objects: Sequence[SceneObject], other: Sequence[SceneObject], rng: np.random.Generator,
                    n_matched: int = 2) -> list[tuple[str, bool, str]]:
    """Matched and mismatched sentences for one scene: ``(text, matches, kind)``.

    Up to ``n_matched`` true sentences (kind ``"true"``; each of a sentence kind drawn uniformly,
    so relations are as common as colours) and as many that are not: alternately a true sentence
    about ``other`` (another scene) that is false here (``"other scene"``) and a near miss of one
    of this scene's true sentences (``"near miss"``).

    Example:
        >>> from lxmert_viz.shapes.world.scenes import layout_scene
        >>> pairs = statement_pairs(layout_scene(0)[0], layout_scene(1)[0], np.random.default_rng(0))
        >>> [(m, k) for _, m, k in pairs]
        [(True, 'true'), (True, 'true'), (False, 'other scene'), (False, 'near miss')]
    """
    picked = _sample(true_statements(objects, rng), rng, n_matched)
    theirs = _sample(true_statements(other, rng), rng, 8)
    out = [(s, True, "true") for s in picked]
    for k in range(len(picked)):
        kind = MISMATCH_KINDS[k % 2]
        text = None
        if kind == "other scene":
            for s in theirs:
                if statement_truth(objects, s) is False:
                    text = s
                    break
        else:
            text = near_miss(objects, picked[k], rng)
        if text is not None:
            out.append((text, False, kind))
    return out


def statement_corpus() -> list[str]:
    """Every statement phrasing once, for the vocabulary (every word becomes a token)."""
    return [t.pattern.format(thing="red shape", a="circle", b="triangle", color="red", shape="circle")
            for t in STATEMENTS]
