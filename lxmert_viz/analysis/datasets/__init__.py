"""Data sets as re-iterable streams of `Example`s.

    shapes_dataset(n_scenes=500, seed=2)          generated held-out scenes, with referents
    easyvqa_dataset(split="test")                 easy-vqa (pip install easy-vqa==1.0)
    questions_dataset(questions, images=, features=)   a questions file over images or feature files
    image_folder_dataset(folder)                  images + questions.json(l) in one folder
    vqa_dataset(questions, features, annotations=)     VQA v2 / GQA / LXMERT (also pre-training) files over TSV or .npz
    open_dataset(spec, ...)                       any of these from one string (the command line's DATASET)
"""
from __future__ import annotations

from pathlib import Path

from ...errors import InputError, MissingFileError
from .base import Dataset, as_dataset
from .features import FeatureStore
from .files import image_folder_dataset, questions_dataset, read_json_rows
from .shapes import HELD_OUT_SEED, easyvqa_dataset, shapes_dataset
from .vqa import vqa_dataset

SPECS = ("shapes[:N_SCENES]", "easy-vqa[:SPLIT]", "FOLDER (images + questions.json)",
         "QUESTIONS.json (with --features or --images)")


def open_dataset(spec: str, annotations: str | None = None, features: str | None = None,
                 images: str | None = None) -> Dataset:
    """A data set from a short description.

    Args:
        spec: ``shapes`` / ``shapes:N`` (N held-out scenes, default 500), ``easy-vqa`` /
            ``easy-vqa:train``, a folder of images with ``questions.json(l)``, or a questions file:
            VQA v2 / GQA / LXMERT / LXMERT pre-training format with ``features`` (and
            ``annotations``), or a plain
            list (see `questions_dataset`) with ``features`` or ``images``.
        annotations, features, images: files and folders, as named.

    Example:
        >>> open_dataset("shapes:2")
        Dataset('shapes held-out scenes (seed 2, 2 scenes)', 24 examples)
    """
    name, _, arg = str(spec).partition(":")
    if name == "shapes" and not Path(spec).exists():
        try:
            n = int(arg) if arg else 500
        except ValueError:
            raise InputError(f"shapes:N needs a number of scenes, got {arg!r}") from None
        if n < 1:
            raise InputError(f"shapes:N needs at least one scene, got {n}")
        return shapes_dataset(n)
    if name in ("easy-vqa", "easyvqa") and not Path(spec).exists():
        return easyvqa_dataset(arg or "test")
    path = Path(spec)
    if path.is_dir():
        return image_folder_dataset(path)
    if path.is_file():
        if features is not None:
            data = read_json_rows(path)
            plain = isinstance(data, list) and data and isinstance(data[0], dict)
            if plain and "sent" not in data[0] and "sentf" not in data[0]:  # not LXMERT's (pre-training) files
                return questions_dataset(path, features=features)
            return vqa_dataset(path, features, annotations)
        return questions_dataset(path, images=images)
    raise MissingFileError(f"no data set {spec!r}: give one of {', '.join(SPECS)}")


__all__ = [
    "Dataset", "FeatureStore", "HELD_OUT_SEED", "SPECS", "as_dataset", "easyvqa_dataset", "image_folder_dataset",
    "open_dataset", "questions_dataset", "shapes_dataset", "vqa_dataset",
]
