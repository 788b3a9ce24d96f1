"""One data-set example, before any model sees it: id, question, image or region features,
annotated answers, and (when known) which region a word of the question names.

Shape letters: R regions, F feature size.

Examples are small and model-free: an image is a path, a generated shapes scene (its seed) or an
in-memory picture; precomputed regions are a `Regions` or a `FeatureRef` (a file and where in it),
loaded only when the example is encoded. So a data set of 214k questions is a stream of short
records, and a run can skip examples it has done without reading their features.

Every file-backed example has a one-line ``source`` (``image`` / ``features`` strings) that
`example_from_row` turns back into the example: that is what the Ray backend ships to its workers
and what a run's records keep, so the examples behind a statistic can be opened again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, InputTypeError
from ..features.npz import load_npz
from ..features.tsv_line import read_tsv_line
from ..inputs.regions import Regions
from ..shapes.world.scenes import generate_scene

SCENE_PREFIX = "shapes-scene:"


@dataclass(frozen=True)
class SceneImage:
    """A generated shapes-world scene, drawn when needed (`lxmert_viz.shapes.world.generate_scene`).

    Example:
        >>> SceneImage(2000000, 128).load().size
        (128, 128)
    """

    seed: int
    size: int = 128

    @property
    def key(self) -> str:
        return f"{SCENE_PREFIX}{self.seed}:{self.size}"

    def load(self):

        return generate_scene(self.seed, self.size).image


@dataclass(frozen=True)
class FeatureRef:
    """Where one image's region features are: an ``.npz`` file, or a line of an LXMERT TSV.

    Attributes:
        path: the ``.npz`` file or the ``.tsv`` file.
        image_id: the image's id in the file.
        offset: byte offset of the image's line in a TSV (None for ``.npz``).
        pad_to: pad the regions to this many rows (TSV rows carry no padding).
    """

    path: str
    image_id: str
    offset: int | None = None
    pad_to: int | None = None

    @property
    def key(self) -> str:
        return self.source

    @property
    def source(self) -> str:
        if self.offset is None:
            return f"npz:{self.path}"
        return f"tsv:{self.path}@{self.offset}#{self.image_id}"

    def load(self) -> Regions:
        if self.offset is None:

            return load_npz(self.path)

        return read_tsv_line(self.path, self.offset, self.image_id, self.pad_to)

    @classmethod
    def parse(cls, source: str) -> FeatureRef:
        """Inverse of ``source``: ``npz:PATH`` or ``tsv:PATH@OFFSET#IMAGE_ID``."""
        kind, _, rest = source.partition(":")
        if kind == "npz" and rest:
            return cls(rest, Path(rest).stem)
        if kind == "tsv" and "@" in rest and "#" in rest:
            path, _, tail = rest.rpartition("@")
            offset, _, image_id = tail.partition("#")
            return cls(path, image_id, int(offset))
        raise InputError(f"not a feature source: {source!r} (expected 'npz:PATH' or 'tsv:PATH@OFFSET#ID')")


@dataclass(frozen=True)
class Referent:
    """Which region a word of the question names (for the pointing game).

    Attributes:
        char: character offset of the naming word in the question (the token that covers it is
            the naming token); or
        word: the naming word (its first token), when ``char`` is None.
        region: the named region's row, when known; or
        box: the named object's pixel box ``x1, y1, x2, y2``: the region that overlaps it most
            (IoU > 0.5) is the named one (`lxmert_viz.inputs.referents`).
    """

    char: int | None = None
    word: str | None = None
    region: int | None = None
    box: tuple[float, float, float, float] | None = None

    def __post_init__(self):
        if self.char is None and self.word is None:
            raise InputError("a Referent needs the naming word: char= (its offset) or word=")
        if self.region is None and self.box is None:
            raise InputError("a Referent needs the named region: region= or box=")


@dataclass(frozen=True)
class Example:
    """One question about one image, as a data set gives it.

    Attributes:
        id: unique within the data set (a question id).
        question: the question text.
        image: a path, a `SceneImage`, a PIL image or an (H, W, 3) array; None with ``regions``.
        regions: precomputed `Regions` or a `FeatureRef`; None: the kit's extractor reads ``image``.
        answer: the gold answer (VQA's ``multiple_choice_answer``, GQA's answer), or None.
        answers: every annotator's answer (VQA: ten), for the soft accuracy; may be empty.
        answer_scores: ``{answer: score}`` when the data set gives scores (LXMERT's files).
        referent: which region a word names, or None.
        meta: the rest (``qtype``, ``image_id``, ``scene_seed``, ...); strings and numbers.

    Example:
        >>> ex = Example("q1", "what color is the circle?", image="scene.png", answer="red")
        >>> ex.row()["image"], ex.row()["answer"]
        ('scene.png', 'red')
    """

    id: str
    question: str
    image: Any = None
    regions: Regions | FeatureRef | None = None
    answer: str | None = None
    answers: tuple[str, ...] = ()
    answer_scores: dict[str, float] | None = None
    referent: Referent | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.question, str) or not self.question.strip():
            raise InputError(f"example {self.id!r} has no question text")
        if self.image is None and self.regions is None:
            raise InputError(f"example {self.id!r} has neither an image nor regions")
        object.__setattr__(self, "id", str(self.id))
        object.__setattr__(self, "answers", tuple(str(a) for a in self.answers))

    @property
    def qtype(self) -> str | None:
        q = self.meta.get("qtype")
        return None if q is None else str(q)

    @property
    def image_source(self) -> str | None:
        """A string that reopens the image (a path or ``shapes-scene:SEED:SIZE``), or None."""
        if isinstance(self.image, SceneImage):
            return self.image.key
        if isinstance(self.image, (str, Path)):
            return str(self.image)
        return None

    @property
    def features_source(self) -> str | None:
        return self.regions.source if isinstance(self.regions, FeatureRef) else None

    def row(self) -> dict:
        """A flat, Arrow-friendly dict that `example_from_row` turns back into this example.

        Raises:
            ValueError: the image or regions live only in memory (a PIL image, a `Regions`):
                save them to files first (`lxmert_viz.features.save_npz`).
        """
        if self.image is not None and self.image_source is None:
            raise InputError(f"example {self.id!r}: an in-memory image has no source string; give a path")
        if self.regions is not None and self.features_source is None:
            raise InputError(f"example {self.id!r}: in-memory Regions have no source string; save them with "
                             "lxmert_viz.features.save_npz and give a FeatureRef")
        ref = self.referent

        return {
            "id": self.id, "question": self.question, "image": self.image_source,
            "features": self.features_source,
            "pad_to": self.regions.pad_to if isinstance(self.regions, FeatureRef) else None,
            "answer": self.answer, "answers": list(self.answers),
            "answer_scores": None if self.answer_scores is None else json.dumps(self.answer_scores),
            "ref_char": None if ref is None else ref.char, "ref_word": None if ref is None else ref.word,
            "ref_region": None if ref is None else ref.region,
            "ref_box": None if ref is None or ref.box is None else [float(v) for v in ref.box],
            "meta": json.dumps(self.meta, sort_keys=True, default=_jsonable),
        }


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    raise InputTypeError(f"example meta values must be strings or numbers, got {type(v).__name__}")


def open_image_source(source: str):
    """The image a source string names: a file path or ``shapes-scene:SEED:SIZE``."""
    if source.startswith(SCENE_PREFIX):
        seed, _, size = source[len(SCENE_PREFIX):].partition(":")
        return SceneImage(int(seed), int(size or 128))
    return source


def example_from_row(row: dict) -> Example:
    """Inverse of `Example.row` (and what a run's records hold about their example)."""

    ref = None
    if row.get("ref_region") is not None or row.get("ref_box") is not None:
        box = row.get("ref_box")
        ref = Referent(row.get("ref_char"), row.get("ref_word"), row.get("ref_region"),
                       None if box is None else tuple(float(v) for v in box))
    feats = None
    if row.get("features"):
        feats = FeatureRef.parse(row["features"])
        if row.get("pad_to") is not None:
            feats = FeatureRef(feats.path, feats.image_id, feats.offset, int(row["pad_to"]))
    scores = row.get("answer_scores")
    return Example(
        row["id"], row["question"], image=open_image_source(row["image"]) if row.get("image") else None,
        regions=feats, answer=row.get("answer"), answers=tuple(row.get("answers") or ()),
        answer_scores=None if scores is None else json.loads(scores), referent=ref,
        meta=json.loads(row["meta"]) if row.get("meta") else {},
    )
