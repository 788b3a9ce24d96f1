"""Faithfulness beside the map: MaskingWidget's deletion / insertion panel, Result.faithfulness (issue 26)."""
from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("anywidget")

from viz_fixtures import ANSWERS, FakeKit, make_image  # noqa: E402

from lxmert_viz.explain import explain, with_faithfulness  # noqa: E402
from lxmert_viz.explain.faithfulness import MethodRanking, faithfulness, keep_regions, keep_tokens  # noqa: E402
from lxmert_viz.inputs.item import Item  # noqa: E402
from lxmert_viz.viz import MaskingWidget  # noqa: E402
from lxmert_viz.viz.widgets_masking import CSS  # noqa: E402

QUESTION = "what color is the circle ?"


@pytest.fixture
def fake_kit(one_thread):
    k = FakeKit(0)
    k.answers = ANSWERS
    return k


def _curve(panel: str, name: str) -> np.ndarray:
    m = re.search(rf'data-curve="{name}" data-y="([^"]+)"', panel)
    assert m, f"no {name} curve in the panel"
    return np.array([float(v) for v in m.group(1).split(",")])


def test_masking_widget_shows_the_curves_of_the_shown_method(fake_kit):
    mw = MaskingWidget(fake_kit, make_image(0), QUESTION, method="relevancy")
    assert any(p["name"] == "faithfulness" and p["css"] == CSS["faithfulness"] for p in mw.panels)
    item = Item(mw.base.tokens, mw.base.regions)
    direct = faithfulness(fake_kit.model, item, explain(mw.base, "relevancy", model=fake_kit.model))
    panel = mw.panel("faithfulness")
    # the same computation on the same inputs; the panel writes each value with 6 significant digits
    # (relative error up to 5e-6), hence rtol=1e-5
    np.testing.assert_allclose(_curve(panel, "deletion"), direct.deletion, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(_curve(panel, "insertion"), direct.insertion, rtol=1e-5, atol=1e-7)
    assert direct.line() in panel.replace("&#x27;", "'") and "Del@15%" in panel
    assert mw.faithfulness.del_at_k == pytest.approx(direct.del_at_k)

    n = len(mw.faithfulness_seconds)
    mw.set(method="random")
    assert len(mw.faithfulness_seconds) == n + 1, "one measurement per redraw"
    assert mw.faithfulness.method == "random" and "faithfulness of random" in mw.panel("faithfulness")
    direct = faithfulness(fake_kit.model, item, mw.explanation)
    np.testing.assert_allclose(mw.faithfulness.deletion, direct.deletion)
    assert "AUC rank" not in mw.panel("faithfulness"), "no data set, no rank"


def test_dropped_inputs_stay_removed_in_every_row(fake_kit):
    # float64: the widget's rows and the shortened item's rows are padded differently, and float32
    # kernels may round such batches differently on another CPU; in float64 they agree to ~1e-15
    fake_kit.model.double()
    mw = MaskingWidget(fake_kit, make_image(0), QUESTION, method="raw")
    mw.set(drop_regions=[2], drop_tokens=["circle"])
    ex = mw.explanation
    assert 2 not in ex.region_index.tolist()
    f = mw.faithfulness
    assert f.num_inputs == len(ex.token_index) - 2 + len(ex.region_index), "only the kept inputs are ranked"
    # with the dropped inputs deleted from the item itself, the curves are the same
    base = mw.base
    circle = base.token_index("circle")
    regs = [i for i in range(base.regions.num_real) if i != 2]
    toks = [i for i in range(len(base.tokens)) if i != circle]
    small = Item(keep_tokens(base.tokens, toks), keep_regions(base.regions, regs))
    renum = replace(ex, token_index=np.arange(len(toks)), region_index=np.arange(len(regs)))
    alone = faithfulness(fake_kit.model, small, renum)
    np.testing.assert_allclose(f.deletion, alone.deletion, rtol=0, atol=1e-12)
    np.testing.assert_allclose(f.insertion, alone.insertion, rtol=0, atol=1e-12)
    assert "removed, not masked" in mw.panel("faithfulness")


def test_the_methods_rank_over_a_data_set_is_shown(fake_kit):
    ones = np.ones(3)
    ranking = MethodRanking({"raw": 0.1 * ones, "relevancy": 0.3 * ones}, {"raw": 0.6 * ones, "relevancy": 0.4 * ones},
                            {"raw": ones, "relevancy": ones}, {"raw": ones, "relevancy": ones})
    mw = MaskingWidget(fake_kit, make_image(0), QUESTION, method="relevancy", ranking=ranking)
    panel = mw.panel("faithfulness")
    assert "AUC rank over the data set" in panel and "2 of 2" in panel and "3 questions" in panel
    mw.set(method="raw")
    assert "1 of 2" in mw.panel("faithfulness")
    assert "faithfulness of raw" in mw.twin_html(), "the static twin shows the panel"


def test_dataset_computes_the_ranking_once(fake_kit):
    mw0 = MaskingWidget(fake_kit, make_image(0), QUESTION, method="raw")
    items = [Item(mw0.base.tokens, mw0.base.regions)]
    mw = MaskingWidget(fake_kit, make_image(0), QUESTION, method="raw", dataset=items)
    assert set(mw.ranking.deletion_auc) == {"raw", "rollout", "relevancy", "random"}
    assert len(mw.ranking.deletion_auc["raw"]) == 1
    assert "of 4" in mw.panel("faithfulness")


def test_result_carries_faithfulness_and_prints_it(fake_kit):
    r = fake_kit.ask(make_image(0), QUESTION)
    assert r.faithfulness == {} and "faithfulness" not in repr(r)
    r2 = with_faithfulness(r, fake_kit.model, ("raw",))
    assert r.faithfulness == {}, "the first result is left as it was"
    assert list(r2.faithfulness) == ["raw"] and r2.attentions is r.attentions
    direct = faithfulness(fake_kit.model, Item(r.tokens, r.regions), explain(r, "raw"))
    np.testing.assert_allclose(r2.faithfulness["raw"].deletion, direct.deletion)
    assert direct.line() in repr(r2)
    r3 = with_faithfulness(r2, fake_kit.model, ("random",))
    assert sorted(r3.faithfulness) == ["random", "raw"]
