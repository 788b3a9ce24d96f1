"""Every lxmert-viz subcommand: -h, checks before any work, one-line errors, the command recorded."""
from __future__ import annotations

import argparse
import importlib.util
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from lxmert_viz import cli
from lxmert_viz.errors import ImageError
from lxmert_viz.shapes import evaluate as evaluate_command

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--n-scenes", "30", "--steps", "2", "--batch", "8", "--mlm-rows", "2", "--itm-rows", "2", "--no-easyvqa",
        "--no-sides", "--side-steps", "0", "--pair-steps", "0", "--vocab-scenes", "20", "--log-every", "1"]


def subcommands() -> list[str]:
    sub = next(a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lxmert-viz: error: "), err
    return err[0]


def test_every_subcommand_has_working_help(capsys):
    names = subcommands()
    assert {"ask", "scene", "lab", "train", "evaluate", "analyze", "summarize"} <= set(names)
    for name in names:
        with pytest.raises(SystemExit) as stop:
            cli.main([name, "-h"])
        assert stop.value.code == 0, name
        assert f"usage: lxmert-viz {name}" in capsys.readouterr().out, name


def test_train_and_evaluate_help_show_their_flags(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "-h"])
    out = capsys.readouterr().out
    assert "--lr" in out and "warm-up 5%" in out and "--word-weight" in out and "--force" in out
    with pytest.raises(SystemExit):
        cli.main(["evaluate", "-h"])
    assert "--scenes" in capsys.readouterr().out


@pytest.mark.parametrize("args,msg", [
    (["train", "--out", "{tmp}/no/such/folder"], "does not exist"),
    (["train", "--out", "{tmp}/m", "--steps", "5"], "the curriculum"),
    (["train", "--out", "{tmp}/m", "--config", "{tmp}/missing.json"], "no such file"),
    (["train", "--out", "{tmp}/a_file"], "is a file"),
    (["evaluate", "--out", "{tmp}/results.txt"], ".md"),
    (["evaluate", "--out", "{tmp}/no/such/RESULTS.md"], "does not exist"),
    (["evaluate", "--out", "{tmp}/old.md"], "--force"),
    (["evaluate", "--model", "{tmp}"], "no model folder"),
])
def test_train_and_evaluate_check_everything_before_any_work(tmp_path, capsys, args, msg):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "old.md").write_text("x")
    before = sorted(tmp_path.rglob("*"))
    assert cli.main([a.format(tmp=tmp_path) for a in args]) == 2
    assert msg in one_error_line(capsys)
    assert sorted(tmp_path.rglob("*")) == before, "nothing written"


def test_train_refuses_a_folder_that_holds_a_model_without_force(tmp_path, capsys):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.safetensors").write_bytes(b"")
    assert cli.main(["train", "--out", str(tmp_path / "m"), *TINY]) == 2
    assert "already holds a model" in (line := one_error_line(capsys)) and "--force" in line


@pytest.mark.parametrize("cmd", ["train", "evaluate"])
def test_missing_easyvqa_names_the_extra(monkeypatch, tmp_path, capsys, cmd):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "easy_vqa" else real(name, *a))
    args = ["--out", str(tmp_path / "m")] if cmd == "train" else []
    assert cli.main([cmd, *args]) == 2
    line = one_error_line(capsys)
    assert "pip install 'lxmert_viz[train]'" in line and "--no-easyvqa" in line


def test_train_shows_progress_of_every_phase_and_records_the_full_command(tmp_path):
    p = subprocess.run([sys.executable, "-m", "lxmert_viz.cli", "train", "--out", str(tmp_path / "m"), *TINY],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    err = p.stderr.replace("\r", "\n")
    assert "vocabulary:" in err
    assert "draw + read varied scenes" in err and "30/30 [" in err, "the data build's bar"
    assert "train: 100%" in err and "2/2 [" in err
    info = json.loads((tmp_path / "m" / "training.json").read_text())
    assert info["command"] == shlex.join(["lxmert-viz", "train", "--out", str(tmp_path / "m"), *TINY])


def test_evaluate_records_the_full_command(tmp_path, monkeypatch, capsys):
    shipped = json.loads((ROOT / "assets/shapes/RESULTS.json").read_text())
    seen = {}

    def fake(model, n_scenes, robust_scenes, easyvqa=True, progress=False):
        seen.update(n_scenes=n_scenes, robust_scenes=robust_scenes, easyvqa=easyvqa)
        return shipped

    monkeypatch.setattr(evaluate_command, "evaluate", fake)
    out = tmp_path / "R.md"
    args = ["evaluate", "--scenes", "40", "--robust-scenes", "7", "--no-easyvqa", "--out", str(out), "--quiet"]
    assert cli.main(args) == 0
    assert seen == {"n_scenes": 40, "robust_scenes": 7, "easyvqa": False}
    command = shlex.join(["lxmert-viz", *args])
    assert f"Command: `{command}`" in out.read_text()
    assert json.loads(out.with_suffix(".json").read_text())["command"] == command
    assert capsys.readouterr().out.startswith("# Shapes-world model: evaluation")


def test_only_the_kits_errors_and_oserror_are_one_line(monkeypatch, capsys, tmp_path):
    def raising(err):
        def command(_):
            raise err
        return command

    out = str(tmp_path / "s.png")
    monkeypatch.setattr(cli, "_scene", raising(ImageError("not an image: x")))
    assert cli.main(["scene", out]) == 2 and "not an image: x" in one_error_line(capsys)
    monkeypatch.setattr(cli, "_scene", raising(PermissionError(13, "Permission denied", "x.png")))
    assert cli.main(["scene", out]) == 2 and "Permission denied: x.png" in one_error_line(capsys)
    for bug in (ValueError("a bug"), KeyError("a bug"), RuntimeError("a bug")):
        monkeypatch.setattr(cli, "_scene", raising(bug))
        with pytest.raises(type(bug)):  # a bug keeps its traceback
            cli.main(["scene", out])
