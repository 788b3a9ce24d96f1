"""The lxmert-viz command end to end: ask, scene, and one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

N_NOTEBOOKS = len(list((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb")))

ROOT = Path(__file__).resolve().parent.parent


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lxmert_viz.cli", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=120)


def test_ask_prints_top5_and_writes_overlay(tmp_path):
    meta = json.loads((ROOT / "assets/samples/samples.json").read_text())[0]
    circle = next(o for o in meta["objects"] if o["shape"] == "circle")
    png = tmp_path / "att.png"
    p = run("ask", str(ROOT / "assets/samples" / meta["file"]), "what color is the circle?", "--png", str(png))
    assert p.returncode == 0, p.stderr
    lines = [line for line in p.stdout.splitlines() if line[:1] == " " or line[:1].isdigit()]
    assert len(lines) == 5
    assert lines[0].split()[-1] == circle["color"]
    with Image.open(png) as im:
        assert im.size[0] >= 128 * 4


def test_scene_writes_a_png(tmp_path):
    out = tmp_path / "s.png"
    p = run("scene", "--seed", "7", str(out))
    assert p.returncode == 0, p.stderr
    with Image.open(out) as im:
        assert im.size == (128, 128)
    again = tmp_path / "t.png"
    run("scene", "--seed", "7", str(again))
    assert out.read_bytes() == again.read_bytes()


@pytest.mark.parametrize("args,msg", [
    (("ask", "missing.png", "what?"), "no image file"),
    (("ask", __file__, "what?"), "not an image"),
    (("ask", "assets/samples/scene_00.png", "  "), "question is empty"),
    (("scene", "out.txt"), ".png"),
])
def test_bad_input_is_one_line_no_traceback(args, msg):
    p = run(*args)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and msg in p.stderr


def test_ask_names_what_the_png_shows_and_unknown_words(tmp_path):
    png = tmp_path / "att.png"
    p = run("ask", str(ROOT / "assets/samples/scene_00.png"), "what color is the circle?", "--png", str(png))
    assert p.returncode == 0, p.stderr
    assert "word 'circle'" in p.stdout and "cross layer 2" in p.stdout, "the PNG shows the content word"
    assert "does not know" not in p.stdout
    p = run("ask", str(ROOT / "assets/samples/scene_00.png"), "what color is the zebra?", "--png", str(png), "--force")
    assert p.returncode == 0, p.stderr
    assert "does not know 'zebra'" in p.stdout
    p = run("ask", str(ROOT / "assets/samples/scene_00.png"), "what color is the circle?", "--png", str(png),
            "--word", "banana", "--force")
    assert p.returncode == 2 and "--word 'banana' is not in the question" in p.stderr


def test_result_png_draws_the_content_word(tmp_path):
    import lxmert_viz
    from lxmert_viz.viz.png import question_attention, result_png

    kit = lxmert_viz.load()
    r = kit.ask(ROOT / "assets/samples/scene_00.png", "what color is the circle?")
    drawn = result_png(r, tmp_path / "x.png")
    assert drawn["token"] == "circle"
    assert np.allclose(drawn["weights"], r.attn("l2v", -1, "mean")[r.token_index("circle")])
    with Image.open(tmp_path / "x.png") as im:
        assert im.width >= 512 + 100 and im.height >= 512 + 80, "image, colour bar and text around it"
    words = [i for i, p in enumerate(r.tokens.pieces) if p not in ("[CLS]", "[SEP]")]
    assert np.allclose(question_attention(r), r.attn("l2v", -1, "mean")[words].mean(0)), "[CLS]/[SEP] left out"


def test_lab_passes_allow_root_only_as_root(monkeypatch, capsys):
    import os

    from lxmert_viz import cli

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert cli.main(["lab", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "01_quickstart.ipynb" in out and "--allow-root" in out and "-m jupyterlab " in out
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert cli.main(["lab", "04_interactive_qa", "--dry-run", "--", "--port=9999"]) == 0
    out = capsys.readouterr().out
    assert "--allow-root" not in out and "04_interactive_qa.ipynb" in out and "--port=9999" in out
    assert cli.main(["lab", "99_nothing", "--dry-run"]) == 2
    assert "no notebook 99_nothing.ipynb" in capsys.readouterr().err


def test_lab_copy_to_never_overwrites_without_force_and_dry_run_writes_nothing(tmp_path, capsys):
    from lxmert_viz import cli

    nb = tmp_path / "nb"
    assert cli.main(["lab", "--copy-to", str(nb), "--dry-run"]) == 0
    assert f"would copy {N_NOTEBOOKS} notebooks" in capsys.readouterr().out and not nb.exists(), "--dry-run writes nothing"
    nb.mkdir()
    (nb / "01_quickstart.ipynb").write_text("mine")
    assert cli.main(["lab", "--copy-to", str(nb), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "already holds the notebooks (01_quickstart.ipynb)" in err and "--force" in err
    assert (nb / "01_quickstart.ipynb").read_text() == "mine"
    assert cli.main(["lab", "--copy-to", str(nb), "--force", "--dry-run"]) == 0
    assert "(overwriting)" in capsys.readouterr().out and (nb / "01_quickstart.ipynb").read_text() == "mine"
    assert len(list(nb.iterdir())) == 1, "--dry-run writes nothing"
    assert cli.main(["lab", "99_nothing", "--copy-to", str(tmp_path / "other")]) == 2
    assert "no notebook 99_nothing.ipynb" in capsys.readouterr().err and not (tmp_path / "other").exists()


def test_lab_copy_to_force_copies_fresh_notebooks(tmp_path, capsys, monkeypatch):
    import subprocess

    from lxmert_viz import cli

    nb = tmp_path / "nb"
    nb.mkdir()
    (nb / "01_quickstart.ipynb").write_text("mine")
    monkeypatch.setattr(subprocess, "call", lambda cmd: 0)  # JupyterLab itself is not started here
    assert cli.main(["lab", "--copy-to", str(nb), "--force"]) == 0
    assert f"copied {N_NOTEBOOKS} notebooks" in capsys.readouterr().out
    assert (nb / "01_quickstart.ipynb").read_text() != "mine" and len(list(nb.glob("*.ipynb"))) == N_NOTEBOOKS


def test_ask_gives_a_notice_for_a_question_outside_the_models_forms(tmp_path):
    png = tmp_path / "att.png"
    p = run("ask", str(ROOT / "assets/samples/scene_00.png"), "what shape is on the left?", "--png", str(png))
    assert p.returncode == 0, p.stderr
    note = [line for line in p.stdout.splitlines() if "not one of the question forms" in line]
    assert len(note) == 1 and "'is the {a} on the left?'" in note[0] and "README" in note[0]
    p = run("ask", str(ROOT / "assets/samples/scene_00.png"), "What color is the circle", "--png", str(png), "--force")
    assert p.returncode == 0 and "question forms" not in p.stdout
