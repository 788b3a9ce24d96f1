"""Balanced question data set of the shapes world, answer vocabulary and the question-only baseline.

Shape letters: none (lists).

Scenes are not stored: a ``Sample`` keeps its scene's seed, and ``generate_scene(seed, **scene_kw)``
redraws it (deterministically). Scene ``i`` of ``make_dataset(n, seed)`` has seed
``seed * 1_000_000 + i``, so data sets with different seeds share no scene (for n <= 1e6).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ...errors import InputError
from .palette import COLORS, SHAPES
from .questions import Question, make_questions
from .scenes import layout_scene
from .templates import COUNT_WORDS, question_template

EASYVQA_ANSWERS: tuple[str, ...] = (
    "circle", "green", "red", "gray", "yes", "teal", "black", "rectangle", "yellow", "triangle", "brown",
    "blue", "no",
)
"""easy-vqa's 13 answers in the order of its ``answers.txt`` (a test checks the installed file)."""
ANSWERS: tuple[str, ...] = EASYVQA_ANSWERS + COUNT_WORDS
"""Answer vocabulary: easy-vqa's 13 answers, then the counts ``"0"``..``"6"``."""
SCENE_SEED_STRIDE = 1_000_000


@dataclass(frozen=True)
class Sample:
    """One question about one generated scene.

    Args:
        scene_seed: seed of the scene (redraw with ``generate_scene(scene_seed, **scene_kw)``).
        question: the question, its answer and its target.
    """

    scene_seed: int
    question: Question


def _balanced_pick(rng: np.random.Generator, by_answer: dict[str, list[int]]) -> list[int]:
    """Indices kept from one template group so that its answers are about equally frequent.

    Each answer keeps at most ``q`` items, ``q`` the fewest items of any answer that is not rare
    (rare: under a fifth of the mean per answer, e.g. a count of 6); rare answers keep all theirs.
    """
    sizes = {a: len(v) for a, v in by_answer.items()}
    mean = sum(sizes.values()) / len(sizes)
    common = [n for n in sizes.values() if n >= 0.2 * mean]
    quota = min(common)
    kept: list[int] = []
    for a in sorted(by_answer):
        idx = by_answer[a]
        if len(idx) > quota:
            idx = sorted(rng.choice(idx, size=quota, replace=False).tolist())
        kept += idx
    return kept


def balance_questions(questions: Sequence[Question], rng: np.random.Generator) -> list[int]:
    """Indices (sorted) of the questions kept so that, per template, answers are about equally frequent.

    Questions are grouped by ``question_template`` (the text with colour/shape words masked); each
    group keeps its answers equally often (``_balanced_pick``).
    """
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for k, q in enumerate(questions):
        groups[question_template(q.text)][q.answer].append(k)
    kept: list[int] = []
    for key in sorted(groups):
        kept += _balanced_pick(rng, groups[key])
    return sorted(kept)


def make_dataset(
    n_scenes: int,
    seed: int,
    size: int = 128,
    min_objects: int = 1,
    max_objects: int = 6,
    style: str = "plain",
    layouts: Sequence | None = None,
) -> list[Sample]:
    """Questions about ``n_scenes`` generated scenes, balanced so the question alone tells little.

    Candidates from ``make_questions`` are grouped by template (``question_template``: the text
    with colour/shape words masked); in each group every answer is kept about equally often
    (yes/no 50/50, colours and shapes uniform, counts spread; see ``_balanced_pick``).

    Args:
        n_scenes: number of scenes.
        seed: data set seed; scene ``i`` has seed ``seed * 1_000_000 + i``.
        size: scene side in pixels.
        min_objects: fewest objects per scene.
        max_objects: most objects per scene.
        style: ``"plain"`` or ``"varied"`` scenes (``layout_scene``; varied boxes may be smaller).
        layouts: the objects of each scene when they are already at hand (``generate_scene(seed of
            scene i, size, min_objects, max_objects, style=style).objects`` for scene i), so as not
            to lay the scenes out twice.

    Returns:
        Samples ordered by scene, then by question order within the scene.

    Example:
        >>> data = make_dataset(50, seed=0)
        >>> all(s.question.answer in ANSWERS for s in data)
        True
    """
    if layouts is not None and len(layouts) != n_scenes:
        raise InputError(f"layouts holds {len(layouts)} scenes' objects, but n_scenes is {n_scenes}")
    rng = np.random.default_rng(seed)
    pool: list[Sample] = []
    for i in range(n_scenes):
        scene_seed = seed * SCENE_SEED_STRIDE + i
        if layouts is not None:
            objects = tuple(layouts[i])
        else:
            objects, _ = layout_scene(scene_seed, size, min_objects, max_objects, style=style)
        pool += [Sample(scene_seed, q) for q in make_questions(objects, rng)]
    return [pool[k] for k in balance_questions([s.question for s in pool], rng)]


def _pairs(data: Iterable) -> list[tuple[str, str]]:
    """``(question, answer)`` pairs from Samples, Questions or pairs."""
    out = []
    for d in data:
        q = d.question if isinstance(d, Sample) else d
        out.append((q.text, q.answer) if isinstance(q, Question) else (str(q[0]), str(q[1])))
    return out


def question_only_predictor(train: Iterable) -> Callable[[str], str]:
    """A blind model: the majority training answer of the exact question text.

    Unseen texts fall back on the majority answer of their template (``question_template``), then on
    the overall majority. Ties break by answer string, so it is deterministic.

    Args:
        train: Samples, Questions or ``(question, answer)`` pairs.

    Returns:
        ``predict(question) -> answer``.
    """
    by_text: dict[str, Counter] = defaultdict(Counter)
    by_tmpl: dict[str, Counter] = defaultdict(Counter)
    overall: Counter = Counter()
    for q, a in _pairs(train):
        by_text[q][a] += 1
        by_tmpl[question_template(q)][a] += 1
        overall[a] += 1

    def majority(c: Counter) -> str:
        return min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0]

    def predict(q: str) -> str:
        if q in by_text:
            return majority(by_text[q])
        t = question_template(q)
        return majority(by_tmpl[t]) if t in by_tmpl else majority(overall)

    return predict


def question_only_baseline(train: Iterable, test: Iterable) -> float:
    """Accuracy on ``test`` of ``question_only_predictor(train)``.

    Args:
        train: Samples, Questions or ``(question, answer)`` pairs.
        test: the same kinds.

    Returns:
        Fraction of test questions answered right, in 0..1.
    """
    predict = question_only_predictor(train)
    pairs = _pairs(test)
    return sum(predict(q) == a for q, a in pairs) / max(1, len(pairs))


def answer_stats(data: Sequence[Sample]) -> dict[str, Counter]:
    """Answer counts per template (``question_template``), to inspect balance.

    Args:
        data: samples.

    Returns:
        ``{template: Counter(answer -> count)}``.
    """
    out: dict[str, Counter] = defaultdict(Counter)
    for s in data:
        out[question_template(s.question.text)][s.question.answer] += 1
    return dict(out)


assert set(COLORS) | set(SHAPES) | {"yes", "no"} == set(EASYVQA_ANSWERS)
