"""lxmert-viz analyze / summarize end to end, and their one-line errors."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def cli(*args):
    return subprocess.run([sys.executable, "-m", "lxmert_viz.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_analyze_then_summarize(tmp_path):
    out = tmp_path / "run"
    p = cli("analyze", "shapes:3", "--out", str(out), "--stats", "answer,correct,pointing", "--batch-size", "16",
            "--threads", "1", "--quiet")
    assert p.returncode == 0, p.stderr
    assert "36 examples" in p.stdout and "1 shards written" in p.stdout and (out / "manifest.json").is_file()
    again = cli("analyze", "shapes:3", "--out", str(out), "--stats", "answer,correct,pointing", "--batch-size", "16",
                "--threads", "1", "--quiet")
    assert again.returncode == 0 and "0 shards written" in again.stdout and "1 already done" in again.stdout
    md = tmp_path / "summary.md"
    s = cli("summarize", str(out), "--out", str(md))
    assert s.returncode == 0, s.stderr
    assert "| all | 36 |" in s.stdout and "**ref_top1.l2v**" in s.stdout and md.read_text().strip() == s.stdout.strip()


@pytest.mark.parametrize("args,msg", [
    (("analyze", "nowhere", "--out", "x"), "no data set 'nowhere'"),
    (("analyze", "shapes:2", "--out", "{tmp}/r", "--stats", "entropie"), "unknown statistic 'entropie'"),
    (("summarize", "{tmp}"), "not a run folder"),
])
def test_bad_input_is_one_line(tmp_path, args, msg):
    p = cli(*(a.format(tmp=tmp_path) for a in args))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and msg in p.stderr
