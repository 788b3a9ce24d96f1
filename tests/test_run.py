"""The one door to the model (`lxmert_viz.run.run`): what it computes equals the model called by hand.

Exactness is checked in float64 on a float64 copy of the embedded model (float32 kernels may order
sums differently with the batch's shape, see the module docstring of `lxmert_viz.run`).
"""
from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch

from lxmert_viz.analysis import BatchWorker
from lxmert_viz.analysis.datasets import shapes_dataset
from lxmert_viz.errors import InputError, InputIndexError, InputTypeError
from lxmert_viz.inputs.item import Item
from lxmert_viz.inputs.model_inputs import model_inputs
from lxmert_viz.interventions import ablation, patching
from lxmert_viz.model.hooks import hooks, run_with_cache, run_with_hooks
from lxmert_viz.run import Row, image_side, run

pytestmark = pytest.mark.usefixtures("one_thread")
Q = ("what color is the circle?", "what shape is on the left of the triangle?")


@pytest.fixture(scope="module")
def setup(kit):
    """A float64 copy of the embedded model and two items of one sample image."""
    model = copy.deepcopy(kit.model).double().eval()
    img = kit.extract("assets/samples/scene_00.png")
    items = [Item(kit.tokenizer(q), img, question=q) for q in Q]
    return model, items


def _by_hand(model, item, dropped_tokens=(), dropped_regions=()):
    kw = model_inputs(item.tokens, item.regions, model.dtype, model.device, dropped_tokens, dropped_regions)
    with torch.no_grad():
        return model(**kw)


def test_one_row_is_the_model_called_by_hand(setup):
    model, items = setup
    res = run(model, [items[0]]).result(0)
    out = _by_hand(model, items[0])
    assert torch.equal(res.logits, out.question_answering_score[0].float())
    for fam in res.attentions:
        assert torch.equal(res.attentions[fam], out.attentions[fam][0].float()), fam
    assert res.dropped_tokens == () and res.dropped_regions == () and res.intervention is None


def test_a_padded_batch_equals_each_question_alone(setup):
    model, items = setup
    batch = run(model, items)
    for b, item in enumerate(items):
        alone = _by_hand(model, item).question_answering_score[0]
        torch.testing.assert_close(batch.output.question_answering_score[b], alone, rtol=0, atol=1e-12)
        assert batch.result(b).lang_hidden.shape[1] == len(item.tokens)  # padding cut away


def test_the_image_side_runs_once_per_image(setup):
    model, items = setup
    seen = []
    with hooks(model, {"hidden.vis.0": lambda v, name: seen.append(v.shape[0])}):
        run(model, [items[0], items[1], items[0]])
    assert seen == [1], "three rows of one image: one image side of batch 1"
    seen.clear()
    with hooks(model, {"hidden.vis.0": lambda v, name: seen.append(v.shape[0])}):
        run(model, [Row(items[0]), Row(items[0], drop_regions=(1,))])
    assert seen == [2], "a row that drops a region has an image side of its own"


def test_dropped_positions_are_the_masks_by_hand_and_typed_fields(setup):
    model, items = setup
    res = run(model, [Row(items[0], drop_tokens=(3,), drop_regions=(1, 2))]).result(0)
    out = _by_hand(model, items[0], [3], [1, 2])
    assert torch.equal(res.logits, out.question_answering_score[0].float())
    assert res.dropped_tokens == (3,) and res.dropped_regions == (1, 2) and "dropped_regions" not in res.meta
    assert list(res.kept("vis")) == [0] + list(range(3, items[0].regions.num_real))


def test_a_row_intervention_touches_that_row_only(setup, kit):
    model, items = setup
    cut = ablation([("l2v", 2, "all")], model.config)
    batch = run(model, [Row(items[0]), Row(items[0], intervention=cut)])
    clean = _by_hand(model, items[0]).question_answering_score[0]
    torch.testing.assert_close(batch.output.question_answering_score[0], clean, rtol=0, atol=1e-12)
    kw = model_inputs(items[0].tokens, items[0].regions, model.dtype, model.device)
    want = run_with_hooks(model, kw, {"l2v.2.z": lambda z, name: torch.zeros_like(z)}).question_answering_score[0]
    torch.testing.assert_close(batch.output.question_answering_score[1], want, rtol=0, atol=1e-12)
    assert batch.result(1).intervention.heads == tuple(("l2v", 2, h) for h in range(4))


def test_an_image_side_intervention_gets_its_own_image_side(setup):
    model, (a, b) = setup
    kw_a = model_inputs(a.tokens, a.regions, model.dtype, model.device)
    _, cache = run_with_cache(model, kw_a, ["hidden.vis.1"])
    src = cache["hidden.vis.1"][0] * 0.5  # any other value
    rows = [Row(b), Row(b, intervention=patching("hidden.vis.1", [1, 2], None, src))]
    got = run(model, rows).output.question_answering_score
    kw_b = model_inputs(b.tokens, b.regions, model.dtype, model.device)

    def write(v, name):
        v = v.clone()
        v[0, [1, 2]] = src[[1, 2]]
        return v

    want = run_with_hooks(model, kw_b, {"hidden.vis.1": write}).question_answering_score[0]
    torch.testing.assert_close(got[1], want, rtol=0, atol=1e-12)
    torch.testing.assert_close(got[0], _by_hand(model, b).question_answering_score[0], rtol=0, atol=1e-12)


def test_gradients_of_several_rows_equal_one_row_at_a_time(setup):
    model, items = setup
    both = run(model, [Row(items[0], answer=2), Row(items[1])], grads=True)
    for b, (item, answer) in enumerate([(items[0], 2), (items[1], None)]):
        alone = run(model, [Row(item, answer=answer)], grads=True).result(0)
        got = both.result(b)
        assert got.explained_answer == alone.explained_answer
        for fam in alone.attention_grads:
            torch.testing.assert_close(got.attention_grads[fam], alone.attention_grads[fam], rtol=0, atol=1e-10)


def test_padding_id_and_model_mode_do_not_change_numbers(setup):
    model, items = setup
    a = run(model, items, pad_id=0).output.question_answering_score
    model.train()
    try:
        b = run(model, items, pad_id=7).output.question_answering_score
        assert model.training, "run restores the model's mode"
    finally:
        model.eval()
    assert torch.equal(a, b)
    mixed = dict(model.named_modules())["lxmert.encoder.x_layers.0"]  # one submodule training, the rest not
    mixed.train()
    try:
        c = run(model, items).output.question_answering_score
        modes = {name: m.training for name, m in model.named_modules()}
        assert modes == {name: name.startswith("lxmert.encoder.x_layers.0") for name in modes}, \
            "each module's own mode comes back"
    finally:
        model.eval()
    assert torch.equal(a, c)


def test_bad_calls_say_what_is_wrong(setup):
    model, items = setup
    with pytest.raises(InputError, match="no rows"):
        run(model, [])
    with pytest.raises(InputTypeError, match="takes Items"):
        run(model, [("image.png", "what?")])
    with pytest.raises(InputIndexError, match=r"dropped region positions \[9\] are out of range 0..3"):
        Row(items[0], drop_regions=(9,))
    assert Row(items[0], drop_tokens=[3, 1, 3]).drop_tokens == (1, 3)
    other = replace(items[1], regions=items[1].regions.real())  # another Regions object: another image
    with torch.inference_mode():
        vision = image_side(model, [items[0].regions])
    with pytest.raises(InputError, match="precomputed vision state serves rows of one image"):
        run(model, [items[0], other], vision=vision)
    with pytest.raises(InputError, match="answer index 99"):
        run(model, [Row(items[0], answer=99)], grads=True)


def test_the_data_set_worker_gives_each_image_one_regions_object(kit):
    # questions of one image share its image side even when the encoder's cache evicted it between them
    worker = BatchWorker(kit, ["answer"])
    worker.encoder.cache_size = 1
    exs = list(shapes_dataset(2).take(40))
    a = next(e for e in exs if e.image.seed == exs[0].image.seed)
    b = next(e for e in exs if e.image.seed != exs[0].image.seed)
    items = worker.encode([a, b, a])
    assert items[0].regions is items[2].regions and items[1].regions is not items[0].regions
