"""Attention on the image: region boxes shaded by one query's attention, with its weights as bars.

Shape letters: R regions, T tokens, K keys of the chosen family.

One query row of a family drives the picture: ``token=`` picks a word (default family ``l2v``:
the boxes are shaded by how much the word attends to each region), ``region=`` picks a region
(default family ``v2l``: the region is outlined and the bars show its attention over the words).
Any family works as long as its queries come from the chosen side. `overlay` draws with
matplotlib; `overlay_plotly` / `update_overlay` build and update a plotly figure in place.
"""
from __future__ import annotations

import base64
import io

import numpy as np

from ..model.output import key_stream, query_stream
from .shading import FILL_RGB, OUTLINE, box_fill_alphas, draw_boxes, draw_image, normalise


def overlay_spec(result, token=None, region=None, family=None, layer: int = -1, head="mean") -> dict:
    """Everything a renderer needs for one overlay, as plain values (no plotting).

    Returns:
        dict with ``family``, ``query`` (index), ``query_label``, ``weights`` (K,), ``key_labels``,
        ``alphas`` (R,) box fill opacities (0 when the keys are words), ``outline`` (region index or
        None), ``boxes`` (R, 4) px, ``names`` (R,), ``title``.
    """
    if (token is None) == (region is None):
        raise ValueError("give exactly one of token= or region=")
    side = "lang" if token is not None else "vis"
    family = family or ("l2v" if side == "lang" else "v2l")
    if query_stream(family) != side:
        raise ValueError(f"family {family!r} has {query_stream(family)} queries; "
                         f"pick {'region=' if side == 'lang' else 'token='} instead")
    q = result.token_index(token) if side == "lang" else int(region)
    if side == "vis" and not -result.regions.num_real <= q < result.regions.num_real:
        raise IndexError(f"region {q} is out of range for {result.regions.num_real} regions")
    q %= len(result.tokens) if side == "lang" else result.regions.num_real
    weights = result.row(family, q, layer, head)
    qlabels, klabels = result.labels(family)
    n = result.regions.num_real
    alphas = np.zeros(n)
    if key_stream(family) == "vis":
        alphas = box_fill_alphas(weights)
    nl = result.num_layers(family)
    shown_layer = layer % nl
    hname = head if isinstance(head, str) else f"head {head}"
    return {
        "family": family, "query": q, "query_label": qlabels[q], "weights": np.asarray(weights, dtype=float),
        "key_labels": klabels, "alphas": alphas, "outline": q if side == "vis" else None,
        "boxes": result.regions.boxes[:n], "names": result.regions.names()[:n],
        "title": f"{family} · layer {shown_layer} of 0..{nl - 1} · {hname} · query {qlabels[q]!r}",
    }


# -- matplotlib -----------------------------------------------------------------------------------
def overlay(result, token=None, region=None, *, family: str | None = None, layer: int = -1,
            head: int | str = "mean", ax=None, show_labels: bool = True):
    """Image with region boxes shaded by attention, plus the query's weights as a bar chart.

    Args:
        result: a `Result`.
        token: a word or token index (queries from the language side; default family ``l2v``).
        region: a region index (queries from the vision side; default family ``v2l``).
        family: any attention family whose queries are on the chosen side.
        layer, head: as `Result.attn` (``head`` an index, ``"mean"`` or ``"max"``).
        ax: image axes to draw on; the bars go in an inset to its right. None: a new figure.
        show_labels: write each region's name at its top-left corner.

    Returns:
        the matplotlib `Figure`. Box patches carry ``gid="region-<i>"``.

    Example:
        >>> fig = overlay(result, token="circle", layer=-1, head="mean")
        >>> len([p for p in fig.axes[0].patches if p.get_gid().startswith("region-")])
        4
    """
    from matplotlib.figure import Figure

    spec = overlay_spec(result, token, region, family, layer, head)
    if ax is None:
        fig = Figure(figsize=(9, 4), layout="constrained")
        ax, ax_bar = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    else:
        fig = ax.figure
        ax_bar = ax.inset_axes([1.12, 0.0, 0.6, 1.0])
    draw_image(ax, result.image, result.regions.image_size)
    draw_boxes(ax, spec["boxes"], spec["alphas"], spec["names"] if show_labels else None, outline=spec["outline"])
    ax.set_title(spec["title"], fontsize=9)
    wts = spec["weights"]
    from matplotlib import colormaps

    ax_bar.barh(np.arange(len(wts)), wts, color=colormaps["Reds"](0.25 + 0.75 * normalise(wts)))
    ax_bar.set_yticks(np.arange(len(wts)), spec["key_labels"], fontsize=8)
    ax_bar.invert_yaxis()
    ax_bar.set_xlim(0, max(float(wts.max()) * 1.05, 1e-6) if len(wts) else 1)
    ax_bar.set_xlabel("attention", fontsize=8)
    return fig


# -- plotly ---------------------------------------------------------------------------------------
def image_uri(image) -> str:
    """A PIL image as a PNG data URI (plotly `go.Image` source; no file, no network)."""
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _box_trace(go, box, name, **style):
    x1, y1, x2, y2 = (float(v) for v in box)
    return go.Scatter(x=np.array([x1, x2, x2, x1, x1]), y=np.array([y1, y1, y2, y2, y1]), mode="lines",
                      fill="toself", name=name, showlegend=False, **style)


def _box_style(spec: dict, i: int) -> dict:
    """Fill, outline and hover of region ``i``'s box trace for an `overlay_spec`."""
    r, g, b = FILL_RGB
    a = float(spec["alphas"][i])
    chosen = spec["outline"] == i
    wt = spec["weights"][i] if key_stream(spec["family"]) == "vis" else float("nan")
    return {"fillcolor": f"rgba({r},{g},{b},{a:.6f})",
            "line": {"color": OUTLINE if chosen else f"rgba({r},{g},{b},0.9)", "width": 4 if chosen else 1},
            "customdata": [wt] * 5,
            "hovertemplate": f"{spec['names'][i]}<br>attention %{{customdata:.3f}}<extra></extra>"}


def _bar_style(spec: dict) -> dict:
    wts = spec["weights"]
    cmax = max(float(wts.max()), 1e-6) if len(wts) else 1.0
    return {"x": wts, "y": spec["key_labels"],
            "marker": {"color": wts, "colorscale": "Reds", "cmin": 0, "cmax": cmax}}


def overlay_plotly(result, token=None, region=None, *, family: str | None = None, layer: int = -1,
                   head: int | str = "mean", widget: bool = False):
    """Plotly version of `overlay`: image + box traces (left), weights as bars (right).

    Trace order: ``data[0]`` the image, ``data[1:1+R]`` one filled box per region, ``data[1+R]`` the
    region names, ``data[2+R]`` the bars. Box opacity lives in each trace's ``fillcolor`` (rgba) and
    the raw weight in its ``customdata``; `update_overlay` changes them in place.

    Args:
        widget: return a `go.FigureWidget` (needs ``anywidget``) instead of a `go.Figure`.

    Returns:
        the figure.
    """
    fig = empty_overlay(widget)
    update_overlay(fig, result, token=token, region=region, family=family, layer=layer, head=head)
    return fig


def empty_overlay(widget: bool = True):
    """The overlay figure's frame (two panels, no traces yet); `update_overlay` fills it."""
    import plotly.graph_objects as go

    fig = (go.FigureWidget if widget else go.Figure)()
    fig.set_subplots(1, 2, column_widths=[0.6, 0.4], horizontal_spacing=0.14)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10}, height=380, showlegend=False,
                      plot_bgcolor="white", title={"font": {"size": 13}})
    return fig


def _build(fig, result, spec: dict):
    """(Re)create the traces for this result's image and region count, keeping the figure object.

    Every trace is created with its final data and style: a browser front end can drop the data of
    a trace that is added and restyled in the same batch, so nothing here is restyled afterwards.
    """
    import plotly.graph_objects as go

    n = result.regions.num_real
    w, h = result.regions.image_size
    img = go.Image(source=image_uri(result.image) if result.image is not None else None, name="image",
                   hoverinfo="skip", x0=0, y0=0, dx=w / result.image.width if result.image else 1,
                   dy=h / result.image.height if result.image else 1)
    boxes = result.regions.boxes[:n]
    traces = [img] + [_box_trace(go, b, f"region {i}", **_box_style(spec, i)) for i, b in enumerate(boxes)]
    traces.append(go.Scatter(x=[float(b[0]) + 1 for b in boxes], y=[float(b[1]) + 1 for b in boxes],
                             mode="text", text=result.regions.names()[:n], textposition="bottom right",
                             textfont={"size": 10}, name="region names", hoverinfo="skip"))
    with fig.batch_update():
        fig.data = []
        fig.layout.meta = {"lxmert_viz": "overlay", "regions": n, "image_size": [w, h]}
        fig.layout.title.text = spec["title"]
    fig.add_traces(traces, rows=[1] * len(traces), cols=[1] * len(traces))
    fig.add_trace(go.Bar(orientation="h", name="weights", **_bar_style(spec)), row=1, col=2)
    with fig.batch_update():
        fig.update_xaxes(range=[0, w], visible=False, row=1, col=1)
        fig.update_yaxes(range=[h, 0], visible=False, scaleanchor="x", row=1, col=1)
        fig.update_yaxes(autorange="reversed", row=1, col=2)
        fig.update_xaxes(title={"text": "attention"}, row=1, col=2)


def update_overlay(fig, result, token=None, region=None, *, family: str | None = None, layer: int = -1,
                   head: int | str = "mean", image: bool | None = None) -> dict:
    """Redraw an `overlay_plotly` figure in place for a (possibly new) result and query.

    Args:
        image: True to re-send the image and rebuild the box traces (a new image), False to keep
            them (same image, new question or query); None decides from the region count and size.

    Returns:
        the `overlay_spec` that was drawn.
    """
    spec = overlay_spec(result, token, region, family, layer, head)
    meta = fig.layout.meta or {}
    n = result.regions.num_real
    if image is None:
        image = meta.get("regions") != n or list(meta.get("image_size", [])) != list(result.regions.image_size)
    if image:
        _build(fig, result, spec)
        return spec
    bar = _bar_style(spec)
    restyle_overlay(fig, [_box_style(spec, i) for i in range(n)],
                    {"x": bar["x"], "y": bar["y"], "marker": {"color": bar["marker"]["color"],
                                                             "cmax": bar["marker"]["cmax"]}})
    fig.layout.title.text = spec["title"]
    return spec


def _flat(style: dict) -> dict:
    """``{"line": {"color": c}}`` -> ``{"line.color": c}`` (one level, as restyle paths)."""
    out = {}
    for k, v in style.items():
        if isinstance(v, dict):
            out.update({f"{k}.{kk}": vv for kk, vv in v.items()})
        else:
            out[k] = v
    return out


def restyle_overlay(fig, box_styles: list[dict], bar: dict) -> None:
    """Restyle an `overlay_plotly` figure's boxes and bars in place, one explicit restyle per group.

    A ``batch_update`` that touches the boxes and the bar pads each property with "undefined" for
    the traces that lack it, which the browser front end receives as null (the boxes lost their x).
    Full per-trace lists for each group avoid that.

    Args:
        box_styles: one style per box trace (``data[1:1+R]``), all with the same keys; nested
            dicts (``{"line": {"color": ...}}``) become property paths.
        bar: the bar trace's (``data[2+R]``) new properties, nested likewise.
    """
    n = len(box_styles)
    if n:
        flat = [_flat(st) for st in box_styles]
        fig.plotly_restyle({k: [st[k] for st in flat] for k in flat[0]}, trace_indexes=list(range(1, 1 + n)))
    fig.plotly_restyle({k: [v] for k, v in _flat(bar).items()}, trace_indexes=[2 + n])


def box_alphas(fig) -> np.ndarray:
    """(R,) fill opacities of an `overlay_plotly` figure's boxes (read back from ``fillcolor``)."""
    n = (fig.layout.meta or {}).get("regions", 0)
    return np.array([float(fig.data[1 + i].fillcolor.rsplit(",", 1)[1].rstrip(")")) for i in range(n)])
