"""StatesExplorer: pick a token or region and a metric; the drift lines and the PCA path follow.

Shape letters: T tokens, R regions, X cross layers, S stages.

A `view.View` (anywidget): the numbers come from `lxmert_viz.analysis` (`drift`, `state_points`),
the panels are SVG rendered here, the browser only draws them.
"""
from __future__ import annotations

import numpy as np

from ..analysis.states import drift as drift_values
from ..analysis.states import state_points
from ..errors import InputError, InputIndexError
from .states import METRIC_TITLES, PALETTE
from .svg import legend_svg, lines_svg, scatter_svg, viridis
from .titles import STAGE_SHORT
from .view import View, options


class StatesExplorer(View):
    """How each token's and region's state changes from single-modality to cross-modality.

    Args:
        result: a `Result`.
        metric: ``"cosine"``, ``"norm"`` or ``"distance"``.

    Attributes:
        item: the highlighted ``("lang", i)`` token or ``("vis", j)`` region; metric: the metric.
        drawn: ``{"drift": {side: (S, N) values}, "path": (S, 2) PCA points of the item}``.
        panels: ``drift``, ``pca`` (SVG).

    Example:
        >>> ex = StatesExplorer(result)
        >>> ex.set(token="circle", metric="norm").item
        ('lang', 5)
    """

    def __init__(self, result, metric: str = "cosine"):
        super().__init__("lxmert-viz-states-explorer")
        if metric not in METRIC_TITLES:
            raise InputError(f"metric must be one of {list(METRIC_TITLES)}, got {metric!r}")
        self.result = result
        self.points = state_points(result)  # the projection, computed once
        opts = [(f"token: {lab}", ["lang", i]) for i, lab in enumerate(result.side_labels("lang"))]
        opts += [(f"region: {lab}", ["vis", i]) for i, lab in enumerate(result.side_labels("vis"))]
        self.drawn: dict = {}
        with self._holding():
            self.controls = [
                {"name": "item", "kind": "select", "label": "item", "css": "lxmert-viz-states-item", "options": options(opts)},
                {"name": "metric", "kind": "select", "label": "metric", "css": "lxmert-viz-states-metric",
                 "options": options((f"{m}: {t}", m) for m, t in METRIC_TITLES.items())},
            ]
            self._put(item=opts[0][1], metric=metric)
            self._pending = True

    @property
    def item(self) -> tuple[str, int]:
        sd, n = self.value("item")
        return sd, int(n)

    @property
    def metric(self) -> str:
        return self.value("metric")

    def set(self, token: int | str | None = None, region: int | None = None,
            metric: str | None = None) -> StatesExplorer:
        """Select a token (word or index) or a region (index) and/or a metric; redraw once."""
        if token is not None and region is not None:
            raise InputError("give token= or region=, not both")
        with self._holding():
            if token is not None:
                self._put(item=["lang", self.result.token_index(token)])
            if region is not None:
                n = self.result.regions.num_real
                if not -n <= region < n:
                    raise InputIndexError(f"region {region} is out of range for {n} regions")
                self._put(item=["vis", int(region) % n])
            if metric is not None:
                if metric not in METRIC_TITLES:
                    raise InputError(f"metric must be one of {list(METRIC_TITLES)}, got {metric!r}")
                self._put(metric=metric)
            self._pending = True
        return self

    def redraw(self) -> None:
        r, metric, item = self.result, self.metric, self.item
        vals = {sd: drift_values(r, sd, metric)[0] for sd in ("lang", "vis")}
        groups = []
        for sd in ("lang", "vis"):
            names = r.stage_names(sd)[r.single_index(sd):]
            labels = r.side_labels(sd)
            groups.append({"title": f"{'tokens' if sd == 'lang' else 'regions'} ({STAGE_SHORT})", "x": names,
                           "lines": [((sd, n), labels[n], vals[sd][:, n]) for n in range(vals[sd].shape[1])]})
        label = r.side_labels(item[0])[item[1]]
        what = f"{'token' if item[0] == 'lang' else 'region'} {label!r}"
        drift = lines_svg(groups, title=f"{METRIC_TITLES[metric]} · highlighted: {what}", y_title=metric,
                          highlight=item, palette=PALETTE, width=940)
        pts = self.points
        side, stage = np.array(pts["side"]), np.array(pts["stage"])
        sel = np.flatnonzero((side == item[0]) & (pts["item"] == item[1]))
        stages = pts["stages"]
        group = np.array([stages.index(s) for s in stage])
        rgb = viridis(np.linspace(0, 1, max(len(stages), 2)))[: len(stages)]
        path_labels = [pts["stage"][i] if k in (0, len(sel) - 1) else "" for k, i in enumerate(sel)]
        if len(sel):
            path_labels[0] = f"{label}: {path_labels[0]}"
        ratio = pts["ratio"]
        pca = scatter_svg(pts["xy"], group, title=f"hidden states, PCA (circles tokens, squares regions) · path of {what}",
                          x_title=f"PC1 ({ratio[0]:.0%} of the variance)", y_title=f"PC2 ({ratio[1]:.0%})",
                          path=sel, path_labels=path_labels, marker_side=pts["side"], group_rgb=rgb, width=720)
        legend = legend_svg([(s, rgb[k], "circle") for k, s in enumerate(stages)], width=200)
        self.drawn = {"drift": vals, "path": pts["xy"][sel]}
        self.set_panels({"name": "drift", "html": drift, "css": "lxmert-viz-states-drift", "block": True},
                        {"name": "pca", "html": pca, "css": "lxmert-viz-states-pca"},
                        {"name": "legend", "html": "<div style='font-size:12px'>stage</div>" + legend,
                         "css": "lxmert-viz-states-legend"})
