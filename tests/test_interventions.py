"""Head ablation, head ranking and activation patching on the embedded model (offline)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lxmert_viz.inputs.model_inputs import model_inputs
from lxmert_viz.interventions import (
    as_item,
    ask_ablated,
    hook_names_of_stream,
    parse_heads,
    patch,
    patch_sweep,
    rank_heads,
    run_ablated,
)
from lxmert_viz.interventions.patching import _patch_rows
from lxmert_viz.model.hooks import hook_points


def item_inputs(model, item, rows: int = 1) -> dict:
    """The model keyword arguments of ``item`` built by hand (not through the door), repeated over rows."""
    kw = model_inputs(item.tokens, item.regions, model.dtype, model.device)
    return {k: v.expand(rows, *v.shape[1:]) for k, v in kw.items()}

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.exactness]  # exactness: scripts/test.sh reruns it on other kernels
# float32 tolerance, derived: eps (1.2e-7) x sqrt(reduction length, <= 256 here: 16) x |values| (<= ~5 in
# these tiny models) = 1e-5; it holds with ATEN_CPU_CAPABILITY=default and 1 thread (scripts/test.sh runs both)
ATOL = 1e-5
Q = "what color is the circle?"


@pytest.fixture(scope="module")
def pair(circle_scenes):
    """Scene 0 with a red circle, and as drawn (black circle)."""
    return circle_scenes[1], circle_scenes[0]


def _logits(kit, item):
    with torch.no_grad():
        return kit.model(**item_inputs(kit.model, item)).question_answering_score[0]


# -- patching ---------------------------------------------------------------------------------------
def test_patching_a_run_with_itself_changes_nothing(kit, pair):
    """Every hook point a patch can use (all hidden states, every family's .z), one batch."""
    item = as_item(kit, (pair[0], Q))
    sites = [n for n in hook_points(kit.model) if n.startswith("hidden.") or n.endswith(".z")]
    plan = [(s, list(range(len(item.tokens) if s.split(".")[0] in ("lang", "l2v", "cross_lang") or
                               s.startswith("hidden.lang") else item.regions.num_real)), None) for s in sites]
    src, rows = _patch_rows(kit.model, item, item, plan)
    # logits reach ~25: a batch of one (the source) and of 30 rows round fp32 differently (rel. ~1e-6)
    torch.testing.assert_close(rows, src.expand_as(rows), atol=ATOL, rtol=1e-6)
    # softmax moves no probability by more than 2 * max |logit change| (its Jacobian's inf-norm <= 2p)
    dz = float((rows - src).abs().max())
    torch.testing.assert_close(rows.softmax(-1), src.softmax(-1).expand_as(rows), atol=2 * dz + 1e-7, rtol=0)
    sweep = kit.patch_sweep((pair[0], Q), (pair[0], Q), per_position=True)
    assert sweep.same_answer and all(np.isnan(sweep.effect[s]).all() for s in sweep.streams)
    p = torch.softmax(_logits(kit, item), -1).max().item()
    for s in sweep.streams:
        np.testing.assert_allclose(sweep.prob_source[s], p, atol=ATOL)


def test_last_language_state_from_a_gives_a_answer(kit, pair):
    a, b = (pair[0], Q), (pair[1], Q)
    last = hook_names_of_stream(kit.model, "lang")[-1]
    p = kit.patch(a, b, last)
    assert p.source_answer == "red" and p.target_answer == "black"  # the runs disagree
    assert p.answer == p.source_answer
    torch.testing.assert_close(p.patched_logits, p.source_logits, atol=ATOL, rtol=0)
    assert p.effect == pytest.approx(1.0, abs=1e-5)
    # and also across two different questions of the same length on one image
    q = patch(kit, (pair[1], "what color is the triangle?"), b, last)
    assert q.answer == q.source_answer == "teal" and q.target_answer == "black"


def test_patch_matches_a_hand_written_hook(kit, pair):
    """Patching region 1 at hidden.vis.2 is the same as a forward with that row swapped in by hand."""
    from lxmert_viz.model.hooks import run_with_cache, run_with_hooks

    a, b = as_item(kit, (pair[0], Q)), as_item(kit, (pair[1], Q))
    _, cache = run_with_cache(kit.model, item_inputs(kit.model, a), ["hidden.vis.2"])

    def swap(v, _name):
        v = v.clone()
        v[:, 1] = cache["hidden.vis.2"][:, 1]
        return v

    want = run_with_hooks(kit.model, item_inputs(kit.model, b), {"hidden.vis.2": swap}).question_answering_score[0]
    p = kit.patch((pair[0], Q), (pair[1], Q), "hidden.vis.2", positions=[1])
    torch.testing.assert_close(p.patched_logits, want, atol=ATOL, rtol=0)
    assert p.positions == [1] and p.answer == "red"


def test_sweep_rows_equal_single_patches(kit, pair):
    a, b = (pair[0], Q), (pair[1], Q)
    sweep = patch_sweep(kit, a, b)
    assert sweep.stages["vis"] == ["emb", "vis1", "vis2", "cross1", "cross2", "cross3"]
    for stream in ("lang", "vis"):
        for k, site in enumerate(hook_names_of_stream(kit.model, stream)):
            one = patch(kit, a, b, site)
            assert sweep.answers[stream][k] == one.answer
            assert sweep.effect[stream][k] == pytest.approx(one.effect, abs=1e-4)
    # identical questions: the language stream before the cross layers is the same in both runs
    np.testing.assert_allclose(sweep.effect["lang"][: 1 + kit.model.config.l_layers], 0.0, atol=1e-5)


def test_head_output_patch_and_bad_sites(kit, pair):
    a, b = (pair[0], Q), (pair[1], Q)
    p = kit.patch(a, b, "l2v.0.z", heads=[0, 1])
    assert p.heads == [0, 1] and p.site == "l2v.0.z"
    assert kit.patch(a, b, "l2v.0.z", heads=[0, -3, 1]).heads == [0, 1]
    with pytest.raises(IndexError, match=r"heads \[4\] are out of range for 4 heads"):
        kit.patch(a, b, "l2v.0.z", heads=[0, 4])
    with pytest.raises(ValueError, match=r"heads= applies to head outputs"):
        kit.patch(a, b, "hidden.lang.2", heads=[0])
    with pytest.raises(KeyError, match=r"no hook point 'hidden\.lang\.9'"):
        kit.patch(a, b, "hidden.lang.9")
    with pytest.raises(ValueError, match=r"patch sites are hidden states"):
        kit.patch(a, b, "l2v.0.pattern")
    with pytest.raises(ValueError, match=r"same number of tokens in both runs: source has 8, target 7"):
        kit.patch(a, (pair[1], "what shape is red?"), "hidden.lang.3")
    with pytest.raises(IndexError, match=r"position 9 is out of range for hidden\.vis\.1"):
        kit.patch(a, b, "hidden.vis.1", positions=[9])


# -- ablation -----------------------------------------------------------------------------------------
def test_parse_heads(kit):
    cfg = kit.model.config
    assert parse_heads(("v2l", -1, -1), cfg) == [("v2l", 2, 3)]
    assert parse_heads(["lang.1.2", ("lang", 1, 2)], cfg) == [("lang", 1, 2)]
    with pytest.raises(KeyError, match=r"unknown attention family 'x2v'"):
        parse_heads([("x2v", 0, 0)], cfg)
    with pytest.raises(IndexError, match=r"lang has 2 layers; layer 2"):
        parse_heads([("lang", 2, 0)], cfg)
    with pytest.raises(IndexError, match=r"has 4 heads; head 4"):
        parse_heads([("l2v", 0, 4)], cfg)
    with pytest.raises(ValueError, match=r"\(family, layer, head\)"):
        parse_heads(["l2v.0"], cfg)


def test_per_row_ablation_equals_separate_runs(kit, pair):
    item = as_item(kit, (pair[0], Q))
    rows = [[], [("l2v", 2, 1)], [("lang", 0, "all"), ("cross_vis", 1, 3)], [("vis", 1, 0)]]
    batched = run_ablated(kit.model, item_inputs(kit.model, item, len(rows)), rows, per_row=True)
    for b, heads in enumerate(rows):
        alone = run_ablated(kit.model, item_inputs(kit.model, item), heads)
        torch.testing.assert_close(batched.question_answering_score[b], alone.question_answering_score[0],
                                   atol=ATOL, rtol=0)
    torch.testing.assert_close(batched.question_answering_score[0], _logits(kit, item), atol=ATOL, rtol=0)


def test_without_any_l2v_head_the_answer_ignores_the_image(kit, pair):
    """The language stream reads the image only through l2v: with every l2v head removed, two
    images that the full model tells apart give the same answer logits."""
    heads = [("l2v", layer, "all") for layer in range(kit.model.config.x_layers)]
    a, b = ask_ablated(kit, pair[0], Q, heads), ask_ablated(kit, pair[1], Q, heads)
    assert a.clean.answer == "red" and b.clean.answer == "black"
    torch.testing.assert_close(a.ablated.logits, b.ablated.logits, atol=ATOL, rtol=0)
    assert list(a.ablated.intervention.heads) == parse_heads(heads, kit.model.config)
    assert a.clean.intervention is None and a.ablated.intervention.kind == "ablation"
    assert a.answer_changed and 0 < a.prob_drop <= 1


def test_rank_heads_matches_one_head_at_a_time(kit, pair):
    from lxmert_viz.analysis.items import shapes_examples

    items = [(pair[0], Q), (pair[1], Q, "black")]
    r = rank_heads(kit, items, families=["l2v", "cross_lang"], batch_size=7)
    assert r.per_question.shape == (2, 2 * 3 * 4) and r.correct is None  # one item has no gold answer
    i = r.heads.index(("l2v", 2, 1))
    for q, it in enumerate(items):
        item = as_item(kit, it)
        clean = torch.softmax(_logits(kit, item), -1)
        cut = torch.softmax(run_ablated(kit.model, item_inputs(kit.model, item), [("l2v", 2, 1)])
                            .question_answering_score[0], -1)
        ref = int(clean.argmax())
        assert r.per_question[q, i] == pytest.approx(float(clean[ref] - cut[ref]), abs=1e-5)
    ranked = r.ranked()
    assert ranked[0][3] == max(v for *_, v in ranked)
    assert r.grid("l2v").shape == (3, 4)
    with pytest.raises(ValueError, match="accuracy needs gold answers"):
        r.measure("accuracy")
    with_gold = rank_heads(kit, shapes_examples(kit, n_scenes=2), families=["lang"], limit=3)
    assert with_gold.num_questions == 3 and with_gold.measure("accuracy").shape == (8,)
    with pytest.raises(ValueError, match="no questions"):
        rank_heads(kit, [], families=["lang"])
    with pytest.raises(TypeError, match=r"expected an Item, \(image, question\)"):
        rank_heads(kit, ["what color is the circle?"], families=["lang"])
