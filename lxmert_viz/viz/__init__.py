"""Rendering for lxmert_viz: figures and widgets from a `Result` (the only part importing matplotlib,
plotly and ipywidgets; install with ``pip install lxmert_viz[viz]``).

Every renderer takes a `Result` (or plain arrays) and returns a figure; none calls ``show()``.
Matplotlib renderers take ``ax=None`` and build a `matplotlib.figure.Figure` without pyplot;
``*_plotly`` renderers return a `go.Figure` (``widget=True``: a `go.FigureWidget`) and have an
``update_*`` partner that redraws the same figure in place.

Public API:
    overlay, overlay_plotly, update_overlay          attention on the image (l2v / v2l / any row)
    heatmap, heatmap_array, heatmap_plotly, update_heatmap   query labels x key labels, any family
    head_grid, head_grid_plotly, update_head_grid    layers x heads: entropy and max weight
    state_drift, state_pca, state_drift_plotly, state_pca_plotly   single- vs cross-modal states
    save                                             PNG/SVG/PDF (matplotlib), offline HTML (plotly)
    AttentionExplorer, StatesExplorer, QAWidget      ipywidgets, figures updated in place
    head_stats, state_drift_values, pca_2d           the numbers, pure numpy

Names load lazily, so ``import lxmert_viz.viz`` is cheap until a renderer is used.
"""
from __future__ import annotations

import importlib

_NAMES = {
    "overlay": "overlay", "overlay_plotly": "overlay", "update_overlay": "overlay", "overlay_spec": "overlay",
    "box_alphas": "overlay",
    "heatmap": "heatmap", "heatmap_array": "heatmap", "heatmap_plotly": "heatmap", "update_heatmap": "heatmap",
    "head_grid": "heads", "head_grid_plotly": "heads", "update_head_grid": "heads",
    "state_drift": "states", "state_pca": "states", "state_drift_plotly": "states", "state_pca_plotly": "states",
    "update_state_drift": "states", "update_state_pca": "states",
    "save": "export",
    "head_stats": "stats", "pca_2d": "stats", "state_points": "stats",
    "AttentionExplorer": "widgets_attention", "StatesExplorer": "widgets_states", "QAWidget": "widgets_qa",
}
_ALIASES = {"state_drift_values": ("stats", "state_drift")}

__all__ = sorted([*_NAMES, *_ALIASES])


def __getattr__(name: str):
    if name in _NAMES:
        mod = importlib.import_module(f".{_NAMES[name]}", __name__)
        return getattr(mod, name)
    if name in _ALIASES:
        mod_name, attr = _ALIASES[name]
        return getattr(importlib.import_module(f".{mod_name}", __name__), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
