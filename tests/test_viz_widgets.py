"""The views (anywidget) driven headlessly: controls, clicks and uploads go through the same synced
state the browser writes; the panels drawn match the model; each view has a static twin.

Shape letters: T tokens, R regions (4 real + 1 padding in the fixtures).
"""
import base64
import io
import re

import numpy as np
import pytest

pytest.importorskip("anywidget")
pytest.importorskip("matplotlib")

from viz_fixtures import ANSWERS, FakeKit, make_image, ranks, samples  # noqa: E402

from lxmert_viz.analysis import drift as state_drift_values  # noqa: E402
from lxmert_viz.viz import AttentionExplorer, QAWidget, StatesExplorer, View  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
QUESTION = "what color is the circle ?"


def numbers(svg: str, cls: str, attr: str) -> np.ndarray:
    """The ``attr`` values of every element of class ``cls`` in an SVG string, in order."""
    return np.array([float(m) for m in re.findall(rf'class="{cls}"[^>]*?\s{attr}="([^"]+)"', svg)])


def shading_layer(svg: str) -> np.ndarray:
    """The RGBA shading layer an overlay SVG shows (decoded from its data URI)."""
    from PIL import Image

    src = re.search(r'class="lxv-shading" href="data:image/png;base64,([^"]+)"', svg).group(1)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src))))


def assert_static_twin(view: View) -> str:
    """The twin is self-contained HTML: every image inlined, no script, no network address."""
    html = view.twin_html()
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html and "data-lxv-asset" not in html
    assert html.count("<svg") + html.count("<img") >= 1
    bundle, _ = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and bundle["text/html"] == html
    return html


# -- the view base -----------------------------------------------------------------------------------
def test_view_ships_its_module_and_no_network_or_plotting_library():
    esm = str(View._esm)
    assert "export default" in esm and "render" in esm
    assert "http" not in esm.replace("http://www.w3.org", "") and "import " not in esm and "plotly" not in esm.lower()


def test_view_is_displayed_with_a_static_twin_that_follows_redraws(result, monkeypatch):
    shown = []

    class Handle:
        def update(self, obj):
            shown.append(("update", obj._repr_mimebundle_()["text/html"]))

    def display(obj, raw=False, display_id=None, metadata=None):
        shown.append(("display", obj if raw else obj._repr_mimebundle_()))
        return Handle() if display_id else None

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", display)
    ex = AttentionExplorer(result)
    ex._ipython_display_()
    live, twin = shown[0][1], shown[1][1]
    assert "application/vnd.jupyter.widget-view+json" in live and live["text/html"] == ""
    assert f'data-lxv-uid="{ex.uid}"' in twin["text/html"] and "token: circle" in twin["text/html"]
    ex.set(token="what")
    assert shown[-1][0] == "update" and "token: what" in shown[-1][1]


def test_colab_gets_one_line_on_the_custom_widget_manager(result, monkeypatch):
    import sys
    import types

    import IPython.display

    shown = []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False, display_id=None, metadata=None:
                        shown.append(obj) or (type("H", (), {"update": lambda self, o: None})() if display_id else None))
    StatesExplorer(result)._ipython_display_()
    note = shown[0]["text/plain"]
    assert "enable_custom_widget_manager()" in note and "\n" not in note and len(shown) == 3


# -- AttentionExplorer -------------------------------------------------------------------------------
def test_attention_explorer_set_redraws_every_panel(result):
    ex = AttentionExplorer(result)
    before = ex.drawn["alphas"].copy()
    ex.set(family="l2v", layer=0, head=1, token="circle")
    w = result.attn("l2v", 0, 1)[result.token_index("circle")]
    svg = ex.panel("overlay")
    alphas = numbers(svg, "lxv-box", "data-alpha")
    assert not np.allclose(alphas, before)
    np.testing.assert_array_equal(ranks(alphas), ranks(w))
    np.testing.assert_allclose(numbers(svg, "lxv-bar", "data-value"), w, rtol=1e-5)
    cells = numbers(ex.panel("heatmap"), "lxv-cell", "data-value").reshape(result.attn("l2v", 0, 1).shape)
    np.testing.assert_allclose(cells, result.attn("l2v", 0, 1), rtol=1e-5, atol=1e-7)
    assert ex.state == {"family": "l2v", "layer": 0, "head": 1, "query": 5, "query_label": "circle"}
    assert 'class="lxv-highlight" data-row="5"' in ex.panel("heatmap")
    assert ex.panel("heads").count('class="lxv-selected"') == 2  # the cell on both grids
    assert_static_twin(ex)


def test_attention_explorer_family_switch_changes_query_side(result):
    ex = AttentionExplorer(result)
    ex.set(family="v2l", region=2, head="max", layer=-1)
    query = next(c for c in ex.controls if c["name"] == "query")
    assert [v for _, v in query["options"]] == list(range(result.regions.num_real))
    np.testing.assert_allclose(ex.drawn["map"], result.attn("v2l", -1, "max"), rtol=1e-6)
    np.testing.assert_allclose(ex.drawn["weights"], result.attn("v2l", -1, "max")[2], rtol=1e-6)
    ex.set(family="lang", layer=1, token=3)  # lang has l_layers; the layer slider and grid follow
    layer = next(c for c in ex.controls if c["name"] == "layer")
    assert layer["max"] == result.num_layers("lang") - 1 and "lang: mean entropy" in ex.panel("heads")


def test_attention_explorer_controls_and_clicks_drive_redraw(result):
    ex = AttentionExplorer(result)
    ex.events = [{"kind": "set", "name": "head", "data": 3, "seq": 1, "session": "a"}]  # the dropdown
    ex.events = [*ex.events, {"kind": "set", "name": "head", "data": 3, "seq": 1, "session": "b"}]  # another tab
    assert ex.value("head") == 3
    np.testing.assert_allclose(ex.drawn["map"], result.attn("l2v", -1, 3), rtol=1e-6)
    ex.choose("query", 2)
    np.testing.assert_allclose(ex.drawn["weights"], result.attn("l2v", -1, 3)[2], rtol=1e-6)
    ex.click("heads", {"layer": 0, "head": 1})  # a head-grid cell
    assert (ex.state["layer"], ex.state["head"]) == (0, 1)
    ex.click("heatmap", {"query": 4})  # a heatmap row
    assert ex.state["query"] == 4
    ex.choose("family", "v2l")  # the family dropdown: queries become regions
    assert ex.state["query_label"].startswith("1:") or ":" in ex.state["query_label"]


def test_attention_explorer_rejects_bad_selection(result):
    ex = AttentionExplorer(result)
    with pytest.raises(ValueError, match="lang queries"):
        ex.set(region=1)
    with pytest.raises(IndexError):
        ex.set(layer=7)
    with pytest.raises(KeyError):
        ex.set(family="audio")


# -- StatesExplorer ----------------------------------------------------------------------------------
def test_states_explorer_draws_the_metric_and_the_path(result):
    ex = StatesExplorer(result)
    ex.set(region=1, metric="norm")
    assert ex.item == ("vis", 1)
    np.testing.assert_allclose(ex.drawn["drift"]["vis"], state_drift_values(result, "vis", "norm")[0], rtol=1e-6)
    assert ex.panel("drift").count('class="lxv-line lxv-on"') == 1
    assert len(ex.drawn["path"]) == result.vis_hidden.shape[0]
    ex.choose("item", ["lang", result.token_index("circle")])
    assert len(ex.drawn["path"]) == result.lang_hidden.shape[0] and "circle" in ex.panel("pca")
    assert "metric: norm" in assert_static_twin(ex)


# -- QAWidget ----------------------------------------------------------------------------------------
def test_qa_widget_asks_and_redraws_without_resending_the_image():
    kit = FakeKit()
    qa = QAWidget(kit, samples(2), question=QUESTION)
    assert qa.result is not None and "lxmert-viz-answer" in qa.panel("answers")
    first, image = qa.drawn["alphas"].copy(), qa.assets["image"]
    res = qa.ask("is there a blue square left of the red thing ?")
    assert qa.assets["image"] is image  # same image: not re-sent
    assert res.answers[0][0] in qa.panel("answers")
    token = next(c for c in qa.controls if c["name"] == "token")
    assert [lab for lab, _ in token["options"]] == res.tokens.labels()
    w = res.attn("l2v", -1, "mean")[qa.token]
    np.testing.assert_array_equal(ranks(numbers(qa.panel("overlay"), "lxv-box", "data-alpha")), ranks(w))
    assert not np.allclose(qa.drawn["alphas"], first) or qa.token != 1
    assert set(qa.timings) == {"ask_ms", "draw_ms", "total_ms"}


def test_qa_widget_word_and_head_controls():
    qa = QAWidget(FakeKit(), samples(2), question=QUESTION)
    qa.select_token("circle")
    qa.choose("head", 2)
    w = qa.result.attn("l2v", -1, 2)[qa.result.token_index("circle")]
    np.testing.assert_allclose(qa.drawn["weights"], w, rtol=1e-6)
    qa.choose("sample", 1)  # the same question on a new image keeps the chosen word
    assert qa.image_name == "scene 1" and qa.result.tokens.labels()[qa.token] == "circle"
    qa.select_token("what")
    qa.choose("question", "where is the blue square ?")  # Enter in the text box: a new question
    assert qa.result.tokens.labels()[qa.token] in {"blue", "square"}


def test_qa_widget_upload_and_ask_button():
    kit = FakeKit()
    qa = QAWidget(kit, samples(2), question=QUESTION)
    image = qa.assets["image"]
    buf = io.BytesIO()
    samples(3)[2][1].save(buf, format="PNG")
    qa.events = [{"kind": "upload", "name": "upload", "seq": 1, "session": "s",  # what the file chooser queues
                  "data": {"filename": "mine.png", "base64": base64.b64encode(buf.getvalue()).decode()}}]
    assert qa.image_name == "mine.png" and qa.result.image is qa.image and qa.assets["image"] != image
    assert qa.value("sample") == -1 and ["uploaded: mine.png", -1] in qa.controls[0]["options"]
    assert kit.calls == 2
    qa.press("ask")  # same question, same image: answered from the last result
    assert kit.calls == 2
    qa.events = [*qa.events, {"kind": "upload", "name": "upload", "seq": 2, "session": "s",
                              "data": {"filename": "bad.png", "base64": "AAAA"}}]
    assert "could not read bad.png" in qa.error and "lxmert-viz-qa-error" in qa.panel("status")
    assert_static_twin(qa)


def test_qa_widget_errors_are_shown_not_raised():
    qa = QAWidget(FakeKit(), [], question=None)
    assert qa.ask("anything ?") is None and "image" in qa.error
    qa.set_image(samples(1)[0][1])
    assert qa.ask("   ") is None
    qa.kit = type("Broken", (), {"ask": lambda self, im, q: (_ for _ in ()).throw(ValueError("no words"))})()
    assert qa.ask("what ?") is None
    assert "no words" in qa.panel("status") and "lxmert-viz-qa-error" in qa.panel("status")


def test_qa_widget_css_classes():
    qa = QAWidget(FakeKit(), samples(1))
    css = {c["name"]: c["css"] for c in qa.controls} | {p["name"]: p["css"] for p in qa.panels}
    assert qa.root == "lxmert-viz-qa" and css["question"] == "lxmert-viz-qa-question"
    assert css["ask"] == "lxmert-viz-qa-ask" and css["answers"] == "lxmert-viz-qa-answers"
    assert css["overlay"] == "lxmert-viz-qa-overlay"


# -- MaskingWidget (the tiny random model) -----------------------------------------------------------
@pytest.fixture
def fake_kit(one_thread):
    k = FakeKit(0)
    k.answers = ANSWERS
    return k


def _direct(kit, mw, **drops):
    from lxmert_viz.explain import ask_masked

    base = mw.base
    return ask_masked(kit.model, base.model_inputs(kit.model.dtype, kit.model.device), tokens=base.tokens,
                      regions=base.regions, question=base.question, answers=ANSWERS, image=base.image, **drops)


def test_masking_widget_set_matches_ask_masked(fake_kit):
    from lxmert_viz.explain import explain, relevance_rows
    from lxmert_viz.viz import MaskingWidget
    from lxmert_viz.viz.widgets_masking import CSS

    kit = fake_kit
    mw = MaskingWidget(kit, make_image(0), QUESTION, method="relevancy")
    draws = mw.draws
    assert [a for a, _ in mw.answers] == [a for a, _ in mw.base.answers], "nothing dropped: the plain answers"
    toggles = [c for c in mw.controls if c["kind"] == "toggle"]
    assert len([c for c in toggles if c["css"] == CSS["region"]]) == 4
    assert len([c for c in toggles if c["css"] == CSS["token"]]) == len(mw.base.tokens) and mw.root == CSS["root"]
    run = mw.set(drop_regions=[1, 3])
    assert mw.draws == draws + 1, "one redraw per set()"
    direct = _direct(kit, mw, drop_regions=[1, 3])
    assert run.dropped_regions == direct.dropped_regions == [1, 3]
    assert mw.answers == direct.result.answers
    ex = explain(direct.result, "relevancy", model=kit.model)
    regions, tokens = mw.relevance
    np.testing.assert_allclose(regions, relevance_rows(ex, direct.result)[0], atol=1e-9)
    assert regions[1] == regions[3] == 0.0, "dropped regions carry no relevance"
    alphas = mw.box_alphas()
    assert alphas[1] == alphas[3] == 0.0 and alphas.max() > 0
    svg = mw.panel("overlay")
    np.testing.assert_allclose(numbers(svg, "lxv-box", "data-alpha"), alphas, atol=1e-6)
    layer = shading_layer(svg)
    k = layer.shape[1] / mw.base.regions.image_size[0]
    x1, y1, x2, y2 = mw.base.regions.boxes[3]
    assert layer[int((y1 + 0.3 * (y2 - y1)) * k), int((x1 + 0.5 * (x2 - x1)) * k), 3] == 110, "greyed when dropped"
    assert "dropped" in mw.panel("status") and "3:gray triangle" in mw.panel("status")

    mw.set(drop_tokens=["circle"])  # regions stay as they are
    direct = _direct(kit, mw, drop_regions=[1, 3], drop_tokens=[mw.base.token_index("circle")])
    assert mw.dropped_regions == [1, 3] and mw.run.dropped_tokens == direct.dropped_tokens
    assert mw.answers == direct.result.answers
    assert mw.relevance[1][mw.base.token_index("circle")] == 0.0

    mw.set(drop_regions=[], drop_tokens=[], method="random")
    assert mw.explanation.method == "random" and "random" in mw.panel("overlay")
    with pytest.raises(ValueError, match="CLS"):
        mw.set(drop_tokens=[0])
    with pytest.raises(IndexError):
        mw.set(drop_regions=[9])


def test_masking_widget_toggles_and_reset_drive_it_like_set(fake_kit):
    from lxmert_viz.viz import MaskingWidget

    mw = MaskingWidget(fake_kit, make_image(1), QUESTION, method="raw")
    first = (list(mw.answers), mw.relevance[0].copy())
    mw.choose("region-0", True)  # what a click on the region's toggle does
    by_click = (list(mw.answers), mw.relevance[0].copy())
    mw.set(drop_regions=[])
    assert mw.dropped_regions == []
    mw.set(drop_regions=[0])
    assert mw.answers == by_click[0]
    np.testing.assert_allclose(mw.relevance[0], by_click[1])
    tokens = [c for c in mw.controls if c["name"].startswith("token-")]
    assert tokens[0]["disabled"] and tokens[-1]["disabled"], "[CLS] and [SEP] stay"
    assert [c["label"] for c in mw.controls if c["name"].startswith("region-")] == \
        [n.replace(":", " ", 1) for n in mw.base.regions.names()[:4]]
    mw.set(drop_tokens=["circle"], method="random", token="color")
    mw.press("reset")
    assert mw.dropped_regions == [] and mw.dropped_tokens == []
    assert mw.value("method") == "raw" and mw.value("target") == "answer"
    assert list(mw.answers) == first[0]
    np.testing.assert_allclose(mw.relevance[0], first[1], atol=1e-9)
    assert "dropped: none" in assert_static_twin(mw)


# -- the embedded kit: DatasetHeadExplorer and InterventionsWidget ----------------------------------
@pytest.fixture(scope="module")
def summary(tmp_path_factory, kit):
    from lxmert_viz.analysis import run, summarize

    out = tmp_path_factory.mktemp("viewrun") / "run"
    run("shapes:2", ["pointing"], out, model=kit, batch_size=16, progress=False)
    return summarize(out)


def test_dataset_explorer_selects_and_follows_clicks(summary, kit):
    from lxmert_viz.viz import DatasetHeadExplorer

    ex = DatasetHeadExplorer(summary, kit, "ref_attn", "l2v", k=2)
    top = summary.top_heads("ref_attn", "l2v", 1)[0]
    assert ex.selected == (top["layer"], top["head"])
    ex.select(0, 3)
    assert len(ex.examples) == 4 and "layer 0 head 3" in ex.panel("examples")
    assert ex.panel("examples").count('src="data:image/png;base64,') == 4
    assert [p["shading"].chosen for p in ex.examples] == [p["record"]["referent_region"] for p in ex.examples]
    np.testing.assert_allclose(numbers(ex.panel("grid"), "lxv-cell", "data-value").reshape(ex.grid.shape),
                               summary.grid("ref_attn", "l2v"), rtol=1e-5)
    ex.click("grid", {"layer": 1, "head": 2})  # a grid cell
    assert ex.selected == (1, 2) and 'class="lxv-selected" data-row="1" data-col="2"' in ex.panel("grid")
    with pytest.raises(IndexError, match="heads 0..3"):
        ex.select(0, 9)
    click = {"kind": "click", "name": "grid", "session": "t"}
    ex.events = [{**click, "seq": 1, "data": {"layer": 0, "head": 9}}]  # an error in a click is shown, not lost
    assert "IndexError" in ex.panel("error")
    ex.events = [*ex.events, {**click, "seq": 2, "data": {"layer": 0, "head": 2}}]
    assert ex.selected == (0, 2) and "error" not in [p["name"] for p in ex.panels]
    assert_static_twin(ex)


def test_dataset_explorer_needs_no_run_folder_after_it_is_built(summary, kit, tmp_path):
    import shutil

    from lxmert_viz.analysis import summarize
    from lxmert_viz.viz import DatasetHeadExplorer

    copy = tmp_path / "run"
    shutil.copytree(summary.run_dir, copy)
    ex = DatasetHeadExplorer(summarize(copy), kit, "ref_attn", "l2v", k=1)
    shutil.rmtree(copy)  # what a notebook's clean-up cell does
    ex.click("grid", {"layer": 1, "head": 1})
    assert ex.selected == (1, 1) and len(ex.examples) == 2 and "layer 1 head 1" in ex.panel("examples")


def test_interventions_widget_drives_every_tab(kit, circle_scenes):
    from lxmert_viz.viz.widgets_interventions import CSS, PARTS, TABS, InterventionsWidget

    w = InterventionsWidget(kit, [("black", circle_scenes[0]), ("red", circle_scenes[1])])
    assert w.error is None and w.tabs == list(TABS)
    named = {c["name"]: c["css"] for c in w.controls} | {p["name"]: p["css"] for p in w.panels}
    assert set(named) == set(PARTS) - {"tabs"} and all(CSS[n] == css for n, css in named.items())
    assert w.panel("fill-table").count(CSS["row"]) == len(w.fill_result.compare(0))
    for name in ("fill", "labels", "patch"):
        assert w.pngs[name][:8] == b"\x89PNG\r\n\x1a\n"
    assert w.sweep.source_answer == "red" and w.sweep.target_answer == "black"
    figs = {k: id(f) for k, f in w._figs.items()}
    w.choose("image", "red")  # every tab but patching follows the image
    assert w.fill_result.with_image[0][0][0] == "red" and w.error is None
    w.choose("ablate-family", "lang")
    assert w.layer_options() == ["all", 0, 1]
    w.choose("ablate-layer", 1)
    w.choose("ablate-heads", [0, 2])
    w.press("ablate-run")
    assert w.ablation.heads == [("lang", 1, 0), ("lang", 1, 2)]
    w.choose("match-text", "a red circle\n\na yellow square\n")
    w.press("match-run")
    assert w.match_result.sentences == ["a red circle", "a yellow square"]
    w.choose("patch-per-position", True)
    w.press("patch-run")
    assert w.sweep.per_position and w.sweep.effect["vis"].shape == (6, 4)
    assert {k: id(f) for k, f in w._figs.items()} == figs  # the same figures, redrawn
    w.choose("fill-text", "no mask here")
    w.press("fill-run")
    assert "has no [MASK]" in w.error and "has no [MASK]" in w.panel("status")
    w.choose("fill-text", "is there a [MASK] triangle?")
    w.press("fill-run")
    assert w.error is None and w.panel("status") == ""
    w.choose("tab", "patching")
    assert "patching" in assert_static_twin(w)
