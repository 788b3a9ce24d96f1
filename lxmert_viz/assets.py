"""Where the embedded shapes-world models and the sample scenes live.

Two models ship: ``shapes`` (the default, trained with the word-referent objective) and
``shapes-plain`` (the control: the same recipe with that objective off).

Looked up in order: ``$LXMERT_VIZ_ASSETS``, the source tree's ``assets/`` (a checkout or an editable
install), then ``<prefix>/share/lxmert_viz/assets`` (a wheel install ships them there).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import InputError, MissingFileError

SHAPES_MODEL = "shapes"
SHAPES_MODELS = ("shapes", "shapes-plain")
SAMPLES = "samples"


def assets_dir() -> Path:
    """The assets folder; raises FileNotFoundError naming every place it looked."""
    tried = []
    env = os.environ.get("LXMERT_VIZ_ASSETS")
    if env:
        tried.append(Path(env))
    tried.append(Path(__file__).resolve().parent.parent / "assets")
    tried.append(Path(sys.prefix) / "share" / "lxmert_viz" / "assets")
    for path in tried:
        if (path / SHAPES_MODEL / "config.json").is_file():
            return path
    raise MissingFileError(
        "the embedded shapes-world model was not found; looked in " + ", ".join(str(p) for p in tried)
        + " (set LXMERT_VIZ_ASSETS to a folder holding shapes/config.json)"
    )


def shapes_model_dir(name: str = SHAPES_MODEL) -> Path:
    """The folder of one of the shipped shapes-world models (``SHAPES_MODELS``)."""
    if name not in SHAPES_MODELS:
        raise InputError(f"no shipped shapes model {name!r}; shipped: {', '.join(SHAPES_MODELS)}")
    path = assets_dir() / name
    if not (path / "config.json").is_file():
        raise MissingFileError(f"the shapes model {name!r} is missing: no {path / 'config.json'}")
    return path


def sample_paths() -> list[Path]:
    """The sample scenes shipped for the notebooks and README, sorted by name."""
    return sorted((assets_dir() / SAMPLES).glob("*.png"))


def user_cache_dir(kind: str) -> Path:
    """The per-user cache folder for ``kind`` (``"features"``, ``"vg"``): platformdirs' user cache
    directory for lxmert_viz (``~/.cache/lxmert_viz/<kind>`` on Linux). Nothing is created here."""
    from platformdirs import user_cache_path

    return user_cache_path("lxmert_viz", appauthor=False) / kind
