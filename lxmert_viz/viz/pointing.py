"""The pointing game as bars: how often a naming word's attention finds its object, per layer and head.

Shape letters: A aggregates (cross layers, last-layer heads), M models.

The numbers are `lxmert_viz.shapes.evaluate`'s (``RESULTS.json`` → ``pointing_game``): for each
held-out question that names one object, the argmax over real regions of the naming word's ``l2v``
row. The bars are ``by_layer``'s "layer k" (mean over heads of cross layer k), then the last cross
layer's heads from ``by_layer_head``. Each model is one colour; chance is a dashed line. Each
bar carries its Wilson 95 % interval over the ``questions`` it was measured on (a hit rate is a
proportion: never ± one standard deviation of a 0/1 variable).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..analysis.atlas import wilson
from ..errors import InputError, UnknownNameError

FONT = 10
COLOURS = ("#5a2d82", "#e08a00", "#2ca02c", "#1f77b4")


def _label(agg: str) -> str:
    if agg.startswith("layer "):
        return f"cross layer {agg.split()[1]}\n(mean of heads)"
    return agg.replace("last, ", "last layer,\n")


def _aggregates(pg: dict) -> dict[str, float]:
    """Each cross layer's mean over heads, then each head of the last cross layer."""
    out = dict(pg["by_layer"])
    last = f"layer {len(pg['by_layer']) - 1}, "
    out.update({"last, " + k[len(last):]: v for k, v in pg["by_layer_head"].items() if k.startswith(last)})
    return out


def pointing_figure(results: Mapping[str, dict], *, ax=None):
    """Bars of the pointing rate per aggregate for one or more models.

    Args:
        results: ``{model label: RESULTS.json dict}`` (each with a ``pointing_game`` entry).
        ax: axes to draw on, or None for a new figure.

    Returns:
        the matplotlib `Figure`; each model's bars carry ``gid="<label>"``.

    Example:
        >>> import json
        >>> from lxmert_viz.assets import shapes_model_dir
        >>> res = json.loads((shapes_model_dir() / "RESULTS.json").read_text())
        >>> fig = pointing_figure({"shapes": res})
        >>> len([p for p in fig.axes[0].patches if p.get_gid() == "shapes"]) == 3 + 4  # 3 cross layers, 4 heads
        True
    """
    from matplotlib.figure import Figure

    if not results:
        raise InputError("no results to draw")
    for name, res in results.items():
        if "pointing_game" not in res:
            raise UnknownNameError(f"{name}: the results have no 'pointing_game' (keys: {sorted(res)})")
    aggs = list(_aggregates(next(iter(results.values()))["pointing_game"]))
    if ax is None:
        fig = Figure(figsize=(max(7.0, 1.1 * len(aggs) + 2), 4.2), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    m = len(results)
    width = 0.8 / m
    xs = np.arange(len(aggs))
    for k, (name, res) in enumerate(results.items()):
        pg = res["pointing_game"]
        vals = [100 * float(_aggregates(pg).get(a, np.nan)) for a in aggs]
        n = int(pg.get("questions", 0))
        ci = np.array([[100 * b for b in wilson(v / 100 * n, n)] for v in vals]).reshape(-1, 2)
        yerr = np.vstack([np.clip(vals - ci[:, 0], 0, None), np.clip(ci[:, 1] - vals, 0, None)]) if n else None
        bars = ax.bar(xs + (k - (m - 1) / 2) * width, vals, width, color=COLOURS[k % len(COLOURS)], label=name,
                      gid=name, yerr=yerr, capsize=3, error_kw={"gid": f"ci:{name}", "elinewidth": 1})
        for b, v, top in zip(bars, vals, ci[:, 1]):
            ax.text(b.get_x() + b.get_width() / 2, (top if n else v) + 1, f"{v:.1f}", ha="center", va="bottom",
                    fontsize=FONT - 1)
        ax.axhline(100 * pg["chance"], color=COLOURS[k % len(COLOURS)], linestyle="--", linewidth=1,
                   label=f"{name}: chance ({100 * pg['chance']:.1f}%)")
    ax.set_xticks(xs, [_label(a) for a in aggs], fontsize=FONT - 1)
    ax.set_ylabel("% of questions whose naming word\npoints first at its object", fontsize=FONT)
    ax.set_ylim(0, 112)
    ax.tick_params(axis="y", labelsize=FONT)
    ax.legend(fontsize=FONT - 1, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    ax.set_title("pointing game on held-out scenes (lxmert_viz.shapes.evaluate; bars: Wilson 95% intervals)",
                 fontsize=FONT + 1)
    return fig
