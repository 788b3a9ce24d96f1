"""One attention map as a heatmap: query labels x key labels, for any of the six families.

Shape letters: Q queries, K keys (T tokens or R regions, depending on the family).

`Result.attn(family, layer, head)` and `Result.labels(family)` give the map and its axes, so the
same renderer draws T x T (``lang``, ``cross_lang``), R x R (``vis``, ``cross_vis``), T x R (``l2v``)
and R x T (``v2l``).
"""
from __future__ import annotations

import numpy as np


def _check(a: np.ndarray, query_labels, key_labels) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"an attention map must be (queries, keys), got shape {a.shape}")
    if len(query_labels) != a.shape[0] or len(key_labels) != a.shape[1]:
        raise ValueError(f"map is {a.shape[0]} x {a.shape[1]} but there are {len(query_labels)} query labels "
                         f"and {len(key_labels)} key labels")
    return a


def _title(result, family, layer, head) -> str:
    n = result.num_layers(family)
    return f"{family} · layer {layer % n} of 0..{n - 1} · {head if isinstance(head, str) else f'head {head}'}"


def heatmap_array(a: np.ndarray, query_labels, key_labels, *, ax=None, title: str | None = None,
                  highlight_query: int | None = None, vmax: float | None = None):
    """Matplotlib heatmap of a (Q, K) map with its labels; returns the `Figure`.

    Example:
        >>> fig = heatmap_array(np.eye(2), ["a", "b"], ["x", "y"])
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    a = _check(a, query_labels, key_labels)
    if ax is None:
        q, k = a.shape
        fig = Figure(figsize=(max(3.5, 0.35 * k + 2), max(3.0, 0.3 * q + 1.5)), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    im = ax.imshow(a, cmap="viridis", vmin=0.0, vmax=vmax if vmax is not None else max(float(a.max()), 1e-6),
                   aspect="auto", interpolation="nearest")
    ax.set_xticks(np.arange(a.shape[1]), list(key_labels), rotation=60, ha="right", fontsize=8)
    ax.set_yticks(np.arange(a.shape[0]), list(query_labels), fontsize=8)
    ax.set_xlabel("keys", fontsize=8)
    ax.set_ylabel("queries", fontsize=8)
    if highlight_query is not None:
        ax.add_patch(Rectangle((-0.5, highlight_query - 0.5), a.shape[1], 1, fill=False, edgecolor="#ffbf00",
                               linewidth=2, gid="highlight"))
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.05)
    return fig


def heatmap(result, family: str, layer: int = -1, head: int | str = "mean", *, ax=None,
            highlight_query: int | None = None):
    """Matplotlib heatmap of ``result.attn(family, layer, head)`` with ``result.labels(family)``.

    Args:
        result: a `Result`.
        family: ``lang``, ``vis``, ``l2v``, ``v2l``, ``cross_lang`` or ``cross_vis``.
        layer, head: as `Result.attn`.
        ax: axes to draw on, or None for a new figure.
        highlight_query: outline this query's row.

    Returns:
        the matplotlib `Figure` (the map is ``ax.images[0].get_array()``).

    Example:
        >>> fig = heatmap(result, "l2v", layer=-1, head=0)
        >>> fig.axes[0].images[0].get_array().shape       # tokens x regions
        (8, 4)
    """
    q, k = result.labels(family)
    return heatmap_array(result.attn(family, layer, head), q, k, ax=ax, title=_title(result, family, layer, head),
                         highlight_query=highlight_query)


def heatmap_plotly(result, family: str, layer: int = -1, head: int | str = "mean", *,
                   highlight_query: int | None = None, widget: bool = False):
    """Plotly heatmap (``data[0]`` is the `go.Heatmap`; ``z`` equals ``result.attn(...)``).

    Args:
        widget: return a `go.FigureWidget` instead of a `go.Figure`.
    """
    import plotly.graph_objects as go

    fig = (go.FigureWidget if widget else go.Figure)()
    fig.add_trace(go.Heatmap(colorscale="Viridis", zmin=0, colorbar={"thickness": 12}, name="attention",
                             hovertemplate="query %{y}<br>key %{x}<br>attention %{z:.3f}<extra></extra>"))
    fig.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10}, height=380, title={"font": {"size": 13}})
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", tickangle=-60)
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
                    "line": {"color": "#ffbf00", "width": 3}}
            if len(fig.layout.shapes) == 1:
                fig.layout.shapes[0].update(rect)
            else:
                fig.layout.shapes = (rect,)
    return a
