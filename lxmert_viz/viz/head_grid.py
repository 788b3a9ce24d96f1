"""Head summary grid: layers x heads of one family, to find heads worth opening.

Shape letters: L layers of the family, H heads.

Two panels: mean attention entropy over queries (low = focused heads) and the maximum weight any
query gives any key (high = a sharp link somewhere). Numbers come from
`lxmert_viz.analysis.head_stats`. Both colour scales stay light enough for dark cell text; the
selected (layer, head) is outlined (a whole row when the head is an aggregate such as "mean").
"""
from __future__ import annotations

import numpy as np

from ..analysis.heads import head_stats

FONT = 10
SELECTED = "#e08a00"
# light sequential scales (white to a mid tone), so black numbers read on every cell
ENTROPY_SCALE = [[0.0, "rgb(33,102,172)"], [0.5, "rgb(146,197,222)"], [1.0, "rgb(247,251,255)"]]
MAX_SCALE = [[0.0, "rgb(255,250,240)"], [0.5, "rgb(253,190,133)"], [1.0, "rgb(230,120,50)"]]


def _cmap(scale):
    from matplotlib.colors import LinearSegmentedColormap

    stops = [(x, tuple(int(v) / 255 for v in c[4:-1].split(","))) for x, c in scale]
    return LinearSegmentedColormap.from_list("lxmert_viz_grid", stops)


def _cells(selected, n_l: int, n_h: int) -> list[tuple[int, int]]:
    """The (layer, head) cells to outline for ``selected = (layer, head)``; an aggregate head: the row."""
    if selected is None:
        return []
    layer, head = selected
    layer %= n_l
    heads = range(n_h) if isinstance(head, str) else [int(head) % n_h]
    return [(layer, h) for h in heads]


def head_grid(result, family: str, *, ax=None, selected: tuple | None = None):
    """Matplotlib layers x heads grid of entropy and maximum weight for ``family``.

    Args:
        result: a `Result`.
        family: any attention family.
        ax: a pair of axes ``(entropy_ax, max_ax)``, or None for a new figure.
        selected: ``(layer, head)`` to outline (``head`` may be ``"mean"``/``"max"``: the row).

    Returns:
        the matplotlib `Figure`; ``axes[0].images[0]`` holds the (L, H) entropy, ``axes[1]`` the max.

    Example:
        >>> fig = head_grid(result, "l2v", selected=(-1, "mean"))
        >>> fig.axes[0].images[0].get_array().shape       # cross layers x heads
        (3, 4)
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    st = head_stats(result, family)
    ent, mx = st["entropy"], st["max"]
    n_l, n_h = ent.shape
    if ax is None:
        fig = Figure(figsize=(max(7.0, 1.2 * n_h + 5), max(2.8, 0.5 * n_l + 1.8)), layout="constrained")
        axes = fig.subplots(1, 2)
    else:
        axes = ax
        fig = axes[0].figure
    panels = ((ent, f"mean entropy (nats; uniform = {st['max_entropy']:.2f})", ENTROPY_SCALE, st["max_entropy"]),
              (mx, "largest weight", MAX_SCALE, 1.0))
    for a, (vals, name, scale, vmax) in zip(axes, panels):
        im = a.imshow(vals, cmap=_cmap(scale), vmin=0.0, vmax=max(vmax, 1e-6), aspect="auto", interpolation="nearest")
        a.set_xticks(np.arange(n_h), [str(h) for h in range(n_h)], fontsize=FONT)
        a.set_yticks(np.arange(n_l), [str(i) for i in range(n_l)], fontsize=FONT)
        a.set_xlabel("head", fontsize=FONT)
        a.set_ylabel("layer", fontsize=FONT)
        a.set_title(f"{family}: {name}", fontsize=FONT)
        for (i, j), v in np.ndenumerate(vals):
            a.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=FONT, color="black")
        for (i, j) in _cells(selected, n_l, n_h):
            a.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=SELECTED, linewidth=3,
                                  gid="selected"))
        cb = fig.colorbar(im, ax=a, fraction=0.05)
        cb.ax.tick_params(labelsize=FONT - 1)
    return fig


def head_grid_plotly(result, family: str, *, widget: bool = False, selected: tuple | None = None,
                     width: int | None = 470):
    """Plotly version: ``data[0]`` entropy heatmap, ``data[1]`` max-weight heatmap (rows = layers).

    Args:
        widget: return a `go.FigureWidget`.
        selected: ``(layer, head)`` to outline.
        width: figure width in pixels (470 fits beside a heatmap in a 1,100 px notebook).
    """
    import plotly.graph_objects as go

    fig = (go.FigureWidget if widget else go.Figure)()
    fig.set_subplots(1, 2, subplot_titles=("mean entropy (nats)", "largest weight"), horizontal_spacing=0.22)
    common = {"texttemplate": "%{z:.2f}", "textfont": {"size": 12, "color": "black"}, "xgap": 1, "ygap": 1}
    bar = {"thickness": 8, "tickfont": {"size": 10}}
    fig.add_trace(go.Heatmap(colorscale=ENTROPY_SCALE, zmin=0, name="entropy", colorbar={"x": 0.39, **bar},
                             hovertemplate="layer %{y}, head %{x}<br>entropy %{z:.3f}<extra></extra>", **common), 1, 1)
    fig.add_trace(go.Heatmap(colorscale=MAX_SCALE, zmin=0, zmax=1, name="max", colorbar={"thickness": 8, "tickfont": {"size": 10}},
                             hovertemplate="layer %{y}, head %{x}<br>largest weight %{z:.3f}<extra></extra>",
                             **common), 1, 2)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 60, "b": 10}, height=300, width=width,
                      title={"font": {"size": 13}}, font={"size": 12})
    fig.update_xaxes(title={"text": "head"}, dtick=1)
    fig.update_yaxes(title={"text": "layer"}, dtick=1, autorange="reversed")
    update_head_grid(fig, result, family, selected=selected)
    return fig


def update_head_grid(fig, result, family: str, *, selected: tuple | None = None) -> dict:
    """Redraw a `head_grid_plotly` figure in place for ``family`` and the selected cell; returns the `head_stats`."""
    st = head_stats(result, family)
    n_l, n_h = st["entropy"].shape
    heads, layers = list(range(n_h)), list(range(n_l))
    # One restyle with a value for both traces: a batch that sets zmax on one trace only would send
    # the other an undefined zmax, which the browser reads as null.
    fig.plotly_restyle({"z": [st["entropy"], st["max"]], "x": [heads, heads], "y": [layers, layers],
                        "zmax": [max(st["max_entropy"], 1e-6), 1.0]}, trace_indexes=[0, 1])
    mark_head(fig, selected, n_l, n_h)
    fig.layout.title.text = f"{family}: heads (click a cell to open it)"
    return st


def mark_head(fig, selected, n_l: int, n_h: int) -> None:
    """Outline the selected (layer, head) cells on both panels of a `head_grid_plotly` figure."""
    shapes = []
    for (i, j) in _cells(selected, n_l, n_h):
        for xref, yref in (("x", "y"), ("x2", "y2")):
            shapes.append({"type": "rect", "xref": xref, "yref": yref, "x0": j - 0.5, "x1": j + 0.5,
                           "y0": i - 0.5, "y1": i + 0.5, "line": {"color": SELECTED, "width": 3}})
    fig.layout.shapes = shapes
