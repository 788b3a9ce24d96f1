"""Data-set head grid: one statistic per (layer, head) of a family, averaged over a run.

Shape letters: L layers of the family, H heads.

The numbers come from `lxmert_viz.analysis.summarize` (`Summary.grid`); any per-head column
works: pointing accuracy (``ref_top1``), weight on the named region (``ref_attn``), sink mass
(``mass_scene``, ``mass_sep``), entropy, maximum weight.
"""
from __future__ import annotations

import numpy as np

UNIT_RANGE = ("ref_top1", "ref_attn", "max", "mass_cls", "mass_sep", "mass_punct", "mass_scene")


def _title(summary, stat, family, group) -> str:
    n = summary.count(stat, family, group)
    where = "" if group in (None, "all") else f", {group} questions"
    return f"{family}: mean {stat} per head ({n} examples{where})"


def _range(stat: str, grid: np.ndarray) -> tuple[float, float]:
    if stat in UNIT_RANGE:
        return 0.0, 1.0
    finite = grid[np.isfinite(grid)]
    return 0.0, float(finite.max()) if finite.size else 1.0


def dataset_head_grid(summary, stat: str, family: str, *, group: str | None = None, reference: float | None = None,
                      ax=None):
    """Matplotlib layers x heads grid of a statistic's mean over a run.

    Args:
        summary: a `Summary` (``lxmert_viz.analysis.summarize(run_dir)``).
        stat, family: the per-head column ``stat.family`` (e.g. ``"ref_top1", "l2v"``).
        group: one question type, or None for all.
        reference: a value to name in the title (e.g. the pointing game's chance).
        ax: axes to draw on, or None for a new figure.

    Returns:
        the matplotlib `Figure`; ``axes[0].images[0]`` holds the (L, H) grid.

    Example:
        >>> from lxmert_viz.analysis import run, summarize
        >>> _ = run("shapes:2", ["pointing"], tmp / "r", progress=False)
        >>> fig = dataset_head_grid(summarize(tmp / "r"), "ref_top1", "l2v")
        >>> fig.axes[0].images[0].get_array().shape          # cross layers x heads
        (3, 4)
    """
    from matplotlib.figure import Figure

    grid = summary.grid(stat, family, group)
    n_l, n_h = grid.shape
    if ax is None:
        fig = Figure(figsize=(max(3.6, 0.9 * n_h + 2.2), max(2.4, 0.55 * n_l + 1.4)), layout="constrained")
        ax = fig.subplots()
    fig = ax.figure
    lo, hi = _range(stat, grid)
    cmap = "viridis_r" if stat == "entropy" else "viridis"
    im = ax.imshow(grid, cmap=cmap, vmin=lo, vmax=max(hi, 1e-6), aspect="auto", interpolation="nearest")
    ax.set_xticks(np.arange(n_h), [str(h) for h in range(n_h)], fontsize=8)
    ax.set_yticks(np.arange(n_l), [str(i) for i in range(n_l)], fontsize=8)
    ax.set_xlabel("head", fontsize=8)
    ax.set_ylabel("layer", fontsize=8)
    title = _title(summary, stat, family, group)
    if reference is not None:
        title += f"\nreference {reference:.2f}"
    ax.set_title(title, fontsize=9)
    mid = (lo + hi) / 2
    for (i, j), v in np.ndenumerate(grid):
        dark = (v > mid) if stat == "entropy" else (v < mid)
        ax.text(j, i, "–" if not np.isfinite(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                color="white" if dark else "black")
    fig.colorbar(im, ax=ax, fraction=0.06)
    return fig


def dataset_head_grid_plotly(summary, stat: str, family: str, *, group: str | None = None, widget: bool = False):
    """Plotly version (``data[0]`` is the heatmap; rows are layers); `update_dataset_head_grid` redraws it."""
    import plotly.graph_objects as go

    fig = (go.FigureWidget if widget else go.Figure)()
    fig.add_trace(go.Heatmap(colorscale="Viridis", texttemplate="%{z:.2f}", colorbar={"thickness": 10},
                             hovertemplate="layer %{y}<br>head %{x}<br>%{z:.3f}<extra></extra>"))
    fig.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10}, height=280, width=420,
                      title={"font": {"size": 12}})
    fig.update_xaxes(title={"text": "head"}, dtick=1)
    fig.update_yaxes(title={"text": "layer"}, dtick=1, autorange="reversed")
    update_dataset_head_grid(fig, summary, stat, family, group=group)
    return fig


def update_dataset_head_grid(fig, summary, stat: str, family: str, *, group: str | None = None,
                             selected: tuple[int, int] | None = None) -> np.ndarray:
    """Redraw a `dataset_head_grid_plotly` figure in place; ``selected`` (layer, head) is outlined."""
    grid = summary.grid(stat, family, group)
    n_l, n_h = grid.shape
    lo, hi = _range(stat, grid)
    with fig.batch_update():
        fig.data[0].update(z=np.where(np.isfinite(grid), grid, None), x=list(range(n_h)), y=list(range(n_l)),
                           zmin=lo, zmax=max(hi, 1e-6), reversescale=stat == "entropy")
        fig.layout.title.text = _title(summary, stat, family, group)
        fig.layout.shapes = [] if selected is None else [
            {"type": "rect", "x0": selected[1] - 0.5, "x1": selected[1] + 0.5, "y0": selected[0] - 0.5,
             "y1": selected[0] + 0.5, "line": {"color": "#ffbf00", "width": 3}}]
    return grid
