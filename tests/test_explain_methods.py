"""Explanation methods: a hand-built network whose answer depends on one region, rollout's rows,
raw attention, the random baseline, one forward + one backward, and import hygiene."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import result_for

from lxmert_viz import Lxmert, LxmertConfig, Regions, Tokens
from lxmert_viz.analysis.perturbation import perturbation_benchmark
from lxmert_viz.explain import METHODS, Explanation, explain, explain_all, run_result
from lxmert_viz.inputs.item import Item

pytestmark = pytest.mark.exactness  # compares numbers computed two ways: scripts/test.sh reruns it on other kernels

R = 10  # regions in the hand-built examples: one region per 10 % step


def _zero(*mods):
    for m in mods:
        torch.nn.init.zeros_(m.weight)
        torch.nn.init.zeros_(m.bias)


def one_region_network(seed: int = 0) -> Lxmert:
    """A network in which only regions with non-zero features can reach the answer.

    No box input (box_fc = 0) and no visn_fc bias: a region whose features are all zero embeds to
    exactly 0 (LayerNorm of 0 is 0). The relationship layer passes states through unchanged (value,
    attention output and FFN output weights 0), so it cannot copy one region into another, and the
    co-attention values have no bias, so a zero region brings nothing to the words attending to it.
    Everything else keeps its random weights, so the answer is a non-trivial function of the text
    and of the one region with features.
    """
    torch.manual_seed(seed)
    cfg = LxmertConfig.tiny(l_layers=1, r_layers=1, x_layers=1, initializer_range=0.3, num_qa_labels=5)
    model = Lxmert(cfg).eval()
    enc = model.lxmert.encoder
    with torch.no_grad():
        _zero(enc.visn_fc.box_fc)
        enc.visn_fc.visn_fc.bias.zero_()
        for blk in enc.r_layers:
            _zero(blk.attention.self.value, blk.attention.output.dense, blk.output.dense)
        enc.x_layers[0].visual_attention.att.value.bias.zero_()
    return model


def one_region_example(k: int, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    feats = torch.zeros(1, R, 16)
    feats[0, k] = torch.randn(16, generator=g)
    ids = torch.tensor([[2, *torch.randint(5, 99, (4,), generator=g).tolist(), 3]])
    return {"input_ids": ids, "visual_feats": feats, "visual_pos": torch.rand(1, R, 4, generator=g)}


def test_one_region_network_depends_on_that_region_only():
    model = one_region_network()
    inp = one_region_example(4, seed=1)
    base = model(**inp).question_answering_score
    moved = dict(inp, visual_pos=torch.rand(1, R, 4))  # boxes do not matter
    torch.testing.assert_close(model(**moved).question_answering_score, base, rtol=0, atol=1e-5)
    changed = dict(inp, visual_feats=inp["visual_feats"].clone())
    changed["visual_feats"][0, 4] = torch.randn(16)
    assert (model(**changed).question_answering_score - base).abs().max() > 1e-3


@pytest.mark.parametrize("k", [0, 3, 7, 9])
def test_the_one_region_gets_all_the_relevance(k):
    model = one_region_network()
    inp = one_region_example(k, seed=k)
    ex = explain(result_for(model, inp["input_ids"], inp["visual_feats"], inp["visual_pos"]), "relevancy", model=model)
    rel = ex.cls_regions()
    assert int(np.argmax(rel)) == k
    assert rel[k] > 1e-3
    assert np.abs(np.delete(rel, k)).max() < 1e-9  # zero regions have exactly zero relevance
    assert np.abs(np.delete(ex.lang_vis, k, axis=1)).max() < 1e-9  # for every token, not only [CLS]


def test_random_does_not_beat_relevancy_on_the_one_region_network():
    model = one_region_network()
    examples = []
    for s in range(60):  # keep questions whose answer changes without their region
        if len(examples) == 10:
            break
        k = s % R
        inp = one_region_example(k, seed=100 + s)
        top = int(model(**inp).question_answering_score.argmax())
        vm = torch.ones(1, R)
        vm[0, k] = 0
        if int(model(**inp, visual_attention_mask=vm).question_answering_score.argmax()) != top:
            res = result_for(model, inp["input_ids"], inp["visual_feats"], inp["visual_pos"])
            examples.append(Item(res.tokens, res.regions, top))
    assert len(examples) >= 8
    rep = perturbation_benchmark(model, examples, methods=("relevancy", "random"), modalities=("regions",))
    rel_pos = rep.accuracy[("relevancy", "regions", "positive")]
    assert rel_pos[0] == 1.0 and rel_pos[1] == 0.0  # the first region removed is the one that matters
    assert rep.auc("relevancy", "regions", "positive") < rep.auc("random", "regions", "positive")
    assert rep.auc("relevancy", "regions", "negative") > rep.auc("random", "regions", "negative")


def _padded_inputs():
    ids = torch.tensor([[2, 7, 8, 9, 3, 0], [2, 11, 3, 0, 0, 0]])
    return {"input_ids": ids, "attention_mask": (ids > 0).long(), "visual_feats": torch.randn(2, 5, 16),
            "visual_pos": torch.rand(2, 5, 4), "visual_attention_mask": torch.tensor([[1.0, 1, 1, 1, 1], [1, 0, 1, 1, 0]])}


def _two_results(model, need_grads=False):
    """The two examples of `_padded_inputs` as results: example 1 keeps 3 tokens and regions 0, 2, 3."""
    inp = _padded_inputs()
    full = result_for(model, inp["input_ids"][0, :5], inp["visual_feats"][0], inp["visual_pos"][0], need_grads=need_grads)
    part = result_for(model, inp["input_ids"][1, :3], inp["visual_feats"][1], inp["visual_pos"][1],
                      dropped_regions=[1, 4], need_grads=need_grads)
    return inp, [full, part]


@pytest.mark.parametrize("x_layers", [0, 1, 2])
def test_rollout_rows_are_distributions(seed, x_layers):
    model = Lxmert(LxmertConfig.tiny(x_layers=x_layers, initializer_range=0.5))
    for res in _two_results(model)[1]:
        e = explain(res, "rollout")
        for m in (e.lang_lang, e.vis_vis, e.lang_vis, e.vis_lang):
            assert m.min() >= 0
        np.testing.assert_allclose(np.hstack([e.lang_lang, e.lang_vis]).sum(1), 1.0, atol=1e-12)
        np.testing.assert_allclose(np.hstack([e.vis_lang, e.vis_vis]).sum(1), 1.0, atol=1e-12)
        if x_layers == 0:  # no mixing yet: each stream alone is row-stochastic
            np.testing.assert_allclose(e.lang_lang.sum(1), 1.0, atol=1e-12)
            assert np.abs(e.lang_vis).max() == 0
        else:
            assert e.lang_vis.sum(1).min() > 0.01  # cross layers bring the regions in


def test_rollout_by_hand_one_layer_each(seed):
    model = Lxmert(LxmertConfig.tiny(l_layers=1, r_layers=1, x_layers=1, initializer_range=0.5)).eval()
    inp = {"input_ids": torch.tensor([[2, 7, 8, 3]]), "visual_feats": torch.randn(1, 3, 16), "visual_pos": torch.rand(1, 3, 4)}
    with torch.no_grad():
        a = {k: v[0, 0].mean(0).double().numpy() for k, v in model(**inp).attentions.items()}  # (Q, K) head means
    hat = lambda m: 0.5 * (m + np.eye(len(m)))  # noqa: E731
    tt, ii = hat(a["lang"]), hat(a["vis"])
    ti, it = np.zeros((4, 3)), np.zeros((3, 4))
    tt, ti, ii, it = 0.5 * tt + 0.5 * a["l2v"] @ it, 0.5 * ti + 0.5 * a["l2v"] @ ii, \
        0.5 * ii + 0.5 * a["v2l"] @ ti, 0.5 * it + 0.5 * a["v2l"] @ tt
    tt, ti = hat(a["cross_lang"]) @ tt, hat(a["cross_lang"]) @ ti
    ii, it = hat(a["cross_vis"]) @ ii, hat(a["cross_vis"]) @ it
    got = explain(result_for(model, inp["input_ids"], inp["visual_feats"], inp["visual_pos"]), "rollout")
    for name, want in (("lang_lang", tt), ("lang_vis", ti), ("vis_vis", ii), ("vis_lang", it)):
        np.testing.assert_allclose(getattr(got, name), want, rtol=1e-5, atol=1e-7, err_msg=name)


def test_raw_is_last_cross_layer_head_mean(seed):
    model = Lxmert(LxmertConfig.tiny(initializer_range=0.5)).eval()
    inp, (_, part) = _two_results(model)
    with torch.no_grad():
        out = model(**inp)  # the padded batch: example 1 has 3 tokens and regions 0, 2, 3
    got = explain(part, "raw")
    r = [0, 2, 3]
    want_ti = out.attentions["l2v"][1, -1].mean(0)[:3][:, r]
    np.testing.assert_allclose(got.lang_vis, want_ti.numpy(), rtol=1e-5)
    np.testing.assert_allclose(got.vis_lang, out.attentions["v2l"][1, -1].mean(0)[r][:, :3].numpy(), rtol=1e-5)
    np.testing.assert_allclose(got.lang_lang, out.attentions["cross_lang"][1, -1].mean(0)[:3, :3].numpy(), rtol=1e-5)
    np.testing.assert_array_equal(got.region_index, r)
    assert got.cls_regions().shape == (3,) and got.cls_tokens().shape == (3,)


def test_random_baseline_is_seeded(seed):
    model = Lxmert(LxmertConfig.tiny())
    res = _two_results(model)[1][0]
    a, b = explain(res, "random", seed=3), explain(res, "random", seed=3)
    c = explain(res, "random", seed=4)
    np.testing.assert_array_equal(a.lang_vis, b.lang_vis)
    assert not np.allclose(a.lang_vis, c.lang_vis)
    assert a.meta["seed"] == 3


def test_one_forward_and_one_backward_for_all_methods(seed, monkeypatch):
    """A result run with its gradients serves every method: no further pass."""
    model = Lxmert(LxmertConfig.tiny(initializer_range=0.5))
    forwards, backwards, grads = [], [], []
    model.register_forward_hook(lambda *a: forwards.append(1))

    def head_hook(mod, args, out):
        if out.requires_grad:
            out.register_hook(lambda g: backwards.append(1))
    model.answer_head.register_forward_hook(head_hook)
    real_grad = torch.autograd.grad
    monkeypatch.setattr(torch.autograd, "grad", lambda *a, **k: grads.append(1) or real_grad(*a, **k))
    model.train()
    inp = _padded_inputs()
    res = result_for(model, inp["input_ids"][0, :5], inp["visual_feats"][0], inp["visual_pos"][0], need_grads=True)
    maps = explain_all(res, METHODS)
    assert (len(forwards), len(backwards), len(grads)) == (1, 1, 1)
    assert model.training  # the caller's mode is restored
    assert set(maps) == set(METHODS)
    assert all(p.grad is None for p in model.parameters())  # nothing accumulated in .grad
    explain_all(result_for(model, inp["input_ids"][0, :5], inp["visual_feats"][0], inp["visual_pos"][0]), METHODS,
                model=model)
    assert (len(forwards), len(grads)) == (3, 2), "a result without gradients costs one more pass, for relevancy"


def test_explain_is_deterministic_in_eval_even_from_train_mode(seed):
    model = Lxmert(LxmertConfig.tiny(initializer_range=0.5)).train()  # dropout 0.1 in train mode
    res = _two_results(model)[1][0]
    a, b = explain(res, "relevancy", model=model), explain(res, "relevancy", model=model)
    np.testing.assert_array_equal(a.lang_vis, b.lang_vis)


def test_explanation_helpers_and_checks(seed):
    model = Lxmert(LxmertConfig.tiny(initializer_range=0.5))
    res = _two_results(model)[1][0]
    e = explain(res, "relevancy", model=model, answer=2)
    assert e.answer == 2 and e.method == "relevancy"
    np.testing.assert_array_equal(e.token_to_regions(-1), e.lang_vis[-1])
    np.testing.assert_array_equal(e.region_to_tokens(1), e.vis_lang[1])
    np.testing.assert_array_equal(e.matrix("vis", "lang"), e.vis_lang)
    with pytest.raises(IndexError):
        e.token_to_regions(5)
    with pytest.raises(ValueError, match="lang_vis"):
        Explanation("raw", 0, e.lang_lang, e.vis_vis, e.lang_vis[:, :2], e.vis_lang, e.token_index, e.region_index)
    with pytest.raises(ValueError, match="needs model="):
        explain(res, "relevancy")
    with pytest.raises(ValueError, match="unknown method"):
        explain(res, "saliency")
    with pytest.raises(ValueError, match="out of range"):
        explain(res, "relevancy", model=model, answer=99)


def test_explain_imports_no_rendering_package():
    code = ("import sys, lxmert_viz.explain, lxmert_viz.analysis.perturbation; "
            "bad = [m for m in ('matplotlib', 'plotly', 'ipywidgets') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_explain_lines_up_with_the_result_and_takes_answers_by_name(seed):
    from lxmert_viz import Answers, Result

    model = Lxmert(LxmertConfig.tiny(initializer_range=0.5)).eval()
    tokens = Tokens((2, 14, 27, 3), ("[CLS]", "what", "color", "[SEP]"), (None, 0, 1, None), ("what", "color"))
    regions = Regions(np.random.rand(5, 4).astype("f4") * 50, np.random.randn(5, 16).astype("f4"), (64, 64), num_real=3)
    inp = {"input_ids": torch.tensor([list(tokens.ids)]), "visual_feats": torch.as_tensor(regions.feats)[None],
           "visual_pos": torch.as_tensor(regions.boxes_norm)[None], "visual_attention_mask": torch.as_tensor(regions.mask)[None]}
    with torch.no_grad():
        res = Result.from_output(model(**inp), 0, "what color", tokens, regions)  # padded run: 5 rows, 3 real
    ans = Answers([f"a{i}" for i in range(7)])
    got = explain(res, "relevancy", model=model, answer="a4", answers=ans)
    want = explain(run_result(model, tokens, regions, need_grads=True, answer=4), "relevancy")
    assert got.lang_vis.shape == (4, 3) and got.answer == 4  # the Result's real regions only
    np.testing.assert_allclose(got.lang_vis, want.lang_vis, rtol=1e-6)
    with pytest.raises(ValueError, match="answers="):
        explain(res, "relevancy", model=model, answer="a4")
