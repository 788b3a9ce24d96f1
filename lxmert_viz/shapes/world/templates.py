"""Question templates of the shapes world, shared by the generator and the answer checker.

Shape letters: none (strings).

Slots: ``{a}``/``{b}`` name one object (``"circle"``, ``"red shape"``, ``"red circle"``), ``{color}``
is a colour word, ``{shape}`` a shape word (statements only), ``{thing}`` a kind of object
(``"red shape"``, ``"circle"``, ``"red circle"``), ``{things}`` its plural (``"red shapes"``,
``"circles"``, ``"red circles"``, ``"shapes"``).
The existence, colour and shape phrasings are easy-vqa's own (read from its questions.json).

Answers: colour words, shape words, ``yes``/``no`` and counts as digits ``"0"``..``"6"`` (VQA style).
Relations compare boxes: A is left of B when A's box ends (x2) at or before B's begins (x1);
the question is asked only when the two boxes' projections on that axis do not overlap, so
"left of" and "right of" always have one answer. Size compares drawn areas and is asked only when
the larger is at least ``SIZE_RATIO`` times the smaller.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .palette import COLORS, SHAPES

SIZE_RATIO = 1.5
"""Least area ratio between two objects compared in a size question."""
NOUNS = (*SHAPES, "shape", "object")
"""Nouns that name objects; ``shape``/``object`` name any shape."""
COUNT_WORDS = tuple(str(i) for i in range(7))
"""Count answers, digits 0..6."""


@dataclass(frozen=True)
class Template:
    """One question template.

    Args:
        qtype: ``color``, ``shape``, ``exist``, ``count``, ``relation`` or ``size``.
        pattern: text with slots.
        negated: existence question asked negatively (answer flips).
        relation: ``left``/``right``/``above``/``below``/``bigger``/``smaller`` for two-object questions.
    """

    qtype: str
    pattern: str
    negated: bool = False
    relation: str | None = None


_EXIST = ("is there a {thing}?", "is a {thing} present?", "does the image contain a {thing}?",
          "is there a {thing} in the image?")
_EXIST_NOT = ("is there not a {thing}?", "is no {thing} present?", "does the image not contain a {thing}?",
              "is there not a {thing} in the image?")

TEMPLATES: tuple[Template, ...] = (
    Template("color", "what color is the {a}?"),
    Template("color", "what is the color of the {a}?"),
    Template("shape", "what is the {color} shape?"),
    Template("shape", "what shape is the {color} object?"),
    Template("shape", "what shape is in the image?"),
    Template("shape", "what shape does the image contain?"),
    Template("shape", "what shape is present?"),
    *(Template("exist", p) for p in _EXIST),
    *(Template("exist", p, negated=True) for p in _EXIST_NOT),
    Template("count", "how many {things} are there?"),
    Template("count", "how many {things} are in the image?"),
    Template("relation", "is the {a} left of the {b}?", relation="left"),
    Template("relation", "is the {a} right of the {b}?", relation="right"),
    Template("relation", "is the {a} above the {b}?", relation="above"),
    Template("relation", "is the {a} below the {b}?", relation="below"),
    Template("size", "is the {a} bigger than the {b}?", relation="bigger"),
    Template("size", "is the {a} smaller than the {b}?", relation="smaller"),
)
QTYPES: tuple[str, ...] = ("color", "shape", "exist", "count", "relation", "size")

_C = "|".join(COLORS)
_N = "|".join(NOUNS)
_SLOT_RE = {
    "a": rf"(?:(?P<a_color>{_C}) )?(?P<a_noun>{_N})",
    "b": rf"(?:(?P<b_color>{_C}) )?(?P<b_noun>{_N})",
    "thing": rf"(?:(?P<t_color>{_C}) )?(?P<t_noun>{_N})",
    "things": rf"(?:(?P<t_color>{_C}) )?(?P<t_noun>{'|'.join(SHAPES)}|shape)s",
    "color": rf"(?P<color>{_C})",
    "shape": rf"(?P<shape>{'|'.join(SHAPES)})",
}


def template_regex(t: Template) -> re.Pattern:
    """Regex that matches a whole question of template ``t`` with named groups for its slots."""
    parts = re.split(r"\{(\w+)\}", t.pattern)
    rx = "".join(re.escape(p) if i % 2 == 0 else _SLOT_RE[p] for i, p in enumerate(parts))
    return re.compile(rf"^{rx}$")


TEMPLATE_REGEX: tuple[tuple[Template, re.Pattern], ...] = tuple((t, template_regex(t)) for t in TEMPLATES)


def match_template(text: str) -> tuple[Template, dict[str, str | None]] | None:
    """The template a question follows and its slot values.

    Args:
        text: a question (lower case, as generated or as in easy-vqa).

    Returns:
        ``(template, groups)`` or ``None`` when no template matches.
    """
    text = text.strip().lower()
    for t, rx in TEMPLATE_REGEX:
        m = rx.match(text)
        if m:
            return t, m.groupdict()
    return None


def question_template(text: str) -> str:
    """A question with its colour, shape and digit words replaced by ``<color>``/``<shape>``/``<n>``.

    Used to group questions by phrasing (balance statistics, the question-only baseline fallback).

    Args:
        text: a question.

    Returns:
        The abstracted text.
    """
    text = re.sub(rf"\b({_C})\b", "<color>", text.lower())
    text = re.sub(rf"\b({'|'.join(SHAPES)})(s?)\b", r"<shape>\2", text)
    return re.sub(r"\b\d+\b", "<n>", text)
