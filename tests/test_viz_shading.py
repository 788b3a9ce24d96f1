"""The one shading code path: what gets painted, how strongly, and that the picture shows the word's region."""
import numpy as np
import pytest
from PIL import Image
from test_viz_widgets import shading_layer as svg_layer  # the view's own layer, decoded from its SVG

import lxmert_viz
from lxmert_viz.cli import shown_map_faithfulness
from lxmert_viz.viz import QAWidget
from lxmert_viz.viz.defaults import default_token
from lxmert_viz.viz.label_layout import place, spread
from lxmert_viz.viz.png import result_png
from lxmert_viz.viz.shading import (
    MIN_OUTLINE_LEVEL,
    PEAK_FULL,
    composite,
    honest_top,
    shade,
    shading_layer,
    whole_image,
)
from lxmert_viz.viz.titles import STAGE_NOTE, head_text, layer_text, stage_text

BOXES = np.array([[0, 0, 100, 80], [10, 10, 30, 30], [50, 20, 90, 60], [60, 30, 80, 50]], float)
SIZE = (100, 80)


def test_whole_image_boxes_are_found_and_never_painted():
    assert whole_image(BOXES, SIZE).tolist() == [True, False, False, False]
    s = shade(BOXES, [0.9, 0.05, 0.03, 0.02], SIZE)
    assert s.whole == (0,) and s.levels[0] == 0.0
    assert s.vmax == pytest.approx(max(0.9, PEAK_FULL / 4)), "the scale includes the whole-image weight"
    assert s.levels.max() == 0.0, "objects below the uniform level 1/4 get no frame"
    layer = shading_layer(s, (100, 80))
    assert layer[75, 5, 3] == 0 and layer[5, 95, 3] == 0, "outside the object boxes nothing is painted"


def test_levels_run_from_uniform_and_frames_leave_every_box_interior_alone():
    s = shade(BOXES, [0.0, 0.6, 0.3, 0.1], SIZE)  # uniform 1/4, full colour at max(0.6, 4 * 0.25) = 1.0
    assert s.uniform == pytest.approx(0.25) and s.lo == pytest.approx(0.25) and s.vmax == pytest.approx(PEAK_FULL * 0.25)
    np.testing.assert_allclose(s.levels, [0.0, (0.6 - 0.25) / 0.75, (0.3 - 0.25) / 0.75, 0.0])
    layer = shading_layer(s, (100, 80))
    for x1, y1, x2, y2 in BOXES[1:].astype(int):
        assert layer[y1:y2, x1:x2, 3].max() == 0, "nothing is painted inside any box"
    assert layer[8, 20, 3] == 255, "box 1's frame lies just outside it"
    shared = shade(BOXES, [0.0, 0.4, 0.2, 0.1], SIZE, scale="fixed")
    assert shared.levels[1] == pytest.approx(0.4) and shared.vmax == 1.0, "fixed 0-1 scale: one argument"
    old = shade(BOXES, [0.0, 0.4, 0.2, 0.1], SIZE, scale="max")
    assert old.levels[1] == pytest.approx(1.0)


def test_a_near_uniform_map_reads_weak_by_the_colour_bar_s_measure():
    """The colour bar's mapping (`Shading.level_of`) puts every weight of a flat map below the level at
    which a frame is drawn, and the picture's pixels are then the image's own (RGB distance 0)."""
    w = np.array([0.26, 0.245, 0.25, 0.245])  # 4 regions, peak 1.04x uniform
    s = shade(BOXES, w, SIZE)
    assert s.peak == pytest.approx(1.04)
    assert s.level_of(w).max() < MIN_OUTLINE_LEVEL and s.levels.max() < MIN_OUTLINE_LEVEL
    img = Image.new("RGB", SIZE, (250, 250, 250))
    out = np.asarray(composite(img, s, (100, 80)), float)
    assert np.abs(out - 250).sum(-1).max() == 0, "a flat map draws no frame at all"
    flat_map = np.full((3, 8), 0.125) + np.linspace(0, 0.005, 8)  # a near-uniform T x R attention map
    assert flat_map.max() / honest_top(flat_map) < 0.3, "the heat maps' scale keeps a flat map dark too"
    sharp = shade(BOXES, [0.05, 0.85, 0.05, 0.05], SIZE)
    assert sharp.levels.max() == pytest.approx(0.8) and sharp.peak == pytest.approx(3.4), "a peaked map: strong"


def test_negative_and_non_finite_weights_paint_nothing():
    s = shade(BOXES, [0.0, -1.0, float("nan"), 0.5], SIZE)
    assert s.levels[1] == 0.0 and s.levels[2] == 0.0 and s.levels[3] == 1.0
    assert np.isfinite(s.weights).all()


def test_composite_keeps_the_image_inside_the_boxes():
    img = Image.new("RGB", SIZE, (200, 30, 30))
    out = np.asarray(composite(img, shade(BOXES, [0.1, 0.7, 0.1, 0.1], SIZE), (100, 80)))
    assert out[20, 20].tolist() == [200, 30, 30], "the attended box's pixels are the image's own"
    assert out[8, 20].tolist() != [200, 30, 30], "its frame is drawn outside it"


def test_the_word_circle_frames_the_circle_and_keeps_its_colour(result_circle):
    """The circle's box gets the strongest frame; inside every object box the pixels are the image's."""
    r, circle = result_circle
    n = r.regions.num_real
    s = shade(r.regions.boxes[:n], r.row("l2v", r.token_index("circle")), r.regions.image_size)
    assert int(np.argmax(s.levels)) == circle and s.levels[circle] > 0.5
    size = r.regions.image_size
    base = np.asarray(r.image.convert("RGB"), float)
    shaded = np.asarray(composite(r.image, s, size), float)
    diff = np.abs(shaded - base).sum(-1)
    for i in range(1, n):  # the object boxes (row 0 is the scene)
        x1, y1, x2, y2 = (int(round(v)) for v in r.regions.boxes[i])
        assert diff[y1:y2, x1:x2].max() == 0, f"box {i} changed"
    x1, y1, x2, y2 = (int(round(v)) for v in r.regions.boxes[circle])
    assert diff[max(y1 - 3, 0):y1, x1:x2].mean() > 50, "the circle's frame shows just above its box"


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
    # one convention: layers from 0; a state's name counts layers run, and the titles say so
    assert stage_text("cross3") == "cross3 (after cross layer 2)" and stage_text("lang1") == "lang1 (after language layer 0)"
    assert "cross3 = after cross layer 2" in STAGE_NOTE


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


def _interior_distance(picture: np.ndarray, image, box, image_size) -> float:
    """Mean RGB (Euclidean) distance between ``picture`` and the image resized to it (nearest), over
    the interior of ``box`` (image pixels; one layer pixel shaved off each side)."""
    h, w = picture.shape[:2]
    base = np.asarray(image.convert("RGB").resize((w, h), Image.NEAREST), float)
    kx, ky = w / image_size[0], h / image_size[1]
    x1, y1, x2, y2 = int(box[0] * kx) + 1, int(box[1] * ky) + 1, int(box[2] * kx) - 1, int(box[3] * ky) - 1
    return float(np.linalg.norm(picture[y1:y2, x1:x2, :3].astype(float) - base[y1:y2, x1:x2], axis=-1).mean())


def test_cli_png_and_view_frame_keep_the_attended_object_s_colour(result_circle, tmp_path):
    """Measure: mean RGB distance of the attended box's interior pixels from the original image's;
    threshold 2 (of 441; the old 30 % purple fill gave ~40-80). The frame shows (distance > 50 on
    the band just above the box)."""
    r, circle = result_circle
    box, size = r.regions.boxes[circle], r.regions.image_size
    drawn = result_png(r, tmp_path / "circle.png", token="circle", faithfulness="raw: Del@15% 0.10 · Ins@15% 0.90")
    x, y, w, h = drawn["picture_box"]
    picture = np.asarray(Image.open(tmp_path / "circle.png").convert("RGB"))[y:y + h, x:x + w]
    assert drawn["shading"].levels.argmax() == circle
    assert _interior_distance(picture, r.image, box, size) < 2.0
    qa = QAWidget(lxmert_viz.load(), [r.image], question="what color is the circle?")
    assert qa.result.tokens.labels()[qa.token] == "circle"
    layer = svg_layer(qa.panel("overlay"))
    frame = Image.alpha_composite(r.image.convert("RGBA").resize(layer.shape[1::-1], Image.NEAREST),
                                  Image.fromarray(layer, "RGBA"))
    view = np.asarray(frame.convert("RGB"))
    assert _interior_distance(view, r.image, box, size) < 2.0
    k = layer.shape[1] / size[0]
    band = view[max(int(box[1] * k) - 4, 0):int(box[1] * k), int(box[0] * k):int(box[2] * k)].astype(float)
    assert np.linalg.norm(band - 255, axis=-1).mean() > 50, "the circle's frame shows above its box"


def test_cli_computes_the_shown_map_s_faithfulness_line(result_circle):
    """Issue 26: the command line computes Del@15 / Ins@15 of the map; the PNG only prints the line."""
    r, _ = result_circle
    line = shown_map_faithfulness(lxmert_viz.load().model, r)
    assert line.startswith("raw: Del@15% ") and "Ins@15% " in line
