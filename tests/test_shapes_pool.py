"""The shapes tables built over worker processes equal the ones built in one process."""
from __future__ import annotations

import pytest
import torch

from lxmert_viz.assets import shapes_model_dir
from lxmert_viz.inputs.text import Tokenizer
from lxmert_viz.shapes.data import easyvqa_split, scenes_split
from lxmert_viz.shapes.pool import MIN_ITEMS_PER_WORKER, ordered_map
from lxmert_viz.shapes.world import generate_scene
from lxmert_viz.shapes.world.dataset import SCENE_SEED_STRIDE, make_dataset


def _same_tables(a, b):
    for name in ("feats", "pos", "mask", "obj"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and torch.equal(x, y), name
    assert a.object_region == b.object_region


def test_scenes_split_over_two_workers_is_the_one_process_split():
    tok = Tokenizer.from_pretrained(shapes_model_dir())
    n = 2 * MIN_ITEMS_PER_WORKER  # the fewest scenes that do start two workers
    one = scenes_split(tok, n, 4, style="varied", workers=1)
    two = scenes_split(tok, n, 4, style="varied", workers=2)
    _same_tables(one[0], two[0])
    assert torch.equal(one[1].ids, two[1].ids) and torch.equal(one[1].image, two[1].image)
    assert one[1].text == two[1].text and one[1].target_token == two[1].target_token
    assert [s.objects for s in one[2]] == [s.objects for s in two[2]]


def test_easyvqa_split_over_two_workers_is_the_one_process_split():
    pytest.importorskip("easy_vqa")
    tok = Tokenizer.from_pretrained(shapes_model_dir())
    one, two = easyvqa_split(tok, "test", workers=1), easyvqa_split(tok, "test", workers=2)
    _same_tables(one[0], two[0])
    assert torch.equal(one[1].ids, two[1].ids) and torch.equal(one[1].answer, two[1].answer)


def test_make_dataset_on_given_layouts_is_make_dataset():
    layouts = [generate_scene(2 * SCENE_SEED_STRIDE + i, style="varied").objects for i in range(60)]
    assert make_dataset(60, 2, style="varied", layouts=layouts) == make_dataset(60, 2, style="varied")
    with pytest.raises(ValueError, match="layouts holds 59 scenes' objects, but n_scenes is 60"):
        make_dataset(60, 2, layouts=layouts[:59])


def test_ordered_map_keeps_order_and_refuses_bad_worker_counts():
    items = list(range(-3 * MIN_ITEMS_PER_WORKER, 0))
    assert ordered_map(abs, items, workers=2) == [abs(x) for x in items]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="workers must be an integer >= 1"):
            ordered_map(abs, [1], workers=bad)
