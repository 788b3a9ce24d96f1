"""Cross-modal input ablation: every number from independent calls — `fill_tokens` (masked words
with and without the image), `labels_for` (region labels with the text), a DEAF run, and head
ablation of a whole cross layer for the per-layer columns."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lxmert_viz.analysis.atlas import mean_interval, wilson
from lxmert_viz.analysis.crossmodal import DEAF, crossmodal_ablation, masked_copy, region_gold, shapes_statements
from lxmert_viz.interventions.ablation import ablation
from lxmert_viz.output_heads.masked_words import fill_tokens
from lxmert_viz.output_heads.region_labels import label_names, labels_for
from lxmert_viz.run import Row, run
from lxmert_viz.viz.findings import crossmodal_figure


@pytest.fixture(scope="module")
def measured(kit):
    torch.set_num_threads(1)
    items = shapes_statements(kit, 1)
    return items, crossmodal_ablation(kit, items)


def test_masked_words_with_and_without_regions_equal_fill(kit, measured):
    items, cm = measured
    model, tok = kit.model, kit.tokenizer
    correct, loss = [], []
    for q, p in cm.where["words"]:
        item = items[q]
        masked = masked_copy(item.tokens, p, tok.mask_id)
        f = fill_tokens(model, tok, masked, [p], item.regions)
        orig = item.tokens.ids[p]
        probs = np.stack([f.probs[0], f.blind_probs[0]])  # (2, V): all regions, none (BLIND)
        layer = []
        for k in range(model.config.x_layers):  # the whole of l2v layer k removed: the per-layer column
            cut = ablation([("l2v", k, "all")], model.config)
            logits = run(model, [Row(item.__class__(masked, item.regions), intervention=cut)], maps=False)
            layer.append(torch.softmax(logits.output.prediction_logits[0, p].double(), -1).numpy())
        probs = np.concatenate([probs, np.stack(layer)])
        correct.append(probs.argmax(-1) == orig)
        loss.append(-np.log(probs[:, orig]))
    assert len(correct) >= 10
    np.testing.assert_array_equal(cm.correct["words"], np.array(correct))
    np.testing.assert_allclose(cm.loss["words"], np.array(loss), rtol=1e-4, atol=1e-5)  # float32 softmax in both
    m = cm.measure("words", "none")
    c = np.array(correct)[:, 1]
    assert m.accuracy == c.mean() and (m.accuracy_lo, m.accuracy_hi) == wilson(c.sum(), len(c))
    l1 = np.array(loss)[:, 1]
    assert m.loss == pytest.approx(l1.mean(), rel=1e-4)
    assert (m.loss_lo, m.loss_hi) == pytest.approx(mean_interval(l1.mean(), l1.std(ddof=1), len(l1)), rel=1e-3)


def test_region_labels_with_and_without_words_equal_independent_runs(kit, measured):
    items, cm = measured
    names = label_names(kit)
    model = kit.model
    correct, loss = [], []
    for q, item in enumerate(items):
        gold = region_gold(item.regions, names)
        with_words = labels_for(model, item.tokens, item.regions, names).object_probs  # (R, K)
        deaf = run(model, [Row(item, intervention=DEAF)], maps=False).output.obj_predictions["obj"][0]
        other = items[(q + 1) % len(items)]  # another sentence about the same scene
        deaf_other = run(model, [Row(other.__class__(other.tokens, item.regions), intervention=DEAF)],
                         maps=False).output.obj_predictions["obj"][0]
        torch.testing.assert_close(deaf, deaf_other, rtol=0, atol=1e-5)  # no word reaches the regions
        without = torch.softmax(deaf.double(), -1).numpy()
        for r, lab in gold:
            p = np.stack([with_words[r], without[r]])
            correct.append(p.argmax(-1) == lab)
            loss.append(-np.log(p[:, lab]))
    got = cm.correct["regions"][:, :2]
    np.testing.assert_array_equal(got, np.array(correct))
    np.testing.assert_allclose(cm.loss["regions"][:, :2], np.array(loss), rtol=1e-3, atol=1e-5)
    assert cm.measure("regions", "all").n == len(correct) > 0


def test_conditions_and_errors(kit, measured):
    _, cm = measured
    assert cm.conditions["words"] == ["all", "none"] + [f"none at cross layer {k}" for k in range(3)]
    d, lo, hi = cm.drop("words")
    c = cm.correct["words"].astype(float)
    assert d == pytest.approx((c[:, 0] - c[:, 1]).mean()) and lo <= d <= hi
    assert "masked words" in cm.table()
    with pytest.raises(Exception, match="condition must be one of"):
        cm.measure("words", "half")


def test_crossmodal_figure_draws_the_measures(measured):
    pytest.importorskip("matplotlib")
    _, cm = measured
    bars = crossmodal_figure(cm).axes[0].patches[:4]
    want = [cm.measure(s, c).accuracy for s in ("words", "regions") for c in ("all", "none")]
    assert [b.get_height() for b in bars] == want
