"""Live masking: dropping through the attention masks equals removing the input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lxmert_viz import Lxmert, LxmertConfig, Regions, Tokens
from lxmert_viz.explain import ask_masked, masked_inputs

pytestmark = pytest.mark.exactness  # compares numbers computed two ways: scripts/test.sh reruns it on other kernels


@pytest.fixture
def model(seed):
    return Lxmert(LxmertConfig.tiny(initializer_range=0.5)).eval()


def _inputs(r=6, t=6):
    ids = torch.tensor([[2, 14, 27, 31, 40, 3][:t]])
    return {"input_ids": ids, "visual_feats": torch.randn(1, r, 16), "visual_pos": torch.rand(1, r, 4)}


@pytest.mark.parametrize("k", [0, 2, 5])
def test_masking_a_region_equals_deleting_it(model, k):
    inp = _inputs()
    run = ask_masked(model, inp, drop_regions=[k])
    keep = [i for i in range(6) if i != k]
    with torch.no_grad():
        ref = model(input_ids=inp["input_ids"], visual_feats=inp["visual_feats"][:, keep],
                    visual_pos=inp["visual_pos"][:, keep])
    out = run.output
    tol = dict(rtol=0, atol=1e-5)
    torch.testing.assert_close(out.question_answering_score, ref.question_answering_score, **tol)
    for a, b in zip(out.lang_hidden, ref.lang_hidden):
        torch.testing.assert_close(a, b, **tol)
    for a, b in zip(out.vis_hidden, ref.vis_hidden):
        torch.testing.assert_close(a[:, keep], b, **tol)
    torch.testing.assert_close(out.attentions["l2v"][..., keep], ref.attentions["l2v"], **tol)
    torch.testing.assert_close(out.attentions["v2l"][:, :, :, keep], ref.attentions["v2l"], **tol)
    torch.testing.assert_close(out.attentions["cross_vis"][..., keep, :][..., keep], ref.attentions["cross_vis"], **tol)
    assert out.attentions["l2v"][..., k].max() < 1e-12  # nobody looks at the dropped region
    # and the drop did change something, so the comparison above is not vacuous
    with torch.no_grad():
        full = model(**inp).question_answering_score
    assert (full - out.question_answering_score).abs().max() > 1e-4


def test_masking_the_last_token_equals_deleting_it(model):
    # Deleting a middle token would shift the position embeddings of the rest; the last one is clean.
    inp = _inputs()
    run = ask_masked(model, inp, drop_tokens=[5])
    with torch.no_grad():
        ref = model(input_ids=torch.tensor([[2, 14, 27, 31, 40]]), visual_feats=inp["visual_feats"],
                    visual_pos=inp["visual_pos"])
    keep = [0, 1, 2, 3, 4]
    torch.testing.assert_close(run.output.question_answering_score, ref.question_answering_score, rtol=0, atol=1e-5)
    for a, b in zip(run.output.vis_hidden, ref.vis_hidden):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    for a, b in zip(run.output.lang_hidden, ref.lang_hidden):
        torch.testing.assert_close(a[:, keep], b[:, keep], rtol=0, atol=1e-5)
    assert run.dropped_tokens == [5]


def test_masked_inputs_copies_and_validates():
    inp = _inputs()
    inp["visual_attention_mask"] = torch.tensor([[1.0, 1, 1, 1, 0, 0]])
    kw, regs, toks = masked_inputs(inp, drop_regions=[-3, 1, 1], drop_tokens=[2])
    assert regs == [1, 3] and toks == [2]
    assert kw["visual_attention_mask"].tolist() == [[1, 0, 1, 0, 0, 0]]
    assert kw["attention_mask"].tolist() == [[1, 1, 0, 1, 1, 1]]
    assert inp["visual_attention_mask"].tolist() == [[1, 1, 1, 1, 0, 0]]  # the caller's mask is untouched
    with pytest.raises(IndexError):
        masked_inputs(inp, drop_regions=[6])
    with pytest.raises(TypeError, match="tokens="):
        masked_inputs(inp, drop_tokens=["circle"])


def test_ask_masked_builds_a_result_that_keeps_dropped_regions(model):
    inp = _inputs(r=5)
    tokens = Tokens((2, 14, 27, 31, 40, 3), ("[CLS]", "what", "color", "is", "circle", "[SEP]"),
                    (None, 0, 1, 2, 3, None), ("what", "color", "is", "circle"))
    regions = Regions(np.array([[0, 0, 10, 10]] * 5, "f4"), inp["visual_feats"][0].numpy(), (64, 64))
    run = ask_masked(model, inp, drop_regions=[1], drop_tokens=["circle"], tokens=tokens, regions=regions,
                     question="what color is circle")
    res = run.result
    assert res.dropped_regions == (1,) and res.dropped_tokens == (4,)
    assert res.attentions["l2v"].shape[-1] == 5  # the dropped region stays, with ~0 attention
    assert res.attn("l2v")[:, 1].max() < 1e-12
    assert res.attn("cross_lang")[:, 4].max() < 1e-12
    assert res.attn("l2v")[:, 0].max() > 1e-3
    assert ask_masked(model, inp, drop_regions=[1]).result is None
