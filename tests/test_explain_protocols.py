"""The authors' perturbation protocol and rollout baseline, checked against their published rules."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import result_for

from lxmert_viz import Lxmert, LxmertConfig, Regions, Tokens
from lxmert_viz.analysis.perturbation import _scores, perturbation_benchmark
from lxmert_viz.analysis.protocols import PAPER_FRACTIONS, fractions, removal_counts, score
from lxmert_viz.explain import ALL_METHODS, METHODS, explain
from lxmert_viz.inputs.item import Item

pytestmark = pytest.mark.exactness  # compares numbers computed two ways: scripts/test.sh reruns it on other kernels


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 20, 36, 100])
def test_paper_counts_follow_the_authors_rule(n):
    # their perturbation.py keeps int((1 - step) * N) items at each step
    want = [n - int((1 - step) * n) for step in [0, 0.25, 0.5, 0.75, 0.8, 0.85, 0.9, 0.95, 1]]
    assert removal_counts(n, PAPER_FRACTIONS, "paper") == want
    assert removal_counts(n, fractions("paper"), "paper")[-1] == n and removal_counts(n, [0.0], "paper") == [0]


def test_kit_counts_round_half_up_and_bad_protocol_is_named():
    assert removal_counts(10, fractions("kit", 10), "kit") == list(range(11))
    assert removal_counts(5, [0.5], "kit") == [3]
    with pytest.raises(ValueError, match="protocol must be one of"):
        fractions("vqa")


def test_soft_accuracy_reduces_to_exact_with_one_gold_answer():
    assert score(3, 3, None, "paper") == 1.0 and score(2, 3, None, "paper") == 0.0
    assert score(2, 3, {3: 1.0, 2: 0.3}, "paper") == pytest.approx(0.3)  # VQA: min(1, humans / 3)
    assert score(2, 3, {3: 1.0, 2: 0.3}, "kit") == 0.0, "the kit protocol scores the gold answer only"


def test_deleting_words_is_running_the_shortened_question(seed):
    # float64 on both sides: the two runs differ in padding, so float32 kernels may order sums
    # differently (6.9e-6 apart on an AMD EPYC); in float64 they agree to ~1e-15
    model = Lxmert(LxmertConfig.tiny(initializer_range=0.5)).eval().double()
    ids = [2, 11, 12, 13, 14, 3]
    feats, pos = torch.randn(4, 16), torch.rand(4, 4)
    ex = Item(Tokens(tuple(ids), tuple(f"t{i}" for i in range(6)), (None,) * 6, ()),
                 Regions(pos.numpy(), feats.numpy(), (1, 1)), 0)
    keep = torch.tensor([1, 0, 1, 0, 1, 1])
    got = _scores(model, ex, [(torch.ones(4), keep)], chunk=8, delete_tokens=True)
    short = torch.tensor([[i for i, k in zip(ids, keep) if k]])
    with torch.no_grad():
        want = model(input_ids=short, visual_feats=feats[None].double(),
                     visual_pos=pos[None].double()).question_answering_score
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, want, rtol=0, atol=1e-10)


def test_paper_protocol_runs_every_method(seed):
    model = Lxmert(LxmertConfig.tiny(initializer_range=0.5)).eval()
    g = torch.Generator().manual_seed(0)
    exs = []
    for k in range(3):
        ids = [2] + torch.randint(5, 99, (5,), generator=g).tolist() + [3]
        exs.append(Item(Tokens(tuple(ids), tuple(f"t{i}" for i in range(7)), (None,) * 7, ()),
                           Regions(torch.rand(6, 4, generator=g).numpy(), torch.randn(6, 16, generator=g).numpy(),
                                   (1, 1)), k, gold_scores={k: 1.0, (k + 1) % 7: 0.3}))
    rep = perturbation_benchmark(model, exs, ALL_METHODS, protocol="paper", progress=False)
    assert rep.fractions.tolist() == list(PAPER_FRACTIONS) and rep.meta["protocol"] == "paper"
    for curve in rep.accuracy.values():
        assert len(curve) == 9 and (0 <= curve).all() and (curve <= 1).all()
    assert len({rep.accuracy[(m, "regions", "positive")][0] for m in ALL_METHODS}) == 1, "0 % removed: same input"


def _authors_rollout(a: dict) -> tuple[np.ndarray, np.ndarray]:
    """Chefer et al.'s GeneratorBaselines.generate_rollout, rewritten from its description on head-mean maps."""
    def roll(mats):
        aug = [(m + np.eye(len(m))) / (m + np.eye(len(m))).sum(-1, keepdims=True) for m in mats]
        joint = aug[0]
        for m in aug[1:]:
            joint = m @ joint
        return joint

    x = len(a["l2v"])
    text = list(a["lang"]) + [a["cross_lang"][i] for i in range(x - 1)]
    image = list(a["vis"]) + [a["cross_vis"][i] for i in range(x - 1)]
    r_tt, r_ii = roll(text), roll(image)
    r_ti = r_tt.T @ a["l2v"][-1] @ r_ii
    r_tt = roll(text + [a["cross_lang"][-1]])
    r_tt[0, 0] = 0
    return r_tt, r_ti


def test_chefer_rollout_is_the_authors_baseline(seed):
    model = Lxmert(LxmertConfig.tiny(l_layers=2, r_layers=2, x_layers=2, initializer_range=0.5)).eval()
    ids, feats, pos = torch.tensor([2, 7, 8, 9, 3]), torch.randn(4, 16), torch.rand(4, 4)
    res = result_for(model, ids, feats, pos)
    a = {k: v.double().mean(1).numpy() for k, v in res.attentions.items()}  # (L, Q, K) head means
    want_tt, want_ti = _authors_rollout(a)
    got = explain(res, "chefer_rollout")
    np.testing.assert_allclose(got.lang_lang, want_tt, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got.lang_vis, want_ti, rtol=1e-6, atol=1e-9)
    assert not np.allclose(got.cls_regions(), explain(res, "rollout").cls_regions()), \
        "the kit's two-stream rollout is another variant"
    assert "chefer_rollout" not in METHODS and "chefer_rollout" in ALL_METHODS
