"""Gradient relevancy against an independent computation on a 1-layer-per-encoder model.

The reference runs its own hand-written forward from the model's parameters (no lxmert_viz
forward code), gets dA from `.grad` of its own probability tensors, and applies the paper's
equations written out here in numpy.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import result_for

from lxmert_viz import Lxmert, LxmertConfig
from lxmert_viz.explain import explain, normalize_residual

pytestmark = pytest.mark.exactness  # compares numbers computed two ways: scripts/test.sh reruns it on other kernels


def _ln(x, mod):
    return F.layer_norm(x, (x.shape[-1],), mod.weight, mod.bias, 1e-12)


def _attend(att, xq, xkv, mask, store):
    b, n, d = xq.shape
    h = att.num_heads
    e = d // h
    split = lambda t: t.view(b, -1, h, e).transpose(1, 2)  # noqa: E731  (B, H, N, E)
    q, k, v = split(F.linear(xq, att.query.weight, att.query.bias)), split(F.linear(xkv, att.key.weight, att.key.bias)), \
        split(F.linear(xkv, att.value.weight, att.value.bias))
    s = q @ k.transpose(-1, -2) / math.sqrt(e) + mask
    p = torch.softmax(s, -1)
    p.retain_grad()
    store.append(p)
    return (p @ v).transpose(1, 2).reshape(b, n, d)


def _self_block(blk, x, mask, store):
    ctx = _attend(blk.self, x, x, mask, store)
    return _ln(F.linear(ctx, blk.output.dense.weight, blk.output.dense.bias) + x, blk.output.LayerNorm)


def _ffn(inter, out, x):
    h = F.gelu(F.linear(x, inter.dense.weight, inter.dense.bias))
    return _ln(F.linear(h, out.dense.weight, out.dense.bias) + x, out.LayerNorm)


def reference_forward(model, ids, tmask, feats, pos, vmask):
    """Logits and the six families' probability tensors, computed without lxmert_viz's forward."""
    bb = model.lxmert
    emb, enc = bb.embeddings, bb.encoder
    add = lambda m: (1.0 - m[:, None, None, :].float()) * torch.finfo(torch.float32).min  # noqa: E731
    lm, vm = add(tmask), add(vmask)
    x = emb.word_embeddings.weight[ids] + emb.position_embeddings.weight[: ids.shape[1]] + emb.token_type_embeddings.weight[0]
    lang = _ln(x, emb.LayerNorm)
    vf = enc.visn_fc
    vis = (_ln(F.linear(feats, vf.visn_fc.weight, vf.visn_fc.bias), vf.visn_layer_norm)
           + _ln(F.linear(pos, vf.box_fc.weight, vf.box_fc.bias), vf.box_layer_norm)) / 2
    maps = {k: [] for k in ("lang", "vis", "l2v", "v2l", "cross_lang", "cross_vis")}
    for blk in enc.layer:
        lang = _ffn(blk.intermediate, blk.output, _self_block(blk.attention, lang, lm, maps["lang"]))
    for blk in enc.r_layers:
        vis = _ffn(blk.intermediate, blk.output, _self_block(blk.attention, vis, vm, maps["vis"]))
    for blk in enc.x_layers:
        co = blk.visual_attention
        lc = _attend(co.att, lang, vis, vm, maps["l2v"])
        vc = _attend(co.att, vis, lang, lm, maps["v2l"])
        dense = lambda c: F.linear(c, co.output.dense.weight, co.output.dense.bias)  # noqa: E731
        lang, vis = _ln(dense(lc) + lang, co.output.LayerNorm), _ln(dense(vc) + vis, co.output.LayerNorm)
        lang = _self_block(blk.lang_self_att, lang, lm, maps["cross_lang"])
        vis = _self_block(blk.visn_self_att, vis, vm, maps["cross_vis"])
        lang, vis = _ffn(blk.lang_inter, blk.lang_output, lang), _ffn(blk.visn_inter, blk.visn_output, vis)
    pooled = torch.tanh(F.linear(lang[:, 0], bb.pooler.dense.weight, bb.pooler.dense.bias))
    return model.answer_head.logit_fc(pooled), maps


def chefer_by_hand(maps, t_idx, r_idx):
    """The paper's eqs. 5-11 in numpy, on the real rows/columns."""
    def cam(p, qi, ki):
        a = p.detach()[0].numpy()[:, qi][:, :, ki]
        # The last layer's vision side never reaches the answer: no gradient arrives there.
        g = np.zeros_like(a) if p.grad is None else p.grad[0].numpy()[:, qi][:, :, ki]
        return np.maximum(a * g, 0).mean(0)

    def bar(r):
        eye = np.eye(len(r))
        hat = r - eye
        return hat / hat.sum(1, keepdims=True) + eye

    t, r = len(t_idx), len(r_idx)
    R_tt, R_ii, R_ti, R_it = np.eye(t), np.eye(r), np.zeros((t, r)), np.zeros((r, t))
    for p in maps["lang"]:
        a = cam(p, t_idx, t_idx)
        R_tt, R_ti = R_tt + a @ R_tt, R_ti + a @ R_ti
    for p in maps["vis"]:
        a = cam(p, r_idx, r_idx)
        R_ii, R_it = R_ii + a @ R_ii, R_it + a @ R_it
    for x in range(len(maps["l2v"])):
        a_ti, a_it = cam(maps["l2v"][x], t_idx, r_idx), cam(maps["v2l"][x], r_idx, t_idx)
        R_ti, R_tt, R_it, R_ii = (R_ti + bar(R_tt).T @ a_ti @ bar(R_ii), R_tt + a_ti @ R_it,
                                  R_it + bar(R_ii).T @ a_it @ bar(R_tt), R_ii + a_it @ R_ti)
        a = cam(maps["cross_lang"][x], t_idx, t_idx)
        R_tt, R_ti = R_tt + a @ R_tt, R_ti + a @ R_ti
        a = cam(maps["cross_vis"][x], r_idx, r_idx)
        R_ii, R_it = R_ii + a @ R_ii, R_it + a @ R_it
    return {"lang_lang": R_tt, "vis_vis": R_ii, "lang_vis": R_ti, "vis_lang": R_it}


@pytest.mark.parametrize("answer,x_layers", [(None, 1), (3, 1), (None, 2)])
def test_relevancy_matches_independent_computation(seed, answer, x_layers):
    # x_layers=2: the first layer's v2l / vision side reaches the answer, so its rules are used too.
    cfg = LxmertConfig.tiny(l_layers=1, r_layers=1, x_layers=x_layers, initializer_range=0.3)
    model = Lxmert(cfg).eval()
    ids = torch.tensor([[2, 11, 17, 23, 3, 0, 0]])
    tmask = (torch.arange(7) < 5).long()[None]
    feats, pos = torch.randn(1, 6, 16), torch.rand(1, 6, 4)
    vmask = torch.tensor([[1.0, 1, 0, 1, 1, 1]])  # a masked region in the middle
    logits, maps = reference_forward(model, ids, tmask, feats, pos, vmask)
    ref_out = model(input_ids=ids, attention_mask=tmask, visual_feats=feats, visual_pos=pos, visual_attention_mask=vmask)
    torch.testing.assert_close(logits, ref_out.question_answering_score, rtol=0, atol=1e-5)
    target = int(logits.argmax()) if answer is None else answer
    logits[0, target].backward()
    t_idx, r_idx = np.arange(5), np.array([0, 1, 3, 4, 5])
    want = chefer_by_hand(maps, t_idx, r_idx)

    # The same example as a result: 5 tokens (no padding), region 2 dropped from the run.
    res = result_for(model, ids[0, :5], feats[0], pos[0], dropped_regions=[2])
    got = explain(res, "relevancy", model=model, answer=answer)
    assert got.answer == target
    np.testing.assert_array_equal(got.region_index, r_idx)
    np.testing.assert_array_equal(got.token_index, t_idx)
    for name, ref in want.items():
        np.testing.assert_allclose(getattr(got, name), ref, rtol=1e-4, atol=1e-9, err_msg=name)
    # Not a trivially empty map: the answer draws on regions and on words other than [CLS].
    assert got.cls_regions().max() > 1e-6 and got.cls_tokens()[1:].max() > 1e-6
    if x_layers == 2:
        assert np.abs(got.vis_lang).max() > 1e-6  # the v2l rule (eq. 10 with s = regions) contributed


def test_relevancy_works_with_frozen_parameters(seed):
    model = Lxmert(LxmertConfig.tiny(initializer_range=0.3)).eval()
    res = result_for(model, torch.tensor([2, 5, 9, 3]), torch.randn(4, 16), torch.rand(4, 4))
    want = explain(res, "relevancy", model=model)
    for p in model.parameters():
        p.requires_grad_(False)
    got = explain(res, "relevancy", model=model)
    np.testing.assert_allclose(got.lang_vis, want.lang_vis, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(got.lang_lang, want.lang_lang, rtol=1e-6, atol=1e-12)
    assert all(p.grad is None for p in model.parameters())


def test_normalize_residual_rows():
    r = torch.tensor([[1.0, 0.0, 0.0], [0.2, 1.4, 0.2], [0.0, 0.0, 1.0]], dtype=torch.float64)
    got = normalize_residual(r)
    want = torch.tensor([[1.0, 0, 0], [0.25, 1.5, 0.25], [0, 0, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(got, want)  # untouched rows (R - I = 0) stay identity, no NaN
