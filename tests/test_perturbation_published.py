"""The published perturbation protocol against a hand computation: steps, kept tokens ([CLS]/[SEP]
always), dropped boxes (an Item with fewer regions; none = BLIND), the soft label of the argmax
answer, the percent curve and its trapezoid AUC; the authors' sample; the command line."""
from __future__ import annotations

import json
import random
from dataclasses import replace

import numpy as np
import pytest
import torch

from lxmert_viz.analysis import shapes_examples
from lxmert_viz.analysis.perturbation import main
from lxmert_viz.analysis.published import PUBLISHED, STEPS, auc, curve, published_benchmark, published_sample
from lxmert_viz.explain import explain
from lxmert_viz.features.npz import save_npz
from lxmert_viz.inputs.regions import Regions
from lxmert_viz.inputs.text import Tokens
from lxmert_viz.output_heads.masked_words import BLIND
from lxmert_viz.run import Row, run


@pytest.fixture(scope="module")
def example(kit):
    torch.set_num_threads(1)
    item = next(i for i in shapes_examples(kit, 3) if i.regions.num_real >= 4 and len(i.tokens) >= 9)
    item = replace(item, regions=item.regions.real())
    top = run(kit.model, [item], maps=False).logits()[0].topk(3).indices.tolist()
    item = replace(item, gold_scores={top[0]: 0.6, top[1]: 1.0, top[2]: 0.3})  # soft labels, argmax not the best
    res = run(kit.model, [item], grads=True).result(0)
    return item, explain(res, "relevancy", model=kit.model)


def _hand_item(item, toks, regs):
    t = Tokens(tuple(item.tokens.ids[i] for i in toks), tuple(item.tokens.pieces[i] for i in toks),
               tuple(item.tokens.word_index[i] for i in toks), item.tokens.words)
    r = item.regions
    keep = regs if regs else [0]
    regions = Regions(r.boxes[keep], r.feats[keep], r.image_size, num_real=len(keep))
    return Row(replace(item, tokens=t, regions=regions), intervention=None if regs else BLIND)


@pytest.mark.parametrize("modality", ["text", "image"])
@pytest.mark.parametrize("direction", ["positive", "negative"])
def test_curve_equals_a_hand_computation(kit, example, modality, direction):
    item, e = example
    t, r = len(item.tokens), item.regions.num_real
    cam = e.cls_tokens()[1:-1] if modality == "text" else e.cls_regions()
    cam = -cam if direction == "positive" else cam  # the authors negate for positive perturbation
    by_relevance = sorted(range(len(cam)), key=lambda i: (-cam[i], i))
    scores = []
    for step in STEPS:
        top = sorted(by_relevance[:int((1 - step) * len(cam))])
        if modality == "text":
            row = _hand_item(item, [0] + [i + 1 for i in top] + [t - 1], list(range(r)))
        else:
            row = _hand_item(item, list(range(t)), top)
        pred = int(run(kit.model, [row], maps=False).logits()[0].argmax())
        scores.append(item.gold_scores.get(pred, 0.0))
    got = curve(kit.model, item, e, modality, direction)
    np.testing.assert_array_equal(got, scores)
    assert scores[0] == 0.6  # nothing removed: the argmax answer's soft label
    assert auc(100 * got) == pytest.approx(np.trapezoid(100 * np.array(scores), STEPS))


def test_report_prints_the_published_row(kit):
    rep = published_benchmark(kit.model, shapes_examples(kit, 1), ("relevancy",), limit=2)
    table = rep.table()
    assert "3303" in table and "51.53" in table and "67.17" in table and "about one AUC point" in table
    assert rep.ends("relevancy")["nothing removed"] == rep.curves[("relevancy", "image", "positive")][0]
    assert PUBLISHED["auc"][("text", "positive")] == 21.53


def test_sample_is_the_authors_shuffle_and_the_command_runs_it(kit, tmp_path):
    items = [i for i in shapes_examples(kit, 2)][:6]
    rows = []
    for k, it in enumerate(items):
        save_npz(tmp_path / "feats" / f"img{k}.npz", it.regions.real())
        rows.append({"img_id": f"img{k}", "sent": it.question, "question_id": k,
                     "label": {kit.answers.names[it.gold]: 1.0}})
    (tmp_path / "valid.json").write_text(json.dumps(rows))
    random.seed(1234)
    order = list(range(6))
    random.shuffle(order)
    assert [r["question_id"] for r in published_sample(tmp_path / "valid.json", 4)] == order[:4]
    rep = main(["--features", str(tmp_path / "feats"), "--vqa-valid", str(tmp_path / "valid.json"), "--limit", "2",
                "--protocol", "published", "--out", str(tmp_path / "out.md")])
    assert rep.num_questions == 2 and "published" in (tmp_path / "out.md").read_text()


def test_the_command_on_the_shapes_world_offline(capsys):
    rep = main(["--shapes", "1", "--protocol", "published", "--mode", "aopc", "--limit", "1", "--no-progress"])
    assert list(rep.aopc) == ["relevancy"] and rep.del_at_15["relevancy"].shape == (1,)
    assert "AOPC" in capsys.readouterr().out
