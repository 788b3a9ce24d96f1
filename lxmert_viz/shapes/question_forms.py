"""The question forms the embedded shapes-world models were trained on, and how near a question is.

Shape letters: none (strings).

The embedded models (``assets/shapes``, ``assets/shapes-plain``) saw two sets of phrasings: the
shapes world's questions (``world/templates.py``: colour, shape, existence, counting, relation and
size; easy-vqa's own questions all follow them) and the curriculum's side questions (``sides.py``:
"is the red circle on the left?"). A question in another phrasing still gets an answer, often a
confident one, that means little ("what shape is on the left?" is no form it knows). This module
says whether a question follows one of those forms and, when it does not, names the nearest ones.

Slots of a form: ``{a}``/``{b}``/``{thing}`` one object: a shape word (``circle``, ``rectangle``,
``triangle``) or ``shape``/``object``, optionally after a colour word (``red circle``); ``{things}``
its plural (``circles``, ``red shapes``); ``{color}`` a colour word (red, green, blue, black, gray,
teal, brown, yellow).

Example:
    >>> check_question_form("What color is the circle?").form.qtype
    'color'
    >>> c = check_question_form("what shape is on the left?")
    >>> c.known, [f.pattern for f in c.nearest]
    (False, ['what shape is the {color} object?', 'what shape is in the image?', 'is the {a} on the left?'])
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from ..errors import QuestionTypeError
from .sides import SIDE_TEMPLATES
from .world.palette import COLORS
from .world.templates import NOUNS, TEMPLATES, Template, template_regex


@dataclass(frozen=True)
class QuestionForm:
    """One known phrasing.

    Attributes:
        qtype: ``color``, ``shape``, ``exist``, ``count``, ``relation``, ``size`` or ``side``.
        pattern: the phrasing with slots (see the module docstring), e.g. ``"what color is the {a}?"``.
    """

    qtype: str
    pattern: str


@dataclass(frozen=True)
class FormCheck:
    """What `check_question_form` found.

    Attributes:
        question: the question as read (lower case, spaces collapsed, ``?`` at the end).
        form: the form it follows, or None.
        nearest: up to three known forms nearest in wording, best first (empty when ``form`` is set).
    """

    question: str
    form: QuestionForm | None
    nearest: tuple[QuestionForm, ...] = ()

    @property
    def known(self) -> bool:
        """True when the question follows a known form."""
        return self.form is not None

    def notice(self) -> str | None:
        """One line for the user when the form is unknown (None when it is known)."""
        if self.known:
            return None
        near = ", ".join(repr(f.pattern) for f in self.nearest)
        return (f"{self.question!r} is not one of the question forms the embedded model was trained on, "
                f"so its answer may mean little; nearest known forms: {near} "
                "({a} = an object such as 'circle' or 'red circle'; all forms: README, 'Question forms')")


_SIDE = tuple(Template("side", p) for p in SIDE_TEMPLATES.values())
FORMS: tuple[QuestionForm, ...] = tuple(QuestionForm(t.qtype, t.pattern) for t in (*TEMPLATES, *_SIDE))
"""Every known form: the world's templates, then the side questions."""
_REGEX = tuple((f, template_regex(Template(f.qtype, f.pattern))) for f in FORMS)

_OBJECT = re.compile(rf"\b(?:(?:{'|'.join(COLORS)}) )?(?:{'|'.join(NOUNS)})s?\b")
_COLOR = re.compile(rf"\b(?:{'|'.join(COLORS)})\b")
_SLOT = re.compile(r"\{(a|b|thing|things)\}")


def normalize(question: str) -> str:
    """Lower case, spaces collapsed, one ``?`` at the end (how the forms are written)."""
    text = " ".join(question.lower().split()).rstrip("?. ").strip()
    return f"{text}?"


def _words(text: str) -> list[str]:
    """Words with every object phrase read as ``<obj>`` and every colour word as ``<color>``."""
    text = _SLOT.sub("<obj>", text.replace("{color}", "<color>"))
    text = _COLOR.sub("<color>", _OBJECT.sub("<obj>", text))
    return re.findall(r"<\w+>|[\w']+", text)


def check_question_form(question: str, n_nearest: int = 3) -> FormCheck:
    """Whether ``question`` follows a form the embedded models were trained on; if not, the nearest forms.

    Args:
        question: a question as a user types it (case, spaces and a missing ``?`` do not matter).
        n_nearest: how many nearest forms to name when it follows none.

    Returns:
        A `FormCheck`: ``.form`` (or None), ``.nearest``, ``.notice()``.

    Example:
        >>> check_question_form("how many red shapes are there").known
        True
        >>> [f.qtype for f in check_question_form("is the circle to the left of the square?").nearest][:1]
        ['relation']
    """
    if not isinstance(question, str):
        raise QuestionTypeError(f"question must be a string, got {type(question).__name__}")
    text = normalize(question)
    for form, rx in _REGEX:
        if rx.match(text):
            return FormCheck(text, form)
    words = _words(text)
    scored = sorted(FORMS, key=lambda f: -SequenceMatcher(None, words, _words(f.pattern)).ratio())
    return FormCheck(text, None, tuple(scored[:n_nearest]))


__all__ = ["FORMS", "FormCheck", "QuestionForm", "check_question_form", "normalize"]
