"""AtlasView (issue 26): browse a head atlas; the panels carry the atlas's numbers; a click selects a head."""
from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("anywidget")
pytest.importorskip("matplotlib")

from lxmert_viz.analysis.atlas import AtlasTable, head_atlas  # noqa: E402
from lxmert_viz.viz import AtlasView  # noqa: E402
from lxmert_viz.viz.widgets_atlas import COLUMNS, CSS, changes_accuracy  # noqa: E402

NAN = float("nan")


def _row(fam, layer, head, rng):
    tokens = fam in ("lang", "v2l", "cross_lang")
    d_acc = float(rng.choice([0.0, -0.5, 0.25]))
    d_score = float(rng.normal(-0.05, 0.05))
    row = {"family": fam, "layer": layer, "head": head, "entropy": float(rng.uniform(0, 2)),
           "mass_cls": float(rng.uniform()) if tokens else NAN, "mass_sep": float(rng.uniform()) if tokens else NAN,
           "mass_scene": NAN if tokens else float(rng.uniform()),
           "pointing": float(rng.uniform()) if fam == "l2v" else NAN, "pointing_lo": 0.1, "pointing_hi": 0.9,
           "pointing_n": 8 if fam == "l2v" else 0, "d_accuracy": d_acc, "d_accuracy_lo": d_acc - 0.1,
           "d_accuracy_hi": d_acc + 0.1, "d_accuracy_n": 8, "d_score": d_score, "d_score_lo": d_score - 0.02,
           "d_score_hi": d_score + 0.02, "d_score_n": 8, "flips": float(rng.uniform())}
    row["dormant"] = d_acc == 0.0 and abs(d_score) < 0.01
    return row


@pytest.fixture(scope="module")
def atlas():
    rng = np.random.default_rng(0)
    rows = [_row(f, i, j, rng) for f, n_l in (("l2v", 3), ("lang", 2)) for i in range(n_l) for j in range(4)]
    share = {f: float(np.mean([r["dormant"] for r in rows if r["family"] == f])) for f in ("l2v", "lang")}
    return AtlasTable(rows, share, meta={"examples": 8})


def _cells(panel: str, attr: str) -> np.ndarray:
    return np.array([float(v) for v in re.findall(rf'class="lxv-cell"[^>]*?{attr}="([^"]+)"', panel)])


def test_the_grid_carries_every_column_of_every_family(atlas):
    view = AtlasView(atlas)
    assert view.root == CSS["root"] and [c["name"] for c in view.controls] == ["family", "column"]
    assert [v for _, v in view.controls[1]["options"]] == list(COLUMNS)
    for fam in ("l2v", "lang"):
        for col in COLUMNS:
            view.show(fam, col)
            grid = view.panel("grid")
            want = atlas.grid(col, fam)
            np.testing.assert_allclose(_cells(grid, "data-value").reshape(want.shape), want, rtol=1e-5)
            # the causal column is in view whatever colours the cells
            np.testing.assert_allclose(_cells(grid, "data-causal").reshape(want.shape), atlas.grid("d_score", fam),
                                       rtol=1e-5)
            marks = {(int(a), int(b)) for a, b in re.findall(r'lxv-causal-mark" data-row="(\d+)" data-col="(\d+)"', grid)}
            assert marks == {(r["layer"], r["head"]) for r in atlas.rows if r["family"] == fam and changes_accuracy(r)}
            assert f"{fam}: colour = {col}" in grid
            assert f"{fam}</b>: {atlas.dormant_share[fam]:.0%}" in view.panel("dormant")
    assert "family: lang" in view.twin_html() and "lxv-causal-mark" in view.twin_html()


def test_a_click_selects_a_head_and_shows_its_row_with_intervals(atlas):
    view = AtlasView(atlas, "l2v", "pointing")
    worst = min((r for r in atlas.rows if r["family"] == "l2v"), key=lambda r: r["d_score"])
    assert view.selected == (worst["layer"], worst["head"]), "first: the largest fall of the answer's probability"
    assert view.click("grid", {"layer": 1, "head": 2}) is view
    assert view.selected == (1, 2) and 'class="lxv-selected" data-row="1" data-col="2"' in view.panel("grid")
    row = next(r for r in atlas.rows if r["family"] == "l2v" and (r["layer"], r["head"]) == (1, 2))
    assert view.row is row
    text = view.panel("row")
    assert "l2v layer 1, head 2" in text
    assert f"{row['d_score']:+.3g} [{row['d_score_lo']:+.3g}, {row['d_score_hi']:+.3g}] (n = 8)" in text
    assert f"{row['pointing']:.3g} [0.1, 0.9] (n = 8)" in text
    view.receive("click", "grid", {"layer": 2, "head": 3})  # what the browser queues
    assert view.selected == (2, 3)
    view.choose("family", "lang")  # lang has 2 layers: the selection moves to a head it has
    assert view.selected[0] < 2 and "lang layer" in view.panel("row")
    with pytest.raises(IndexError, match="heads 0..3"):
        view.select(0, 9)
    with pytest.raises(ValueError, match="no family"):
        AtlasView(atlas, "vis")


def test_a_computed_atlas_is_browsed(tmp_path):
    atlas = head_atlas("shapes:1", tmp_path / "atlas", families=["l2v"], limit=2)
    view = AtlasView(atlas, column="d_score")
    np.testing.assert_allclose(_cells(view.panel("grid"), "data-value").reshape(3, 4), atlas.grid("d_score", "l2v"),
                               rtol=1e-5)
    assert "2 questions" in view.panel("grid")
