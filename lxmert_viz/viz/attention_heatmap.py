"""One attention map as a heatmap: query labels x key labels, for any of the six families.

Shape letters: Q queries, K keys (T tokens or R regions, depending on the family).

`Result.attn(family, layer, head)` and `Result.labels(family)` give the map and its axes, so the
same renderer draws T x T (``lang``, ``cross_lang``), R x R (``vis``, ``cross_vis``), T x R (``l2v``)
and R x T (``v2l``). `heatmaps` puts several families side by side on ONE colour scale (0 to the
largest weight of any panel) with one colour bar, so panels can be compared.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from ..model.output import FAMILIES
from .shading import honest_top
from .titles import head_text, layer_text

FONT = 10  # tick labels and titles: >= 10 px at the default size


def _check(a: np.ndarray, query_labels, key_labels) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim != 2:
        raise InputError(f"an attention map must be (queries, keys), got shape {a.shape}")
    if len(query_labels) != a.shape[0] or len(key_labels) != a.shape[1]:
        raise InputError(f"map is {a.shape[0]} x {a.shape[1]} but there are {len(query_labels)} query labels "
                         f"and {len(key_labels)} key labels")
    return a


def _title(result, family, layer, head) -> str:
    return f"{family} · {layer_text(family, layer, result.num_layers(family))} · {head_text(head, result.num_heads)}"


def heatmap_array(a: np.ndarray, query_labels, key_labels, *, ax=None, title: str | None = None,
                  highlight_query: int | None = None, vmax: float | None = None, colorbar: bool = True):
    """Matplotlib heatmap of a (Q, K) map with its labels; returns the `Figure`.

    Args:
        vmax: top of the colour scale (None: this map's maximum, but at least 4x uniform so a flat map
            stays dark: `shading.honest_top`; pass one value to compare maps).
        colorbar: draw a colour bar beside the axes.

    Example:
        >>> fig = heatmap_array(np.eye(2), ["a", "b"], ["x", "y"])
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    a = _check(a, query_labels, key_labels)
    if ax is None:
        q, k = a.shape
        fig = Figure(figsize=(max(4.0, 0.42 * k + 2.4), max(3.4, 0.36 * q + 1.8)), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    im = ax.imshow(a, cmap="viridis", vmin=0.0, vmax=vmax if vmax is not None else honest_top(a),
                   aspect="auto", interpolation="nearest")
    ax.set_xticks(np.arange(a.shape[1]), list(key_labels), rotation=50, ha="right", rotation_mode="anchor",
                  fontsize=FONT)
    ax.set_yticks(np.arange(a.shape[0]), list(query_labels), fontsize=FONT)
    ax.set_xlabel("keys", fontsize=FONT)
    ax.set_ylabel("queries", fontsize=FONT)
    if highlight_query is not None:
        ax.add_patch(Rectangle((-0.5, highlight_query - 0.5), a.shape[1], 1, fill=False, edgecolor="#e08a00",
                               linewidth=2.5, gid="highlight"))
    if title:
        ax.set_title(title, fontsize=FONT + 1)
    if colorbar:
        cb = fig.colorbar(im, ax=ax, fraction=0.05)
        cb.ax.tick_params(labelsize=FONT)
    return fig


def heatmap(result, family: str, layer: int = -1, head: int | str = "mean", *, ax=None,
            highlight_query: int | None = None, vmax: float | None = None, colorbar: bool = True):
    """Matplotlib heatmap of ``result.attn(family, layer, head)`` with ``result.labels(family)``.

    Args:
        result: a `Result`.
        family: ``lang``, ``vis``, ``l2v``, ``v2l``, ``cross_lang`` or ``cross_vis``.
        layer, head: as `Result.attn`.
        ax: axes to draw on, or None for a new figure.
        highlight_query: outline this query's row.
        vmax: top of the colour scale (None: `shading.honest_top`).
        colorbar: draw a colour bar.

    Returns:
        the matplotlib `Figure` (the map is ``ax.images[0].get_array()``).

    Example:
        >>> fig = heatmap(result, "l2v", layer=-1, head=0)
        >>> fig.axes[0].images[0].get_array().shape       # tokens x regions
        (8, 4)
    """
    q, k = result.labels(family)
    return heatmap_array(result.attn(family, layer, head), q, k, ax=ax, title=_title(result, family, layer, head),
                         highlight_query=highlight_query, vmax=vmax, colorbar=colorbar)


def heatmaps(result, families: Sequence[str] = FAMILIES, layer: int = -1, head: int | str = "mean", *,
             fig=None, columns: int = 3):
    """Several families side by side on one shared colour scale, with one colour bar.

    Args:
        result: a `Result`.
        families: which families (default all six).
        layer: each family's layer (``-1``: each family's last).
        head: as `Result.attn`.
        fig: a `Figure` to draw into, or None.
        columns: panels per row.

    Returns:
        the `Figure`; ``fig.axes[:len(families)]`` are the panels, all with the same ``clim``.

    Example:
        >>> fig = heatmaps(result)
        >>> len({ax.images[0].get_clim() for ax in fig.axes[:6]})      # one shared scale
        1
    """
    from matplotlib.figure import Figure

    maps = {f: result.attn(f, layer, head) for f in families}
    vmax = max(max(float(a.max()) for a in maps.values()), 1e-6)
    rows = -(-len(families) // columns)
    if fig is None:
        fig = Figure(figsize=(5.2 * columns, 4.6 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    for ax, fam in zip(axes, families):
        heatmap(result, fam, layer, head, ax=ax, vmax=vmax, colorbar=False)
    for ax in axes[len(families):]:
        ax.set_axis_off()
    cb = fig.colorbar(axes[0].images[0], ax=list(axes[: len(families)]), fraction=0.02, shrink=0.8)
    cb.ax.tick_params(labelsize=FONT)
    cb.set_label(f"attention weight (one scale for every panel, 0 to {vmax:.2f})", fontsize=FONT)
    fig.suptitle(f"all families · {head_text(head, result.num_heads)} · each family's "
                 f"{'last' if layer == -1 else f'layer {layer}'} layer", fontsize=FONT + 2)
    return fig


def heatmap_plotly(result, family: str, layer: int = -1, head: int | str = "mean", *,
                   highlight_query: int | None = None, widget: bool = False, width: int | None = 470):
    """Plotly heatmap (``data[0]`` is the `go.Heatmap`; ``z`` equals ``result.attn(...)``).

    Args:
        widget: return a `go.FigureWidget` instead of a `go.Figure`.
        width: figure width in pixels (470 fits beside the head grid in a 1,100 px notebook).
    """
    import plotly.graph_objects as go

    fig = (go.FigureWidget if widget else go.Figure)()
    bar = {"thickness": 12, "title": {"text": "weight<br>(0 to this<br>map's max)"}}
    fig.add_trace(go.Heatmap(colorscale="Viridis", zmin=0, colorbar=bar,
                             name="attention",
                             hovertemplate="query %{y}<br>key %{x}<br>attention %{z:.3f}<extra></extra>"))
    fig.update_layout(margin={"l": 10, "r": 10, "t": 48, "b": 10}, height=400, width=width,
                      title={"font": {"size": 13}}, font={"size": 12})
    fig.update_yaxes(autorange="reversed", type="category", tickfont={"size": 12}, automargin=True)
    fig.update_xaxes(type="category", tickangle=-50, tickfont={"size": 12}, automargin=True)
    update_heatmap(fig, result, family, layer, head, highlight_query=highlight_query)
    return fig


def update_heatmap(fig, result, family: str, layer: int = -1, head: int | str = "mean", *,
                   highlight_query: int | None = None) -> np.ndarray:
    """Redraw a `heatmap_plotly` figure in place; returns the map drawn."""
    a = result.attn(family, layer, head)
    q, k = result.labels(family)
    with fig.batch_update():
        hm = fig.data[0]
        hm.z = a
        hm.x = k
        hm.y = q
        hm.zmax = max(float(a.max()), 1e-6)
        fig.layout.title.text = _title(result, family, layer, head)
        if highlight_query is None:
            fig.layout.shapes = ()
        else:
            rect = {"type": "rect", "xref": "x", "yref": "y", "x0": -0.5, "x1": len(k) - 0.5,
                    "y0": highlight_query - 0.5, "y1": highlight_query + 0.5,
                    "line": {"color": "#e08a00", "width": 3}}
            if len(fig.layout.shapes) == 1:
                fig.layout.shapes[0].update(rect)
            else:
                fig.layout.shapes = (rect,)
    return a
