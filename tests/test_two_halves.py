"""The image side encoded once (`encode_image`) then reused gives what one full pass gives."""
from __future__ import annotations

import pytest
import torch
from helpers import make_inputs

from lxmert_viz import FAMILIES, Lxmert, LxmertConfig

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.exactness]  # exactness: scripts/test.sh reruns it on other kernels

# float32 tolerance, derived: eps (1.2e-7) x sqrt(reduction length, <= 256 here: 16) x |values| (<= ~5 in
# these tiny models) = 1e-5; it holds with ATEN_CPU_CAPABILITY=default and 1 thread (scripts/test.sh runs both)
ATOL = 1e-5


@pytest.fixture
def model(seed):
    return Lxmert(LxmertConfig.tiny(), output_heads=("pretraining", "qa")).eval()


def assert_outputs_close(a, b, atol=0.0, maps=True):
    assert len(a.lang_hidden) == len(b.lang_hidden) and len(a.vis_hidden) == len(b.vis_hidden)
    for x, y in zip(a.lang_hidden + a.vis_hidden, b.lang_hidden + b.vis_hidden):
        torch.testing.assert_close(x, y, atol=atol, rtol=0)
    for name in ("pooled_output", "question_answering_score", "prediction_logits", "cross_relationship_score"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name), atol=atol, rtol=0, msg=lambda m: f"{name}: {m}")
    for key in a.obj_predictions:
        torch.testing.assert_close(a.obj_predictions[key], b.obj_predictions[key], atol=atol, rtol=0)
    if maps:
        assert list(a.attentions) == list(b.attentions) == list(FAMILIES)
        for fam in FAMILIES:
            torch.testing.assert_close(a.attentions[fam], b.attentions[fam], atol=atol, rtol=0, msg=lambda m: f"{fam}: {m}")


@pytest.mark.parametrize("padding", [False, True], ids=["no-mask", "padded"])
def test_cached_image_equals_one_pass(model, padding):
    x = make_inputs(batch=3, padding=padding)
    with torch.no_grad():
        full = model(**x)
        vision = model.encode_image(x["visual_feats"], x["visual_pos"], x.get("visual_attention_mask"))
        halves = model(input_ids=x["input_ids"], attention_mask=x.get("attention_mask"), vision=vision)
    assert_outputs_close(full, halves, atol=ATOL)


def test_batch_one_image_serves_three_questions(model):
    x = make_inputs(batch=3, padding=True)
    feats, pos = x["visual_feats"][:1], x["visual_pos"][:1]
    with torch.no_grad():
        vision = model.encode_image(feats, pos)
        assert vision.batch_size == 1
        halves = model(input_ids=x["input_ids"], attention_mask=x["attention_mask"], vision=vision)
        full = model(input_ids=x["input_ids"], attention_mask=x["attention_mask"],
                     visual_feats=feats.expand(3, -1, -1), visual_pos=pos.expand(3, -1, -1))
    assert halves.vis_hidden[0].shape[0] == 3
    assert_outputs_close(full, halves, atol=ATOL)


@pytest.mark.parametrize("padding", [False, True], ids=["no-mask", "padded"])
def test_fused_kernel_path_same_outputs_no_maps(model, padding):
    x = make_inputs(batch=3, padding=padding)
    with torch.no_grad():
        with_maps = model(**x)
        fused = model(**x, output_attentions=False)
        vision = model.encode_image(x["visual_feats"], x["visual_pos"], x.get("visual_attention_mask"),
                                    output_attentions=False)
        fused_halves = model(input_ids=x["input_ids"], attention_mask=x.get("attention_mask"), vision=vision,
                             output_attentions=False)
    assert len(fused.attentions) == 0 and len(fused_halves.attentions) == 0
    assert vision.attentions is None
    assert fused.as_transformers().keys().isdisjoint({"language_attentions", "cross_encoder_attentions"})
    assert_outputs_close(with_maps, fused, atol=ATOL, maps=False)
    assert_outputs_close(with_maps, fused_halves, atol=ATOL, maps=False)


def test_vision_state_misuse_is_an_error(model):
    x = make_inputs(batch=3)
    with torch.no_grad():
        no_maps = model.encode_image(x["visual_feats"], x["visual_pos"], output_attentions=False)
        two = model.encode_image(x["visual_feats"][:2], x["visual_pos"][:2])
        with pytest.raises(ValueError, match="encoded without attentions"):
            model(input_ids=x["input_ids"], vision=no_maps)
        with pytest.raises(ValueError, match="batch 2 cannot serve a text batch of 3"):
            model(input_ids=x["input_ids"], vision=two)
        with pytest.raises(ValueError, match="not both"):
            model(**x, vision=no_maps)
