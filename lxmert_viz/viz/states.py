"""Single- vs cross-modal states: how much each token/region moves once the other side is mixed in.

Shape letters: S states, T tokens, R regions, X cross layers, N items of one side.

`state_drift` draws, per item, a metric (cosine to its last single-modality state, its norm, or
its distance) from that state through each cross layer; `state_pca` projects every state of both
sides on two principal axes (numpy SVD), coloured by stage, with each item's path drawn faintly.
"""
from __future__ import annotations

import numpy as np

from ..analysis.states import drift as drift_values, state_points

METRIC_TITLES = {"cosine": "cosine to single-modality state", "norm": "state norm",
                 "distance": "distance from single-modality state"}


def state_drift(result, side: str | None = None, metric: str = "cosine", *, ax=None):
    """Matplotlib lines, one per token (and/or region), of ``metric`` across [single, cross1, ...].

    Args:
        result: a `Result`.
        side: ``"lang"``, ``"vis"`` or None for both (two panels).
        metric: ``"cosine"``, ``"norm"`` or ``"distance"`` (see `lxmert_viz.analysis.drift`).
        ax: an axes (one side) or a sequence of axes (one per side), or None for a new figure.

    Returns:
        the matplotlib `Figure`; each line's ``gid`` is ``"<side>-<index>"``.

    Example:
        >>> fig = state_drift(result, metric="cosine")
        >>> len(fig.axes)
        2
    """
    from matplotlib.figure import Figure

    sides = ("lang", "vis") if side is None else (side,)
    if ax is None:
        fig = Figure(figsize=(5 * len(sides), 3.6), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(sides)))
    else:
        axes = np.atleast_1d(ax)
        fig = axes[0].figure
    for a, sd in zip(axes, sides):
        vals, names = drift_values(result, sd, metric)
        labels = result.side_labels(sd)
        xs = np.arange(len(names))
        for n in range(vals.shape[1]):
            (line,) = a.plot(xs, vals[:, n], marker="o", markersize=3, linewidth=1.2, label=labels[n])
            line.set_gid(f"{sd}-{n}")
            a.annotate(labels[n], (xs[-1], vals[-1, n]), xytext=(3, 0), textcoords="offset points",
                       fontsize=7, va="center", color=line.get_color())
        a.set_xticks(xs, names, fontsize=8)
        a.set_xlim(-0.2, xs[-1] + 0.8 if len(xs) else 1)
        a.set_title(f"{'tokens' if sd == 'lang' else 'regions'}: {METRIC_TITLES[metric]}", fontsize=9)
        a.grid(alpha=0.3)
    return fig


def state_pca(result, *, ax=None, label_stage: str | None = None):
    """Matplotlib 2-D PCA of every hidden state (tokens ``o``, regions ``s``), coloured by stage.

    Args:
        result: a `Result`.
        ax: axes to draw on, or None for a new figure.
        label_stage: write item labels at this stage's points (default: the last stage).

    Returns:
        the matplotlib `Figure`; one scatter collection per stage, ``gid="stage-<name>"``.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    pts = state_points(result)
    xy, stages = pts["xy"], pts["stages"]
    if ax is None:
        fig = Figure(figsize=(6.5, 5), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    side, item, stage = np.array(pts["side"]), pts["item"], np.array(pts["stage"])
    for sd in ("lang", "vis"):  # faint path of each item through its stages
        for n in np.unique(item[side == sd]):
            sel = (side == sd) & (item == n)
            ax.plot(xy[sel, 0], xy[sel, 1], color="0.8", linewidth=0.7, zorder=1)
    cmap = colormaps["viridis"]
    for k, st in enumerate(stages):
        col = cmap(k / max(len(stages) - 1, 1))
        for sd, mk in (("lang", "o"), ("vis", "s")):
            sel = (stage == st) & (side == sd)
            if sel.any():
                coll = ax.scatter(xy[sel, 0], xy[sel, 1], color=col, marker=mk, s=28, zorder=2,
                                  label=st if sd == "lang" or not ((stage == st) & (side == "lang")).any() else None)
                coll.set_gid(f"stage-{st}")
    last = label_stage or stages[-1]
    for i in np.flatnonzero(stage == last):
        ax.annotate(pts["label"][i], xy[i], xytext=(3, 3), textcoords="offset points", fontsize=7)
    r = pts["ratio"]
    ax.set_xlabel(f"PC1 ({r[0]:.0%})", fontsize=8)
    ax.set_ylabel(f"PC2 ({r[1]:.0%})", fontsize=8)
    ax.set_title("hidden states, PCA (o tokens, s regions)", fontsize=9)
    ax.legend(fontsize=7, title="stage", title_fontsize=7, loc="best")
    return fig


# -- plotly (for StatesExplorer) --------------------------------------------------------------------
def state_drift_plotly(result, metric: str = "cosine", *, highlight: tuple[str, int] | None = None,
                       widget: bool = False):
    """Plotly drift lines: tokens (left), regions (right); ``data[:T]`` tokens, ``data[T:]`` regions."""
    import plotly.graph_objects as go

    fig = (go.FigureWidget if widget else go.Figure)()
    fig.set_subplots(1, 2, subplot_titles=("tokens", "regions"), horizontal_spacing=0.1)
    for col, sd in ((1, "lang"), (2, "vis")):
        names = result.stage_names(sd)[result.single_index(sd):]
        for n, lab in enumerate(result.side_labels(sd)):
            fig.add_trace(go.Scatter(x=names, y=np.zeros(len(names)), mode="lines+markers", name=lab,
                                     meta=[sd, n], hovertemplate=f"{lab}<br>%{{x}}: %{{y:.3f}}<extra></extra>"),
                          row=1, col=col)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 60, "b": 10}, height=330, showlegend=False,
                      title={"font": {"size": 13}})
    fig.layout.meta = {"lxmert_viz": "drift", "lang": len(result.tokens), "vis": result.regions.num_real}
    update_state_drift(fig, result, metric, highlight=highlight)
    return fig


def update_state_drift(fig, result, metric: str = "cosine", *, highlight: tuple[str, int] | None = None):
    """Set every line's values to ``metric`` and emphasise the ``(side, index)`` item, in place."""
    vals = {sd: drift_values(result, sd, metric)[0] for sd in ("lang", "vis")}
    with fig.batch_update():
        for tr in fig.data:
            sd, n = tr.meta
            tr.y = vals[sd][:, n]
            on = highlight is not None and (sd, n) == tuple(highlight)
            tr.line.width = 4 if on else 1.5
            tr.opacity = 1.0 if on or highlight is None else 0.35
        fig.layout.title.text = METRIC_TITLES[metric]
    return vals


def state_pca_plotly(result, *, highlight: tuple[str, int] | None = None, widget: bool = False):
    """Plotly PCA: one marker trace per stage, then ``data[-1]`` the highlighted item's path."""
    import plotly.graph_objects as go

    pts = state_points(result)
    xy, stage = pts["xy"], np.array(pts["stage"])
    fig = (go.FigureWidget if widget else go.Figure)()
    stages = pts["stages"]
    for k, st in enumerate(stages):
        sel = np.flatnonzero(stage == st)
        fig.add_trace(go.Scatter(
            x=xy[sel, 0], y=xy[sel, 1], mode="markers", name=st,
            marker={"symbol": ["circle" if pts["side"][i] == "lang" else "square" for i in sel], "size": 8,
                    "color": k, "cmin": 0, "cmax": max(len(stages) - 1, 1), "colorscale": "Viridis"},
            text=[pts["label"][i] for i in sel], hovertemplate="%{text}<br>" + st + "<extra></extra>"))
    fig.add_trace(go.Scatter(x=[], y=[], mode="lines+markers+text", name="path", textposition="top center",
                             line={"color": "#ffbf00", "width": 3}, marker={"size": 6, "color": "#ffbf00"}))
    r = pts["ratio"]
    fig.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10}, height=380,
                      title={"text": "hidden states, PCA (circles tokens, squares regions)", "font": {"size": 13}},
                      xaxis={"title": {"text": f"PC1 ({r[0]:.0%})"}}, yaxis={"title": {"text": f"PC2 ({r[1]:.0%})"}})
    fig._lxmert_points = pts  # the projection, kept for in-place path updates
    update_state_pca(fig, result, highlight=highlight)
    return fig


def update_state_pca(fig, result, *, highlight: tuple[str, int] | None = None) -> np.ndarray:
    """Draw the ``(side, index)`` item's path through its stages on a `state_pca_plotly` figure."""
    pts = getattr(fig, "_lxmert_points", None) or state_points(result)
    if highlight is None:
        sel = np.zeros(0, dtype=int)
    else:
        sd, n = highlight
        sel = np.flatnonzero((np.array(pts["side"]) == sd) & (pts["item"] == n))
    path = fig.data[-1]
    with fig.batch_update():
        path.x = pts["xy"][sel, 0]
        path.y = pts["xy"][sel, 1]
        path.text = [pts["stage"][i] for i in sel]
    return pts["xy"][sel]
