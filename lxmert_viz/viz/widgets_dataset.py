"""DatasetHeadExplorer: a run's head grid; click a head to see its best and worst examples.

Shape letters: L layers, H heads, R regions.

A `view.View` (anywidget): the grid is an SVG of `Summary.grid` (cells clickable), the examples a
2 x k panel of composited pictures (`cell_panels`, `shading.composite`: the one shading path).
``select(layer, head)`` does what a click does, so tests and notebooks drive it without a browser.
"""
from __future__ import annotations

import html

import numpy as np

from ..errors import InputIndexError
from .dataset_examples import cell_panels
from .dataset_heads import _range, _title
from .plotly_overlay import png_uri
from .shading import composite
from .svg import img_html, matrix_svg, viridis
from .view import View


class DatasetHeadExplorer(View):
    """A statistic's head grid over a run, and the examples behind the selected head.

    Args:
        summary: a `Summary` (``lxmert_viz.analysis.summarize(run_dir)``).
        kit: the kit the run used (the chosen examples are run again to draw the head).
        stat, family: the per-head column to show (``"ref_attn", "l2v"``).
        k: examples per row (best, worst).
        layer, head: the first selection (default: the cell with the highest mean).

    Attributes:
        selected: the (layer, head) shown; ``panels`` (the view's) ``grid``, ``status``, ``examples``;
        ``examples``: the examples drawn (see `cell_panels`), best first; ``grid``: the (L, H) values.

    Example:
        >>> from lxmert_viz.analysis import run, summarize
        >>> _ = run("shapes:2", ["pointing"], tmp / "r", progress=False)
        >>> ex = DatasetHeadExplorer(summarize(tmp / "r"), kit, "ref_attn", "l2v", k=2)
        >>> ex.select(1, 3).selected, len(ex.examples)
        ((1, 3), 4)
    """

    def __init__(self, summary, kit, stat: str = "ref_attn", family: str = "l2v", k: int = 3,
                 layer: int | None = None, head: int | None = None):
        super().__init__("lxmert-viz-dataset-explorer")
        self.summary, self.kit, self.stat, self.family, self.k = summary, kit, stat, family, k
        if layer is None or head is None:
            best = summary.top_heads(stat, family, 1)[0]
            layer, head = best["layer"], best["head"]
        self.selected = (int(layer), int(head))
        self.examples: list[dict] = []
        self.grid = summary.grid(stat, family)
        self.count = summary.count(stat, family)
        # every cell's examples are read now (one pass per head, well under a second for a 500-scene
        # run): a click later needs no run folder, which a notebook may have removed by then
        n_l = summary.layers[family]
        self._picked = {(i, h): summary.examples(stat, family, i, h, k=k)
                        for i in range(n_l) for h in range(summary.heads)}
        self.redraw()

    def on_click(self, panel: str, data) -> None:
        if panel == "grid" and data:
            self.select(int(data["layer"]), int(data["head"]))

    def select(self, layer: int, head: int) -> DatasetHeadExplorer:
        """Show the examples behind (layer, head), as a click on the grid does."""
        n_l = self.summary.layers[self.family]
        if not (0 <= layer < n_l and 0 <= head < self.summary.heads):
            raise InputIndexError(f"{self.family} has layers 0..{n_l - 1} and heads 0..{self.summary.heads - 1}; "
                             f"got layer {layer}, head {head}")
        self.selected = (layer, head)
        self._redraw_and_publish()
        return self

    def redraw(self) -> None:
        layer, head = self.selected
        grid = self.grid
        n_l, n_h = grid.shape
        lo, hi = _range(self.stat, grid)
        cmap = (lambda lv: viridis(1 - np.asarray(lv))) if self.stat == "entropy" else viridis
        grid_svg = matrix_svg(grid, [str(i) for i in range(n_l)], [str(h) for h in range(n_h)],
                              title=_title(self.summary, self.stat, self.family, None), cmap=cmap, vmin=lo,
                              vmax=max(hi, lo + 1e-6), cells=[(layer, head)], numbers=True, cell=34,
                              cell_click=lambda i, j: {"layer": i, "head": j}, x_title="head", y_title="layer",
                              bar_label=self.stat, gid="ds")
        self.examples = cell_panels(self.summary, self.kit, self.stat, self.family, layer, head, self.k,
                                    picked=self._picked[(layer, head)])
        rows = []
        for row in ("best", "worst"):
            cells = []
            for p in [q for q in self.examples if q["row"] == row][: self.k]:
                picture = composite(p["image"], p["shading"])  # the one shading path, whole-image row not painted
                cap = "<br>".join(html.escape(line) for line in p["caption"].split("\n"))
                cells.append(f'<figure class="lxmert-viz-dataset-example" style="margin:0;width:210px">'
                             f'{img_html(png_uri(picture), width=200, alt=p["caption"])}'
                             f'<figcaption style="font-size:11px">{cap}</figcaption></figure>')
            rows.append(f'<div style="font-size:12px;margin:4px 0"><b>{"highest" if row == "best" else "lowest"} '
                        f'{html.escape(self.stat)}</b></div><div style="display:flex;gap:10px;flex-wrap:wrap">'
                        + "".join(cells) + "</div>")
        title = (f"<div style='font-size:13px;font-weight:600'>{html.escape(self.family)} layer {layer} head {head}: "
                 f"top row highest {html.escape(self.stat)}, bottom row lowest (outline: the named region)</div>")
        mean = grid[layer, head]
        status = (f"<b>{self.family} layer {layer}, head {head}</b><br>mean {self.stat} {mean:.3f} over "
                  f"{self.count} examples<br>click a head to change")
        self.set_panels({"name": "grid", "html": grid_svg, "css": "lxmert-viz-dataset-grid"},
                        {"name": "status", "html": status, "css": "lxmert-viz-dataset-status"},
                        {"name": "examples", "html": title + "".join(rows), "css": "lxmert-viz-dataset-examples",
                         "block": True})
