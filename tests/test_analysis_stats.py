"""Statistics per example: against hand computations, `head_stats`, the kit's own single-question
results, and the shapes evaluation's pointing game on the same scenes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lxmert_viz import Regions
from lxmert_viz.analysis import BatchWorker, load_map
from lxmert_viz.analysis.datasets import shapes_dataset
from lxmert_viz.analysis.example import Example
from lxmert_viz.analysis.heads import head_stats
from lxmert_viz.analysis.stats import STATS, StatContext, is_punctuation_token, normalize_answer, resolve, vqa_accuracy
from lxmert_viz.analysis.stats.answers import correctness
from lxmert_viz.inputs.item import Item
from lxmert_viz.inputs.referents import box_iou, referent_region, whole_image_region

pytestmark = pytest.mark.exactness  # compares numbers computed two ways: scripts/test.sh reruns it on other kernels


@pytest.fixture(scope="module")
def kit():
    import lxmert_viz

    torch.set_num_threads(1)
    return lxmert_viz.load()


def test_vqa_soft_accuracy_by_hand():
    ten = lambda n, a="yes": [a] * n + ["no"] * (10 - n)  # noqa: E731
    # leave-one-out over ten annotators: n matches -> n subsets of n-1, 10-n subsets of n
    for n in range(11):
        want = (n * min((n - 1) / 3, 1) + (10 - n) * min(n / 3, 1)) / 10 if n else 0.0
        assert vqa_accuracy("yes", ten(n)) == pytest.approx(want, abs=1e-9)
    assert vqa_accuracy("yes", ten(2)) == pytest.approx(0.6) and vqa_accuracy("yes", ten(3)) == pytest.approx(0.9)
    assert vqa_accuracy("Two", ["2"] * 4 + ["3"] * 6) == pytest.approx(1.0)  # number words as digits
    assert vqa_accuracy("a dog", ["dog"]) == 1.0 and vqa_accuracy("cat", ["dog"]) == 0.0
    assert normalize_answer("Yes!") == "yes" and normalize_answer("3.5") == "3.5" and normalize_answer("the man.") == "man"
    with pytest.raises(ValueError):
        vqa_accuracy("yes", [])


def test_correctness_rules():
    ex = lambda **kw: Example("q", "q?", image="x.png", **kw)  # noqa: E731
    assert correctness("yes", ex(answers=("yes",) * 3 + ("no",) * 7)) == (pytest.approx(0.9), "vqa-soft")
    assert correctness("2", ex(answer_scores={"2": 0.6, "3": 1.0})) == (0.6, "score")
    assert correctness("4", ex(answer_scores={"2": 0.6})) == (0.0, "score")
    assert correctness("Red", ex(answer="red")) == (1.0, "exact")
    assert correctness("red", ex()) == (None, None)


def test_attention_stats_by_hand(result):
    """entropy/max are `head_stats`; sink masses are sums over the named key positions."""
    enc = Item(result.tokens, result.regions, -1)
    ctx = StatContext(kit=None)
    cols = {}
    for name in ("entropy", "max", "sink"):
        cols.update(STATS[name].compute(result, enc, ctx))
    for fam in result.attentions:
        st = head_stats(result, fam)
        np.testing.assert_allclose(cols[f"entropy.{fam}"], st["entropy"].reshape(-1), rtol=1e-6)
        np.testing.assert_allclose(cols[f"max.{fam}"], st["max"].reshape(-1), rtol=1e-6)
    pieces = result.tokens.pieces  # [CLS] what color is the circle ? [SEP]
    assert [p for p in pieces if is_punctuation_token(p)] == ["?"]
    lang = result.attentions["lang"].numpy().astype(np.float64)  # (L, H, T, T)
    np.testing.assert_allclose(cols["mass_cls.lang"], lang[..., 0].mean(-1).reshape(-1), rtol=1e-5)
    np.testing.assert_allclose(cols["mass_sep.lang"], lang[..., -1].mean(-1).reshape(-1), rtol=1e-5)
    np.testing.assert_allclose(cols["mass_punct.lang"], lang[..., pieces.index("?")].mean(-1).reshape(-1), rtol=1e-5)
    assert cols["mass_scene.l2v"] is None  # these regions have no whole-image box
    assert "mass_cls.l2v" not in cols and "mass_scene.lang" not in cols


def test_whole_image_row_and_region_matching(kit):
    ex = next(e for e in shapes_dataset(2) if e.referent is not None)
    regions = kit.extract(ex.image.load())
    assert whole_image_region(regions) == 0 and regions.labels[0] == "scene"
    assert box_iou((0, 0, 2, 2), (0, 0, 2, 2)) == 1.0 and box_iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0
    r = referent_region(regions, box=ex.referent.box)
    assert r > 0 and box_iou(regions.boxes[r], ex.referent.box) > 0.5
    assert referent_region(regions, box=(0, 0, 1, 1)) == -1 and referent_region(regions, region=99) == -1
    shifted = Regions(regions.boxes + 1000, regions.feats, regions.image_size, num_real=regions.num_real)
    assert whole_image_region(shifted) == -1


def test_batched_records_equal_single_questions(kit):
    """The padded batch with one vision pass per image gives what kit.ask gives for each question."""
    exs = list(shapes_dataset(3).take(12))
    worker = BatchWorker(kit, ["answer", "topk", "entropy", "pointing"], maps=12)
    recs = worker.records(list(enumerate(exs)))
    assert len({id(e.regions) for e in worker.encode(exs)}) < len(exs)  # images shared in the batch
    for ex, rec in zip(exs, recs):
        res = kit.ask(ex.image.load(), ex.question)
        assert rec["answer"] == res.answer and rec["topk_answers"] == [a for a, _ in res.answers]
        np.testing.assert_allclose(rec["topk_probs"], [p for _, p in res.answers], atol=1e-5)
        for fam in res.attentions:
            got = load_map(rec, fam, res.num_layers(fam), res.num_heads)
            np.testing.assert_allclose(got.astype(np.float32), res.attentions[fam].numpy(), atol=2e-3)  # float16
            np.testing.assert_allclose(rec[f"entropy.{fam}"], head_stats(res, fam)["entropy"].reshape(-1), atol=1e-4)
        if rec["referent_token"] >= 0:
            row = res.attentions["l2v"][:, :, rec["referent_token"], :].numpy()
            np.testing.assert_allclose(rec["ref_attn.l2v"], row[..., rec["referent_region"]].reshape(-1), atol=1e-5)
    none = BatchWorker(kit, ["answer"], maps=1).records(list(enumerate(exs[:2])))
    assert "maps.l2v" in none[0] and "maps.l2v" not in none[1]


def test_pointing_agrees_with_the_shapes_evaluation(kit):
    """Per-head and head-mean pointing over the referent questions = `pointing_game` on the same scenes."""
    from lxmert_viz.shapes.data import scenes_split
    from lxmert_viz.shapes.evaluate import answer
    from lxmert_viz.shapes.pointing import pointing_game

    n_scenes = 40
    table, qa, _ = scenes_split(kit.tokenizer, n_scenes, 2, style="plain")  # shapes_dataset draws the plain look
    pred, points = answer(kit.model, table, qa, attentions=True)
    game = pointing_game(table, qa, points, kit.tokenizer)
    worker = BatchWorker(kit, ["pointing", "correct"])
    ds = list(enumerate(shapes_dataset(n_scenes)))
    recs = [r for lo in range(0, len(ds), 32) for r in worker.records(ds[lo:lo + 32])]
    assert len(recs) == len(qa.text) and [r["question"] for r in recs] == qa.text
    named = [r for r in recs if r["referent_region"] >= 0]
    assert len(named) == game["questions"] > 50
    top = np.array([r["ref_top1.l2v"] for r in named]).reshape(len(named), -1, worker.shape.heads)  # (n, L, H)
    top_mean = np.array([r["ref_top1_mean.l2v"] for r in named])  # (n, L)
    n_layers = top.shape[1]
    assert top_mean[:, -1].mean() == pytest.approx(game["accuracy"], abs=1e-12)
    for k in range(n_layers):
        assert top_mean[:, k].mean() == pytest.approx(game["by_layer"][f"layer {k}"], abs=1e-12)
        for h in range(top.shape[2]):
            assert top[:, k, h].mean() == pytest.approx(game["by_layer_head"][f"layer {k}, head {h}"], abs=1e-12)
    assert sum(r["correct"] for r in recs) == int((pred == qa.answer).sum())  # same answers right


def test_explain_pointing_matches_explain_all(kit):
    from lxmert_viz.analysis.stats import example_seed
    from lxmert_viz.explain import explain_all

    ex = next(e for e in shapes_dataset(2) if e.referent is not None)
    worker = BatchWorker(kit, ["explain"], methods=("raw", "rollout", "random"))
    [rec] = worker.records([(0, ex)])
    res = kit.ask(ex.image.load(), ex.question)
    maps = explain_all(res, ("raw", "rollout", "random"), seed=example_seed(ex.id))
    for m, e in maps.items():
        row = e.token_to_regions(rec["referent_token"])
        assert rec[f"explain.{m}.ref_rel"] == pytest.approx(row[rec["referent_region"]], abs=1e-5)
        assert rec[f"explain.{m}.ref_top1"] == float(np.argmax(row) == rec["referent_region"])
    assert worker.records([(0, ex)])[0] == rec  # the random baseline is seeded by the id
    no_ref = next(e for e in shapes_dataset(2) if e.referent is None)
    assert worker.records([(1, no_ref)])[0]["explain.raw.ref_top1"] is None


def test_resolve_names_and_errors():
    assert [s.name for s in resolve(None)] == ["answer", "topk", "correct", "entropy", "max", "sink", "pointing"]
    with pytest.raises(KeyError, match="unknown statistic 'entropie'"):
        resolve("entropie")
    with pytest.raises(ValueError, match="named twice"):
        resolve("max,max")
    custom = resolve([lambda result, encoded, ctx: {"n": 1}])
    assert custom[0].columns is None
