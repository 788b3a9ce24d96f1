"""DatasetHeadExplorer: a run's head grid; click a head to see its best and worst examples.

Shape letters: L layers, H heads, R regions.

Two `go.FigureWidget`s built once and redrawn in place: the grid (`dataset_head_grid_plotly`) and
a 2 x k panel of example images (`cell_panels`). ``select(layer, head)`` does what a click does,
so tests and notebooks drive it without a browser.
"""
from __future__ import annotations

from .dataset_examples import cell_panels
from .dataset_heads import dataset_head_grid_plotly, update_dataset_head_grid
from .plotly_overlay import png_uri
from .shading import composite
from .widget_base import Explorer


class DatasetHeadExplorer(Explorer):
    """A statistic's head grid over a run, and the examples behind the selected head.

    Args:
        summary: a `Summary` (``lxmert_viz.analysis.summarize(run_dir)``).
        kit: the kit the run used (the chosen examples are run again to draw the head).
        stat, family: the per-head column to show (``"ref_attn", "l2v"``).
        k: examples per row (best, worst).
        layer, head: the first selection (default: the cell with the highest mean).

    Attributes:
        widget: the ipywidgets box to display.
        figures: ``{"grid", "examples"}`` -> `go.FigureWidget`.
        selected: the (layer, head) shown; ``panels`` the examples drawn (see `cell_panels`).

    Example:
        >>> from lxmert_viz.analysis import run, summarize
        >>> _ = run("shapes:2", ["pointing"], tmp / "r", progress=False)
        >>> ex = DatasetHeadExplorer(summarize(tmp / "r"), kit, "ref_attn", "l2v", k=2)
        >>> ex.select(1, 3).selected, len(ex.figures["examples"].layout.images)
        ((1, 3), 4)
    """

    def __init__(self, summary, kit, stat: str = "ref_attn", family: str = "l2v", k: int = 3,
                 layer: int | None = None, head: int | None = None):
        import ipywidgets as w
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        super().__init__()
        self.summary, self.kit, self.stat, self.family, self.k = summary, kit, stat, family, k
        if layer is None or head is None:
            best = summary.top_heads(stat, family, 1)[0]
            layer, head = best["layer"], best["head"]
        grid = dataset_head_grid_plotly(summary, stat, family, widget=True)
        grid.data[0].on_click(self._clicked)
        panel = go.FigureWidget(make_subplots(2, k, horizontal_spacing=0.02, vertical_spacing=0.16))
        panel.update_layout(height=640, width=max(420, 230 * k), margin={"l": 10, "r": 10, "t": 120, "b": 10},
                            showlegend=False, plot_bgcolor="white", title={"font": {"size": 12}, "y": 0.98, "yanchor": "top"})
        panel.update_xaxes(visible=False)
        panel.update_yaxes(visible=False, autorange="reversed")
        self.figures = {"grid": grid, "examples": panel}
        self.status = w.HTML()
        self.widget = w.VBox([w.HBox([grid, self.status]), panel])
        self.widget.add_class("lxmert-viz-dataset-explorer")
        self.selected = (layer, head)
        self.panels: list[dict] = []
        self.redraw()

    def _clicked(self, trace, points, state):
        if points.point_inds:
            y, x = points.ys[0], points.xs[0]
            self.select(int(y), int(x))

    def select(self, layer: int, head: int) -> "DatasetHeadExplorer":
        """Show the examples behind (layer, head), as a click on the grid does."""
        n_l = self.summary.layers[self.family]
        if not (0 <= layer < n_l and 0 <= head < self.summary.heads):
            raise IndexError(f"{self.family} has layers 0..{n_l - 1} and heads 0..{self.summary.heads - 1}; "
                             f"got layer {layer}, head {head}")
        self.selected = (layer, head)
        self.redraw()
        return self

    def redraw(self):
        layer, head = self.selected
        update_dataset_head_grid(self.figures["grid"], self.summary, self.stat, self.family, selected=self.selected)
        self.panels = cell_panels(self.summary, self.kit, self.stat, self.family, layer, head, self.k)
        fig = self.figures["examples"]
        images, shapes, notes = [], [], []
        for row_i, row in enumerate(("best", "worst")):
            for col_i, p in enumerate([q for q in self.panels if q["row"] == row][: self.k]):
                n = row_i * self.k + col_i + 1
                xref, yref = f"x{'' if n == 1 else n}", f"y{'' if n == 1 else n}"
                w, h = p["shading"].image_size
                picture = composite(p["image"], p["shading"])  # the one shading path, whole-image row not painted
                images.append({"source": png_uri(picture), "xref": xref, "yref": yref, "x": 0, "y": 0,
                               "sizex": w, "sizey": h, "sizing": "stretch", "layer": "below",
                               "xanchor": "left", "yanchor": "top"})
                notes.append({"xref": f"{xref} domain", "yref": f"{yref} domain", "x": 0.5, "y": 1.0,
                              "yanchor": "bottom", "showarrow": False, "font": {"size": 9},
                              "text": p["caption"].replace("\n", "<br>")})
        with fig.batch_update():
            for n in range(1, 2 * self.k + 1):
                suffix = "" if n == 1 else str(n)
                fig.layout[f"xaxis{suffix}"].range = [0, self.panels[0]["shading"].image_size[0]] if self.panels else None
                fig.layout[f"yaxis{suffix}"].range = [self.panels[0]["shading"].image_size[1], 0] if self.panels else None
            fig.layout.images = images
            fig.layout.shapes = shapes
            fig.layout.annotations = notes
            fig.layout.title.text = (f"{self.family} layer {layer} head {head}: top row highest {self.stat}, "
                                     "bottom row lowest (outline: the named region)")
        mean = self.summary.grid(self.stat, self.family)[layer, head]
        self.status.value = (f"<b>{self.family} layer {layer}, head {head}</b><br>mean {self.stat} {mean:.3f} over "
                             f"{self.summary.count(self.stat, self.family)} examples<br>click a head to change")
