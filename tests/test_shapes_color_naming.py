"""Colour names as a person gives them: CIEDE2000 against its published test data, names of drawn colours."""
from __future__ import annotations

import numpy as np
import pytest

from lxmert_viz.shapes.robustness import DRAWN_COLORS
from lxmert_viz.shapes.world.color_naming import (
    ANCHORS,
    delta_e2000,
    jitter_color,
    lab_to_srgb,
    name_color,
    name_margin,
    srgb_to_lab,
)
from lxmert_viz.shapes.world.palette import COLORS, RGB

# Sharma, Wu and Dalal (2005), "The CIEDE2000 color-difference formula", Table 1 (pairs 1-3, 7, 13, 17-21, 25, 34)
SHARMA = [((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425), ((50, 3.1571, -77.2803), (50, 0, -82.7485), 2.8615),
          ((50, 2.8361, -74.0200), (50, 0, -82.7485), 3.4412), ((50, 0, 0), (50, -1, 2), 2.3669),
          ((50, 2.49, -0.001), (50, -2.49, 0.0009), 7.1792), ((50, 2.5, 0), (73, 25, -18), 27.1492),
          ((50, 2.5, 0), (61, -5, 29), 22.8977), ((50, 2.5, 0), (56, -27, -3), 31.9030),
          ((50, 2.5, 0), (58, 24, 15), 19.4535), ((50, 2.5, 0), (50, 3.1736, 0.5854), 1.0000),
          ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
          ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082)]


def test_ciede2000_matches_the_published_test_data():
    a, b, ref = (np.array([p[k] for p in SHARMA], float) for k in range(3))
    np.testing.assert_allclose(delta_e2000(a, b), ref, atol=5e-5)
    np.testing.assert_allclose(delta_e2000(b, a), ref, atol=5e-5)  # symmetric


def test_lab_round_trip_and_reference_values():
    rgb = np.random.default_rng(0).integers(0, 256, (200, 3))
    np.testing.assert_allclose(lab_to_srgb(srgb_to_lab(rgb)), rgb, atol=1e-6)
    np.testing.assert_allclose(srgb_to_lab([255, 255, 255]), [100, 0, 0], atol=0.01)
    np.testing.assert_allclose(srgb_to_lab([0, 0, 255]), [32.30, 79.19, -107.86], atol=0.02)  # sRGB blue, D65


def test_easyvqa_colours_name_themselves_and_anchors_are_their_own_names():
    assert [COLORS[i] for i in name_color([RGB[c] for c in COLORS])] == list(COLORS)
    for name, anchors in ANCHORS.items():
        assert anchors[0] == RGB[name]
        assert {COLORS[i] for i in name_color(list(anchors))} == {name}, name


@pytest.mark.parametrize("name", COLORS)
def test_drawing_program_colours_get_the_name_a_person_gives(name):
    colours = [rgb for _, rgb in DRAWN_COLORS[name]]
    assert [COLORS[i] for i in name_color(colours)] == [name] * len(colours), DRAWN_COLORS[name]


def test_the_issues_examples_that_rgb_distance_got_wrong():
    # nearest easy-vqa colour in RGB: (34, 177, 76) -> teal, (200, 30, 30) -> brown
    assert [COLORS[i] for i in name_color([(34, 177, 76), (200, 30, 30)])] == ["green", "red"]
    assert (name_margin([(34, 177, 76), (0, 0, 255), (128, 128, 128)]) > 5).all()


def test_jitter_stays_in_its_name_and_is_seeded():
    for name in COLORS:
        rng = np.random.default_rng(1)
        got = [jitter_color(name, rng) for _ in range(40)]
        assert {COLORS[i] for i in name_color(got)} == {name}
        assert (name_margin(got) >= 2.0 - 1e-9).all()
        assert len(set(got)) > 20  # really varied
        again = np.random.default_rng(1)
        assert got == [jitter_color(name, again) for _ in range(40)]
