"""Single- vs cross-modal states: how much each token/region moves once the other side is mixed in.

Shape letters: S states, T tokens, R regions, X cross layers, N items of one side.

`state_drift` draws, per item, a metric (cosine to its last single-modality state, its norm, or
its distance) from that state through each cross layer; `state_pca` projects every state of both
sides on two principal axes (numpy SVD), coloured by stage, with each item's path drawn faintly.
"""
from __future__ import annotations

import numpy as np

from ..analysis.states import drift as drift_values
from ..analysis.states import state_points
from .label_layout import place, spread
from .titles import STAGE_NOTE

FONT = 10
HIGHLIGHT = "#e08a00"

METRIC_TITLES = {"cosine": "cosine to single-modality state", "norm": "state norm",
                 "distance": "distance from single-modality state"}


def _colours(n: int):
    from matplotlib import colormaps

    cmap = colormaps["tab20" if n > 10 else "tab10"]
    return [cmap(i % cmap.N) for i in range(n)]


def state_drift(result, side: str | None = None, metric: str = "cosine", *, ax=None):
    """Matplotlib lines, one per token (and/or region), of ``metric`` across [single, cross1, ...].

    Every line is labelled at its end; the labels are spread apart so that none overlaps another
    and all stay inside the axes.

    Args:
        result: a `Result`.
        side: ``"lang"``, ``"vis"`` or None for both (two panels).
        metric: ``"cosine"``, ``"norm"`` or ``"distance"`` (see `lxmert_viz.analysis.drift`).
        ax: an axes (one side) or a sequence of axes (one per side), or None for a new figure.

    Returns:
        the matplotlib `Figure`; each line's ``gid`` is ``"<side>-<index>"``, each end label's
        ``gid`` is ``"label-<side>-<index>"``.

    Example:
        >>> fig = state_drift(result, metric="cosine")
        >>> len(fig.axes)
        2
    """
    from matplotlib.figure import Figure

    sides = ("lang", "vis") if side is None else (side,)
    if ax is None:
        fig = Figure(figsize=(6.2 * len(sides), 4.4), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(sides)))
    else:
        axes = np.atleast_1d(ax)
        fig = axes[0].figure
    for a, sd in zip(axes, sides):
        vals, names = drift_values(result, sd, metric)
        labels = result.side_labels(sd)
        xs = np.arange(len(names))
        cols = _colours(vals.shape[1])
        for n in range(vals.shape[1]):
            (line,) = a.plot(xs, vals[:, n], marker="o", markersize=4, linewidth=1.6, color=cols[n], label=labels[n])
            line.set_gid(f"{sd}-{n}")
        lo, hi = float(vals.min()), float(vals.max())
        pad = 0.08 * max(hi - lo, 1e-6)
        a.set_ylim(lo - pad, hi + pad)
        ends = spread(vals[-1], 0.075 * (hi - lo + 2 * pad), lo - pad * 0.5, hi + pad * 0.5)
        for n, y in enumerate(ends):
            a.annotate(labels[n], (xs[-1], vals[-1, n]), xytext=(xs[-1] + 0.25, y), textcoords="data",
                       fontsize=FONT - 1, va="center", color=cols[n], gid=f"label-{sd}-{n}",
                       arrowprops={"arrowstyle": "-", "color": cols[n], "linewidth": 0.6, "shrinkA": 0, "shrinkB": 2})
        a.set_xticks(xs, names, fontsize=FONT)
        a.tick_params(axis="y", labelsize=FONT)
        a.set_xlim(-0.2, xs[-1] + 1.3 if len(xs) else 1)
        a.set_xlabel("state: the last single-modality layer, then each cross layer\n(" + STAGE_NOTE + ")",
                     fontsize=FONT)
        a.set_title(f"{'tokens' if sd == 'lang' else 'regions'}: {METRIC_TITLES[metric]}", fontsize=FONT + 1)
        a.grid(alpha=0.3)
    return fig


def state_pca(result, *, ax=None, label_stage: str | None = None):
    """Matplotlib 2-D PCA of every hidden state (tokens ``o``, regions ``s``), coloured by stage.

    Item labels are written at ``label_stage``'s points, each where it overlaps no other label
    (a label that finds no free place is left out; hover the plotly version for it).

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
        fig = Figure(figsize=(7.5, 5.8), layout="constrained")
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
                coll = ax.scatter(xy[sel, 0], xy[sel, 1], color=col, marker=mk, s=32, zorder=2,
                                  label=st if sd == "lang" or not ((stage == st) & (side == "lang")).any() else None)
                coll.set_gid(f"stage-{st}")
    x0, x1 = float(xy[:, 0].min()), float(xy[:, 0].max())
    y0, y1 = float(xy[:, 1].min()), float(xy[:, 1].max())
    mx, my = 0.08 * max(x1 - x0, 1e-6), 0.08 * max(y1 - y0, 1e-6)
    ax.set_xlim(x0 - mx, x1 + mx)
    ax.set_ylim(y0 - my, y1 + my)
    last = label_stage or stages[-1]
    idx = np.flatnonzero(stage == last)
    w_in, h_in = fig.get_size_inches()
    px_w, px_h = 0.8 * w_in * 72, 0.8 * h_in * 72  # axes size in points, roughly
    to_px = np.column_stack([(xy[idx, 0] - (x0 - mx)) / (x1 - x0 + 2 * mx) * px_w,
                             (xy[idx, 1] - (y0 - my)) / (y1 - y0 + 2 * my) * px_h])
    sizes = np.array([[0.6 * (FONT - 1) * len(pts["label"][i]), FONT + 1] for i in idx])
    for i, spot in zip(idx, place(to_px, sizes, (0, 0, px_w, px_h))):
        if spot is not None:
            dx, dy, ha = spot
            ax.annotate(pts["label"][i], xy[i], xytext=(dx, dy), textcoords="offset points", fontsize=FONT - 1,
                        ha=ha, va="bottom", gid=f"label-{pts['side'][i]}-{pts['item'][i]}")
    r = pts["ratio"]
    ax.set_xlabel(f"PC1 ({r[0]:.0%} of the variance)", fontsize=FONT)
    ax.set_ylabel(f"PC2 ({r[1]:.0%})", fontsize=FONT)
    ax.tick_params(labelsize=FONT - 1)
    ax.set_title(f"hidden states, PCA (o tokens, s regions); labels at {last}", fontsize=FONT + 1)
    ax.legend(fontsize=FONT - 1, title="stage", title_fontsize=FONT - 1, loc="best")
    return fig


# -- plotly (for StatesExplorer) --------------------------------------------------------------------
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d"]


def state_drift_plotly(result, metric: str = "cosine", *, highlight: tuple[str, int] | None = None,
                       widget: bool = False):
    """Plotly drift lines: tokens (left), regions (right); ``data[:T]`` tokens, ``data[T:]`` regions.

    Every line is named in the legend (grouped "tokens" / "regions"); the highlighted item is drawn
    thick in amber and the others fade.
    """
    import plotly.graph_objects as go

    fig = (go.FigureWidget if widget else go.Figure)()
    fig.set_subplots(1, 2, subplot_titles=("tokens", "regions"), horizontal_spacing=0.08)
    for col, sd in ((1, "lang"), (2, "vis")):
        names = result.stage_names(sd)[result.single_index(sd):]
        for n, lab in enumerate(result.side_labels(sd)):
            group = "tokens" if sd == "lang" else "regions"
            fig.add_trace(go.Scatter(x=names, y=np.zeros(len(names)), mode="lines+markers", name=lab,
                                     legendgroup=group, legendgrouptitle={"text": group} if n == 0 else None,
                                     line={"color": PALETTE[n % len(PALETTE)]}, meta=[sd, n],
                                     hovertemplate=f"{lab}<br>%{{x}}: %{{y:.3f}}<extra></extra>"),
                          row=1, col=col)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 70, "b": 10}, height=380, showlegend=True,
                      legend={"font": {"size": 11}, "tracegroupgap": 8, "groupclick": "toggleitem"},
                      title={"font": {"size": 13}}, font={"size": 12})
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
            tr.line.width = 5 if on else 1.5
            tr.line.color = HIGHLIGHT if on else PALETTE[n % len(PALETTE)]
            tr.opacity = 1.0 if on or highlight is None else 0.3
        what = ""
        if highlight is not None:
            sd, n = highlight
            what = f" · highlighted: {'token' if sd == 'lang' else 'region'} {result.side_labels(sd)[n]!r}"
        fig.layout.title.text = METRIC_TITLES[metric] + what
    return vals


def state_pca_plotly(result, *, highlight: tuple[str, int] | None = None, widget: bool = False):
    """Plotly PCA: one marker trace per stage, then ``data[-1]`` the highlighted item's path
    (labelled at its first and last state; hover any point for its stage)."""
    import plotly.graph_objects as go

    pts = state_points(result)
    xy, stage = pts["xy"], np.array(pts["stage"])
    fig = (go.FigureWidget if widget else go.Figure)()
    stages = pts["stages"]
    for k, st in enumerate(stages):
        sel = np.flatnonzero(stage == st)
        fig.add_trace(go.Scatter(
            x=xy[sel, 0], y=xy[sel, 1], mode="markers", name=st,
            marker={"symbol": ["circle" if pts["side"][i] == "lang" else "square" for i in sel], "size": 9,
                    "color": [k] * len(sel), "cmin": 0, "cmax": max(len(stages) - 1, 1), "colorscale": "Viridis"},
            text=[pts["label"][i] for i in sel], hovertemplate="%{text}<br>" + st + "<extra></extra>"))
    fig.add_trace(go.Scatter(x=[], y=[], mode="lines+markers+text", name="path", textposition="top center",
                             textfont={"size": 12, "color": "#7a4a00"},
                             line={"color": HIGHLIGHT, "width": 3}, marker={"size": 8, "color": HIGHLIGHT}))
    r = pts["ratio"]
    fig.update_layout(margin={"l": 10, "r": 10, "t": 48, "b": 10}, height=420, font={"size": 12},
                      title={"text": "hidden states, PCA (circles tokens, squares regions)", "font": {"size": 13}},
                      legend={"title": {"text": "stage"}},
                      xaxis={"title": {"text": f"PC1 ({r[0]:.0%} of the variance)"}},
                      yaxis={"title": {"text": f"PC2 ({r[1]:.0%})"}})
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
    text = [pts["stage"][i] if k in (0, len(sel) - 1) else "" for k, i in enumerate(sel)]
    if len(sel):
        text[0] = f"{pts['label'][sel[0]]}: {text[0]}"
    with fig.batch_update():
        path.x = pts["xy"][sel, 0]
        path.y = pts["xy"][sel, 1]
        path.text = text
        path.hovertext = [pts["stage"][i] for i in sel]
        path.name = f"path of {pts['label'][sel[0]]}" if len(sel) else "path"
    return pts["xy"][sel]
