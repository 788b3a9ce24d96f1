"""The one shading code path: what gets painted, how strongly, and that the picture shows the word's region."""
import numpy as np
import pytest
from PIL import Image

from lxmert_viz.viz.defaults import default_token
from lxmert_viz.viz.label_layout import place, spread
from lxmert_viz.viz.shading import MAX_FILL, composite, shade, shading_layer, whole_image
from lxmert_viz.viz.titles import head_text, layer_text

BOXES = np.array([[0, 0, 100, 80], [10, 10, 30, 30], [50, 20, 90, 60], [60, 30, 80, 50]], float)
SIZE = (100, 80)


def test_whole_image_boxes_are_found_and_never_painted():
    assert whole_image(BOXES, SIZE).tolist() == [True, False, False, False]
    s = shade(BOXES, [0.9, 0.05, 0.03, 0.02], SIZE)
    assert s.whole == (0,) and s.levels[0] == 0.0
    assert s.vmax == pytest.approx(0.9), "the scale includes the whole-image weight: objects stay pale"
    layer = shading_layer(s, (100, 80))
    assert layer[75, 5, 3] == 0 and layer[5, 95, 3] == 0, "outside the object boxes nothing is painted"


def test_fill_opacity_is_proportional_to_weight_and_overlaps_take_the_largest():
    s = shade(BOXES, [0.0, 0.4, 0.2, 0.1], SIZE)
    layer = shading_layer(s, (100, 80))
    assert layer[20, 20, 3] == round(255 * MAX_FILL * 1.0)            # box 1: the largest weight
    assert layer[25, 55, 3] == round(255 * MAX_FILL * 0.5)            # box 2 alone
    assert layer[40, 70, 3] == round(255 * MAX_FILL * 0.5)            # boxes 2 and 3 overlap: max(0.5, 0.25)
    assert layer[25, 55, :3].tolist() != layer[20, 20, :3].tolist(), "the colour follows the level too"
    shared = shade(BOXES, [0.0, 0.4, 0.2, 0.1], SIZE, vmax=0.8)
    assert shared.levels[1] == pytest.approx(0.5), "a shared scale puts two pictures on one colour bar"


def test_negative_and_non_finite_weights_paint_nothing():
    s = shade(BOXES, [0.0, -1.0, float("nan"), 0.5], SIZE)
    assert s.levels[1] == 0.0 and s.levels[2] == 0.0 and s.levels[3] == 1.0
    assert np.isfinite(s.weights).all()


def test_composite_keeps_the_image_outside_the_boxes():
    img = Image.new("RGB", SIZE, (200, 30, 30))
    out = np.asarray(composite(img, shade(BOXES, [1.0, 0.5, 0.2, 0.1], SIZE), (100, 80)))
    assert out[75, 5].tolist() == [200, 30, 30], "pixels outside every object box are untouched"
    assert out[20, 20].tolist() != [200, 30, 30]


def test_the_word_circle_shades_the_circle_and_nothing_else(result_circle):
    """Issue 11's bar: mean shading outside every object box <= 10% of the mean inside the circle's."""
    r, circle = result_circle
    n = r.regions.num_real
    s = shade(r.regions.boxes[:n], r.row("l2v", r.token_index("circle")), r.regions.image_size)
    size = r.regions.image_size
    base = np.asarray(r.image.convert("RGB"), float)
    shaded = np.asarray(composite(r.image, s, size), float)
    diff = np.abs(shaded - base).sum(-1)
    inside_any = np.zeros(diff.shape, bool)
    for i in range(1, n):  # the object boxes (row 0 is the scene)
        x1, y1, x2, y2 = (int(round(v)) for v in r.regions.boxes[i])
        inside_any[y1:y2, x1:x2] = True
    x1, y1, x2, y2 = (int(round(v)) for v in r.regions.boxes[circle])
    inside = diff[y1:y2, x1:x2].mean()
    outside = diff[~inside_any].mean()
    assert inside > 10 and outside <= 0.1 * inside, (inside, outside)


@pytest.fixture(scope="module")
def result_circle():
    import lxmert_viz

    kit = lxmert_viz.load()
    from lxmert_viz.viz import sample_scenes

    scene = sample_scenes()[0]
    r = kit.ask(scene["path"], "what color is the circle?")
    circle = next(i for i, lab in enumerate(r.regions.labels) if lab.endswith("circle"))
    return r, circle


def test_default_word_is_the_content_word(result_circle):
    r, _ = result_circle
    assert r.tokens.labels()[default_token(r)] == "circle"


def test_default_word_skips_function_words_and_unknown_words():
    from viz_fixtures import make_result

    r = make_result("what is the color of it ?")
    assert r.tokens.labels()[default_token(r)] == "color"
    r = make_result("is it ?")  # no content word: the last word that is not punctuation
    assert r.tokens.labels()[default_token(r)] == "it"


def test_titles_name_layer_and_head():
    assert layer_text("l2v", -1, 3) == "cross layer 2 (last of 0-2)"
    assert layer_text("lang", 0, 2) == "language layer 0 (of 0-1)"
    assert head_text("mean", 4) == "mean of 4 heads" and head_text(5, 4) == "head 1 of 0-3"


def test_spread_keeps_order_gap_and_bounds():
    y = np.array([0.5, 0.51, 0.52, 0.9, 0.0])
    out = spread(y, 0.1, 0.0, 1.0)
    order = np.argsort(y, kind="stable")
    assert (np.diff(out[order]) >= 0.1 - 1e-12).all() and out.min() >= 0 and out.max() <= 1.0
    assert np.argsort(out, kind="stable").tolist() == order.tolist()


def test_place_never_overlaps():
    pts = np.array([[50, 50], [52, 50], [54, 51], [200, 200]], float)
    spots = place(pts, np.array([[30, 10]] * 4, float), (0, 0, 300, 300))
    boxes = []
    for (px, py), sp in zip(pts, spots):
        if sp is None:
            continue
        dx, dy, ha = sp
        left = px + dx if ha == "left" else px + dx - 30
        boxes.append((left, py + dy, left + 30, py + dy + 10))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    assert spots[3] is not None and len(boxes) >= 3
