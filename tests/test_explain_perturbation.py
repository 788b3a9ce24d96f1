"""Perturbation benchmark: orders, counts, AUC, masks that keep [CLS]/[SEP], data sources, runner."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from lxmert_viz import Answers, Lxmert, LxmertConfig, Regions, Tokenizer, Tokens
from lxmert_viz.analysis.items import examples_from_files, shapes_examples
from lxmert_viz.analysis.perturbation import (
    _variants,
    auc,
    main,
    perturbation_benchmark,
    removal_counts,
    removal_order,
    write_markdown,
)
from lxmert_viz.explain import explain_all, run_result
from lxmert_viz.inputs.item import Item


def test_auc_is_the_trapezoid():
    f = np.linspace(0, 1, 11)
    assert auc(f, np.ones(11)) == pytest.approx(1.0)
    assert auc(f, f) == pytest.approx(0.5)
    assert auc(f, np.r_[1.0, np.zeros(10)]) == pytest.approx(0.05)


def test_removal_order_and_counts():
    rng = np.random.default_rng(0)
    rel = np.array([0.1, 0.9, 0.5, 0.0])
    assert removal_order(rel, "positive", rng).tolist() == [1, 2, 0, 3]
    assert removal_order(rel, "negative", rng).tolist() == [3, 0, 2, 1]
    ties = {tuple(removal_order(np.zeros(5), "positive", rng)) for _ in range(20)}
    assert len(ties) > 1  # ties break at random, not by position
    with pytest.raises(ValueError):
        removal_order(rel, "sideways", rng)
    c = removal_counts(7, np.linspace(0, 1, 11))
    assert c[0] == 0 and c[-1] == 7 and all(a <= b for a, b in zip(c, c[1:]))
    assert removal_counts(10, np.linspace(0, 1, 11)) == list(range(11))


def _tiny_examples(n=4, t=6, r=6, seed=0):
    """``[CLS] … [SEP]`` questions of ``t`` tokens on ``r`` regions, the last region padding."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for k in range(n):
        ids = torch.randint(5, 99, (t,), generator=g)
        ids[0], ids[t - 1] = 2, 3
        feats, pos = torch.randn(r, 16, generator=g), torch.rand(r, 4, generator=g)
        regions = Regions(pos.numpy(), feats.numpy(), (1, 1), num_real=r - 1)
        tokens = Tokens(tuple(ids.tolist()), tuple(f"t{i}" for i in range(t)), (None,) * t, ())
        out.append(Item(tokens, regions, k % 7))
    return out


def test_word_removal_keeps_cls_and_sep_and_region_removal_keeps_padding_off(seed):
    model = Lxmert(LxmertConfig.tiny(initializer_range=0.5))
    ex = _tiny_examples(1)[0]
    maps = explain_all(run_result(model, ex.tokens, ex.regions, need_grads=True), ("relevancy",))
    masks, keys = _variants(6, 5, maps, ("regions", "tokens"), lambda n: removal_counts(n, np.linspace(0, 1, 11)),
                            np.random.default_rng(0))
    by_key = dict(zip(keys, masks))
    vm, tm = by_key[("relevancy", "tokens", "positive", 10)]
    assert tm.tolist() == [1, 0, 0, 0, 0, 1]  # everything but [CLS] and [SEP] gone
    assert vm.tolist() == [1] * 5  # the padding region is not an input at all
    vm, tm = by_key[("relevancy", "regions", "negative", 10)]
    assert vm.sum() == 0 and tm.tolist() == [1] * 6
    top = maps["relevancy"].region_index[np.argmax(maps["relevancy"].cls_regions())]
    vm, _ = by_key[("relevancy", "regions", "positive", 2)]  # 20 % of 5 real regions: the top one
    assert vm[top] == 0 and vm.sum() == 4
    vm, _ = by_key[("relevancy", "regions", "negative", 2)]  # least relevant first: the top one stays
    assert vm[top] == 1 and vm.sum() == 4


def test_benchmark_curves_are_consistent(seed):
    model = Lxmert(LxmertConfig.tiny(initializer_range=0.5))
    exs = _tiny_examples(4)
    rep = perturbation_benchmark(model, exs, steps=5)
    assert rep.num_examples == 4 and len(rep.fractions) == 6
    firsts = {v[0] for v in rep.accuracy.values()}
    lasts = {(k[1], v[-1]) for k, v in rep.accuracy.items()}
    assert firsts == {rep.base_accuracy}  # nothing removed: same for every method
    assert len(lasts) <= 2  # everything removed: same for every method of a modality
    assert all(v[0] == 1.0 for v in rep.agreement.values())
    table = rep.table()
    assert table.count("\n") == 1 + 4 and "relevancy" in table
    assert perturbation_benchmark(model, exs, steps=5, limit=2).num_examples == 2


def _tokenizer(tmp_path):
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "what", "color", "is", "the", "circle", "?", "shape"]
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n")
    return Tokenizer.from_vocab(tmp_path / "vocab.txt")


def test_examples_from_npz_folder_and_questions(tmp_path):
    from lxmert_viz.features.npz import save_npz

    feats = tmp_path / "feats"
    for i, n in (("img1", 3), ("img2", 4)):
        save_npz(feats / f"{i}.npz", Regions(np.random.rand(4, 4).astype("f4") * 10, np.random.rand(4, 16).astype("f4"),
                                             (20, 10), num_real=n))
    rows = [{"image_id": "img1", "question": "what color is the circle?", "answer": "red"},
            {"image_id": "img2", "question": "what shape?", "answer": "circle"},
            {"image_id": "img2", "question": "what shape?", "answer": "banana"}]
    (tmp_path / "q.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    exs = list(examples_from_files(feats, tmp_path / "q.jsonl", _tokenizer(tmp_path), Answers(["red", "circle"])))
    assert [e.gold for e in exs] == [0, 1]  # "banana" is not an answer: skipped
    assert list(exs[0].tokens.ids) == [2, 5, 6, 7, 8, 9, 10, 3]
    assert exs[0].regions.num_real == 3 and exs[1].regions.num_real == 4
    with pytest.raises(KeyError):
        list(examples_from_files(feats, tmp_path / "q.jsonl", _tokenizer(tmp_path), Answers(["red", "circle"]),
                                 skip_unknown=False))


@pytest.fixture
def fake_kit(seed):
    """The embedded kit's interface with a tiny random model (the trained one may not be built yet)."""
    from lxmert_viz.shapes.world import extract_regions
    from lxmert_viz.shapes.world.dataset import ANSWERS
    from lxmert_viz.shapes.world.vocab import question_corpus, train_wordpiece

    tok = Tokenizer(train_wordpiece(question_corpus(30, seed=0, easyvqa=False)))
    cfg = LxmertConfig.tiny(vocab_size=tok.vocab_size, visual_feat_dim=extract_regions(np.full((8, 8, 3), 255, "u1")).feats.shape[1],
                            num_qa_labels=len(ANSWERS), initializer_range=0.3)
    return SimpleNamespace(model=Lxmert(cfg).eval(), tokenizer=tok, answers=Answers(ANSWERS), extract=extract_regions)


def test_shapes_runner_end_to_end(fake_kit, tmp_path, monkeypatch):
    exs = list(shapes_examples(fake_kit, n_scenes=2, seed=7))
    assert exs and all(e.regions.num_real >= 1 for e in exs)
    assert all(e.tokens.ids[0] == fake_kit.tokenizer.cls_id for e in exs)
    import lxmert_viz

    monkeypatch.setattr(lxmert_viz, "load", lambda *a, **k: fake_kit)
    out = tmp_path / "RESULTS.md"
    rep = main(["--shapes", "2", "--limit", "3", "--steps", "4", "--out", str(out)])
    assert rep.num_examples == 3
    text = out.read_text()
    assert "--shapes 2 --limit 3" in text and "| relevancy |" in text and "### Accuracy curve: tokens, negative" in text


def test_write_markdown_notes(tmp_path, seed):
    model = Lxmert(LxmertConfig.tiny())
    rep = perturbation_benchmark(model, _tiny_examples(1), methods=("raw", "random"), modalities=("regions",), steps=2)
    write_markdown(rep, tmp_path / "r.md", "cmd", "Title", notes="a note")
    text = (tmp_path / "r.md").read_text()
    assert text.startswith("# Title") and "## Notes" in text and "tokens" not in text
