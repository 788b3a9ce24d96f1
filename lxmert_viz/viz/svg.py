"""SVG pictures for the views (plain strings: the browser draws them, nothing is computed in JavaScript).

Shape letters: R regions, K keys, Q queries, L layers, H heads, S stages.

* `overlay_svg`: the image, the shading layer (`shading.shading_layer`, the same pixels as every
  other overlay), one hover box per region, region numbers, the colour bar, and the weight bars
  with the uniform level 1/K marked.
* `matrix_svg`: a labelled grid of coloured cells (attention maps, head grids); rows or cells can
  carry click data (``data-lxv-click``) and one row or cells can be outlined.
* `lines_svg`, `scatter_svg`: line charts (state drift) and a 2-D scatter with a path (PCA).

Images are referenced as assets (``data-lxv-asset="key"``; see `view.View`) or inlined as data URIs.
"""
from __future__ import annotations

import html
import json

import numpy as np

from .plotly_overlay import png_uri
from .region_picture import WHOLE_BAR, labelled_regions
from .shading import (
    CHOSEN,
    DROPPED,
    Shading,
    colour,
    frame_extent,
    layer_size,
    region_state,
    scale_label,
    shading_layer,
)

FONT = 12
SELECTED = "#e08a00"


def esc(s) -> str:
    return html.escape(str(s), quote=True)


def _hex(rgb) -> str:
    r, g, b = (int(v) for v in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def text(x, y, s, *, size=FONT, anchor="start", fill="#222", weight="normal", extra="") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
            f'font-weight="{weight}" font-family="system-ui,sans-serif" {extra}>{esc(s)}</text>')


def click(data) -> str:
    return f" data-lxv-click='{esc(json.dumps(data))}'"


def svg(width, height, body: str, cls: str = "") -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" style="background:#fff">{body}</svg>')


def gradient(gid: str, cmap_rgb, vertical: bool = True) -> str:
    """A linearGradient of ``cmap_rgb`` ((N, 3) uint8, low to high); vertical: low at the bottom."""
    n = len(cmap_rgb)
    stops = "".join(f'<stop offset="{i / max(n - 1, 1):.3f}" stop-color="{_hex(c)}"/>' for i, c in enumerate(cmap_rgb))
    xy = 'x1="0" y1="1" x2="0" y2="0"' if vertical else 'x1="0" y1="0" x2="1" y2="0"'
    return f'<defs><linearGradient id="{gid}" {xy}>{stops}</linearGradient></defs>'


def colour_bar(x, y, w, h, cmap_rgb, vmax: float, label: str, gid: str, *, uniform: float | None = None) -> str:
    """A vertical colour bar 0..vmax with three ticks; ``uniform``: a marked level (e.g. 1/K)."""
    parts = [gradient(gid, cmap_rgb), f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="url(#{gid})" '
             f'stroke="#555" stroke-width="0.5"/>']
    for f in (0.0, 0.5, 1.0):
        yy = y + h * (1 - f)
        parts.append(f'<line x1="{x + w}" x2="{x + w + 3}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#555"/>')
        parts.append(text(x + w + 5, yy + 4, f"{vmax * f:.2g}", size=FONT - 2))
    if uniform is not None and 0 < uniform <= vmax:
        yy = y + h * (1 - uniform / vmax)
        parts.append(f'<line class="lxv-uniform" x1="{x - 3}" x2="{x + w + 3}" y1="{yy:.1f}" y2="{yy:.1f}" '
                     f'stroke="#000" stroke-dasharray="3,2"/>')
        parts.append(text(x + w + 5, yy - 3, "1/K", size=FONT - 3, fill="#000", weight="600"))
    parts.append(text(x + w + 42, y + h / 2, label, size=FONT - 1, anchor="middle",
                      extra=f'transform="rotate(90 {x + w + 42:.1f} {y + h / 2:.1f})"'))
    return "".join(parts)


# -- the overlay -----------------------------------------------------------------------------------
def overlay_svg(spec: dict, image_asset: str, *, what: str = "attention", width: int = 900,
                uniform: bool = True, cls: str = "lxv-overlay") -> str:
    """The image with its regions shaded by ``spec`` (an `overlay_spec`-like dict) and the weight bars.

    Args:
        spec: ``shading``, ``names``, ``weights`` (K,), ``key_labels``, ``title``, ``whole``,
            ``bars_are_regions``, ``bar_title``, ``paint``.
        image_asset: the asset key of the base image (the view sends it once per image).
        uniform: mark 1/K on the bars (attention rows sum to one; relevance does not).
    """
    s: Shading = spec["shading"]
    w_img, h_img = s.image_size
    side = 330
    k = side / max(w_img, h_img)
    iw, ih = w_img * k, h_img * k
    x0, y0 = 10, 44
    weights = np.asarray(spec["weights"], dtype=np.float64)
    weights = np.where(np.isfinite(weights), weights, 0.0)
    labels = list(spec["key_labels"])
    n_k = len(weights)
    bar_h = max(12.0, min(24.0, 300.0 / max(n_k, 1)))
    height = max(y0 + ih + 46, y0 + n_k * bar_h + 60)
    parts = [text(x0, 20, spec["title"], size=FONT + 1, weight="600")]
    # the picture: the image, the shading layer, one hover box per region
    lw, lh = layer_size(s.image_size)
    parts.append(f'<image class="lxv-image" data-lxv-asset="{esc(image_asset)}" x="{x0}" y="{y0}" width="{iw:.1f}" '
                 f'height="{ih:.1f}" preserveAspectRatio="none"/>')
    parts.append(f'<rect class="lxv-image-frame" x="{x0 - 0.5}" y="{y0 - 0.5}" width="{iw + 1:.1f}" height="{ih + 1:.1f}" '
                 f'fill="none" stroke="#999" stroke-width="1"/>')  # the image's edge: regions never float
    parts.append(f'<image class="lxv-shading" href="{png_uri(shading_layer(s, (lw, lh)))}" x="{x0}" y="{y0}" '
                 f'width="{iw:.1f}" height="{ih:.1f}" preserveAspectRatio="none"/>')
    names = spec["names"]
    for i in range(len(s.boxes)):
        bx1, by1, bx2, by2 = (float(v) * k for v in s.boxes[i])
        state = region_state(s, i, spec.get("paint", True), what, f"{s.weights[i]:.3f}")
        parts.append(f'<rect class="lxv-box" data-region="{i}" data-weight="{s.weights[i]:.6g}" '
                     f'data-alpha="{float(s.alphas[i]):.6g}" x="{x0 + bx1:.1f}" y="{y0 + by1:.1f}" '
                     f'width="{max(bx2 - bx1, 1):.1f}" height="{max(by2 - by1, 1):.1f}" fill="#000" fill-opacity="0" '
                     f'pointer-events="all"><title>{esc(names[i])}: {esc(state)}</title></rect>')
    for i in labelled_regions(s):
        bx1, by1 = float(s.boxes[i, 0]) * k, float(s.boxes[i, 1]) * k
        inside = by1 < 0.08 * ih or bx1 < 0.05 * iw
        edge = CHOSEN if i == s.chosen else (DROPPED if i in s.dropped else _hex(colour(max(s.levels[i], 0.5))))
        label = str(names[i]).split(":")[0]
        gap = frame_extent(s, i, round(max(iw, ih)))  # outside the frame: a label never covers the weight
        tx, ty = ((x0 + bx1 + 3, y0 + by1 + 3) if inside and gap == 0
                  else (max(0.0, x0 + bx1 - gap - 2 - 8 * len(label)), max(0.0, y0 + by1 - gap - 16)))
        parts.append(f'<g class="lxv-region-number"><rect x="{tx:.1f}" y="{ty:.1f}" width="{8 * len(label) + 4}" '
                     f'height="14" rx="3" fill="#fff" stroke="{edge}"/>'
                     + text(tx + 2, ty + 11, label, size=FONT - 1) + "</g>")
    if spec.get("whole"):
        parts.append(text(x0, y0 + ih + 18, spec["whole"], size=FONT - 1, fill="#444"))
    if spec.get("paint", True):
        parts.append(colour_bar(x0 + iw + 12, y0, 12, ih, colour(s.level_of(np.linspace(0, s.vmax, 33))), s.vmax,
                                scale_label(s, what), f"lxv-cb-{id(spec)}",
                                uniform=s.uniform if s.uniform > 0 else None))
    # the bars
    bx = x0 + iw + 100
    label_w = min(190, 7.2 * max((len(str(lab)) + 14 for lab in labels), default=8))
    ax_x, ax_w = bx + label_w, max(120.0, width - bx - label_w - 60)
    top = max(float(weights.max()) if n_k else 1.0, 1e-6) * 1.25
    lo = min(0.0, float(weights.min()) if n_k else 0.0)
    span = top - lo

    def px(v):
        return ax_x + (v - lo) / span * ax_w

    parts.append(text(ax_x + ax_w / 2, y0 - 10, spec.get("bar_title") or what, size=FONT, anchor="middle"))
    if spec.get("bars_are_regions", True):
        lv = s.level_of(weights)
        cols = [WHOLE_BAR if i in s.whole else ("#dddddd" if i in s.dropped else _hex(colour(0.25 + 0.75 * lv[i])))
                for i in range(n_k)]
        shown = [f"{lab} (whole image)" if i in s.whole else (f"{lab} (dropped)" if i in s.dropped else lab)
                 for i, lab in enumerate(labels)]
    else:
        t = max(float(np.clip(weights, 0, None).max()), 1e-12) if n_k else 1.0
        cols = [_hex(colour(0.25 + 0.75 * v)) for v in np.clip(weights / t, 0, 1)]
        shown = labels
    for i, (v, lab) in enumerate(zip(weights, shown)):
        yy = y0 + i * bar_h
        a, b = sorted((px(0.0), px(v)))
        parts.append(text(ax_x - 6, yy + bar_h * 0.5 + 4, lab, size=FONT - 1, anchor="end"))
        parts.append(f'<rect class="lxv-bar" data-key="{i}" data-value="{v:.6g}" x="{a:.1f}" y="{yy + 2:.1f}" '
                     f'width="{max(b - a, 0.5):.1f}" height="{bar_h - 4:.1f}" fill="{cols[i]}" stroke="#555" '
                     f'stroke-width="0.5"><title>{esc(lab)}: {v:.3f}</title></rect>')
        parts.append(text(b + 3, yy + bar_h * 0.5 + 4, f"{v:.2f}", size=FONT - 2))
    base = y0 + n_k * bar_h
    parts.append(f'<line x1="{px(0):.1f}" x2="{px(0):.1f}" y1="{y0}" y2="{base:.1f}" stroke="#555"/>')
    parts.append(f'<line x1="{ax_x:.1f}" x2="{ax_x + ax_w:.1f}" y1="{base:.1f}" y2="{base:.1f}" stroke="#555"/>')
    for f in (0.0, 0.5, 1.0):
        v = lo + f * (top / 1.25 - lo)
        parts.append(text(px(v), base + 14, f"{v:.2g}", size=FONT - 2, anchor="middle"))
    if uniform and n_k and spec.get("weights_sum_to_one", True):
        u = 1.0 / n_k
        parts.append(f'<line class="lxv-uniform" x1="{px(u):.1f}" x2="{px(u):.1f}" y1="{y0 - 4}" y2="{base:.1f}" '
                     f'stroke="#000" stroke-dasharray="4,3"/>')
        parts.append(text(px(u), base + 28, f"uniform 1/{n_k} = {u:.2f}", size=FONT - 2, anchor="middle", fill="#333"))
    return svg(width, height, "".join(parts), cls)


# -- grids -----------------------------------------------------------------------------------------
def viridis(levels) -> np.ndarray:
    from matplotlib import colormaps

    return (np.asarray(colormaps["viridis"](np.clip(np.asarray(levels, dtype=np.float64), 0, 1)))[..., :3] * 255).round()


def scale_rgb(stops, levels) -> np.ndarray:
    """Colours of ``levels`` on a ``[[pos, "rgb(r,g,b)"], ...]`` scale."""
    xs = [float(p) for p, _ in stops]
    rgb = np.array([[int(v) for v in c[4:-1].split(",")] for _, c in stops], dtype=np.float64)
    lv = np.clip(np.asarray(levels, dtype=np.float64), 0, 1)
    return np.stack([np.interp(lv, xs, rgb[:, c]) for c in range(3)], -1).round()


def matrix_svg(a, row_labels, col_labels, *, title: str, cmap=viridis, vmax: float | None = None,
               vmin: float = 0.0, highlight_row: int | None = None, cells=(), row_click=None, cell_click=None,
               numbers: bool = False, cell: float | None = None, x_title: str = "", y_title: str = "",
               bar_label: str = "", uniform: float | None = None, cls: str = "lxv-matrix", gid: str = "m") -> str:
    """A labelled grid of coloured cells.

    Args:
        a: (Q, K) values (NaN cells are drawn grey).
        cmap: ``levels -> (N, 3) rgb``.
        highlight_row: a row outlined in amber; cells: ``[(row, col), ...]`` outlined.
        row_click: ``row -> data`` for a click on a row label or cell; cell_click: ``(row, col) -> data``.
        numbers: write each value in its cell (dark text: the scales are light or the map is viridis).
        uniform: a level marked on the colour bar (1/K for attention rows).
    """
    a = np.asarray(a, dtype=np.float64)
    q, kk = a.shape
    top = float(np.nanmax(a)) if a.size and np.isfinite(a).any() else 1.0
    vmax = max(top if vmax is None else float(vmax), vmin + 1e-6)
    cell = cell or max(16.0, min(40.0, 320.0 / max(q, kk)))
    lab_w = min(150.0, 7.0 * max((len(str(s)) for s in row_labels), default=4) + 10) + (16 if y_title else 0)
    col_h = min(110.0, 6.5 * max((len(str(s)) for s in col_labels), default=2) + 10)
    x0, y0 = lab_w + 8, 30
    width = max(x0 + kk * cell + 100, 7.5 * len(title) + 20)
    height = y0 + q * cell + col_h + (18 if x_title else 0)
    levels = (a - vmin) / (vmax - vmin)
    rgb = cmap(np.nan_to_num(levels, nan=0.0))
    parts = [text(6, 18, title, size=FONT + 1, weight="600")]
    for i in range(q):
        yy = y0 + i * cell
        extra = click(row_click(i)) if row_click else ""
        parts.append(text(x0 - 5, yy + cell / 2 + 4, row_labels[i], size=FONT - 1, anchor="end", extra=extra))
        for j in range(kk):
            v = a[i, j]
            fill = "#cccccc" if not np.isfinite(v) else _hex(rgb[i, j])
            extra = click(cell_click(i, j)) if cell_click else (click(row_click(i)) if row_click else "")
            parts.append(f'<rect class="lxv-cell" data-row="{i}" data-col="{j}" data-value="{v:.6g}" '
                         f'x="{x0 + j * cell:.1f}" y="{yy:.1f}" width="{cell - 1:.1f}" height="{cell - 1:.1f}" '
                         f'fill="{fill}"{extra}><title>{esc(row_labels[i])} → {esc(col_labels[j])}: {v:.3f}</title></rect>')
            if numbers and np.isfinite(v):
                light = float(np.dot(rgb[i, j], (0.299, 0.587, 0.114))) > 140  # dark text on light cells
                parts.append(text(x0 + j * cell + cell / 2, yy + cell / 2 + 4, f"{v:.2f}", size=FONT - 2,
                                  anchor="middle", fill="#222" if light else "#fff", extra='pointer-events="none"'))
    for j in range(kk):
        cx, cy = x0 + j * cell + cell / 2, y0 + q * cell + 6
        parts.append(text(cx, cy, col_labels[j], size=FONT - 1, anchor="end",
                          extra=f'transform="rotate(-50 {cx:.1f} {cy:.1f})"'))
    if x_title:
        parts.append(text(x0 + kk * cell / 2, height - 4, x_title, size=FONT - 1, anchor="middle", fill="#444"))
    if y_title:
        parts.append(text(10, y0 + q * cell / 2, y_title, size=FONT - 1, anchor="middle", fill="#444",
                          extra=f'transform="rotate(-90 10 {y0 + q * cell / 2:.1f})"'))
    marks = [(highlight_row, j) for j in range(kk)] if highlight_row is not None else []
    if highlight_row is not None:
        parts.append(f'<rect class="lxv-highlight" data-row="{highlight_row}" x="{x0 - 1:.1f}" '
                     f'y="{y0 + highlight_row * cell - 1:.1f}" width="{kk * cell + 1:.1f}" height="{cell + 1:.1f}" '
                     f'fill="none" stroke="{SELECTED}" stroke-width="3"/>')
    for (i, j) in cells:
        if (i, j) not in marks:
            parts.append(f'<rect class="lxv-selected" data-row="{i}" data-col="{j}" x="{x0 + j * cell - 1:.1f}" '
                         f'y="{y0 + i * cell - 1:.1f}" width="{cell + 1:.1f}" height="{cell + 1:.1f}" fill="none" '
                         f'stroke="{SELECTED}" stroke-width="3"/>')
    ramp = cmap(np.linspace(0, 1, 9))
    parts.append(colour_bar(x0 + kk * cell + 10, y0, 10, max(q * cell - 1, 60), ramp, vmax,
                            bar_label, f"lxv-{gid}-{id(a)}", uniform=uniform))
    return svg(width, height, "".join(parts), cls)


# -- charts ----------------------------------------------------------------------------------------
def tick(v: float, span: float) -> str:
    """A tick label with as many decimals as the axis span needs (a narrow range keeps its digits)."""
    span = abs(float(span))
    if span >= 10 or span == 0:
        return f"{v:.3g}"
    digits = min(6, max(1, int(np.ceil(-np.log10(span))) + 2))
    return f"{v:.{digits}f}"


def _axes(x0, y0, w, h, xlabels, ylo, yhi, y_title) -> list[str]:
    parts = [f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#999"/>']
    for f in (0.0, 0.5, 1.0):
        yy = y0 + h * (1 - f)
        parts.append(f'<line x1="{x0}" x2="{x0 + w}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#eee"/>')
        parts.append(text(x0 - 4, yy + 4, tick(ylo + f * (yhi - ylo), yhi - ylo), size=FONT - 2, anchor="end"))
    n = len(xlabels)
    for i, lab in enumerate(xlabels):
        xx = x0 + (i / max(n - 1, 1)) * w
        parts.append(text(xx, y0 + h + 12, lab, size=FONT - 3, anchor="end",
                          extra=f'transform="rotate(-35 {xx:.1f} {y0 + h + 12:.1f})"'))
    parts.append(text(x0 - 48, y0 + h / 2, y_title, size=FONT - 1, anchor="middle",
                      extra=f'transform="rotate(-90 {x0 - 48:.1f} {y0 + h / 2:.1f})"'))
    return parts


def lines_svg(groups: list[dict], *, title: str, y_title: str, highlight=None, palette=(), width: int = 900,
              cls: str = "lxv-lines") -> str:
    """Side-by-side line charts. ``groups``: ``[{"title", "x": [S labels], "lines": [(key, label, (S,) y)]}]``;
    the line whose key equals ``highlight`` is thick amber, the others thin and faded."""
    gap, right = 100, 110  # room for the next panel's tick labels; for the highlighted line's end label
    pw = (width - 60 - right - gap * (len(groups) - 1)) / max(len(groups), 1)
    h = 230
    parts = [text(8, 18, title, size=FONT + 1, weight="600")]
    for g_i, g in enumerate(groups):
        x0, y0 = 60 + g_i * (pw + gap), 50
        ys = np.concatenate([np.asarray(y, dtype=np.float64) for _, _, y in g["lines"]]) if g["lines"] else np.zeros(1)
        ys = ys[np.isfinite(ys)]
        lo, hi = (float(ys.min()), float(ys.max())) if ys.size else (0.0, 1.0)
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        pad = 0.05 * (hi - lo)
        lo, hi = lo - pad, hi + pad
        parts.append(text(x0 + pw / 2, y0 - 8, g["title"], size=FONT, anchor="middle"))
        parts += _axes(x0, y0, pw, h, g["x"], lo, hi, y_title)
        n = len(g["x"])
        on_top = []
        for n_i, (key, label, y) in enumerate(g["lines"]):
            y = np.asarray(y, dtype=np.float64)
            pts = " ".join(f"{x0 + (i / max(n - 1, 1)) * pw:.1f},{y0 + h * (1 - (v - lo) / (hi - lo)):.1f}"
                           for i, v in enumerate(y) if np.isfinite(v))
            on = highlight is not None and list(key) == list(highlight)
            colour_ = SELECTED if on else palette[n_i % len(palette)]
            line = (f'<polyline class="lxv-line{" lxv-on" if on else ""}" data-key=\'{esc(json.dumps(list(key)))}\' '
                    f'points="{pts}" fill="none" stroke="{colour_}" stroke-width="{5 if on else 1.5}" '
                    f'stroke-opacity="{1.0 if on or highlight is None else 0.35}"><title>{esc(label)}</title></polyline>')
            (on_top if on else parts).append(line)
            if on and len(y):
                end_y = y0 + h * (1 - (y[-1] - lo) / (hi - lo))
                on_top.append(text(x0 + pw + 4, end_y + 4, label, size=FONT - 1, fill="#7a4a00", weight="600"))
        parts += on_top
    return svg(width, 50 + h + 70, "".join(parts), cls)


def scatter_svg(xy, groups, *, title: str, x_title: str, y_title: str, path=None, path_labels=(),
                marker_side=None, group_rgb=None, width: int = 900, cls: str = "lxv-scatter") -> str:
    """A 2-D scatter: ``xy`` (N, 2), ``groups`` (N,) ints coloured by ``group_rgb`` (G, 3), ``marker_side``
    (N,) "lang" (circle) or "vis" (square); ``path``: indices joined by a thick amber line with
    ``path_labels`` at its points."""
    xy = np.asarray(xy, dtype=np.float64)
    h, w = 330, width - 260
    x0, y0 = 70, 40
    lo, hi = xy.min(0), xy.max(0)
    span = np.where(hi - lo < 1e-9, 1.0, hi - lo)
    lo, hi = lo - 0.06 * span, hi + 0.06 * span

    def p(v):
        return x0 + (v[0] - lo[0]) / (hi[0] - lo[0]) * w, y0 + h * (1 - (v[1] - lo[1]) / (hi[1] - lo[1]))

    parts = [text(8, 18, title, size=FONT + 1, weight="600"),
             f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#999"/>',
             text(x0 + w / 2, y0 + h + 30, x_title, size=FONT - 1, anchor="middle"),
             text(x0 - 40, y0 + h / 2, y_title, size=FONT - 1, anchor="middle",
                  extra=f'transform="rotate(-90 {x0 - 40} {y0 + h / 2:.1f})"')]
    for f in (0.0, 0.5, 1.0):
        parts.append(text(x0 + f * w, y0 + h + 14, tick(lo[0] + f * (hi[0] - lo[0]), hi[0] - lo[0]), size=FONT - 2,
                          anchor="middle"))
        parts.append(text(x0 - 4, y0 + h * (1 - f) + 4, tick(lo[1] + f * (hi[1] - lo[1]), hi[1] - lo[1]), size=FONT - 2,
                          anchor="end"))
    for i, v in enumerate(xy):
        cx, cy = p(v)
        c = _hex(group_rgb[groups[i]])
        if marker_side is not None and marker_side[i] == "vis":
            parts.append(f'<rect class="lxv-point" x="{cx - 4:.1f}" y="{cy - 4:.1f}" width="8" height="8" fill="{c}" '
                         f'fill-opacity="0.8"/>')
        else:
            parts.append(f'<circle class="lxv-point" cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" fill="{c}" fill-opacity="0.8"/>')
    if path is not None and len(path):
        pts = " ".join("{:.1f},{:.1f}".format(*p(xy[i])) for i in path)
        parts.append(f'<polyline class="lxv-path" points="{pts}" fill="none" stroke="{SELECTED}" stroke-width="3"/>')
        for k, i in enumerate(path):
            cx, cy = p(xy[i])
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{SELECTED}"/>')
            if k < len(path_labels) and path_labels[k]:
                parts.append(text(cx, cy - 8, path_labels[k], size=FONT - 1, anchor="middle", fill="#7a4a00", weight="600"))
    return svg(width, y0 + h + 50, "".join(parts), cls)


def legend_svg(items, *, width: int = 200, cls: str = "lxv-legend") -> str:
    """``[(label, rgb, marker)]`` as a small vertical legend (marker "circle" or "square")."""
    parts = []
    for i, (label, rgb, marker) in enumerate(items):
        y = 14 + 18 * i
        c = _hex(rgb)
        parts.append(f'<rect x="6" y="{y - 9}" width="10" height="10" fill="{c}"/>' if marker == "square"
                     else f'<circle cx="11" cy="{y - 4}" r="5" fill="{c}"/>')
        parts.append(text(22, y, label, size=FONT - 1))
    return svg(width, 18 * len(items) + 10, "".join(parts), cls)


def img_html(uri_or_asset: str, *, asset: bool = False, width: int | None = None, cls: str = "", alt: str = "") -> str:
    """An ``<img>``: a data URI, or an asset key resolved by the view."""
    src = f'data-lxv-asset="{esc(uri_or_asset)}"' if asset else f'src="{uri_or_asset}"'
    wd = f' width="{width}"' if width else ""
    return f'<img class="{cls}" alt="{esc(alt)}" {src}{wd} style="max-width:100%;height:auto">'
