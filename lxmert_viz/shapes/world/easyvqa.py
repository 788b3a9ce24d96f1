"""Read the easy-vqa data set from the installed ``easy-vqa`` package files (no network).

Shape letters: none (lists of paths and strings).

easy-vqa (pip ``easy-vqa==1.0``, module ``easy_vqa``) ships ``data/{train,test}/questions.json``
(a list of ``[question, answer, image_id]``), ``data/{train,test}/images/<id>.png`` (64x64 RGB, one
shape on an off-white tint) and ``data/answers.txt`` (13 answers). Measured counts: train 4000
images / 38575 questions, test 1000 images / 9673 questions.

The wheel also installs a stray top-level package named ``test``; we never import it: the data
directory is located with ``importlib.util.find_spec("easy_vqa")`` without importing anything.
"""
from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from ...errors import InputError, MissingFileError

SPLITS = ("train", "test")


@dataclass(frozen=True)
class EasyVQAImage:
    """One easy-vqa image and its questions.

    Args:
        image_id: easy-vqa's integer id (file ``<id>.png``).
        path: absolute path of the PNG.
        qa: ``(question, answer)`` pairs in the order of questions.json.
    """

    image_id: int
    path: Path
    qa: tuple[tuple[str, str], ...]


def easyvqa_data_dir() -> Path:
    """Directory ``.../site-packages/easy_vqa/data`` of the installed package.

    Returns:
        The data directory.

    Raises:
        ModuleNotFoundError: easy-vqa is not installed (``pip install easy-vqa==1.0``).
    """
    spec = importlib.util.find_spec("easy_vqa")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            "the easy-vqa data set needs the 'easy-vqa' package: pip install easy-vqa==1.0 "
            "(or pip install 'lxmert_viz[train]')"
        )
    data = Path(spec.origin).parent / "data"
    if not (data / "answers.txt").is_file():
        raise MissingFileError(f"easy-vqa is installed but its data is missing: {data}")
    return data


def load_easyvqa_answers() -> list[str]:
    """easy-vqa's 13 answers, in the order of its ``answers.txt``.

    Returns:
        Answer strings.
    """
    text = (easyvqa_data_dir() / "answers.txt").read_text()
    return [a.strip() for a in text.splitlines() if a.strip()]


def load_easyvqa_questions(split: str) -> list[tuple[str, str, int]]:
    """All ``(question, answer, image_id)`` triples of a split, as stored.

    Args:
        split: ``"train"`` or ``"test"``.

    Returns:
        Triples in questions.json order.
    """
    if split not in SPLITS:
        raise InputError(f"easy-vqa split must be one of {SPLITS}, got {split!r}")
    rows = json.loads((easyvqa_data_dir() / split / "questions.json").read_text())
    return [(str(q), str(a), int(i)) for q, a, i in rows]


def load_easyvqa(split: str) -> list[EasyVQAImage]:
    """Images of a split with their questions, sorted by image id.

    Args:
        split: ``"train"`` or ``"test"``.

    Returns:
        One ``EasyVQAImage`` per PNG (4000 train, 1000 test).

    Example:
        >>> items = load_easyvqa("test")
        >>> len(items), items[0].qa[0]
        (1000, ('what is the red shape?', 'triangle'))
    """
    qa: dict[int, list[tuple[str, str]]] = {}
    for q, a, i in load_easyvqa_questions(split):
        qa.setdefault(i, []).append((q, a))
    img_dir = easyvqa_data_dir() / split / "images"
    ids = sorted(int(p.stem) for p in img_dir.glob("*.png"))
    return [EasyVQAImage(i, img_dir / f"{i}.png", tuple(qa.get(i, ()))) for i in ids]
