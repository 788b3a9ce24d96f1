"""Per-layer curves of a run: a statistic's mean at each layer, with its spread over heads and a
95 % interval of the mean over examples (`lxmert_viz.analysis.Summary.curve`).

A rate (a 0/1 statistic such as ``ref_top1``: did the head's top region hit the referent) gets a
Wilson interval, never ± one standard deviation (which for a 0/1 variable reaches below 0 and
above 1 and says nothing about how well the rate is known); other statistics get mean ± 1.96 sd / √n.
"""
from __future__ import annotations

import numpy as np

from ..analysis.atlas import mean_interval, wilson
from ..errors import UnknownNameError
from ..model.output import FAMILIES

RATE_WORDS = ("top1", "correct", "pointing", "hit", "acc")  # statistics that are 0/1 per example


def is_rate(stat: str, mean) -> bool:
    """A 0/1 statistic (by name, and every mean within 0..1)."""
    m = np.asarray(mean, dtype=np.float64)
    return any(w in stat for w in RATE_WORDS) and bool(np.all((m[np.isfinite(m)] >= 0) & (m[np.isfinite(m)] <= 1)))


def intervals(stat: str, curve: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(L,) lower and upper 95 % bounds of each layer's mean over ``n`` examples."""
    rate = is_rate(stat, curve["mean"])
    pairs = [wilson(m * n, n) if rate else mean_interval(m, sd, n)
             for m, sd in zip(np.asarray(curve["mean"], float), np.asarray(curve["example_std"], float))]
    lo, hi = (np.array(v, dtype=np.float64) for v in zip(*pairs)) if pairs else (np.zeros(0), np.zeros(0))
    return lo, hi


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
        lowest to the highest head mean; the error bars are 95 % intervals of the mean over
        examples (Wilson for rates, `intervals`).

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
            raise UnknownNameError(f"no per-head column {stat!r} in this run; it has {s.head_columns()}")
        for fam in fams:
            c = s.curve(stat, fam)
            x = np.arange(len(c["mean"]))
            key = run_name if run_name is not None and len(fams) == 1 else (fam if run_name is None else f"{run_name}: {fam}")
            name = (labels or {}).get(key, key)
            col = next(colours)
            ax.plot(x, c["mean"], marker="o", color=col, label=name)
            ax.fill_between(x, c["head_min"], c["head_max"], color=col, alpha=0.15, linewidth=0)
            lo, hi = intervals(stat, c, s.count(stat, fam))
            yerr = np.vstack([np.clip(c["mean"] - lo, 0, None), np.clip(hi - c["mean"], 0, None)])
            ax.errorbar(x, c["mean"], yerr=yerr, fmt="none", ecolor=col, alpha=0.6, capsize=3, gid=f"ci:{name}")
    if reference is not None:
        ax.axhline(reference, color="gray", linestyle="--", linewidth=1, label=reference_label)
    ax.set_xlabel("layer", fontsize=8)
    ax.set_ylabel(stat, fontsize=8)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7, frameon=False)
    how = "Wilson 95% interval" if is_rate(stat, [0.5]) else "95% interval of the mean"
    ax.set_title(title or f"{stat} by layer (band: range over heads; bars: {how})", fontsize=9)
    return fig
