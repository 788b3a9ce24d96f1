"""Explanation figures and the live masking widget, on the tiny random LXMERT (no trained model).

Shape letters: T tokens, R regions (4 real + 1 padding in the fixtures), M methods.
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from viz_fixtures import make_model, make_result  # noqa: E402

from lxmert_viz.analysis.perturbation import PerturbationReport  # noqa: E402
from lxmert_viz.explain import METHODS, explain_all, relevance_rows  # noqa: E402
from lxmert_viz.viz import compare_methods, perturbation_curves, relevance_overlay  # noqa: E402
from lxmert_viz.viz.explanations import method_title  # noqa: E402

QUESTION = "what color is the circle ?"


@pytest.fixture(scope="module")
def model():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny model, shared machine: see conftest.one_thread
    yield make_model(0)
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def result(model):
    return make_result(QUESTION, model=model)


@pytest.fixture(scope="module")
def maps(model, result):
    return explain_all(result, METHODS, model=model)


def _boxes(ax):
    return [p for p in ax.patches if (p.get_gid() or "").startswith("region-")]


def test_relevance_rows_are_the_cls_row_and_a_token_row(result, maps):
    ex = maps["relevancy"]
    regions, tokens = relevance_rows(ex, result)
    assert regions.shape == (result.regions.num_real,) and tokens.shape == (len(result.tokens),)
    np.testing.assert_allclose(regions, ex.cls_regions(), rtol=0, atol=0)
    np.testing.assert_allclose(tokens[1:], ex.cls_tokens()[1:], rtol=0, atol=0)
    assert tokens[0] == 0.0, "[CLS]'s relevance to itself is left out of the token row by default"
    assert relevance_rows(ex, result, keep_self=True)[1][0] == ex.cls_tokens()[0]
    t = result.token_index("circle")
    regions_t, tokens_t = relevance_rows(ex, result, token="circle")
    np.testing.assert_allclose(regions_t, ex.token_to_regions(t), rtol=0, atol=0)
    assert tokens_t[t] == 0.0 and np.allclose(np.delete(tokens_t, t), np.delete(ex.lang_lang[t], t))


def test_compare_methods_has_one_column_per_method_and_the_values(result, maps):
    fig = compare_methods(result, maps)
    m = len(METHODS)
    assert len(fig.axes) == 3 * m, "an image, a colour bar and a word strip per method"
    for j, meth in enumerate(maps):
        ax = fig.axes[j]
        s = ax.shading
        np.testing.assert_allclose(s.weights, maps[meth].cls_regions(), rtol=1e-12)
        assert s.levels.argmax() == np.argmax(maps[meth].cls_regions()), "the most relevant box is the darkest"
        assert [im.get_gid() for im in ax.images] == [None, "shading"]
        assert any(im.get_gid() == "colorbar" for im in fig.axes[m + j].images)
        strip = [im for im in fig.axes[2 * m + j].images if im.get_gid() == "tokens"]
        assert len(strip) == 1 and strip[0].get_array().shape == (1, len(result.tokens))
        np.testing.assert_allclose(np.asarray(strip[0].get_array())[0, 1:], maps[meth].cls_tokens()[1:])
        assert method_title(meth) in ax.get_title()
    assert "own scale" in fig._suptitle.get_text()
    assert len(compare_methods(result, [maps["raw"], maps["random"]]).axes) == 6


def test_relevance_overlay_on_a_given_axes_and_for_a_word(result, maps):
    from matplotlib.figure import Figure

    fig = Figure()
    ax, sax = fig.subplots(1, 2)
    out = relevance_overlay(result, maps["rollout"], token="circle", ax=ax, strip_ax=sax, dropped_regions=[1])
    assert out is fig, "draws into the caller's figure"
    s = ax.shading
    assert s.dropped == (1,) and s.alphas[1] == 0.0, "dropped: greyed and crossed, unfilled by relevance"
    np.testing.assert_allclose(s.weights, maps["rollout"].token_to_regions(5))
    layer = np.asarray(ax.images[1].get_array())
    k = layer.shape[1] / result.regions.image_size[0]
    x1, y1, x2, y2 = result.regions.boxes[1]
    px = layer[int((y1 + 0.3 * (y2 - y1)) * k), int((x1 + 0.5 * (x2 - x1)) * k)]
    assert px[3] == 110 and px[0] == px[1] == px[2] == 120, "a dropped box is greyed"
    assert "'circle'" in ax.get_title()


def _report(methods=("relevancy", "random")) -> PerturbationReport:
    f = np.linspace(0, 1, 6)
    acc, agr = {}, {}
    for i, meth in enumerate(methods):
        for mod in ("regions", "tokens"):
            acc[(meth, mod, "positive")] = np.linspace(0.8, 0.1 * i, 6)
            acc[(meth, mod, "negative")] = np.linspace(0.8, 0.5 + 0.1 * i, 6)
    agr = {k: 1 - v for k, v in acc.items()}
    return PerturbationReport(f, acc, agr, num_examples=20, base_accuracy=0.8)


def test_perturbation_curves_panels_lines_and_auc():
    rep = _report()
    fig = perturbation_curves(rep)
    assert len(fig.axes) == 4, "regions/tokens x positive/negative"
    for ax, (mod, d) in zip(fig.axes, [("regions", "positive"), ("regions", "negative"),
                                       ("tokens", "positive"), ("tokens", "negative")]):
        assert mod in ax.get_title() and d in ax.get_title()
        lines = {ln.get_gid(): ln for ln in ax.get_lines()}
        assert set(lines) == {"relevancy", "random"}
        for meth, ln in lines.items():
            np.testing.assert_allclose(ln.get_ydata(), rep.accuracy[(meth, mod, d)])
            np.testing.assert_allclose(ln.get_xdata(), rep.fractions)
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert f"relevancy (AUC {rep.auc('relevancy', mod, d):.3f})" in labels
    agr = perturbation_curves(rep, of="agreement", methods=["random"])
    np.testing.assert_allclose(agr.axes[0].get_lines()[0].get_ydata(), rep.agreement[("random", "regions", "positive")])
    with pytest.raises(KeyError, match="rollout"):
        perturbation_curves(rep, methods=["rollout"])
