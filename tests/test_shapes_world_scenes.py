"""Scene generator: determinism, no overlaps, easy-vqa palette and loader."""
from __future__ import annotations

import numpy as np
import pytest

from lxmert_viz.shapes.world.palette import COLORS, RGB, SHAPES
from lxmert_viz.shapes.world.scenes import generate_easyvqa_like, generate_scene, layout_scene, rescale_scene


def test_same_seed_same_scene_and_different_seeds_differ():
    a, b, c = generate_scene(7), generate_scene(7), generate_scene(8)
    assert a.objects == b.objects
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert a.objects != c.objects
    assert not np.array_equal(np.asarray(a.image), np.asarray(c.image))


def test_objects_in_range_inside_image_and_apart():
    counts = set()
    for seed in range(200):
        objs, bg = layout_scene(seed)
        counts.add(len(objs))
        assert bg == (255, 255, 255)
        for k, o in enumerate(objs):
            assert o.shape in SHAPES and o.color in COLORS
            x1, y1, x2, y2 = o.box
            assert 2 <= x1 < x2 <= 126 and 2 <= y1 < y2 <= 126
            if o.shape == "circle":
                assert o.width == o.height
            for p in objs[k + 1:]:  # at least 4 empty pixels between boxes on one axis
                assert x2 + 4 <= p.box[0] or p.box[2] + 4 <= x1 or y2 + 4 <= p.box[1] or p.box[3] + 4 <= y1
    assert counts == {1, 2, 3, 4, 5, 6}


def test_rendered_pixels_match_objects():
    s = generate_scene(3)
    img = np.asarray(s.image)
    assert img.shape == (128, 128, 3) and img.dtype == np.uint8
    for o in s.objects:
        cx, cy = (int(v) for v in o.center)
        if o.shape == "triangle":
            cy = o.box[1] + 3 * o.height // 4  # the centre row of a triangle is narrow
        assert tuple(img[cy, cx]) == RGB[o.color]
    covered = np.zeros((128, 128), bool)
    for o in s.objects:
        covered[o.box[1]:o.box[3], o.box[0]:o.box[2]] = True
    assert (img[~covered] == 255).all()  # white outside every box


def test_easyvqa_like_and_rescale():
    s = generate_easyvqa_like(5)
    assert s.image.size == (64, 64) and len(s.objects) == 1
    assert all(230 <= v <= 255 for v in s.background)
    big = rescale_scene(generate_scene(2), 256)
    assert big.image.size == (256, 256)
    assert [o.box for o in big.objects] == [tuple(2 * v for v in o.box) for o in generate_scene(2).objects]


def test_palette_is_easyvqa_colours():
    pytest.importorskip("easy_vqa")
    from lxmert_viz.shapes.world.easyvqa import load_easyvqa

    items = load_easyvqa("train")[:40]
    palette = {RGB[c] for c in COLORS}
    for it in items:
        from PIL import Image

        px = np.asarray(Image.open(it.path).convert("RGB")).reshape(-1, 3)
        colors, counts = np.unique(px, axis=0, return_counts=True)
        second = tuple(int(v) for v in colors[np.argsort(-counts)[1]])  # first is the background
        top = tuple(int(v) for v in colors[counts.argmax()])
        assert top in palette or second in palette


def test_easyvqa_loader_counts_and_answers():
    pytest.importorskip("easy_vqa")
    from lxmert_viz.shapes.world.dataset import EASYVQA_ANSWERS
    from lxmert_viz.shapes.world.easyvqa import load_easyvqa, load_easyvqa_answers

    train, test = load_easyvqa("train"), load_easyvqa("test")
    assert len(train) == 4000 and len(test) == 1000
    assert sum(len(it.qa) for it in test) == 9673
    assert sum(len(it.qa) for it in train) == 38575
    assert train[0].path.is_file() and train[0].image_id == 0
    assert tuple(load_easyvqa_answers()) == EASYVQA_ANSWERS
    with pytest.raises(ValueError):
        load_easyvqa("val")


def test_missing_easyvqa_error_names_package(monkeypatch):
    import importlib.util

    from lxmert_viz.shapes.world import easyvqa

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="easy-vqa"):
        easyvqa.easyvqa_data_dir()


def test_varied_scenes_keep_the_layout_shrink_boxes_and_are_seeded():
    from lxmert_viz.shapes.world.color_naming import name_color

    looks, jittered, pointing = set(), 0, set()
    for seed in range(120):
        plain, _ = layout_scene(seed)
        varied, bg = layout_scene(seed, style="varied")
        assert len(plain) == len(varied)
        for p, v in zip(plain, varied):
            assert (p.shape, p.color, p.box[:2]) == (v.shape, v.color, v.box[:2])
            assert v.width <= p.width and v.height <= p.height  # boxes only shrink: objects stay apart
            if v.rgb is not None:
                jittered += 1
                assert COLORS[int(name_color(v.rgb))] == v.color
            pointing.add(v.pointing)
        assert min(bg) >= 219  # light grey 222..245, tinted by up to 3 per channel
        s = generate_scene(seed, style="varied")
        assert s.objects == varied and s.background == bg
        looks.add((s.look.supersample, s.look.blur > 0, s.look.resize < 1, s.look.jpeg > 0))
    assert np.array_equal(np.asarray(generate_scene(5, style="varied").image),
                          np.asarray(generate_scene(5, style="varied").image))
    assert jittered > 200 and pointing == {"up", "down", "left", "right"}
    assert len(looks) >= 8  # aliased / anti-aliased, with and without blur, resize and JPEG
    with pytest.raises(ValueError, match="style"):
        layout_scene(0, style="fancy")
