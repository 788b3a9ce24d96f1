"""Question generator: questions with exactly one right answer about a scene's objects.

Shape letters: N objects.

``make_questions`` proposes candidates of every type that the scene supports (see ``templates.py``
for the phrasings and the meaning of relations); ``dataset.make_dataset`` then samples them so
answers are balanced. Each question records the object it names (``target``) and the word that
names it (``target_word`` at character ``target_char``), for the pointing game: in "what color is
the circle?" the target is the circle and the word is ``circle``; in "is the red shape left of the
triangle?" it is the red shape and ``red``. ``target`` is ``None`` when no single object is named
(counts, existence of zero or several objects).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .checker import relation_holds
from .palette import COLORS, SHAPES
from .scenes import Scene, SceneObject
from .templates import COUNT_WORDS, TEMPLATES, Template


@dataclass(frozen=True)
class Question:
    """One question about a scene.

    Args:
        text: the question, lower case, ending in ``?``.
        answer: its one right answer (a word of ``dataset.ANSWERS``).
        qtype: ``color``, ``shape``, ``exist``, ``count``, ``relation`` or ``size``.
        target: index into the scene's objects of the one object the question names, or ``None``.
        target_word: the word of ``text`` that names the target, or ``None``.
        template: the template pattern the text follows.
        target_char: character offset of ``target_word`` in ``text``, or ``None``.
    """

    text: str
    answer: str
    qtype: str
    target: int | None
    target_word: str | None
    template: str = ""
    target_char: int | None = None


_BY_QTYPE: dict[str, list[Template]] = {}
for _t in TEMPLATES:
    _BY_QTYPE.setdefault(_t.qtype, []).append(_t)
_SINGLE_SHAPE = [t for t in _BY_QTYPE["shape"] if "{color}" not in t.pattern]
_COLOR_SHAPE = [t for t in _BY_QTYPE["shape"] if "{color}" in t.pattern]


def referring_phrases(objects: Sequence[SceneObject], i: int) -> list[tuple[str, str]]:
    """Phrases that name object ``i`` and no other, with the word that names it.

    Args:
        objects: the scene's objects.
        i: index of the object.

    Returns:
        ``(phrase, head_word)`` pairs, e.g. ``[("circle", "circle"), ("red circle", "circle")]``.
    """
    o = objects[i]
    same_shape = sum(p.shape == o.shape for p in objects)
    same_color = sum(p.color == o.color for p in objects)
    same_both = sum(p.shape == o.shape and p.color == o.color for p in objects)
    out = []
    if len(objects) == 1:
        out.append(("shape", "shape"))
    if same_shape == 1:
        out.append((o.shape, o.shape))
    if same_color == 1:
        out.append((f"{o.color} shape", o.color))
    if same_both == 1:
        out.append((f"{o.color} {o.shape}", o.shape))
    return out


def _fill(t: Template, slots: dict[str, str], word: str | None, target: int | None, answer: str) -> Question:
    """Question from a template; the target word is looked up inside the first slot."""
    text = t.pattern.format(**slots)
    char = None
    if word is not None:
        first = min((t.pattern.index("{" + k + "}"), k) for k in slots)[1] if slots else None
        start = t.pattern.index("{" + first + "}") if first else 0
        char = text.index(word, start)
    return Question(text, answer, t.qtype, target, word, t.pattern, char)


def _pick(rng: np.random.Generator, seq: Sequence):
    return seq[int(rng.integers(len(seq)))]


def make_questions(
    scene: Scene | Sequence[SceneObject],
    rng: np.random.Generator,
    n_exist: int = 4,
    n_count: int = 3,
    n_relation: int = 3,
    n_size: int = 2,
) -> list[Question]:
    """Candidate questions about a scene, each with exactly one right answer.

    Args:
        scene: a ``Scene`` or its objects.
        rng: random generator (the only source of randomness).
        n_exist: existence questions (half about a present kind, half about a random kind).
        n_count: counting questions.
        n_relation: left/right/above/below questions (fewer when no pair qualifies).
        n_size: bigger/smaller questions (fewer when no pair differs enough in area).

    Returns:
        Questions: one colour question per object with a unique shape, one shape question per
        object with a unique colour, then existence, count, relation and size questions.

    Example:
        >>> from lxmert_viz.shapes.world.scenes import generate_scene
        >>> qs = make_questions(generate_scene(0), np.random.default_rng(0))
        >>> sorted({q.qtype for q in qs}) <= ["color", "count", "exist", "relation", "shape", "size"]
        True
    """
    objects = list(scene.objects if isinstance(scene, Scene) else scene)
    return [*_attribute_questions(objects, rng), *_kind_questions(objects, rng, n_exist, n_count),
            *_pair_questions(objects, rng, n_relation, n_size)]


def _attribute_questions(objects: list[SceneObject], rng: np.random.Generator) -> list[Question]:
    """"What color is the circle?" for each object a phrase names without its colour, "what is the
    red shape?" for each object of a unique colour, "what shape is in the image?" when alone."""
    out = []
    for i, o in enumerate(objects):
        no_color = [p for p in referring_phrases(objects, i) if p[0] in (*SHAPES, "shape")]
        if no_color:
            phrase, word = _pick(rng, no_color)
            out.append(_fill(_pick(rng, _BY_QTYPE["color"]), {"a": phrase}, word, i, o.color))
        if sum(p.color == o.color for p in objects) == 1:
            out.append(_fill(_pick(rng, _COLOR_SHAPE), {"color": o.color}, o.color, i, o.shape))
    if len(objects) == 1:
        out.append(_fill(_pick(rng, _SINGLE_SHAPE), {}, "shape", 0, objects[0].shape))
    return out


def _kind_questions(objects: list[SceneObject], rng: np.random.Generator, n_exist: int, n_count: int) -> list[Question]:
    """Existence then counting questions about a kind of object (a colour, a shape, both, or any).

    Half the kinds are an object's own (so present), half drawn at random. The target is the one
    matching object of an existence question, when exactly one matches.
    """
    out = []
    for k in range(n_exist + n_count):
        ref = _pick(rng, objects) if rng.random() < 0.5 else None
        color = ref.color if ref else _pick(rng, COLORS)
        shape = ref.shape if ref else _pick(rng, SHAPES)
        kind = int(rng.integers(4 if k >= n_exist else 3))  # 0 colour, 1 shape, 2 both, 3 all (count only)
        hits = [i for i, o in enumerate(objects)
                if (kind in (1, 3) or o.color == color) and (kind in (0, 3) or o.shape == shape)]
        word = None if kind == 3 else (color if kind == 0 else shape)
        if k < n_exist:
            t = _pick(rng, _BY_QTYPE["exist"])
            thing = [f"{color} shape", shape, f"{color} {shape}"][kind]
            answer = "yes" if (len(hits) > 0) != t.negated else "no"
            target = hits[0] if len(hits) == 1 else None
            out.append(_fill(t, {"thing": thing}, word if target is not None else None, target, answer))
        else:
            t = _pick(rng, _BY_QTYPE["count"])
            things = [f"{color} shapes", f"{shape}s", f"{color} {shape}s", "shapes"][kind]
            out.append(_fill(t, {"things": things}, None, None, COUNT_WORDS[len(hits)]))
    return out


def _pair_questions(objects: list[SceneObject], rng: np.random.Generator, n_relation: int,
                    n_size: int) -> list[Question]:
    """Relation and size questions about pairs of objects that phrases name, in a random pair order.

    A pair gets a question only of a kind whose answer is decided (``relation_holds`` is not None)
    and whose quota is not yet met.
    """
    referable = [i for i in range(len(objects)) if referring_phrases(objects, i)]
    pairs = [(i, j) for i in referable for j in referable if i != j]
    order = rng.permutation(len(pairs)) if pairs else []
    out, n_rel, n_sz = [], 0, 0
    for p in order:
        i, j = pairs[int(p)]
        if n_rel >= n_relation and n_sz >= n_size:
            break
        a, b = objects[i], objects[j]
        options = []
        if n_rel < n_relation:
            options += [t for t in _BY_QTYPE["relation"] if relation_holds(a, b, t.relation or "") is not None]
        if n_sz < n_size:
            options += [t for t in _BY_QTYPE["size"] if relation_holds(a, b, t.relation or "") is not None]
        if not options:
            continue
        t = _pick(rng, options)
        (pa, wa), (pb, _) = _pick(rng, referring_phrases(objects, i)), _pick(rng, referring_phrases(objects, j))
        answer = "yes" if relation_holds(a, b, t.relation or "") else "no"
        out.append(_fill(t, {"a": pa, "b": pb}, wa, i, answer))
        n_rel += t.qtype == "relation"
        n_sz += t.qtype == "size"
    return out
