"""Faithfulness curves against a hand computation: the joint ranking, the rows kept, one run per
point, the softmax probability of the answer; Del@k / Ins@k / AUC / AOPC from the curves."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from lxmert_viz.analysis import shapes_examples
from lxmert_viz.explain import explain
from lxmert_viz.explain.faithfulness import faithfulness, keep_regions, keep_tokens, rank_methods
from lxmert_viz.explain.top_answers import relevancy_top_k, top_answers
from lxmert_viz.output_heads.masked_words import BLIND
from lxmert_viz.run import Row, run
from lxmert_viz.viz.findings import faithfulness_figure


@pytest.fixture(scope="module")
def example(kit):
    torch.set_num_threads(1)
    items = list(shapes_examples(kit, 2))
    item = next(i for i in items if i.regions.num_real >= 4)
    res = run(kit.model, [item], grads=True).result(0)
    return item, explain(res, "relevancy", model=kit.model)


def _prob(model, item, toks, regs, answer):
    if not regs:  # no region: one region and BLIND (what zero regions compute)
        row = Row(item.__class__(keep_tokens(item.tokens, toks), keep_regions(item.regions, [0])), intervention=BLIND)
    else:
        row = Row(item.__class__(keep_tokens(item.tokens, toks), keep_regions(item.regions, regs)))
    return float(torch.softmax(run(model, [row], maps=False).logits()[0].double(), -1)[answer])


def test_curves_equal_a_hand_computation(kit, example):
    item, e = example
    fr = [0.0, 0.15, 0.5, 1.0]
    f = faithfulness(kit.model, item, e, fr, k=0.15)
    t, r = len(item.tokens), item.regions.num_real
    # Hand: min-max each [CLS] row, tokens 1..T-2 then regions, sorted by relevance (stable).
    tok = e.cls_tokens()[1:-1]
    reg = e.cls_regions()
    rel = np.concatenate([(tok - tok.min()) / (tok.max() - tok.min()), (reg - reg.min()) / (reg.max() - reg.min())])
    pool = [("t", i) for i in range(1, t - 1)] + [("r", i) for i in range(r)]
    order = [pool[i] for i in np.argsort(-rel, kind="stable")]
    n = len(order)
    dele, ins = [], []
    for x in fr:
        taken = order[:n - int((1 - x) * n)]
        gone_t = {i for k, i in taken if k == "t"}
        gone_r = {i for k, i in taken if k == "r"}
        dele.append(_prob(kit.model, item, [i for i in range(t) if i not in gone_t],
                          [i for i in range(r) if i not in gone_r], e.answer))
        ins.append(_prob(kit.model, item, sorted({0, t - 1} | gone_t), sorted(gone_r), e.answer))
    # float32 passes in batches of different padded shape: probabilities agree to ~1e-6
    np.testing.assert_allclose(f.deletion, dele, atol=2e-5)
    np.testing.assert_allclose(f.insertion, ins, atol=2e-5)
    assert f.num_inputs == n == t - 2 + r
    assert f.del_at_k == f.deletion[1] and f.ins_at_k == f.insertion[1]
    assert f.deletion_auc == pytest.approx(np.trapezoid(f.deletion, fr))
    assert f.insertion_auc == pytest.approx(np.trapezoid(f.insertion, fr))
    assert f.aopc == pytest.approx(np.mean(f.deletion[0] - f.deletion[1:]))
    assert "Del@15%" in f.line()


def test_no_region_is_blind_whatever_region_is_kept(kit, example):
    item, _ = example
    a = run(kit.model, [Row(item.__class__(item.tokens, keep_regions(item.regions, [0])), intervention=BLIND)],
            maps=False).logits()
    b = run(kit.model, [Row(item.__class__(item.tokens, keep_regions(item.regions, [2])), intervention=BLIND)],
            maps=False).logits()
    torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


def test_rank_methods_orders_by_insertion_minus_deletion(kit):
    torch.set_num_threads(1)
    rank = rank_methods(kit.model, shapes_examples(kit, 1), ("raw", "random"), fractions=(0, 0.5, 1), limit=2)
    rows = rank.ranked()
    assert [r[3] for r in rows] == [1, 2]
    assert rows[0][1] >= rows[1][1] and len(rank.deletion_auc["raw"]) == 2
    assert "deletion AUC" in rank.table()


@pytest.mark.exactness
def test_top_k_relevancy_in_one_backward_equals_k_single_runs(kit, example):
    """In float64 the batched rows give the single runs' relevancy to 1e-12 (each row's gradient is
    its own answer's: rows do not interact); in float32 only the kernels' rounding differs."""
    item, _ = example
    for dtype, atol in ((torch.float64, 1e-12), (torch.float32, None)):
        model = copy.deepcopy(kit.model).to(dtype)
        got = relevancy_top_k(model, item, k=4)
        assert [e.answer for e in got] == top_answers(model, item, 4)
        for e in got:
            single = explain(run(model, [Row(item, answer=e.answer)], grads=True).result(0), "relevancy")
            for name in ("lang_lang", "lang_vis", "vis_vis", "vis_lang"):
                a, b = getattr(e, name), getattr(single, name)
                # float32: a batch of 4 and a batch of 1 round differently (~1e-7 relative per op);
                # through 16 maps and their gradients that stays below 1e-4 of the matrix's scale.
                tol = atol if atol is not None else 1e-4 * max(1.0, float(np.abs(b).max()))
                np.testing.assert_allclose(a, b, rtol=0, atol=tol, err_msg=f"{dtype} {name} answer {e.answer}")


def test_faithfulness_figure_draws_both_curves(kit, example):
    pytest.importorskip("matplotlib")
    item, e = example
    f = faithfulness(kit.model, item, e, (0, 0.5, 1))
    lines = faithfulness_figure(f).axes[0].lines
    np.testing.assert_array_equal(lines[0].get_ydata(), f.deletion)
    np.testing.assert_array_equal(lines[1].get_ydata(), f.insertion)
