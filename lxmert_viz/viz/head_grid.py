"""Head summary grid: layers x heads of one family, to find heads worth opening.

Shape letters: L layers of the family, H heads.

Two panels: mean attention entropy over queries (low = focused heads) and the maximum weight any
query gives any key (high = a sharp link somewhere). Numbers come from `lxmert_viz.analysis.head_stats`.
"""
from __future__ import annotations

import numpy as np

from ..analysis.heads import head_stats


def head_grid(result, family: str, *, ax=None):
    """Matplotlib layers x heads grid of entropy and maximum weight for ``family``.

    Args:
        result: a `Result`.
        family: any attention family.
        ax: a pair of axes ``(entropy_ax, max_ax)``, or None for a new figure.

    Returns:
        the matplotlib `Figure`; ``axes[0].images[0]`` holds the (L, H) entropy, ``axes[1]`` the max.

    Example:
        >>> fig = head_grid(result, "l2v")
        >>> fig.axes[0].images[0].get_array().shape       # cross layers x heads
        (3, 4)
    """
    from matplotlib.figure import Figure

    st = head_stats(result, family)
    ent, mx = st["entropy"], st["max"]
    n_l, n_h = ent.shape
    if ax is None:
        fig = Figure(figsize=(max(6.0, 1.1 * n_h + 4), max(2.5, 0.45 * n_l + 1.5)), layout="constrained")
        axes = fig.subplots(1, 2)
    else:
        axes = ax
        fig = axes[0].figure
    panels = ((ent, f"entropy (nats, max {st['max_entropy']:.2f})", "viridis_r", st["max_entropy"]),
              (mx, "max weight", "magma", 1.0))
    for a, (vals, name, cmap, vmax) in zip(axes, panels):
        im = a.imshow(vals, cmap=cmap, vmin=0.0, vmax=max(vmax, 1e-6), aspect="auto", interpolation="nearest")
        a.set_xticks(np.arange(n_h), [str(h) for h in range(n_h)], fontsize=8)
        a.set_yticks(np.arange(n_l), [str(i) for i in range(n_l)], fontsize=8)
        a.set_xlabel("head", fontsize=8)
        a.set_ylabel("layer", fontsize=8)
        a.set_title(f"{family}: {name}", fontsize=9)
        for (i, j), v in np.ndenumerate(vals):
            a.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white")
        fig.colorbar(im, ax=a, fraction=0.05)
    return fig


def head_grid_plotly(result, family: str, *, widget: bool = False):
    """Plotly version: ``data[0]`` entropy heatmap, ``data[1]`` max-weight heatmap (rows = layers)."""
    import plotly.graph_objects as go

    fig = (go.FigureWidget if widget else go.Figure)()
    fig.set_subplots(1, 2, subplot_titles=("entropy (nats)", "max weight"), horizontal_spacing=0.15)
    fig.add_trace(go.Heatmap(colorscale="Viridis", reversescale=True, zmin=0, name="entropy",
                             colorbar={"x": 0.42, "thickness": 10}, texttemplate="%{z:.2f}",
                             hovertemplate="layer %{y}<br>head %{x}<br>entropy %{z:.3f}<extra></extra>"), 1, 1)
    fig.add_trace(go.Heatmap(colorscale="Magma", zmin=0, zmax=1, name="max",
                             colorbar={"thickness": 10}, texttemplate="%{z:.2f}",
                             hovertemplate="layer %{y}<br>head %{x}<br>max %{z:.3f}<extra></extra>"), 1, 2)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 50, "b": 10}, height=260, title={"font": {"size": 13}})
    fig.update_xaxes(title={"text": "head"}, dtick=1)
    fig.update_yaxes(title={"text": "layer"}, dtick=1, autorange="reversed")
    update_head_grid(fig, result, family)
    return fig


def update_head_grid(fig, result, family: str) -> dict:
    """Redraw a `head_grid_plotly` figure in place for ``family``; returns the `head_stats`."""
    st = head_stats(result, family)
    n_l, n_h = st["entropy"].shape
    heads, layers = list(range(n_h)), list(range(n_l))
    # One restyle with a value for both traces: a batch that sets zmax on one trace only would send
    # the other an undefined zmax, which the browser reads as null.
    fig.plotly_restyle({"z": [st["entropy"], st["max"]], "x": [heads, heads], "y": [layers, layers],
                        "zmax": [max(st["max_entropy"], 1e-6), 1.0]}, trace_indexes=[0, 1])
    fig.layout.title.text = f"{family}: heads (layer x head)"
    return st
