"""Pixel region extractor: recovers generated boxes, reads easy-vqa images, pads, handles odd inputs."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from lxmert_viz.inputs.regions import Regions
from lxmert_viz.shapes.world.components import connected_components
from lxmert_viz.shapes.world.extract import FEATURE_NAMES, extract_regions, find_regions
from lxmert_viz.shapes.world.scenes import generate_easyvqa_like, generate_scene


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_recovers_every_generated_object_over_100_seeds():
    ious = []
    for seed in range(100):
        s = generate_scene(seed)
        r = find_regions(s.image)
        assert r.num_real == len(s.objects) == len(r)
        for o in s.objects:
            best = max(range(len(r)), key=lambda i: iou(o.box, r.boxes[i]))
            ious.append(iou(o.box, r.boxes[best]))
            assert r.labels[best] == o.name, (seed, o, r.labels)
    assert min(ious) >= 0.9


def test_easyvqa_like_scenes_give_one_region():
    for seed in range(50):
        s = generate_easyvqa_like(seed)
        r = find_regions(s.image)
        assert r.num_real == 1 and r.labels[0] == s.objects[0].name


@pytest.mark.parametrize("split", ["train", "test"])
def test_easyvqa_images_give_one_region_with_the_right_colour(split):
    pytest.importorskip("easy_vqa")
    from lxmert_viz.shapes.world.easyvqa import load_easyvqa

    checked = 0
    for it in load_easyvqa(split)[::20]:
        r = find_regions(it.path)
        assert r.num_real == 1, it.path
        qa = dict(it.qa)
        color = qa.get("what color is the shape?") or qa.get("what is the color of the shape?")
        if color is None:
            color = next((q.split()[3] for q, a in it.qa if q.endswith(" shape?") and q.startswith("what is the ")
                          and q.split()[3] != "color"), None)
        if color is not None:
            assert r.labels[0].split()[0] == color, (it.path, r.labels, color)
            checked += 1
    assert checked >= 20


def test_padding_features_and_determinism():
    img = generate_scene(4).image
    r = extract_regions(img, max_regions=8)
    assert isinstance(r, Regions) and len(r) == 8 and r.feats.shape == (8, len(FEATURE_NAMES))
    assert 24 <= len(FEATURE_NAMES) <= 40 and len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    n = r.num_real
    assert (r.feats[n:] == 0).all() and (r.boxes[n:] == 0).all() and r.mask.sum() == n
    assert (r.feats[:n, FEATURE_NAMES.index("real")] == 1).all()
    assert list(r.boxes[:n, 0]) == sorted(r.boxes[:n, 0])  # sorted by x1
    again = extract_regions(img.copy())
    assert np.array_equal(r.feats, again.feats) and np.array_equal(r.boxes, again.boxes)
    np.testing.assert_allclose(r.feats[:n, 3:11].sum(1), 1.0, atol=1e-5)  # soft colours sum to 1


def test_keeps_the_largest_when_too_many():
    s = generate_scene(0)  # 6 objects
    r = find_regions(s.image, max_regions=2)
    biggest = sorted(find_regions(s.image).extra["pixels"])[-2:]
    assert r.num_real == 2 and sorted(r.extra["pixels"]) == biggest


def test_inputs_of_any_kind_and_blank_images():
    s = generate_scene(1)
    arr = np.asarray(s.image)
    ref = find_regions(s.image)
    for img in (arr, s.image.convert("RGBA"), s.image.convert("P")):
        assert find_regions(img).labels == ref.labels
    gray = find_regions(s.image.convert("L"))
    assert 1 <= gray.num_real <= ref.num_real  # grey levels may hide light colours such as yellow
    blank = extract_regions(Image.new("RGB", (64, 64), "white"))
    assert blank.num_real == 0 and len(blank) == 8 and (blank.feats == 0).all()
    assert find_regions(np.full((32, 32, 3), 240, np.uint8)).num_real == 0


def test_connected_components_8_connectivity():
    m = np.zeros((6, 8), bool)
    m[0, 0] = m[1, 1] = True  # diagonal neighbours: one component
    m[3:5, 3:7] = True
    m[5, 0] = True
    labels, n = connected_components(m)
    assert n == 3 and labels[0, 0] == labels[1, 1] == 1 and labels[3, 3] == 2 and labels[5, 0] == 3
    assert connected_components(np.zeros((4, 4), bool))[1] == 0


def _flood_fill_labels(m: np.ndarray) -> np.ndarray:
    """Reference labelling: breadth-first flood fill from each unlabelled pixel in raster order."""
    labels = np.zeros(m.shape, np.int32)
    n = 0
    for y, x in zip(*np.nonzero(m)):
        if labels[y, x]:
            continue
        n += 1
        labels[y, x] = n
        todo = [(y, x)]
        while todo:
            cy, cx = todo.pop()
            for ny in range(max(cy - 1, 0), min(cy + 2, m.shape[0])):
                for nx in range(max(cx - 1, 0), min(cx + 2, m.shape[1])):
                    if m[ny, nx] and not labels[ny, nx]:
                        labels[ny, nx] = n
                        todo.append((ny, nx))
    return labels


@given(st.integers(1, 24), st.integers(1, 24), st.floats(0.05, 0.8), st.integers(0, 2**32 - 1))
@settings(max_examples=300, deadline=None)
def test_connected_components_equal_a_flood_fill(h, w, density, seed):
    m = np.random.default_rng(seed).random((h, w)) < density
    labels, n = connected_components(m)
    ref = _flood_fill_labels(m)
    assert n == ref.max() and np.array_equal(labels, ref)


def _jpeg(img, quality):
    import io

    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def test_varied_scenes_give_every_object_with_its_colour():
    wrong = shapes = total = 0
    for seed in range(150):
        s = generate_scene(seed, style="varied")
        r = find_regions(s.image)
        assert r.num_real == len(s.objects), (seed, s.look)
        for o in s.objects:
            best = max(range(len(r)), key=lambda i: iou(o.box, r.boxes[i]))
            colour, shape = r.labels[best].split()
            wrong += colour != o.color
            shapes += shape != o.shape
            total += 1
    assert wrong == 0 and shapes <= 0.02 * total, (wrong, shapes, total)


def test_jpeg_blur_light_grey_paper_and_scale_do_not_change_what_is_found():
    from PIL import ImageFilter

    from lxmert_viz.shapes.world.scenes import rescale_scene

    for seed in range(20):
        s = generate_scene(seed)
        ref = find_regions(s.image)
        grey = np.asarray(s.image).copy()
        grey[(grey == 255).all(-1)] = (228, 228, 228)
        for img in (_jpeg(s.image, 70), s.image.filter(ImageFilter.GaussianBlur(0.8)), Image.fromarray(grey),
                    rescale_scene(s, 300).image):
            r = find_regions(img)
            assert r.num_real == ref.num_real and sorted(r.labels) == sorted(ref.labels), (seed, r.labels, ref.labels)


def test_shape_statistics_do_not_depend_on_proportions():
    from PIL import ImageDraw

    from lxmert_viz.shapes.world.extract import FEATURE_NAMES

    col = FEATURE_NAMES.index("ellipse_ratio")
    cases = [("circle", "ellipse", (20, 30, 100, 90)), ("circle", "ellipse", (40, 10, 80, 110)),
             ("rectangle", "rectangle", (10, 50, 110, 70)), ("rectangle", "rectangle", (55, 5, 70, 115)),
             ("triangle", [(10, 100), (110, 100), (15, 20)], None), ("triangle", [(10, 20), (10, 100), (100, 60)], None),
             ("triangle", [(20, 30), (100, 30), (90, 90)], None)]
    expected = {"circle": 1.0, "rectangle": 12 / (4 * np.pi), "triangle": 3 * np.sqrt(3) / (2 * np.pi)}
    for shape, how, box in cases:
        img = Image.new("RGB", (128, 128), "white")
        draw = ImageDraw.Draw(img)
        if how == "ellipse":
            draw.ellipse(box, fill=(0, 0, 255))
        elif how == "rectangle":
            draw.rectangle(box, fill=(0, 0, 255))
        else:
            draw.polygon(how, fill=(0, 0, 255))
        r = find_regions(img)
        assert r.num_real == 1 and r.labels[0] == f"blue {shape}", (shape, how, r.labels)
        assert abs(r.feats[0, col] - expected[shape]) < 0.03, (shape, how, r.feats[0, col])
