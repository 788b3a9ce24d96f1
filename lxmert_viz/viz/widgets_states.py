"""StatesExplorer: pick a token or region and a metric; drift lines and the PCA path follow in place.

Shape letters: T tokens, R regions, X cross layers.
"""
from __future__ import annotations

from .states import METRIC_TITLES, state_drift_plotly, state_pca_plotly, update_state_drift, update_state_pca
from .widget_base import Explorer


class StatesExplorer(Explorer):
    """How each token's and region's state changes from single-modality to cross-modality.

    Args:
        result: a `Result`.
        metric: ``"cosine"``, ``"norm"`` or ``"distance"``.

    Attributes:
        widget: the ipywidgets box to display.
        figures: ``{"drift", "pca"}`` -> `go.FigureWidget`.
        item: dropdown of ``("lang", i)`` tokens and ``("vis", j)`` regions; metric: toggle buttons.

    Example:
        >>> ex = StatesExplorer(result)
        >>> _ = ex.set(token="circle", metric="norm")
        >>> ex.item.value
        ('lang', 5)
    """

    def __init__(self, result, metric: str = "cosine"):
        import ipywidgets as w

        super().__init__()
        self.result = result
        opts = [(f"token: {lab}", ("lang", i)) for i, lab in enumerate(result.side_labels("lang"))]
        opts += [(f"region: {lab}", ("vis", i)) for i, lab in enumerate(result.side_labels("vis"))]
        self.item = w.Dropdown(options=opts, value=opts[0][1], description="item")
        self.metric = w.ToggleButtons(options=list(METRIC_TITLES), value=metric, description="metric")
        self.figures = {
            "drift": state_drift_plotly(result, metric, highlight=self.item.value, widget=True),
            "pca": state_pca_plotly(result, highlight=self.item.value, widget=True),
        }
        self.item.observe(self._changed, names="value")
        self.metric.observe(self._changed, names="value")
        self.item.add_class("lxmert-viz-states-item")
        self.metric.add_class("lxmert-viz-states-metric")
        self.widget = w.VBox([w.HBox([self.item, self.metric]), self.figures["drift"], self.figures["pca"]])
        self.widget.add_class("lxmert-viz-states-explorer")

    def set(self, token: int | str | None = None, region: int | None = None,
            metric: str | None = None) -> "StatesExplorer":
        """Select a token (word or index) or a region (index) and/or a metric; redraw once."""
        if token is not None and region is not None:
            raise ValueError("give token= or region=, not both")
        with self._holding():
            if token is not None:
                self.item.value = ("lang", self.result.token_index(token))
            if region is not None:
                n = self.result.regions.num_real
                if not -n <= region < n:
                    raise IndexError(f"region {region} is out of range for {n} regions")
                self.item.value = ("vis", int(region) % n)
            if metric is not None:
                if metric not in METRIC_TITLES:
                    raise ValueError(f"metric must be one of {list(METRIC_TITLES)}, got {metric!r}")
                self.metric.value = metric
            self._pending = True
        return self

    def redraw(self) -> None:
        update_state_drift(self.figures["drift"], self.result, self.metric.value, highlight=self.item.value)
        update_state_pca(self.figures["pca"], self.result, highlight=self.item.value)
