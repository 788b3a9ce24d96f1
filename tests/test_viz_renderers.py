"""Renderers return the right figure type, the right number of boxes/cells, and the model's numbers."""
import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("plotly")

import plotly.graph_objects as go  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from viz_fixtures import make_result, non_finite  # noqa: E402

from lxmert_viz.analysis import drift as state_drift_values  # noqa: E402
from lxmert_viz.analysis import head_stats, pca_2d
from lxmert_viz.viz import (  # noqa: E402
    box_alphas,
    box_weights,
    default_token,
    head_grid,
    head_grid_plotly,
    heatmap,
    heatmap_array,
    heatmap_plotly,
    overlay,
    overlay_plotly,
    overlay_spec,
    state_drift,
    state_drift_plotly,
    state_pca,
    state_pca_plotly,
)
from lxmert_viz.viz.plotly_overlay import bar_trace  # noqa: E402
from lxmert_viz.viz.shading import CHOSEN, shade  # noqa: E402

FAMILIES = ("lang", "vis", "l2v", "v2l", "cross_lang", "cross_vis")


# -- overlay -----------------------------------------------------------------------------------------
def _levels_of_layer(layer: np.ndarray, boxes, size) -> np.ndarray:
    """Fill opacity read back from the shading layer at each box's centre."""
    h, w = layer.shape[:2]
    kx, ky = w / size[0], h / size[1]
    out = []
    for x1, y1, x2, y2 in boxes:
        out.append(layer[int((y1 + y2) / 2 * ky), int((x1 + x2) / 2 * kx), 3] / 255.0)
    return np.array(out)


def test_overlay_mpl_shading_and_bars_are_the_weights(result):
    fig = overlay(result, token="circle", layer=0, head=1)
    assert isinstance(fig, Figure)
    ax = next(a for a in fig.axes if a.get_gid() == "regions")
    layer = next(im for im in ax.images if im.get_gid() == "shading").get_array()
    w = result.attn("l2v", 0, 1)[result.token_index("circle")]
    n = result.regions.num_real
    alphas = _levels_of_layer(np.asarray(layer), result.regions.boxes[:n], result.regions.image_size)
    np.testing.assert_array_equal(alphas, 0.0)  # nothing painted over any object: the weight is the frame
    bars = fig.axes[-1].patches
    np.testing.assert_allclose([b.get_width() for b in bars], w, rtol=1e-6)
    assert [t.get_text() for t in fig.axes[-1].get_yticklabels()] == result.regions.names()[:n]
    assert fig._suptitle.get_text() == "l2v · cross layer 0 (of 0-1) · head 1 of 0-3 · word 'circle'"


def test_overlay_mpl_region_query_outlines_it_and_bars_over_words(result):
    fig = overlay(result, region=2, layer=-1, head="max")
    ax = fig.axes[0]
    layer = np.asarray(next(im for im in ax.images if im.get_gid() == "shading").get_array())
    x1, y1, x2, y2 = result.regions.boxes[2]
    k = layer.shape[1] / result.regions.image_size[0]
    ring = layer[int(y1 * k) - 2, int((x1 + x2) / 2 * k)]  # just above the box: the outline
    assert tuple(ring[:3]) == tuple(int(CHOSEN[i:i + 2], 16) for i in (1, 3, 5)) and ring[3] == 255
    assert layer[int((y1 + y2) / 2 * k), int((x1 + x2) / 2 * k), 3] == 0, "region queries paint no fill"
    bars = fig.axes[-1].patches
    assert len(bars) == len(result.tokens)
    np.testing.assert_allclose([b.get_width() for b in bars], result.attn("v2l", -1, "max")[2], rtol=1e-6)
    assert [t.get_text() for t in fig.axes[-1].get_yticklabels()] == result.tokens.labels()


def test_overlay_mpl_on_given_ax_and_without_image():
    from matplotlib.figure import Figure as F

    r = make_result(image=False, labels=False)
    host = F()
    ax = host.add_subplot()
    fig = overlay(r, token=1, ax=ax)
    assert fig is host
    assert any(t.get_text() == "r0" for t in ax.child_axes[-1].get_yticklabels())


def test_overlay_rejects_bad_queries(result):
    with pytest.raises(ValueError, match="not both"):
        overlay(result, token=1, region=0)
    with pytest.raises(ValueError, match="lang queries"):
        overlay(result, region=0, family="l2v")
    with pytest.raises(IndexError):
        overlay(result, region=9)


def test_overlay_without_a_query_shows_the_content_word(result):
    spec = overlay_spec(result)
    assert spec["query_label"] in {"color", "circle"}  # not "what", "is", "the" or "?"
    assert spec["query"] == default_token(result)


def test_overlay_plotly_structure_and_alphas(result):
    fig = overlay_plotly(result, token="circle", layer=0, head=1)
    assert isinstance(fig, go.Figure)
    n = result.regions.num_real
    assert fig.data[0].type == "image" and fig.data[0].source.startswith("data:image/png;base64,")
    assert fig.data[1].type == "image" and fig.data[1].name == "shading"
    assert [tr.type for tr in fig.data[2:2 + n]] == ["scatter"] * n
    w = result.attn("l2v", 0, 1)[result.token_index("circle")]
    s = shade(result.regions.boxes[:n], w, result.regions.image_size)
    np.testing.assert_allclose(box_alphas(fig), s.levels, atol=1e-9)  # the frame's level, from the uniform level
    np.testing.assert_allclose(box_weights(fig), w, rtol=1e-6)
    np.testing.assert_allclose(bar_trace(fig).x, w, rtol=1e-6)
    assert list(bar_trace(fig).y) == result.regions.names()[:n]
    assert fig.data[-1].marker.showscale and fig.data[-1].marker.cmax == pytest.approx(s.vmax)


def test_overlay_plotly_v2l_has_no_shading_and_sends_only_finite_values(result):
    fig = overlay_plotly(result, region=1)
    np.testing.assert_array_equal(box_alphas(fig), 0.0)
    assert list(bar_trace(fig).y) == result.tokens.labels()
    assert non_finite(fig.to_plotly_json()) == [], "NaN or inf would reach the browser"
    fig = overlay_plotly(result, token="circle", widget=False)
    assert non_finite(fig.to_plotly_json()) == []


# -- heatmaps ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_heatmap_mpl_every_family(result, family):
    fig = heatmap(result, family, layer=0, head=2)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), result.attn(family, 0, 2), rtol=1e-6)
    q, k = result.labels(family)
    assert [t.get_text() for t in ax.get_yticklabels()] == q
    assert [t.get_text() for t in ax.get_xticklabels()] == k


@pytest.mark.parametrize("family", FAMILIES)
def test_heatmap_plotly_every_family(result, family):
    fig = heatmap_plotly(result, family, layer=-1, head="mean", highlight_query=1)
    hm = fig.data[0]
    np.testing.assert_allclose(np.asarray(hm.z), result.attn(family, -1, "mean"), rtol=1e-6)
    assert (list(hm.y), list(hm.x)) == result.labels(family)
    assert fig.layout.shapes[0].y0 == 0.5


def test_heatmap_array_checks_labels():
    with pytest.raises(ValueError, match="2 query labels"):
        heatmap_array(np.ones((3, 2)), ["a", "b"], ["x", "y"])
    assert isinstance(heatmap_array(np.eye(2), ["a", "b"], ["x", "y"]), Figure)


# -- head grid ---------------------------------------------------------------------------------------
def test_head_stats_by_hand(result):
    st = head_stats(result, "l2v")
    a = result.attentions["l2v"].numpy().astype(np.float64)
    ent = -(a * np.log(np.clip(a, 1e-12, 1))).sum(-1).mean(-1)
    np.testing.assert_allclose(st["entropy"], ent, rtol=1e-9)
    np.testing.assert_allclose(st["max"], a.max((-1, -2)), rtol=1e-9)
    assert (st["entropy"] <= st["max_entropy"] + 1e-6).all()


@pytest.mark.parametrize("family", ["lang", "l2v"])
def test_head_grid_cells(result, family):
    n_l, n_h = result.num_layers(family), result.num_heads
    fig = head_grid(result, family)
    assert fig.axes[0].images[0].get_array().shape == (n_l, n_h)
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), head_stats(result, family)["max"], rtol=1e-6)
    pf = head_grid_plotly(result, family)
    assert np.asarray(pf.data[0].z).shape == (n_l, n_h)
    np.testing.assert_allclose(np.asarray(pf.data[0].z), head_stats(result, family)["entropy"], rtol=1e-9)


# -- states ------------------------------------------------------------------------------------------
def test_state_drift_values(result):
    cos, names = state_drift_values(result, "lang", "cosine")
    assert names == ["lang2", "cross1", "cross2"]
    assert cos.shape == (1 + result.x_layers, len(result.tokens))
    np.testing.assert_allclose(cos[0], 1.0, atol=1e-6)
    norm, _ = state_drift_values(result, "vis", "norm")
    h = result.vis_hidden.numpy()[result.r_layers:]
    np.testing.assert_allclose(norm, np.linalg.norm(h, axis=-1), rtol=1e-5)
    with pytest.raises(ValueError, match="metric"):
        state_drift_values(result, "lang", "angle")


def test_state_drift_figures(result):
    fig = state_drift(result, metric="distance")
    lines = [ln for a in fig.axes for ln in a.lines]
    assert len(lines) == len(result.tokens) + result.regions.num_real
    line = next(ln for ln in lines if ln.get_gid() == "vis-2")
    np.testing.assert_allclose(line.get_ydata(), state_drift_values(result, "vis", "distance")[0][:, 2], rtol=1e-6)
    pf = state_drift_plotly(result, "norm", highlight=("lang", 1))
    assert len(pf.data) == len(lines)
    assert pf.data[1].line.width == 5 and pf.data[0].opacity == pytest.approx(0.3)


def test_pca_matches_svd():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 6)) * np.array([5, 3, 1, 0.5, 0.2, 0.1])
    xy, ratio = pca_2d(x)
    xc = x - x.mean(0)
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    np.testing.assert_allclose(np.abs(xy), np.abs(xc @ vt[:2].T), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ratio, s[:2] ** 2 / (s ** 2).sum(), rtol=1e-9)


def test_state_pca_figures(result):
    fig = state_pca(result)
    colls = [c for c in fig.axes[0].collections if (c.get_gid() or "").startswith("stage-")]
    n_pts = sum(len(c.get_offsets()) for c in colls)
    assert n_pts == result.lang_hidden.shape[0] * len(result.tokens) + result.vis_hidden.shape[0] * 4
    pf = state_pca_plotly(result, highlight=("vis", 0))
    assert len(pf.data[-1].x) == result.vis_hidden.shape[0]  # the region's path through its stages
