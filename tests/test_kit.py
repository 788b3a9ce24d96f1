"""The embedded kit: load(), ask() on every kind of image input, the image-side cache, errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import lxmert_viz
from lxmert_viz.kit import open_image

pytestmark = pytest.mark.exactness  # compares numbers computed two ways: scripts/test.sh reruns it on other kernels

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "assets" / "samples"


@pytest.fixture(scope="module")
def kit():
    return lxmert_viz.load()


def sample(i=0):
    meta = json.loads((SAMPLES / "samples.json").read_text())[i]
    return SAMPLES / meta["file"], meta


def test_load_gives_the_embedded_kit(kit):
    assert kit.name == "shapes"
    assert "qa" in kit.model.output_heads
    assert len(kit.answers) == kit.model.config.num_qa_labels
    assert not kit.model.training


def test_ask_returns_a_result_with_sorted_answers(kit):
    path, meta = sample(0)
    r = kit.ask(path, "what color is the circle?")
    probs = [p for _, p in r.answers]
    assert len(r.answers) == 5
    assert probs == sorted(probs, reverse=True)
    assert all(0 < p <= 1 for p in probs) and sum(probs) <= 1 + 1e-6
    assert r.regions.num_real == 1 + len(meta["objects"]), "the scene row, then one region per object"
    assert r.regions.labels[0] == "scene"
    t, n = len(r.tokens), r.regions.num_real
    assert r.attentions["l2v"].shape[-2:] == (t, n)
    assert r.attentions["v2l"].shape[-2:] == (n, t)
    assert r.tokens.pieces[0] == "[CLS]" and r.tokens.pieces[-1] == "[SEP]"


def test_image_inputs_agree(kit):
    path, _ = sample(1)
    pil = Image.open(path)
    arr = np.asarray(pil.convert("RGB"))
    q = "is there a circle?"
    logits = [kit.ask(x, q).logits for x in (path, str(path), pil, arr)]
    for lg in logits[1:]:
        torch.testing.assert_close(lg, logits[0], atol=0, rtol=0)
    assert np.array_equal(np.asarray(pil.convert("RGB")), arr), "the user's image was modified"


def test_second_question_reuses_regions_and_vision_side(kit):
    path, _ = sample(2)
    kit.clear_cache()
    calls = []
    original = kit.model.lxmert.encode_image

    def counting(*a, **k):
        calls.append(1)
        return original(*a, **k)

    kit.model.lxmert.encode_image = counting
    try:
        a = kit.ask(path, "how many triangles are there?")
        b = kit.ask(path, "what color is the circle?")
    finally:
        del kit.model.lxmert.encode_image
    assert len(calls) == 1
    # the cached path equals a fresh one-pass forward
    fresh = lxmert_viz.load()
    c = fresh.ask(path, "what color is the circle?")
    torch.testing.assert_close(b.logits, c.logits, atol=1e-5, rtol=0)
    assert a.regions.num_real == b.regions.num_real


def test_ask_many_matches_ask(kit):
    path, _ = sample(3)
    qs = ["what color is the circle?", "how many shapes are there?", "is there a blue triangle?"]
    batch = kit.ask_many(path, qs)
    for q, r in zip(qs, batch):
        one = kit.ask(path, q)
        # fp32 rounding of batched vs single GEMMs: logits reach ~20, so 1e-4 is ~5e-6 relative
        torch.testing.assert_close(r.logits, one.logits, atol=1e-4, rtol=0)
        # softmax moves no probability by more than 2 * max |logit change| (its Jacobian's inf-norm <= 2p)
        dz = float((r.logits - one.logits).abs().max())
        torch.testing.assert_close(r.logits.softmax(-1), one.logits.softmax(-1), atol=2 * dz + 1e-7, rtol=0)
        assert r.answers[0][0] == one.answers[0][0]


def test_unknown_words_are_refused_or_answered_with_a_warning(kit):
    from lxmert_viz.errors import UnknownWordsError, UnknownWordsWarning

    path, _ = sample(0)
    with pytest.raises(UnknownWordsError, match="'colour', 'zeppelin'") as info:
        kit.ask(path, "what colour is the zeppelin?")
    assert info.value.words == ("colour", "zeppelin")
    with pytest.warns(UnknownWordsWarning, match="zeppelin"):
        r = kit.ask(path, "what colour is the zeppelin?", unknown="warn")
    assert r.unknown_words == ("colour", "zeppelin") and r.answers
    known = kit.ask(path, "what color is the zeppelin?")  # "color" is known: answered, zeppelin on the result
    assert known.unknown_words == ("zeppelin",) and known.answers


@pytest.mark.parametrize("bad,err", [("nope.png", FileNotFoundError), (__file__, ValueError)])
def test_bad_images_name_the_problem(kit, bad, err):
    with pytest.raises(err, match="nope.png|not an image"):
        kit.ask(bad, "what color is the circle?")


def test_empty_question_is_refused(kit):
    with pytest.raises(ValueError, match="empty"):
        kit.ask(sample(0)[0], "   ")


def test_open_image_modes():
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    assert open_image(rgba).getpixel((0, 0)) == (255, 255, 255), "transparent pixels become white"
    assert open_image(np.zeros((4, 4), np.uint8)).mode == "RGB"
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        open_image(np.zeros((2, 2, 2, 2), np.uint8))
