"""AttentionExplorer: family, layer, head and query controls over an overlay, a heatmap and a head grid.

Shape letters: L layers of a family, H heads, Q queries, K keys.

All three figures are `go.FigureWidget` objects built once and redrawn in place; `set(...)` drives
the explorer without a browser (tests, notebooks run by nbval).
"""
from __future__ import annotations

from .defaults import default_region, default_token
from .head_grid import head_grid_plotly, mark_head, update_head_grid
from .attention_heatmap import heatmap_plotly, update_heatmap
from .plotly_overlay import overlay_plotly, update_overlay
from ..model.output import query_stream
from .widget_base import Explorer, head_options


class AttentionExplorer(Explorer):
    """Pick a family, layer, head (or mean/max) and a token or region; every figure follows.

    Args:
        result: a `Result`.
        family: the starting family (default ``l2v``).
        layer: starting layer index (as `Result.attn`; default the last).
        head: starting head index or ``"mean"``/``"max"``.

    Attributes:
        widget: the ipywidgets box to display (the explorer also displays itself).
        figures: ``{"overlay", "heatmap", "heads"}`` -> `go.FigureWidget`.
        family, layer, head, query: controls (ipywidgets).

    Example:
        >>> ex = AttentionExplorer(result)
        >>> _ = ex.set(family="l2v", layer=1, head="mean", token="circle")
        >>> np.asarray(ex.figures["heatmap"].data[0].z).shape    # tokens x regions
        (8, 4)
    """

    def __init__(self, result, family: str = "l2v", layer: int = -1, head: int | str = "mean"):
        import ipywidgets as w

        super().__init__()
        self.result = result
        families = list(result.attentions)
        if family not in families:
            raise KeyError(f"no attention family {family!r}; this result has {families}")
        n = result.num_layers(family)
        self.family = w.Dropdown(options=families, value=family, description="family")
        self.layer = w.IntSlider(value=layer % n, min=0, max=n - 1, description="layer", continuous_update=False)
        self.head = w.Dropdown(options=head_options(result.num_heads), value=head, description="head")
        q0 = default_token(result) if query_stream(family) == "lang" else default_region(result)
        self.query = w.Dropdown(options=self._query_options(family), value=q0, description="query")
        self.figures = {
            "overlay": overlay_plotly(result, **self._query_kw(family, q0), family=family, layer=layer,
                                      head=head, widget=True),
            "heatmap": heatmap_plotly(result, family, layer, head, highlight_query=q0, widget=True),
            "heads": head_grid_plotly(result, family, widget=True, selected=(layer, head)),
        }
        self._grid_family = family
        for c in (self.layer, self.head, self.query):
            c.observe(self._changed, names="value")
        self.family.observe(self._family_changed, names="value")
        for tr in self.figures["heads"].data:
            tr.on_click(self._grid_click)
        self.figures["heatmap"].data[0].on_click(self._heatmap_click)
        for k, c in (("family", self.family), ("layer", self.layer), ("head", self.head), ("query", self.query)):
            c.add_class(f"lxmert-viz-attn-{k}")
        for c in (self.family, self.layer, self.head, self.query):
            c.style = {"description_width": "initial"}
        controls = w.HBox([self.family, self.layer, self.head, self.query], layout=w.Layout(flex_flow="row wrap"))
        self.widget = w.VBox([controls, self.figures["overlay"],
                              w.HBox([self.figures["heatmap"], self.figures["heads"]])])
        self.widget.add_class("lxmert-viz-attention-explorer")

    # -- state -----------------------------------------------------------------------------------
    def _query_options(self, family: str) -> list[tuple[str, int]]:
        side = query_stream(family)
        prefix = "token" if side == "lang" else "region"
        return [(f"{prefix}: {lab}", i) for i, lab in enumerate(self.result.side_labels(side))]

    @staticmethod
    def _query_kw(family: str, q: int) -> dict:
        return {"token": q} if query_stream(family) == "lang" else {"region": q}

    def _family_changed(self, change):
        old, new = change["old"], change["new"]
        with self._holding():
            n = self.result.num_layers(new)
            layer = min(self.layer.value, n - 1)
            self.layer.max = max(n - 1, self.layer.min)  # widen first so value stays valid
            self.layer.value = layer
            self.layer.max = n - 1
            if query_stream(old) != query_stream(new):
                self.query.options = self._query_options(new)
                self.query.value = (default_token(self.result) if query_stream(new) == "lang"
                                    else default_region(self.result))
            self._pending = True

    def set(self, family: str | None = None, layer: int | None = None, head: int | str | None = None,
            token: int | str | None = None, region: int | None = None) -> "AttentionExplorer":
        """Change any controls at once and redraw once (what the dropdowns and sliders do).

        Args:
            family: an attention family.
            layer: layer index of that family (negative counts from the end).
            head: head index, ``"mean"`` or ``"max"``.
            token: word or token index (the family's queries must be tokens).
            region: region index (the family's queries must be regions).
        """
        if token is not None and region is not None:
            raise ValueError("give token= or region=, not both")
        with self._holding():
            if family is not None:
                if family not in self.family.options:
                    raise KeyError(f"no attention family {family!r}; choose from {list(self.family.options)}")
                self.family.value = family
            fam = self.family.value
            if layer is not None:
                n = self.result.num_layers(fam)
                if not -n <= layer < n:
                    raise IndexError(f"{fam} has {n} layers; layer {layer} is out of range")
                self.layer.value = layer % n
            if head is not None:
                if head not in [v for _, v in self.head.options]:
                    raise ValueError(f"head must be 'mean', 'max' or 0..{self.result.num_heads - 1}, got {head!r}")
                self.head.value = head
            if token is not None or region is not None:
                side = "lang" if token is not None else "vis"
                if query_stream(fam) != side:
                    raise ValueError(f"family {fam!r} has {query_stream(fam)} queries; "
                                     f"use {'region=' if side == 'lang' else 'token='}")
                self.query.value = self.result.token_index(token) if token is not None else int(region)
            self._pending = True
        return self

    @property
    def state(self) -> dict:
        """The current selection: family, layer, head, query index and its label."""
        fam, q = self.family.value, self.query.value
        return {"family": fam, "layer": self.layer.value, "head": self.head.value, "query": q,
                "query_label": self.result.labels(fam)[0][q]}

    # -- drawing ---------------------------------------------------------------------------------
    def redraw(self) -> None:
        """Update every figure in place from the controls."""
        fam, layer, head, q = self.family.value, self.layer.value, self.head.value, self.query.value
        update_overlay(self.figures["overlay"], self.result, **self._query_kw(fam, q), family=fam, layer=layer,
                       head=head, image=False)
        update_heatmap(self.figures["heatmap"], self.result, fam, layer, head, highlight_query=q)
        if fam != self._grid_family:
            update_head_grid(self.figures["heads"], self.result, fam, selected=(layer, head))
            self._grid_family = fam
        else:
            with self.figures["heads"].batch_update():
                mark_head(self.figures["heads"], (layer, head), self.result.num_layers(fam), self.result.num_heads)

    def _grid_click(self, _trace, points, _state):
        if points.xs and points.ys:  # a head-grid cell: open that layer and head
            self.set(layer=int(points.ys[0]), head=int(points.xs[0]))

    def _heatmap_click(self, _trace, points, _state):
        if points.ys:  # a heatmap row: make it the query
            labels = self.result.labels(self.family.value)[0]
            if points.ys[0] in labels:
                with self._holding():
                    self.query.value = labels.index(points.ys[0])
