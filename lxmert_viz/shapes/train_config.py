"""The recipe of the embedded shapes-world model: one frozen dataclass, saved beside the weights.

`TrainConfig()` is the shipped model (``assets/shapes``); ``TrainConfig(word_weight=0.0)`` the
control model ``shapes-plain``; `TrainConfig.tiny` a seconds-long run for tests. The command line
(``python -m lxmert_viz.shapes.train``) has one flag per field, generated from the fields below,
so flags and recipe cannot drift apart; ``--config FILE`` starts from a saved ``train_config.json``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_type_hints

from ..errors import InputError, MissingFileError

CONFIG_FILE = "train_config.json"


def _f(default, help: str, **kw):  # noqa: A002  (argparse's word)
    return field(default=default, metadata={"help": help, **kw})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the trained weights (with the code): data, objectives, schedule.

    Example:
        >>> TrainConfig().word_weight, TrainConfig(word_weight=0.0).word_weight
        (0.5, 0.0)
        >>> TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()
        True
    """

    # data
    n_scenes: int = _f(10000, "generated training scenes (about 10 balanced questions each)")
    style: str = _f("varied", "look of the generated scenes: plain (easy-vqa's) or varied (world/variation.py)")
    easyvqa: bool = _f(True, "also train on easy-vqa's train split")
    easyvqa_share: float = _f(0.1, "share of each answer batch drawn from easy-vqa")
    sides: bool = _f(True, 'add the auxiliary side questions ("is the red circle on the left?", sides.py)')
    side_kinds: tuple[str, ...] = _f(("left", "top", "big"), "which side questions (sides.SIDE_TEMPLATES)")
    two_object_weight: float = _f(1.0, "sampling weight of relation and size questions (1: as generated)")
    count_weight: float = _f(2.0, "sampling weight of counting questions (1: as generated)")
    vocab_scenes: int = _f(2000, "generated scenes whose questions train the WordPiece vocabulary")
    # schedule
    steps: int = _f(5600, "optimiser steps, curriculum phases included")
    side_steps: int = _f(400, "curriculum: the first steps answer side questions only (needs sides)")
    pair_steps: int = _f(800, "curriculum: then side, relation and size questions only")
    batch: int = _f(128, "answer rows per step (questions with their images)")
    lr: float = _f(1e-3, "peak learning rate (warm-up 5%, cosine decay)")
    init_std: float = _f(0.02, "std of the initial weights")
    seed: int = _f(0, "seed of the weights and of every draw during training")
    threads: int = _f(2, "torch threads, and processes that draw and read the images of the data build")
    # objectives besides the answer
    obj_weight: float = _f(0.5, "weight of the region-label loss (the obj head on generated scenes)")
    word_weight: float = _f(0.5, "weight of the word-referent objective (0: off, the shapes-plain control)")
    mlm_rows: int = _f(16, "masked-word rows per step (true sentences about the row's image)")
    mask_rate: float = _f(0.15, "masking probability of other words in those rows")
    object_mask: float = _f(0.4, "masking probability of colour and shape words in those rows")
    itm_rows: int = _f(16, "image-text matching rows per step (half matched sentences, half not)")
    itm_weight: float = _f(1.0, "weight of the matching loss (cls.seq_relationship)")
    log_every: int = _f(100, "steps per entry of the training history")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """A config from ``to_dict``'s output; an unknown key is an error that names it."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InputError(f"unknown training settings {unknown}; known: {sorted(names)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / CONFIG_FILE
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a ``train_config.json`` (or the one in a model folder)."""
        path = Path(path)
        if path.is_dir():
            path = path / CONFIG_FILE
        if not path.is_file():
            raise MissingFileError(f"no training config at {path}")
        return cls.from_dict(json.loads(path.read_text()))

    @classmethod
    def tiny(cls, **overrides) -> TrainConfig:
        """A run of seconds on a few scenes (tests): no easy-vqa, no curriculum, small batches, one thread
        and no image-drawing processes (a test run has other work on the other cores)."""
        base = dict(n_scenes=60, steps=20, batch=16, mlm_rows=4, itm_rows=4, easyvqa=False, sides=False,
                    side_steps=0, pair_steps=0, vocab_scenes=60, log_every=10, lr=2e-3, threads=1)
        return cls(**{**base, **overrides})

    def check(self) -> None:
        """Raise ValueError on settings that cannot work together."""
        if (self.side_steps or self.pair_steps) and not self.sides:
            raise InputError("side_steps/pair_steps need sides=True (the side questions); pass 0 for both")
        if self.style not in ("plain", "varied"):
            raise InputError(f"style must be 'plain' or 'varied', got {self.style!r}")
        if self.side_steps + self.pair_steps > self.steps:
            raise InputError(f"the curriculum ({self.side_steps} + {self.pair_steps} steps) is longer than steps={self.steps}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per `TrainConfig` field (``--n-scenes``, ``--word-weight``, ``--easyvqa/--no-easyvqa`` ...)."""
    hints = get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        kind = hints[f.name]
        text = f"{f.metadata['help']} (default: {f.default})".replace("%", "%%")  # argparse formats help with %
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=text)
        elif f.name == "side_kinds":
            parser.add_argument(flag, nargs="+", default=None, help=text)
        else:
            parser.add_argument(flag, type=kind, default=None, help=text)


def from_arguments(args: argparse.Namespace, base: TrainConfig | None = None) -> TrainConfig:
    """The config a parsed command line asks for: ``base`` (default `TrainConfig()`) with its flags."""
    base = base or TrainConfig()
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if getattr(args, f.name) is not None}
    if "side_kinds" in given:
        given["side_kinds"] = tuple(given["side_kinds"])
    return dataclasses.replace(base, **given)
