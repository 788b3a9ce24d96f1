"""Rendering for lxmert_viz: figures and views from a `Result` (the only part importing matplotlib,
plotly and anywidget; install with ``pip install lxmert_viz[viz]``). The numbers behind the
figures come from `lxmert_viz.analysis`; nothing here computes what a test of the computation needs.

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
    AttentionExplorer, StatesExplorer, QAWidget      interactive views (anywidget: JupyterLab, Notebook 7,
                                                     VS Code, Colab, marimo), each with a static twin
    compare_methods, relevance_overlay, perturbation_curves   explanations on the image, perturbation test
    MaskingWidget                                    drop regions/words through the attention masks, live
    dataset_head_grid, dataset_head_grid_plotly, layer_curves, cell_examples, DatasetHeadExplorer
                                                     a data-set run (lxmert_viz.analysis.summarize): per head, per layer,
                                                     the examples behind a head
    AtlasView                                        a head atlas (lxmert_viz.analysis.atlas): colour by a column,
                                                     the causal column in every cell, click a head for its row
    notebook_setup, sample_scenes                    the notebooks' shared set-up (seeds, one thread, the kit)
    heatmaps, default_token, box_weights             families on one scale; the word shown first; drawn weights
    architecture_figure, pointing_figure             which encoder makes which family; pointing per layer/head
    regions_overlay                                  any Regions on their image, shaded by a value (e.g. scores)

Every picture of region weights (overlays, explanation panels, the masking widget, the command
line's PNG) is shaded by one code path, `shading`: the whole-image row is reported, never painted.

The views (`view.View`, one anywidget class and one ES module, ``view.js``) get every picture as SVG
or PNG rendered here; the browser computes nothing and loads nothing from the network. Displayed
in IPython, a view also shows a kernel-free static twin of its current state (see `view`).

Modules import matplotlib and plotly inside the functions that draw, so importing this package stays
cheap until something is drawn; the views (which import anywidget) load on first use.
"""
from __future__ import annotations

from .architecture import architecture_figure
from .attention_heatmap import heatmap, heatmap_array, heatmap_plotly, heatmaps, update_heatmap
from .dataset_examples import cell_examples
from .dataset_heads import dataset_head_grid, dataset_head_grid_plotly, update_dataset_head_grid
from .dataset_layers import layer_curves
from .defaults import default_token
from .explanations import (
    compare_methods,
    perturbation_curve,
    perturbation_curves,
    relevance_overlay,
)
from .export import save
from .head_grid import head_grid, head_grid_plotly, update_head_grid
from .image_overlay import overlay, overlay_spec
from .notebook import notebook_setup, sample_scenes, seed_everything
from .plotly_overlay import box_alphas, box_weights, empty_overlay, overlay_plotly, update_overlay
from .pointing import pointing_figure
from .region_picture import regions_overlay
from .states import state_drift, state_drift_plotly, state_pca, state_pca_plotly, update_state_drift, update_state_pca

# The views import anywidget (and through it ipywidgets): loaded on first use, so that importing this
# package stays cheap (PEP 562).
_VIEWS = {"AtlasView": "widgets_atlas", "AttentionExplorer": "widgets_attention", "DatasetHeadExplorer": "widgets_dataset",
          "MaskingWidget": "widgets_masking", "QAWidget": "widgets_qa", "StatesExplorer": "widgets_states",
          "View": "view"}


def __getattr__(name: str):
    if name in _VIEWS:
        import importlib

        return getattr(importlib.import_module(f".{_VIEWS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AtlasView", "AttentionExplorer", "DatasetHeadExplorer", "MaskingWidget", "QAWidget", "StatesExplorer",
    "architecture_figure", "box_alphas", "box_weights", "cell_examples", "compare_methods",
    "dataset_head_grid", "dataset_head_grid_plotly", "default_token", "empty_overlay", "head_grid",
    "head_grid_plotly", "heatmap", "heatmap_array", "heatmap_plotly", "heatmaps", "layer_curves",
    "notebook_setup", "overlay", "overlay_plotly", "overlay_spec", "perturbation_curve",
    "perturbation_curves", "pointing_figure", "regions_overlay", "relevance_overlay", "sample_scenes",
    "save", "seed_everything", "state_drift", "state_drift_plotly", "state_pca", "state_pca_plotly",
    "update_dataset_head_grid", "update_head_grid", "update_heatmap", "update_overlay",
    "update_state_drift", "update_state_pca", "View",
]
