"""AtlasView: browse a head atlas; colour by any column, the causal column always in view, click a head.

Shape letters: L layers of a family, H heads.

A `view.View` (anywidget) over an `AtlasTable` (`lxmert_viz.analysis.atlas.head_atlas`); every number
is the atlas's own, only drawn here. The grid panel is one SVG of the family's layers x heads:

- the cell colour is the chosen column (viridis; shares such as ``pointing`` or ``mass_cls`` keep
  their 0..1 scale, so a flat grid does not look sharp; the scale's ends are written under it);
- the causal column is in every cell, whatever colours it: the change in the answer's probability
  when that head alone is removed (``Δp``, the atlas's ``d_score``); a black dot marks a head whose
  removal changes accuracy beyond its 95 % interval (``d_accuracy_lo > 0`` or ``d_accuracy_hi < 0``);
  a dormant head (no change within either interval) has a dashed grey border;
- a click on a cell (or `select`) shows that head's row, every column with its interval.

The static twin (`view.View.twin_html`) shows the same grid and row offline.
"""
from __future__ import annotations

import html

import numpy as np

from ..errors import InputError, InputIndexError
from .findings import SHARES
from .svg import FONT, SELECTED, click, esc, svg, text, viridis
from .view import View, options

COLUMNS = ("entropy", "mass_cls", "mass_sep", "mass_scene", "pointing", "d_accuracy", "d_score", "flips")
TITLES = {"entropy": "entropy of the head's rows (nats)", "mass_cls": "weight on [CLS]", "mass_sep": "weight on [SEP]",
          "mass_scene": "weight on the whole-image row", "pointing": "pointing hit rate (l2v)",
          "d_accuracy": "change in accuracy when removed", "d_score": "change in the answer's probability when removed",
          "flips": "share of answers that change when removed"}
INTERVALS = {"pointing": "pointing", "d_accuracy": "d_accuracy", "d_score": "d_score"}  # columns with _lo/_hi/_n
CSS = {"root": "lxmert-viz-atlas", "family": "lxmert-viz-atlas-family", "column": "lxmert-viz-atlas-column",
       "grid": "lxmert-viz-atlas-grid", "row": "lxmert-viz-atlas-row"}


def _hex(rgb) -> str:
    r, g, b = (int(v) for v in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def _dp(v: float) -> str:
    """Δp as written in a cell: three decimals, "±0" below half of the last one."""
    return "±0" if abs(v) < 5e-4 else f"{v:+.3f}"


def changes_accuracy(row: dict) -> bool:
    """True when the head's removal changes accuracy beyond its interval (the interval misses 0)."""
    lo, hi = row.get("d_accuracy_lo", float("nan")), row.get("d_accuracy_hi", float("nan"))
    return bool((np.isfinite(lo) and lo > 0) or (np.isfinite(hi) and hi < 0))


def scale(column: str, values: np.ndarray) -> tuple[float, float]:
    """(low, high) of the colour scale: 0..1 for shares, else the finite values' range."""
    if column in SHARES:
        return 0.0, 1.0
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)


class AtlasView(View):
    """A head atlas, one family at a time: colour = a chosen column, Δp and accuracy marks in every cell.

    Args:
        atlas: an `AtlasTable` (``head_atlas(...)``).
        family: the family shown first (default: the atlas's first).
        column: the column that colours the cells (one of `COLUMNS`).
        layer, head: the head selected first (default: the head with the largest fall in the answer's
            probability).

    Attributes:
        atlas; selected: the (layer, head) shown; ``grid``: the (L, H) values drawn now; ``row``: the
        selected head's atlas row; panels ``grid``, ``row``, ``dormant``.

    Example:
        >>> from lxmert_viz.analysis.atlas import head_atlas
        >>> atlas = head_atlas("shapes:1", tmp / "atlas", families=["l2v"], limit=2)
        >>> view = AtlasView(atlas, "l2v", "entropy")
        >>> view.click("grid", {"layer": 1, "head": 2}).selected
        (1, 2)
    """

    def __init__(self, atlas, family: str | None = None, column: str = "entropy", layer: int | None = None,
                 head: int | None = None):
        super().__init__(CSS["root"])
        self.atlas = atlas
        families = list(atlas.dormant_share) or sorted({r["family"] for r in atlas.rows})
        family = family or families[0]
        if family not in families:
            raise InputError(f"the atlas has no family {family!r}; it has {families}")
        if column not in COLUMNS:
            raise InputError(f"unknown column {column!r}; choose from {COLUMNS}")
        self.families = families
        self.grid = np.zeros((0, 0))
        self.selected = (0, 0)
        self.row: dict = {}
        with self._holding():
            self.controls = [
                {"name": "family", "kind": "select", "label": "family", "css": CSS["family"],
                 "options": options((f, f) for f in families)},
                {"name": "column", "kind": "select", "label": "colour", "css": CSS["column"],
                 "options": options((f"{c}: {TITLES[c]}", c) for c in COLUMNS)},
            ]
            self._put(family=family, column=column)
            self.selected = self._default_head(family) if layer is None or head is None else (int(layer), int(head))
            self._check(*self.selected)
            self._pending = True

    # -- state -----------------------------------------------------------------------------------
    @property
    def family(self) -> str:
        return self.value("family")

    @property
    def column(self) -> str:
        return self.value("column")

    def _rows(self, family: str | None = None) -> list[dict]:
        fam = family or self.family
        return [r for r in self.atlas.rows if r["family"] == fam]

    def _shape(self, family: str | None = None) -> tuple[int, int]:
        rows = self._rows(family)
        return 1 + max(r["layer"] for r in rows), 1 + max(r["head"] for r in rows)

    def _default_head(self, family: str) -> tuple[int, int]:
        rows = [r for r in self._rows(family) if np.isfinite(r.get("d_score", float("nan")))]
        if not rows:
            return 0, 0
        best = min(rows, key=lambda r: r["d_score"])  # the largest fall of the answer's probability
        return int(best["layer"]), int(best["head"])

    def _check(self, layer: int, head: int) -> None:
        n_l, n_h = self._shape()
        if not (0 <= layer < n_l and 0 <= head < n_h):
            raise InputIndexError(f"{self.family} has layers 0..{n_l - 1} and heads 0..{n_h - 1}; "
                             f"got layer {layer}, head {head}")

    # -- actions ---------------------------------------------------------------------------------
    def on_values(self, changed: dict) -> None:
        if "family" in changed:
            n_l, n_h = self._shape()
            layer, head = self.selected
            if not (layer < n_l and head < n_h):
                self.selected = self._default_head(self.family)

    def on_click(self, panel: str, data) -> None:
        if panel == "grid" and data:
            self.select(int(data["layer"]), int(data["head"]))

    def click(self, panel: str, data) -> AtlasView:
        super().click(panel, data)
        return self

    def select(self, layer: int, head: int) -> AtlasView:
        """Show the row of (layer, head) of the current family, as a click on its cell does."""
        self._check(int(layer), int(head))
        self.selected = (int(layer), int(head))
        self._redraw_and_publish()
        return self

    def show(self, family: str | None = None, column: str | None = None) -> AtlasView:
        """Choose the family and / or the colouring column (what the two controls do); redraws once."""
        with self._holding():
            if family is not None:
                self.choose("family", family)
            if column is not None:
                self.choose("column", column)
        return self

    # -- drawing ---------------------------------------------------------------------------------
    def redraw(self) -> None:
        fam, col = self.family, self.column
        self.grid = self.atlas.grid(col, fam)
        layer, head = self.selected
        self.row = next(r for r in self._rows() if r["layer"] == layer and r["head"] == head)
        share = self.atlas.dormant_share.get(fam, float("nan"))
        dormant = (f"<b>{html.escape(fam)}</b>: {share:.0%} of its heads are dormant (removing one changes neither "
                   f"accuracy nor the answer's probability beyond its interval) · "
                   + " · ".join(f"{html.escape(f)} {v:.0%}" for f, v in self.atlas.dormant_share.items()))
        self.set_panels({"name": "grid", "html": self._grid_svg(), "css": CSS["grid"]},
                        {"name": "row", "html": self._row_html(), "css": CSS["row"]},
                        {"name": "dormant", "html": f'<div style="font-size:12px">{dormant}</div>', "block": True})

    def _grid_svg(self) -> str:
        fam, col, grid = self.family, self.column, self.grid
        n_l, n_h = grid.shape
        causal = self.atlas.grid("d_score", fam)
        by_cell = {(r["layer"], r["head"]): r for r in self._rows()}
        lo, hi = scale(col, grid)
        cw, ch, x0, y0 = 64.0, 44.0, 52.0, 40.0
        levels = np.clip((np.nan_to_num(grid, nan=lo) - lo) / (hi - lo), 0, 1)
        rgb = viridis(levels)
        n = self.atlas.meta.get("examples", "?")
        parts = [text(6, 16, f"{fam}: colour = {col} ({TITLES[col]}), {n} questions", size=FONT, weight="600"),
                 text(6, 32, "in each cell: the value, and Δp = change in the answer's probability when the head is "
                      "removed; ● accuracy changes beyond its interval; dashed: dormant", size=FONT - 3, fill="#444")]
        for i in range(n_l):
            parts.append(text(x0 - 6, y0 + i * ch + ch / 2 + 4, str(i), size=FONT - 1, anchor="end"))
            for j in range(n_h):
                v, dp, r = grid[i, j], causal[i, j], by_cell[(i, j)]
                x, y = x0 + j * cw, y0 + i * ch
                fill = _hex(rgb[i, j]) if np.isfinite(v) else "#cccccc"
                light = np.isfinite(v) and float(np.dot(rgb[i, j], (0.299, 0.587, 0.114))) > 140
                ink = "#222" if light or not np.isfinite(v) else "#fff"
                dormant = bool(r.get("dormant"))
                stroke = ' stroke="#888" stroke-dasharray="4 3" stroke-width="1.5"' if dormant else ""
                tip = (f"layer {i} head {j}: {col} {v:.3f}; Δp {dp:+.3f}; d_accuracy {r.get('d_accuracy', float('nan')):+.3f}"
                       f"{'; dormant' if dormant else ''}")
                parts.append(f'<rect class="lxv-cell" data-row="{i}" data-col="{j}" data-value="{v:.6g}" '
                             f'data-causal="{dp:.6g}" data-accuracy-change="{int(changes_accuracy(r))}" '
                             f'data-dormant="{int(dormant)}" x="{x:.1f}" y="{y:.1f}" width="{cw - 2:.1f}" '
                             f'height="{ch - 2:.1f}" fill="{fill}"{stroke}{click({"layer": i, "head": j})}>'
                             f'<title>{esc(tip)}</title></rect>')
                if np.isfinite(v):
                    parts.append(text(x + cw / 2 - 1, y + 17, f"{v:.3g}" if abs(v) >= 0.01 or v == 0 else f"{v:.1e}",
                                      size=FONT - 1, anchor="middle", fill=ink, extra='pointer-events="none"'))
                if np.isfinite(dp):
                    parts.append(text(x + cw / 2 - 1, y + 33, f"Δp {_dp(dp)}", size=FONT - 3, anchor="middle",
                                      fill=ink, extra='pointer-events="none"'))
                if changes_accuracy(r):
                    parts.append(f'<circle class="lxv-causal-mark" data-row="{i}" data-col="{j}" cx="{x + cw - 9:.1f}" '
                                 f'cy="{y + 8:.1f}" r="4" fill="#000" stroke="#fff" stroke-width="1" '
                                 'pointer-events="none"/>')
        for j in range(n_h):
            parts.append(text(x0 + j * cw + cw / 2, y0 + n_l * ch + 14, str(j), size=FONT - 1, anchor="middle"))
        parts.append(text(x0 + n_h * cw / 2, y0 + n_l * ch + 30, "head", size=FONT - 1, anchor="middle", fill="#444"))
        parts.append(text(14, y0 + n_l * ch / 2, "layer", size=FONT - 1, anchor="middle", fill="#444",
                          extra=f'transform="rotate(-90 14 {y0 + n_l * ch / 2:.1f})"'))
        li, hj = self.selected
        parts.append(f'<rect class="lxv-selected" data-row="{li}" data-col="{hj}" x="{x0 + hj * cw - 2:.1f}" '
                     f'y="{y0 + li * ch - 2:.1f}" width="{cw + 2:.1f}" height="{ch + 2:.1f}" fill="none" '
                     f'stroke="{SELECTED}" stroke-width="3" pointer-events="none"/>')
        # the colour scale, its two ends written
        by, bw = y0 + n_l * ch + 44, 160.0
        ramp = viridis(np.linspace(0, 1, 9))
        for k in range(9):
            parts.append(f'<rect x="{x0 + k * bw / 9:.1f}" y="{by:.1f}" width="{bw / 9 + 0.5:.1f}" height="10" '
                         f'fill="{_hex(ramp[k])}"/>')
        parts.append(text(x0 - 4, by + 9, f"{lo:.3g}", size=FONT - 3, anchor="end"))
        parts.append(text(x0 + bw + 4, by + 9, f"{hi:.3g}" + ("  (shares: 0..1)" if col in SHARES else ""),
                          size=FONT - 3))
        width = max(x0 + n_h * cw + 20, 760)
        return svg(width, by + 22, "".join(parts), "lxv-atlas")

    def _row_html(self) -> str:
        r, (layer, head) = self.row, self.selected

        def fmt(v, signed=False):
            if v is None or (isinstance(v, float) and not np.isfinite(v)):
                return "—"
            return f"{v:+.3g}" if signed else f"{v:.3g}"

        lines = []
        for c in COLUMNS:
            v = r.get(c, float("nan"))
            signed = c.startswith("d_")
            cell = fmt(v, signed)
            if c in INTERVALS and cell != "—":
                lo, hi, n = r.get(f"{c}_lo"), r.get(f"{c}_hi"), r.get(f"{c}_n")
                cell += f" [{fmt(lo, signed)}, {fmt(hi, signed)}] (n = {n})"
            bold = ' style="font-weight:600"' if c == self.column else ""
            lines.append(f"<tr{bold}><td>{html.escape(c)}</td><td>{html.escape(cell)}</td></tr>")
        verdict = ("no causal column in this atlas" if not r.get("d_score_n") else
                   "dormant: its removal changes nothing beyond the intervals" if r.get("dormant") else
                   "removal changes accuracy beyond its interval" if changes_accuracy(r) else
                   "not dormant: its removal moves the answer's probability")
        return (f'<div style="font-size:12px"><b>{html.escape(self.family)} layer {layer}, head {head}</b> '
                f"({html.escape(verdict)}; 95 % intervals; click another head to change)"
                f'<table style="border-collapse:collapse;font-size:12px">{"".join(lines)}</table></div>')
