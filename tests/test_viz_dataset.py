"""Data-set pictures: the head grid, per-layer curves, the examples behind a cell, and the explorer."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lxmert_viz.analysis import run, summarize


@pytest.fixture(scope="module")
def kit():
    import lxmert_viz

    torch.set_num_threads(1)
    return lxmert_viz.load()


@pytest.fixture(scope="module")
def summary(tmp_path_factory, kit):
    out = tmp_path_factory.mktemp("vizrun") / "run"
    run("shapes:6", ["correct", "sink", "pointing"], out, model=kit, batch_size=16, progress=False)
    return summarize(out)


def test_head_grid_shows_the_summary_grid(summary):
    from lxmert_viz.viz import dataset_head_grid, dataset_head_grid_plotly, update_dataset_head_grid

    fig = dataset_head_grid(summary, "ref_top1", "l2v", reference=summary.pointing_chance)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), summary.grid("ref_top1", "l2v"))
    assert "ref_top1" in fig.axes[0].get_title() and "reference" in fig.axes[0].get_title()
    pf = dataset_head_grid_plotly(summary, "mass_scene", "vis", widget=True)
    np.testing.assert_allclose(np.asarray(pf.data[0].z, dtype=float), summary.grid("mass_scene", "vis"))
    update_dataset_head_grid(pf, summary, "ref_attn", "l2v", selected=(1, 2))
    np.testing.assert_allclose(np.asarray(pf.data[0].z, dtype=float), summary.grid("ref_attn", "l2v"))
    assert pf.layout.shapes[0].x0 == 1.5 and pf.layout.shapes[0].y0 == 0.5 and "ref_attn" in pf.layout.title.text


def test_layer_curves_draw_means_ranges_and_compare_runs(summary):
    from lxmert_viz.viz import layer_curves

    fig = layer_curves(summary, "mass_scene", reference=0.5)
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")}
    assert list(lines) == ["vis", "l2v", "cross_vis", "chance"]
    np.testing.assert_allclose(lines["l2v"].get_ydata(), summary.curve("mass_scene", "l2v")["mean"])
    band = fig.axes[0].collections[0].get_paths()[0].vertices[:, 1]
    c = summary.curve("mass_scene", "vis")
    assert band.min() == pytest.approx(c["head_min"].min()) and band.max() == pytest.approx(c["head_max"].max())
    two = layer_curves({"a": summary, "b": summary}, "ref_top1", families=["l2v"])
    assert [ln.get_label() for ln in two.axes[0].get_lines() if not ln.get_label().startswith("_")] == ["a", "b"]
    with pytest.raises(KeyError, match="no per-head column"):
        layer_curves(summary, "entropy")


def test_cell_examples_outline_the_named_region(summary, kit):
    from lxmert_viz.viz import cell_examples
    from lxmert_viz.viz.dataset_examples import cell_panels

    picked = summary.examples("ref_attn", "l2v", 2, 1, k=2)
    panels = cell_panels(summary, kit, "ref_attn", "l2v", 2, 1, k=2)
    assert [p["record"]["index"] for p in panels] == [r["index"] for r in picked["best"] + picked["worst"]]
    for p in panels:
        s = p["shading"]
        assert s.chosen == p["record"]["referent_region"] and 0 in s.whole and s.levels[0] == 0.0  # scene row: not shaded
        assert f"{p['record']['value']:.2f}" in p["caption"]
    best = panels[0]["shading"]
    assert best.levels[best.chosen] == pytest.approx(best.levels.max())  # the head looks at the named region
    fig = cell_examples(summary, kit, "ref_attn", "l2v", 2, 1, k=2)
    assert len(fig.axes) == 4 and all(ax.get_gid() == "regions" for ax in fig.axes)
