"""summarize: grids, curves and tables against numpy on the records themselves; the examples
behind a cell against a sort of the column."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lxmert_viz.analysis import read_records, run, summarize


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("summary") / "run"
    run("shapes:8", ["answer", "correct", "entropy", "sink", "pointing"], out, batch_size=16, shard_size=25,
        progress=False)
    return out


def _col(table, name, m):
    vals = table[name].to_pylist()
    return np.array([[np.nan] * m if v is None else v for v in vals], dtype=np.float64)


def test_grids_curves_and_groups_equal_numpy_on_the_records(run_dir):
    s = summarize(run_dir)
    t = read_records(run_dir)
    layers, heads = s.layers["l2v"], s.heads
    assert s.counts["all"] == t.num_rows and len(list((run_dir / "shards").iterdir())) > 1  # read across shards
    for col in ("ref_top1.l2v", "entropy.lang", "mass_scene.vis"):
        stat, fam = col.split(".")
        vals = _col(t, col, s.layers[fam] * heads)
        np.testing.assert_allclose(s.grid(stat, fam), np.nanmean(vals, 0).reshape(s.layers[fam], heads), rtol=1e-9)
        np.testing.assert_allclose(s.std(stat, fam), np.nanstd(vals, 0, ddof=1).reshape(s.layers[fam], heads),
                                   rtol=1e-6, atol=1e-9)
        c = s.curve(stat, fam)
        per = vals.reshape(len(vals), s.layers[fam], heads).mean(-1)
        np.testing.assert_allclose(c["mean"], np.nanmean(per, 0), rtol=1e-9)
        np.testing.assert_allclose(c["example_std"], np.nanstd(per, 0, ddof=1), rtol=1e-6)
        np.testing.assert_allclose(c["head_max"], np.nanmax(s.grid(stat, fam), 1))
    named = t.filter(np.asarray(t["referent_region"]) >= 0)
    assert s.count("ref_top1", "l2v") == named.num_rows < t.num_rows
    assert s.pointing_chance == pytest.approx(np.mean(1.0 / np.asarray(named["n_regions"])))
    layer_curve = s.curve("ref_top1_mean", "l2v")["mean"]
    np.testing.assert_allclose(layer_curve, np.nanmean(_col(t, "ref_top1_mean.l2v", layers), 0))
    qtypes = t["qtype"].to_pylist()
    for row in s.by_group(["correct"]):
        sel = [c for c, q in zip(t["correct"].to_pylist(), qtypes) if row["group"] in ("all", q)]
        assert row["n"] == len(sel) and row["correct"] == pytest.approx(np.mean(sel))
    grid_color = s.grid("ref_attn", "l2v", group="color")
    color = _col(t.filter(np.array([q == "color" for q in qtypes])), "ref_attn.l2v", layers * heads)
    np.testing.assert_allclose(grid_color.reshape(-1), np.nanmean(color, 0), rtol=1e-9)
    assert "| question type | n |" in s.to_markdown() and "ref_top1.l2v" in s.to_markdown()
    top = s.top_heads("ref_attn", "l2v", 2)
    assert top[0]["mean"] >= top[1]["mean"] and top[0]["mean"] == pytest.approx(np.nanmax(s.grid("ref_attn", "l2v")))


def test_examples_behind_a_cell_are_the_extremes(run_dir):
    s = summarize(run_dir)
    t = read_records(run_dir)
    layer, head = 2, 1
    vals = _col(t, "ref_attn.l2v", s.layers["l2v"] * s.heads)[:, layer * s.heads + head]
    ok = np.flatnonzero(~np.isnan(vals))
    order = ok[np.lexsort((ok, -vals[ok]))]
    got = s.examples("ref_attn", "l2v", layer, head, k=3)
    assert [r["index"] for r in got["best"]] == order[:3].tolist()
    worst = ok[np.lexsort((ok, vals[ok]))]
    assert [r["index"] for r in got["worst"]] == worst[:3].tolist()
    assert got["best"][0]["value"] == pytest.approx(vals[order[0]]) and got["best"][0]["image"].startswith("shapes-scene:")
    assert all(r["referent_region"] >= 0 for r in got["best"] + got["worst"])
    only = s.examples("correct", k=2, group="count")
    assert all(r["qtype"] == "count" for r in only["best"] + only["worst"])
    with pytest.raises(IndexError, match="layer in 0..2"):
        s.examples("ref_attn", "l2v", 5, 0)
    with pytest.raises(KeyError, match="no column 'entropy.nope'"):
        s.grid("entropy", "nope")
    with pytest.raises(KeyError, match="no question type"):
        s.grid("entropy", "l2v", group="colour")


def test_summarize_needs_a_run_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        summarize(tmp_path)
