"""Figures of the output heads and interventions (the widget: tests/test_viz_widgets.py)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from lxmert_viz.viz.interventions import ablation_bars, head_ranking_grid, patch_sweep_figure  # noqa: E402
from lxmert_viz.viz.output_heads import fill_bars, fill_figure, match_bars, region_labels_overlay  # noqa: E402

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.filterwarnings("ignore::DeprecationWarning")]
Q = "what color is the circle?"


def test_fill_figures_draw_the_numbers(kit, circle_scenes):
    f = kit.fill(circle_scenes[0], "the [MASK] circle is on the left")
    fig = fill_bars(f)
    widths = [round(p.get_width(), 6) for p in fig.axes[0].patches]
    rows = f.compare(0)
    assert widths == [round(r[1], 6) for r in rows] + [round(r[2], 6) for r in rows]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [r[0] for r in rows]
    over = fill_figure(f).axes[0]
    layer = next(im for im in over.images if im.get_gid() == "shading").get_array()  # (h, w, 4) RGBA
    regions = f.result.regions
    w, h = regions.image_size
    objects = [i for i in range(regions.num_real) if not regions.whole_image()[i]]  # the scene row is not painted
    at_centre = [layer[int((b[1] + b[3]) / 2 / h * layer.shape[0]), int((b[0] + b[2]) / 2 / w * layer.shape[1]), 3]
                 for b in regions.boxes[objects]]
    assert objects[int(np.argmax(at_centre))] == objects[int(np.argmax(f.l2v(0)[objects]))]


def test_match_and_region_label_figures(kit, circle_scenes):
    m = kit.match(circle_scenes[0], ["a black circle", "a yellow square"])
    fig = match_bars(m)
    assert [round(p.get_width(), 6) for p in fig.axes[0].patches] == [round(p, 6) for _, p in m.ranked()]
    assert ("never trained" in fig.axes[0].get_title()) == (not m.trained)
    lab = kit.region_labels(circle_scenes[0])
    ax = region_labels_overlay(lab).axes[0]
    texts = [t.get_text() for t in ax.texts]
    whole = set(np.flatnonzero(lab.regions.whole_image()).tolist())
    assert texts == [lab.label(i) for i in range(lab.regions.num_real) if i not in whole]  # beside their boxes
    assert all(lab.label(i) in ax.get_xlabel() for i in whole), "the whole-image row's label is under the image"
    for t, i in zip(ax.texts, [i for i in range(lab.regions.num_real) if i not in whole]):
        x1, y1, x2, y2 = lab.regions.boxes[i]
        assert not (y1 < t.get_position()[1] < y2), "a label sits outside its box, never on the object"


def test_intervention_figures(kit, circle_scenes):
    ab = kit.ask_ablated(circle_scenes[0], Q, ["l2v.2.all"])
    ax = ablation_bars(ab).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [r[0] for r in ab.compare()]
    r = kit.rank_heads([(circle_scenes[0], Q)], families=["l2v", "lang"])
    fig = head_ranking_grid(r)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), r.grid("l2v"))
    sweep = kit.patch_sweep((circle_scenes[1], Q), (circle_scenes[0], Q))
    fig = patch_sweep_figure(sweep)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array()[0], sweep.effect["lang"])
    assert [t.get_text() for t in fig.axes[1].texts] == sweep.answers["vis"]
    same = kit.patch_sweep((circle_scenes[0], Q), (circle_scenes[0], Q))
    with pytest.raises(ValueError, match="effect is undefined; use metric='prob'"):
        patch_sweep_figure(same)
    assert len(patch_sweep_figure(same, "prob").axes) == 3
