"""Widgets driven headlessly: the same FigureWidget objects change in place and match the model."""
import datetime
import io

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("anywidget")  # plotly >= 6 FigureWidget is an anywidget

from lxmert_viz.analysis import drift as state_drift_values  # noqa: E402
from lxmert_viz.viz import AttentionExplorer, QAWidget, StatesExplorer, box_alphas  # noqa: E402
from lxmert_viz.viz.plotly_overlay import bar_trace  # noqa: E402
from viz_fixtures import FakeKit, padded_properties, ranks, record_front_end_messages, samples  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# -- AttentionExplorer -------------------------------------------------------------------------------
def test_attention_explorer_set_updates_in_place(result):
    ex = AttentionExplorer(result)
    ids = {k: id(f) for k, f in ex.figures.items()}
    before = box_alphas(ex.figures["overlay"]).copy()
    ex.set(family="l2v", layer=0, head=1, token="circle")
    assert {k: id(f) for k, f in ex.figures.items()} == ids
    w = result.attn("l2v", 0, 1)[result.token_index("circle")]
    alphas = box_alphas(ex.figures["overlay"])
    assert not np.allclose(alphas, before)
    np.testing.assert_array_equal(ranks(alphas), ranks(w))
    np.testing.assert_allclose(np.asarray(ex.figures["heatmap"].data[0].z), result.attn("l2v", 0, 1), rtol=1e-6)
    assert ex.state == {"family": "l2v", "layer": 0, "head": 1, "query": 5, "query_label": "circle"}


def test_attention_explorer_sends_no_undefined_trace_values(result):
    ex = AttentionExplorer(result)
    sent = {k: record_front_end_messages(f) for k, f in ex.figures.items()}
    ex.set(family="l2v", layer=0, head=1, token="circle")
    ex.set(family="v2l", region=1, head="max")
    ex.set(family="lang", layer=1, token=3)
    assert sent["overlay"] and sent["heatmap"] and sent["heads"], "every figure was restyled"
    for name, msgs in sent.items():
        assert padded_properties(msgs) == [], name
    heads = ex.figures["heads"]
    assert heads.data[1].zmax == 1.0 and heads.data[0].zmax > 0


def test_attention_explorer_family_switch_changes_query_side(result):
    ex = AttentionExplorer(result)
    hm = ex.figures["heatmap"]
    ex.set(family="v2l", region=2, head="max", layer=-1)
    assert id(ex.figures["heatmap"]) == id(hm)
    assert [v for _, v in ex.query.options] == list(range(result.regions.num_real))
    np.testing.assert_allclose(np.asarray(hm.data[0].z), result.attn("v2l", -1, "max"), rtol=1e-6)
    bars = bar_trace(ex.figures["overlay"])
    np.testing.assert_allclose(bars.x, result.attn("v2l", -1, "max")[2], rtol=1e-6)
    assert list(bars.y) == result.tokens.labels()
    assert hm.layout.shapes[0].y0 == pytest.approx(1.5)  # row 2 highlighted
    ex.set(family="lang", layer=1, token=3)  # lang has l_layers; grid follows the family
    assert ex.layer.max == result.num_layers("lang") - 1
    assert ex.figures["heads"].layout.title.text.startswith("lang")
    np.testing.assert_allclose(np.asarray(hm.data[0].z), result.attn("lang", 1, "max"), rtol=1e-6)


def test_attention_explorer_controls_drive_redraw(result):
    ex = AttentionExplorer(result)
    ex.head.value = 3  # what the dropdown does in the browser
    np.testing.assert_allclose(np.asarray(ex.figures["heatmap"].data[0].z), result.attn("l2v", -1, 3), rtol=1e-6)
    ex.query.value = 2
    np.testing.assert_allclose(bar_trace(ex.figures["overlay"]).x, result.attn("l2v", -1, 3)[2], rtol=1e-6)


def test_attention_explorer_rejects_bad_selection(result):
    ex = AttentionExplorer(result)
    with pytest.raises(ValueError, match="lang queries"):
        ex.set(region=1)
    with pytest.raises(IndexError):
        ex.set(layer=7)
    with pytest.raises(KeyError):
        ex.set(family="audio")


# -- StatesExplorer ----------------------------------------------------------------------------------
def test_states_explorer_updates_in_place(result):
    ex = StatesExplorer(result)
    drift, pca = ex.figures["drift"], ex.figures["pca"]
    ex.set(region=1, metric="norm")
    assert (id(drift), id(pca)) == (id(ex.figures["drift"]), id(ex.figures["pca"]))
    t = len(result.tokens)
    tr = drift.data[t + 1]
    np.testing.assert_allclose(tr.y, state_drift_values(result, "vis", "norm")[0][:, 1], rtol=1e-6)
    assert tr.line.width == 5 and drift.data[0].line.width == 1.5
    assert len(pca.data[-1].x) == result.vis_hidden.shape[0]
    ex.set(token="circle")
    assert len(pca.data[-1].x) == result.lang_hidden.shape[0]
    assert drift.data[result.token_index("circle")].line.width == 5


# -- QAWidget ----------------------------------------------------------------------------------------
def test_qa_widget_asks_and_redraws_in_place():
    kit = FakeKit()
    qa = QAWidget(kit, samples(2), question="what color is the circle ?")
    fig = qa.overlay
    assert qa.result is not None and "lxmert-viz-answer" in qa.answers_html.value
    first = box_alphas(fig).copy()
    image_trace = fig.data[0]
    res = qa.ask("is there a blue square left of the red thing ?")
    assert id(qa.overlay) == id(fig) and fig.data[0] is image_trace  # same figure, image not re-sent
    assert res.answers[0][0] in qa.answers_html.value
    assert [lab for lab, _ in qa.token.options] == res.tokens.labels()
    w = res.attn("l2v", -1, "mean")[qa.token.value]
    np.testing.assert_array_equal(ranks(box_alphas(fig)), ranks(w))
    assert not np.allclose(box_alphas(fig), first) or qa.token.value != 1
    assert set(qa.timings) == {"ask_ms", "draw_ms", "total_ms"}


def test_qa_widget_token_and_head_controls():
    qa = QAWidget(FakeKit(), samples(2), question="what color is the circle ?")
    qa.select_token("circle")
    qa.head.value = 2
    w = qa.result.attn("l2v", -1, 2)[qa.result.token_index("circle")]
    np.testing.assert_allclose(bar_trace(qa.overlay).x, w, rtol=1e-6)
    qa.select_sample(1)  # the same question on a new image keeps the chosen word
    assert qa.result.tokens.labels()[qa.token.value] == "circle"
    qa.select_token("what")
    qa.ask("where is the blue square ?")  # a new question starts from its content word
    assert qa.result.tokens.labels()[qa.token.value] in {"blue", "square"}


def test_qa_widget_sample_and_upload_switch_image():
    kit = FakeKit()
    qa = QAWidget(kit, samples(2), question="what color is the circle ?")
    fig = qa.overlay
    src = fig.data[0].source
    qa.select_sample(1)
    assert qa.sample.value == 1 and id(qa.overlay) == id(fig)
    assert fig.data[0].source != src and qa.result.image is qa.image
    buf = io.BytesIO()
    samples(3)[2][1].save(buf, format="PNG")
    qa.upload.value = ({"name": "mine.png", "type": "image/png", "size": len(buf.getvalue()),
                        "content": memoryview(buf.getvalue()),
                        "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},)
    assert qa.image_name == "mine.png" and qa.result.image is qa.image
    assert kit.calls == 3


def test_qa_widget_errors_are_shown_not_raised():
    qa = QAWidget(FakeKit(), [], question=None)
    assert qa.ask("anything ?") is None and "image" in qa.error
    qa.set_image(samples(1)[0][1])
    assert qa.ask("   ") is None
    qa.kit = type("Broken", (), {"ask": lambda self, im, q: (_ for _ in ()).throw(ValueError("no words"))})()
    assert qa.ask("what ?") is None
    assert "no words" in qa.status.value and "lxmert-viz-qa-error" in qa.status.value


def test_qa_widget_css_classes():
    qa = QAWidget(FakeKit(), samples(1))
    for wid, cls in ((qa.question, "lxmert-viz-qa-question"), (qa.ask_button, "lxmert-viz-qa-ask"),
                     (qa.answers_html, "lxmert-viz-qa-answers"), (qa.overlay, "lxmert-viz-qa-overlay")):
        assert cls in wid._dom_classes
    qa.question.value = "what color is the circle ?"  # Enter in the text box asks
    assert qa.result is not None
    qa.ask_button.click()  # same question again: answered from the last result, no new kit call
    assert qa.kit.calls == 1
