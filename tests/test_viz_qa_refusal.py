"""Issue 23.6: a refused question clears the previous answers and picture; the kit's unknown="warn"
is a control of the QA view (a box), and ticking it asks again."""
import pytest

pytest.importorskip("anywidget")

import lxmert_viz  # noqa: E402
from lxmert_viz.viz import QAWidget, sample_scenes  # noqa: E402
from lxmert_viz.viz.widgets_qa import CSS, UNKNOWN_LABEL  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_refusal_clears_answers_and_picture_and_the_box_answers_anyway():
    qa = QAWidget(lxmert_viz.load(), [sample_scenes()[0]["path"]], question="what color is the circle?")
    assert qa.result is not None and "lxmert-viz-answer" in qa.panel("answers") and "<svg" in qa.panel("overlay")
    box = next(c for c in qa.controls if c["name"] == "unknown")
    assert box["kind"] == "checkbox" and box["label"] == UNKNOWN_LABEL and box["css"] == CSS["unknown"]
    assert qa.ask("what colour is the zebra?") is None
    assert qa.result is None and qa.drawn == {}
    assert 'class="lxmert-viz-answer"' not in qa.panel("answers") and qa.panel("overlay") == ""
    assert UNKNOWN_LABEL in qa.panel("status") and 'unknown="warn"' not in qa.panel("status")
    qa._put(unknown=True)
    qa.on_values({"unknown": True})  # what the browser's tick sends
    assert qa.error is None and qa.result is not None and qa.result.question == "what colour is the zebra?"
    assert "lxmert-viz-answer" in qa.panel("answers") and "<svg" in qa.panel("overlay")
