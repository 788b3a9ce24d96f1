"""The training recipe: one frozen dataclass, saved beside the weights, one command-line flag per field."""
from __future__ import annotations

import argparse
import dataclasses

import pytest

from lxmert_viz.shapes.train_config import TrainConfig, add_arguments, from_arguments


def _parse(argv):
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args(argv)


def test_every_field_has_a_flag_and_no_flag_means_the_default():
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    p = argparse.ArgumentParser()
    add_arguments(p)
    dests = {a.dest for a in p._actions if a.dest != "help"}
    assert dests == fields
    assert from_arguments(_parse([])) == TrainConfig()


def test_flags_map_onto_fields():
    cfg = from_arguments(_parse(["--word-weight", "0", "--no-easyvqa", "--side-kinds", "left", "top",
                                 "--steps", "30", "--style", "plain", "--lr", "0.002"]))
    assert cfg == dataclasses.replace(TrainConfig(), word_weight=0.0, easyvqa=False, side_kinds=("left", "top"),
                                      steps=30, style="plain", lr=0.002)
    assert isinstance(cfg.steps, int) and isinstance(cfg.lr, float)


def test_saved_config_loads_back_and_names_unknown_keys(tmp_path):
    cfg = TrainConfig.tiny(word_weight=0.0)
    cfg.save(tmp_path)
    assert TrainConfig.load(tmp_path) == cfg
    assert from_arguments(_parse(["--seed", "3"]), TrainConfig.load(tmp_path)) == dataclasses.replace(cfg, seed=3)
    with pytest.raises(ValueError, match="wordweight"):
        TrainConfig.from_dict({"wordweight": 1})
    with pytest.raises(FileNotFoundError, match="training config"):
        TrainConfig.load(tmp_path / "nothing")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.steps = 3


def test_settings_that_cannot_work_together_are_refused():
    with pytest.raises(ValueError, match="sides"):
        TrainConfig(sides=False).check()
    with pytest.raises(ValueError, match="longer than steps"):
        TrainConfig(steps=100).check()
    with pytest.raises(ValueError, match="style"):
        TrainConfig(style="fancy").check()
    TrainConfig().check()
    TrainConfig.tiny().check()
