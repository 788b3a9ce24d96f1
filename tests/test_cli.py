"""The lxmert-viz command end to end: ask, scene, and one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

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
