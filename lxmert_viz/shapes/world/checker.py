"""Answer checker: recompute a question's answer from the scene's objects, or say it is ill-posed.

Shape letters: N objects.

This is the reference semantics of every template in ``templates.py``, written apart from the
generator so that a test can check the generator against it. It also answers easy-vqa questions
when given the objects of an easy-vqa image (e.g. read off by the region extractor).
"""
from __future__ import annotations

from collections.abc import Sequence

from .scenes import SceneObject
from .templates import COUNT_WORDS, SIZE_RATIO, match_template


def matching(objects: Sequence[SceneObject], color: str | None, noun: str | None) -> list[int]:
    """Indices of the objects a phrase such as ``"red circle"``, ``"circle"`` or ``"red shape"`` names.

    Args:
        objects: the scene's objects.
        color: colour word or ``None``.
        noun: a shape word, or ``shape``/``object``/``None`` for any shape.

    Returns:
        Indices into ``objects``.
    """
    return [
        i for i, o in enumerate(objects)
        if (color is None or o.color == color) and (noun in (None, "shape", "object") or o.shape == noun)
    ]


def resolve(objects: Sequence[SceneObject], color: str | None, noun: str | None) -> int | None:
    """Index of the one object a phrase names, or ``None`` when it names none or several."""
    hits = matching(objects, color, noun)
    return hits[0] if len(hits) == 1 else None


def _before(a: tuple, b: tuple, axis: int) -> bool | None:
    """Whether box ``a`` ends before ``b`` begins on ``axis`` (0 x, 1 y); None when they overlap there."""
    if a[2 + axis] <= b[axis]:
        return True
    if b[2 + axis] <= a[axis]:
        return False
    return None


def relation_holds(a: SceneObject, b: SceneObject, relation: str) -> bool | None:
    """Whether ``a <relation> b``; ``None`` when the question would be ill-posed.

    Left/right/above/below need the two boxes' projections on that axis to be disjoint;
    bigger/smaller need an area ratio of at least ``SIZE_RATIO``.
    """
    for axis, (first, second) in enumerate((("left", "right"), ("above", "below"))):
        if relation in (first, second):
            before = _before(a.box, b.box, axis)
            return None if before is None else before == (relation == first)
    big, small = max(a.area, b.area), min(a.area, b.area)
    if big < SIZE_RATIO * small:
        return None
    bigger = a.area > b.area
    return bigger if relation == "bigger" else not bigger


def answer_question(objects: Sequence[SceneObject], text: str) -> str | None:
    """The one right answer to a question about these objects.

    Args:
        objects: the scene's objects.
        text: a question following one of ``TEMPLATES``.

    Returns:
        The answer, or ``None`` when the question does not parse or has no single right answer
        (a phrase naming no or several objects, overlapping projections, similar sizes).

    Example:
        >>> objs = [SceneObject("circle", "red", (0, 0, 10, 10)), SceneObject("triangle", "blue", (20, 0, 30, 10))]
        >>> answer_question(objs, "is the red circle left of the triangle?")
        'yes'
    """
    found = match_template(text)
    if found is None:
        return None
    t, g = found
    yesno = {True: "yes", False: "no"}
    if t.qtype == "color":
        i = resolve(objects, g["a_color"], g["a_noun"])
        return None if i is None else objects[i].color
    if t.qtype == "shape":
        i = resolve(objects, g.get("color"), None)
        return None if i is None else objects[i].shape
    if t.qtype in ("exist", "count"):
        noun = g["t_noun"]
        n = len(matching(objects, g["t_color"], noun))
        if t.qtype == "count":
            return COUNT_WORDS[n] if n < len(COUNT_WORDS) else None
        return yesno[(n > 0) != t.negated]
    i = resolve(objects, g["a_color"], g["a_noun"])
    j = resolve(objects, g["b_color"], g["b_noun"])
    if i is None or j is None or i == j:
        return None
    holds = relation_holds(objects[i], objects[j], t.relation or "")
    return None if holds is None else yesno[holds]
