"""``lxmert-viz perturbation`` and ``lxmert-viz atlas``: the data-set runs of the findings, from the CLI."""
from __future__ import annotations

import pyarrow.parquet as pq

from lxmert_viz import cli


def test_perturbation_writes_its_report_with_the_command(tmp_path, capsys):
    out = tmp_path / "report.md"
    args = ["perturbation", "--shapes", "1", "--limit", "2", "--steps", "2", "--methods", "raw,random",
            "--no-progress", "--out", str(out)]
    assert cli.main(args) == 0
    text = out.read_text()
    assert "lxmert-viz perturbation --shapes 1" in text and "| raw |" in text and "| random |" in text
    assert "| raw |" in capsys.readouterr().out


def test_perturbation_without_questions_is_one_line(capsys):
    assert cli.main(["perturbation", "--features", "feats.tsv"]) == 2
    assert capsys.readouterr().err.strip() == ("lxmert-viz: error: --features needs --questions (or --vqa-valid): "
                                               "the questions to ask about those features")


def test_atlas_writes_the_table(tmp_path, capsys):
    assert cli.main(["atlas", "shapes:1", "--out", str(tmp_path / "atlas"), "--limit", "3", "--families", "l2v"]) == 0
    table = pq.read_table(tmp_path / "atlas" / "atlas.parquet")
    assert table.num_rows == 12  # 3 l2v layers x 4 heads
    assert "l2v" in capsys.readouterr().out
