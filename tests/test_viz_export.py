"""save(): PNG/SVG/PDF for matplotlib, standalone offline HTML for plotly, clear errors otherwise."""
import re

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("plotly")

from viz_fixtures import make_result  # noqa: E402

from lxmert_viz.viz import head_grid, heatmap, heatmap_plotly, overlay, overlay_plotly, save  # noqa: E402

MAGIC = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}


@pytest.fixture(scope="module")
def result():
    return make_result()


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_save_matplotlib(result, tmp_path, suffix):
    for i, fig in enumerate((overlay(result, token=1), heatmap(result, "v2l"), head_grid(result, "vis"))):
        path = save(fig, tmp_path / f"fig{i}{suffix}")
        data = path.read_bytes()
        assert len(data) > 500 and data.startswith(MAGIC[suffix])


def test_save_axes_saves_its_figure(result, tmp_path):
    fig = heatmap(result, "lang")
    assert save(fig.axes[0], tmp_path / "ax.png").stat().st_size > 500


def test_save_plotly_html_is_offline(result, tmp_path):
    path = save(overlay_plotly(result, region=0), tmp_path / "overlay.html")
    text = path.read_text(encoding="utf-8")
    assert len(text) > 1_000_000  # plotly.js itself is inside
    srcs = re.findall(r"<script[^>]*\bsrc\s*=\s*[\"']([^\"']+)", text, flags=re.I)
    assert not [s for s in srcs if "cdn" in s.lower() or s.startswith(("http:", "https:", "//"))]
    assert "data:image/png;base64," in text  # the image travels inside the file too


def test_save_rejects_wrong_suffix(result, tmp_path):
    with pytest.raises(ValueError, match=r"\.html"):
        save(heatmap_plotly(result, "l2v"), tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"\.png"):
        save(heatmap(result, "l2v"), tmp_path / "x.html")
    with pytest.raises(ValueError, match="offline"):
        save(heatmap_plotly(result, "l2v"), tmp_path / "x.html", include_plotlyjs="cdn")
    with pytest.raises(TypeError, match="matplotlib or plotly"):
        save(object(), tmp_path / "x.png")
