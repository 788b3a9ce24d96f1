"""Issue 23.4: rates carry binomial (Wilson) intervals, never ± SD of a 0/1 variable."""
import json

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from lxmert_viz.analysis.atlas import wilson  # noqa: E402
from lxmert_viz.assets import shapes_model_dir  # noqa: E402
from lxmert_viz.viz.dataset_layers import intervals, is_rate  # noqa: E402
from lxmert_viz.viz.pointing import pointing_figure  # noqa: E402


def test_pointing_bars_carry_wilson_intervals_inside_0_100():
    res = json.loads((shapes_model_dir() / "RESULTS.json").read_text())
    fig = pointing_figure({"shapes": res})
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_gid() == "shapes"]
    segs = [seg for c in ax.collections if (c.get_gid() or "").startswith("ci:") for seg in c.get_segments()]
    assert len(segs) == len(bars)
    n = res["pointing_game"]["questions"]
    for b, seg in zip(bars, segs):
        lo, hi = sorted(seg[:, 1])
        want = [100 * v for v in wilson(b.get_height() / 100 * n, n)]
        np.testing.assert_allclose([lo, hi], want, atol=1e-6)
        assert 0 <= lo <= b.get_height() <= hi <= 100


def test_a_rate_near_one_gets_a_wilson_interval_not_plus_minus_sd():
    curve = {"mean": np.array([0.95, 0.5]), "example_std": np.array([0.22, 0.5])}
    assert is_rate("ref_top1", curve["mean"]) and not is_rate("entropy", curve["mean"])
    lo, hi = intervals("ref_top1", curve, 20)
    assert hi[0] <= 1.0 and lo[0] >= 0.0 and hi[0] < 0.95 + 0.22, "a ±SD bar would pass 1"
    np.testing.assert_allclose([lo[1], hi[1]], wilson(10, 20))
