"""AttentionExplorer: family, layer, head and query controls over an overlay, a heatmap and a head grid.

Shape letters: L layers of a family, H heads, Q queries, K keys.

A `view.View` (anywidget; see that module for why): Python computes every number and renders the
three panels as SVG; the browser only draws them. A click on a heatmap row makes it the query; a
click on a head-grid cell opens that layer and head. `set(...)` drives the explorer without a
browser (tests, notebooks run by nbval).
"""
from __future__ import annotations

import numpy as np

from ..analysis.heads import head_stats
from ..errors import InputError, InputIndexError, UnknownNameError
from ..model.output import query_stream
from .attention_heatmap import _title as heatmap_title
from .defaults import default_region, default_token
from .head_grid import ENTROPY_SCALE, MAX_SCALE, _cells
from .image_overlay import overlay_spec
from .plotly_overlay import png_uri
from .shading import PEAK_FULL, honest_top
from .svg import matrix_svg, overlay_svg, scale_rgb
from .view import View, options
from .widget_base import head_options


def head_grid_svgs(stats: dict, family: str, selected, *, click: bool = True) -> str:
    """The two head-grid panels (mean entropy, largest weight), cells clickable, the selection outlined."""
    ent, mx = stats["entropy"], stats["max"]
    n_l, n_h = ent.shape
    cells = _cells(selected, n_l, n_h)
    rows, cols = [str(i) for i in range(n_l)], [str(h) for h in range(n_h)]
    kw = {"cells": cells, "numbers": True, "x_title": "head", "y_title": "layer", "cell": 34,
          "cell_click": (lambda i, j: {"layer": i, "head": j}) if click else None}
    return (matrix_svg(ent, rows, cols, title=f"{family}: mean entropy (nats)", cmap=lambda lv: scale_rgb(ENTROPY_SCALE, lv),
                       vmax=max(float(stats["max_entropy"]), 1e-6), bar_label="entropy", gid="ent", **kw)
            + matrix_svg(mx, rows, cols, title=f"{family}: largest weight", cmap=lambda lv: scale_rgb(MAX_SCALE, lv),
                         vmax=1.0, bar_label="largest weight", gid="max", **kw))


class AttentionExplorer(View):
    """Pick a family, layer, head (or mean/max) and a token or region; every panel follows.

    Args:
        result: a `Result`.
        family: the starting family (default ``l2v``).
        layer: starting layer index (as `Result.attn`; default the last).
        head: starting head index or ``"mean"``/``"max"``.

    Attributes:
        state: the current selection; ``drawn`` what each panel shows now: ``{"map": (Q, K) array,
        "weights": (K,) bars, "alphas": (R,) box fill opacities, "stats": head_stats}``.
        panels: ``overlay``, ``heatmap``, ``heads`` (SVG strings; `panel(name)`).

    Example:
        >>> ex = AttentionExplorer(result)
        >>> ex.set(family="l2v", layer=1, head="mean", token="circle").drawn["map"].shape   # tokens x regions
        (8, 4)
    """

    def __init__(self, result, family: str = "l2v", layer: int = -1, head: int | str = "mean"):
        super().__init__("lxmert-viz-attention-explorer")
        self.result = result
        families = list(result.attentions)
        if family not in families:
            raise UnknownNameError(f"no attention family {family!r}; this result has {families}")
        self.drawn: dict = {}
        self._stats: dict = {}
        n = result.num_layers(family)
        q0 = default_token(result) if query_stream(family) == "lang" else default_region(result)
        self.set_asset("image", png_uri(result.image.convert("RGB")) if result.image is not None else "")
        with self._holding():
            self.controls = self._controls(family)
            self._put(family=family, layer=layer % n, head=head, query=q0)
            self._pending = True

    # -- controls --------------------------------------------------------------------------------
    def _controls(self, family: str) -> list[dict]:
        n = self.result.num_layers(family)
        return [
            {"name": "family", "kind": "select", "label": "family", "css": "lxmert-viz-attn-family",
             "options": options((f, f) for f in self.result.attentions)},
            {"name": "layer", "kind": "slider", "label": "layer", "min": 0, "max": n - 1, "css": "lxmert-viz-attn-layer"},
            {"name": "head", "kind": "select", "label": "head", "css": "lxmert-viz-attn-head",
             "options": options(head_options(self.result.num_heads))},
            {"name": "query", "kind": "select", "label": "query", "css": "lxmert-viz-attn-query",
             "options": options(self._query_options(family))},
        ]

    def _query_options(self, family: str) -> list[tuple[str, int]]:
        side = query_stream(family)
        prefix = "token" if side == "lang" else "region"
        return [(f"{prefix}: {lab}", i) for i, lab in enumerate(self.result.side_labels(side))]

    def on_values(self, changed: dict) -> None:
        if "family" in changed:
            self._family_changed(changed["family"])

    def _family_changed(self, new: str) -> None:
        old_side = self.controls[3]["options"][0][0].split(":")[0]
        n = self.result.num_layers(new)
        updates = {"layer": min(int(self.value("layer")), n - 1)}
        if ("token" if query_stream(new) == "lang" else "region") != old_side:
            updates["query"] = default_token(self.result) if query_stream(new) == "lang" else default_region(self.result)
        self.controls = self._controls(new)
        self._put(**updates)

    @staticmethod
    def _query_kw(family: str, q: int) -> dict:
        return {"token": q} if query_stream(family) == "lang" else {"region": q}

    def set(self, family: str | None = None, layer: int | None = None, head: int | str | None = None,
            token: int | str | None = None, region: int | None = None) -> AttentionExplorer:
        """Change any controls at once and redraw once (what the dropdowns and sliders do).

        Args:
            family: an attention family.
            layer: layer index of that family (negative counts from the end).
            head: head index, ``"mean"`` or ``"max"``.
            token: word or token index (the family's queries must be tokens).
            region: region index (the family's queries must be regions).
        """
        if token is not None and region is not None:
            raise InputError("give token= or region=, not both")
        with self._holding():
            if family is not None:
                if family not in self.result.attentions:
                    raise UnknownNameError(f"no attention family {family!r}; choose from {list(self.result.attentions)}")
                if family != self.value("family"):
                    self._put(family=family)
                    self._family_changed(family)
            fam = self.value("family")
            if layer is not None:
                n = self.result.num_layers(fam)
                if not -n <= layer < n:
                    raise InputIndexError(f"{fam} has {n} layers; layer {layer} is out of range")
                self._put(layer=layer % n)
            if head is not None:
                if head not in [v for _, v in head_options(self.result.num_heads)]:
                    raise InputError(f"head must be 'mean', 'max' or 0..{self.result.num_heads - 1}, got {head!r}")
                self._put(head=head)
            if token is not None or region is not None:
                side = "lang" if token is not None else "vis"
                if query_stream(fam) != side:
                    raise InputError(f"family {fam!r} has {query_stream(fam)} queries; "
                                     f"use {'region=' if side == 'lang' else 'token='}")
                n = self.result.regions.num_real
                if region is not None and not -n <= region < n:
                    raise InputIndexError(f"region {region} is out of range for {n} regions")
                self._put(query=self.result.token_index(token) if token is not None else int(region) % n)
            self._pending = True
        return self

    @property
    def state(self) -> dict:
        """The current selection: family, layer, head, query index and its label."""
        fam, q = self.value("family"), self.value("query")
        return {"family": fam, "layer": self.value("layer"), "head": self.value("head"), "query": q,
                "query_label": self.result.labels(fam)[0][q]}

    # -- drawing ---------------------------------------------------------------------------------
    def redraw(self) -> None:
        """Render every panel from the controls."""
        fam, layer, head, q = (self.value(k) for k in ("family", "layer", "head", "query"))
        r = self.result
        spec = overlay_spec(r, **self._query_kw(fam, q), family=fam, layer=layer, head=head)
        a = r.attn(fam, layer, head)
        qlab, klab = r.labels(fam)
        if fam not in self._stats:
            self._stats[fam] = head_stats(r, fam)
        st = self._stats[fam]
        self.drawn = {"map": a, "weights": np.asarray(spec["weights"]), "alphas": np.asarray(spec["alphas"]),
                      "stats": st, "title": spec["title"]}
        self.set_panels(
            {"name": "overlay", "html": overlay_svg(spec, "image", width=940), "css": "lxmert-viz-attn-overlay", "block": True},
            {"name": "heatmap", "css": "lxmert-viz-attn-heatmap",
             "html": matrix_svg(a, qlab, klab, title=heatmap_title(r, fam, layer, head), highlight_row=q,
                                row_click=lambda i: {"query": i}, vmax=honest_top(a),
                                bar_label=f"weight (0 to max(largest, {PEAK_FULL:g}/K))",
                                uniform=1.0 / a.shape[1], gid="hm")},
            {"name": "heads", "css": "lxmert-viz-attn-heads",
             "html": head_grid_svgs(st, fam, (layer, head)) + '<div style="font-size:12px;color:#555">'
                     "click a cell to open that layer and head</div>"},
        )

    def on_click(self, panel: str, data) -> None:
        if panel == "heads" and data:
            self.set(layer=int(data["layer"]), head=int(data["head"]))
        elif panel == "heatmap" and data:
            with self._holding():
                self._put(query=int(data["query"]))
                self._pending = True
