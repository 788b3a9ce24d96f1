"""The real-checkpoint kit: a transformers QA checkpoint + the Faster R-CNN (random weights, offline)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import lxmert_viz
from lxmert_viz.features import FasterRCNNExtractor, FRCNNConfig

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    d = tmp_path_factory.mktemp("lxmert_qa")
    torch.manual_seed(0)
    det = FasterRCNNExtractor.random(FRCNNConfig.tiny(), seed=0)
    cfg = transformers.LxmertConfig(vocab_size=30, hidden_size=32, num_attention_heads=4, intermediate_size=37,
                                    l_layers=1, x_layers=1, r_layers=1, num_qa_labels=3,
                                    visual_feat_dim=det.cfg.head_dim)
    transformers.LxmertForQuestionAnswering(cfg).eval().save_pretrained(d)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "what", "is", "this", "?", "a", "cat", "dog"]
    (d / "vocab.txt").write_text("\n".join(words) + "\n")
    (d / "answers.json").write_text(json.dumps(["cat", "dog", "bird"]))
    return d, det


def test_load_real_pairs_checkpoint_extractor_and_answers(ckpt, tmp_path):
    d, det = ckpt
    kit = lxmert_viz.load(d, frcnn=det, num_regions=5, cache_dir=tmp_path / "cache")
    img = Image.fromarray((np.random.default_rng(0).random((60, 80, 3)) * 255).astype(np.uint8))
    r = kit.ask(img, "what is this?")
    assert [a for a, _ in r.answers] and {a for a, _ in r.answers} <= {"cat", "dog", "bird"}
    assert r.regions.num_real <= 5
    assert r.attentions["l2v"].shape[-1] == r.regions.num_real
    kit.clear_cache()  # the kit's own cache; the feature cache on disk still serves the image
    calls = []
    original = det.extract
    det.extract = lambda *a, **k: calls.append(1) or original(*a, **k)
    try:
        again = kit.ask(img, "what is this?")
    finally:
        del det.extract
    assert calls == [], "a second extraction of the same photo must be a cache hit"
    torch.testing.assert_close(again.logits, r.logits)


def test_load_real_refuses_mismatched_features(ckpt, tmp_path):
    d, _ = ckpt
    other = FasterRCNNExtractor.random(FRCNNConfig.tiny(), seed=1)
    cfg = json.loads((d / "config.json").read_text())
    cfg["visual_feat_dim"] = other.cfg.head_dim + 1
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in d.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(Exception, match="visual_feat|features|shape"):
        lxmert_viz.load(bad, frcnn=other)
