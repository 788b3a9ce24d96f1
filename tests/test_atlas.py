"""The head atlas: its statistics are the data-set runner's, its causal column is `rank_heads`'
on the same items, its intervals and dormant rule are what the docstring says."""
from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from lxmert_viz.analysis import BatchWorker, open_dataset, run, summarize
from lxmert_viz.analysis.atlas import head_atlas, mean_interval, wilson
from lxmert_viz.analysis.atlas import main as atlas_main
from lxmert_viz.interventions.ranking import rank_heads
from lxmert_viz.viz.findings import atlas_figure

SPEC, FAMS = "shapes:1", ("l2v", "v2l")


@pytest.fixture(scope="module")
def atlas(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("atlas")
    return head_atlas(SPEC, out, families=FAMS, batch_size=8)


def test_statistics_equal_the_data_set_runner(atlas, tmp_path):
    run(SPEC, ["correct", "entropy", "sink", "pointing"], tmp_path / "r", batch_size=8, progress=False)
    s = summarize(tmp_path / "r")
    for fam in FAMS:
        np.testing.assert_array_equal(atlas.grid("entropy", fam), s.grid("entropy", fam))
    np.testing.assert_array_equal(atlas.grid("mass_scene", "l2v"), s.grid("mass_scene", "l2v"))
    np.testing.assert_array_equal(atlas.grid("mass_cls", "v2l"), s.grid("mass_cls", "v2l"))
    np.testing.assert_array_equal(atlas.grid("pointing", "l2v"), s.grid("ref_top1", "l2v"))
    assert np.isnan(atlas.grid("mass_scene", "v2l")).all()  # v2l keys are tokens
    table = pq.read_table(atlas.path)
    assert table.num_rows == 2 * 3 * 4 and "dormant" in table.column_names


def test_causal_column_equals_rank_heads_on_the_same_items(atlas, kit):
    torch.set_num_threads(1)
    items = BatchWorker(kit, ["answer"]).encode(list(open_dataset(SPEC)))
    rank = rank_heads(kit, items, FAMS)
    for fam in FAMS:
        cols = [i for i, h in enumerate(rank.heads) if h[0] == fam]
        want_score = -rank.per_question[:, cols].astype(np.float32).mean(0)
        want_acc = (rank.correct[:, cols].astype(np.float64) - rank.base_correct[:, None]).mean(0)
        np.testing.assert_allclose(atlas.grid("d_score", fam).ravel(), want_score, rtol=0, atol=1e-7)
        np.testing.assert_array_equal(atlas.grid("d_accuracy", fam).ravel(), want_acc)
        np.testing.assert_array_equal(atlas.grid("flips", fam).ravel(), rank.flipped[:, cols].mean(0))


def test_intervals_and_dormant_rule(atlas):
    lo, hi = wilson(8, 10)
    # Wilson by hand: centre (p + z²/2n)/(1 + z²/n), half z/(1 + z²/n) sqrt(p(1-p)/n + z²/4n²)
    z = 1.959963984540054
    c, h = (0.8 + z * z / 20) / (1 + z * z / 10), z / (1 + z * z / 10) * math.sqrt(0.016 + z * z / 400)
    assert (lo, hi) == pytest.approx((c - h, c + h), rel=1e-12)
    assert mean_interval(1.0, 2.0, 4) == pytest.approx((1.0 - z, 1.0 + z))
    for r in atlas.rows:
        shows_change = r["d_accuracy_lo"] > 0 or r["d_accuracy_hi"] < 0 or r["d_score_lo"] > 0.01 \
            or r["d_score_hi"] < -0.01
        assert r["dormant"] == (not shows_change)
    for fam in FAMS:
        assert atlas.dormant_share[fam] == np.mean([r["dormant"] for r in atlas.rows if r["family"] == fam])


def test_atlas_figure_draws_the_table(atlas):
    pytest.importorskip("matplotlib")
    fig = atlas_figure(atlas, "l2v", "entropy")
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), atlas.grid("entropy", "l2v"))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[0] == f"{atlas.grid('d_score', 'l2v')[0, 0]:+.3f}"  # the causal column in every cell
    assert len([p for p in fig.axes[0].patches if p.get_gid() == "dormant"]) == int(atlas.grid("dormant", "l2v").sum())


def test_command_line_writes_the_table(tmp_path, capsys):
    torch.set_num_threads(1)
    table = atlas_main([SPEC, "--out", str(tmp_path), "--families", "l2v", "--limit", "2"])
    assert (tmp_path / "atlas.parquet").exists() and table.meta["examples"] == 2
    assert "l2v         dormant" in capsys.readouterr().out
