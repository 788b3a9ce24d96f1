"""Per-layer curves of a run: a statistic's mean at each layer, with its spread over heads and
over examples (`lxmert_viz.analysis.Summary.curve`)."""
from __future__ import annotations

import numpy as np

from ..model.output import FAMILIES


def layer_curves(summary, stat: str, families=None, *, labels: dict | None = None, reference: float | None = None,
                 reference_label: str = "chance", ax=None, title: str | None = None):
    """Matplotlib: one line per family (or per run) with the head range shaded.

    Args:
        summary: a `Summary`, or ``{name: Summary}`` to compare runs (e.g. two models) on one axis.
        stat: the statistic (``"ref_top1"``, ``"mass_scene"``, ...).
        families: the families to draw (default: every family that has ``stat``).
        labels: legend text per family (or per run name).
        reference: a horizontal line (e.g. the pointing game's chance), labelled ``reference_label``.
        ax: axes, or None for a new figure.
        title: the title (default: names the statistic and the spreads).

    Returns:
        the matplotlib `Figure`. The line is the mean over examples and heads; the band spans the
        lowest to the highest head mean; the error bars are one standard deviation over examples
        of each example's head mean.

    Example:
        >>> from lxmert_viz.analysis import run, summarize
        >>> _ = run("shapes:2", ["sink"], tmp / "r", progress=False)
        >>> fig = layer_curves(summarize(tmp / "r"), "mass_scene")
        >>> [ln.get_label() for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")]
        ['vis', 'l2v', 'cross_vis']
    """
    from matplotlib.figure import Figure

    runs = summary if isinstance(summary, dict) else {None: summary}
    if ax is None:
        fig = Figure(figsize=(5.2, 3.0), layout="constrained")
        ax = fig.subplots()
    fig = ax.figure
    colours = iter(["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"])
    for run_name, s in runs.items():
        have = {c.rsplit(".", 1)[1] for c in s.head_columns() + s.columns() if c.rsplit(".", 1)[0] == stat}
        fams = families or [f for f in FAMILIES if f in have]
        if not fams:
            raise KeyError(f"no per-head column {stat!r} in this run; it has {s.head_columns()}")
        for fam in fams:
            c = s.curve(stat, fam)
            x = np.arange(len(c["mean"]))
            key = run_name if run_name is not None and len(fams) == 1 else (fam if run_name is None else f"{run_name}: {fam}")
            name = (labels or {}).get(key, key)
            col = next(colours)
            ax.plot(x, c["mean"], marker="o", color=col, label=name)
            ax.fill_between(x, c["head_min"], c["head_max"], color=col, alpha=0.15, linewidth=0)
            ax.errorbar(x, c["mean"], yerr=c["example_std"], fmt="none", ecolor=col, alpha=0.5, capsize=3)
    if reference is not None:
        ax.axhline(reference, color="gray", linestyle="--", linewidth=1, label=reference_label)
    ax.set_xlabel("layer", fontsize=8)
    ax.set_ylabel(stat, fontsize=8)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(title or f"{stat} by layer (band: range over heads; bars: ±1 sd over examples)", fontsize=9)
    return fig
