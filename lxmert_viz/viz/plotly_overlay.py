"""Plotly: the image with its shading layer, hover boxes, a colour bar and weight bars, updated in place.

Shape letters: R regions, K keys of the bar chart.

Trace order (`TRACES`): ``data[0]`` the image, ``data[1]`` the shading layer (an RGBA image from
`shading.shading_layer`, the same pixels as the matplotlib figures and the command line's PNG),
``data[2:2+R]`` one invisible box per region that carries its hover text and, in ``customdata``,
``[weight, fill opacity]``, ``data[2+R]`` the region numbers, ``data[3+R]`` the bars,
``data[4+R]`` a colour-bar carrier. Every value sent is finite (a test checks).

A new query on the same image restyles the layer, boxes, numbers and bars in place; a new image
(or region count) rebuilds the traces once, each created with its final data.
"""
from __future__ import annotations

import base64
import io

import numpy as np

from .image_overlay import overlay_spec
from .region_picture import WHOLE_BAR, labelled_regions
from .shading import Shading, colour, colourscale, layer_size, region_state, shading_layer

FONT = 12
WIDTH, HEIGHT = 940, 420  # fits the output area of a 1,100 px notebook; fixed, so the colour bar sits by the image
IMAGE_DOMAIN = (0.0, 0.36)  # a square image fills the plot height (332 px of 920)
BAR_DOMAIN = (0.64, 1.0)


def png_uri(image_or_array) -> str:
    """A PIL image or (H, W, 3|4) uint8 array as a PNG data URI (no file, no network)."""
    from PIL import Image

    im = image_or_array if hasattr(image_or_array, "save") else Image.fromarray(np.asarray(image_or_array))
    if im.mode not in ("RGB", "RGBA"):
        im = im.convert("RGB")
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=3)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")



def empty_overlay(widget: bool = True):
    """The overlay figure's frame (image panel, bar panel, no traces yet); `update_overlay` fills it."""
    import plotly.graph_objects as go

    fig = (go.FigureWidget if widget else go.Figure)()
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 48, "b": 40}, height=HEIGHT, width=WIDTH, showlegend=False,
        plot_bgcolor="white", paper_bgcolor="white", font={"size": FONT}, title={"font": {"size": FONT + 1}, "x": 0.01},
        xaxis={"domain": list(IMAGE_DOMAIN), "visible": False, "constrain": "domain"},
        yaxis={"visible": False, "scaleanchor": "x", "constrain": "domain"},
        xaxis2={"domain": list(BAR_DOMAIN), "anchor": "y2", "title": {"text": "attention"}, "zeroline": True,
                "gridcolor": "#eeeeee"},
        yaxis2={"anchor": "x2", "autorange": "reversed", "type": "category", "automargin": True,
                "tickfont": {"size": FONT}},
    )
    return fig


def _box_hover(spec: dict, i: int, what: str) -> dict:
    s: Shading = spec["shading"]
    name = spec["names"][i]
    x1, y1, x2, y2 = (float(v) for v in s.boxes[i])
    state = region_state(s, i, spec.get("paint", True), what, "%{customdata[0]:.3f}")
    return {"x": [x1, x2, x2, x1, x1], "y": [y1, y1, y2, y2, y1],
            "customdata": [[float(s.weights[i]), float(s.alphas[i])]] * 5,
            "hovertemplate": f"{name}<br>{state}<extra></extra>"}


def _labels(spec: dict) -> dict:
    """Region numbers just above each box's top-left corner (inside the box when it touches the top)."""
    s: Shading = spec["shading"]
    idx = labelled_regions(s)
    dy = 0.035 * s.image_size[1]  # clear of the outline drawn outside the box
    top = [float(s.boxes[i, 1]) < 0.08 * s.image_size[1] for i in idx]
    return {"x": [float(s.boxes[i, 0]) for i in idx],
            "y": [float(s.boxes[i, 1]) + (dy if t else -dy) for i, t in zip(idx, top)],
            "textposition": ["bottom right" if t else "top right" for t in top],
            "text": [str(spec["names"][i]).split(":")[0] for i in idx]}


def _bars(spec: dict) -> dict:
    s: Shading = spec["shading"]
    w = np.asarray(spec["weights"], dtype=np.float64)
    w = np.where(np.isfinite(w), w, 0.0)
    labels = list(spec["key_labels"])
    if spec.get("bars_are_regions", True):
        lv = np.clip(w / s.vmax, 0, 1)
        cols = [WHOLE_BAR if i in s.whole else ("#dddddd" if i in s.dropped else _rgb(colour(0.25 + 0.75 * lv[i])))
                for i in range(len(w))]
        labels = [f"{lab} (whole image)" if i in s.whole else (f"{lab} (dropped)" if i in s.dropped else lab)
                  for i, lab in enumerate(labels)]
    else:
        top = max(float(np.clip(w, 0, None).max()), 1e-12) if len(w) else 1.0
        cols = [_rgb(colour(0.25 + 0.75 * v)) for v in np.clip(w / top, 0, 1)]
    top = float(w.max()) if len(w) else 1.0
    return {"x": w, "y": labels, "marker": {"color": cols}, "text": [f"{v:.2f}" for v in w],
            "range": [min(0.0, float(w.min()) if len(w) else 0.0), max(top, 1e-6) * 1.3]}


def _rgb(rgb) -> str:
    r, g, b = (int(v) for v in rgb)
    return f"rgb({r},{g},{b})"


def _colorbar(s: Shading, what: str, shown: bool) -> dict:
    return {"marker.cmax": float(s.vmax), "marker.showscale": bool(shown),
            "marker.colorbar.title.text": f"{what}"}


def build(fig, image, spec: dict, *, what: str = "attention") -> None:
    """(Re)create every trace for this image and region count, keeping the figure object.

    Every trace is created with its final data: a browser front end can drop the data of a trace
    that is added and restyled in the same batch.
    """
    import plotly.graph_objects as go

    s: Shading = spec["shading"]
    w, h = s.image_size
    lw, lh = layer_size(s.image_size)
    from PIL import Image

    base = image.convert("RGB") if image is not None else Image.new("RGB", (w, h), "white")
    traces = [go.Image(source=png_uri(base), name="image", hoverinfo="skip", x0=0, y0=0,
                       dx=w / base.width, dy=h / base.height),
              go.Image(source=png_uri(shading_layer(s, (lw, lh))), name="shading", hoverinfo="skip",
                       x0=0, y0=0, dx=w / lw, dy=h / lh)]
    for i in range(len(s.boxes)):
        hv = _box_hover(spec, i, what)
        traces.append(go.Scatter(x=hv["x"], y=hv["y"], customdata=hv["customdata"], hovertemplate=hv["hovertemplate"],
                                 mode="lines", fill="toself", fillcolor="rgba(0,0,0,0)", line={"width": 0},
                                 hoveron="fills", name=f"region {i}", showlegend=False))
    lab = _labels(spec)
    traces.append(go.Scatter(x=lab["x"], y=lab["y"], text=lab["text"], mode="text", textposition=lab["textposition"],
                             textfont={"size": FONT, "color": "#222222"}, hoverinfo="skip", name="region numbers"))
    bars = _bars(spec)
    traces.append(go.Bar(x=bars["x"], y=bars["y"], orientation="h", marker={"color": bars["marker"]["color"],
                         "line": {"width": 0.5, "color": "#555555"}}, text=bars["text"], textposition="outside",
                         cliponaxis=False, xaxis="x2", yaxis="y2", name="weights",
                         hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    traces.append(go.Scatter(x=[0.0], y=[0.0], mode="markers", hoverinfo="skip", name="colour bar",
                             marker={"opacity": 0, "size": 1, "color": [0.0], "cmin": 0.0, "cmax": float(s.vmax),
                                     "colorscale": colourscale(), "showscale": bool(spec.get("paint", True)),
                                     "colorbar": {"x": IMAGE_DOMAIN[1] + 0.01, "xanchor": "left", "len": 0.85,
                                                  "thickness": 12, "title": {"text": what, "side": "right"},
                                                  "tickfont": {"size": FONT - 1}}}))
    with fig.batch_update():
        fig.data = []
        fig.add_traces(traces)
        fig.layout.meta = {"lxmert_viz": "overlay", "regions": len(s.boxes), "image_size": [w, h]}
        # explicit ranges, y downwards: a browser that re-ranges after the traces are replaced
        # must not flip the picture (autorange "reversed" alone did, after an image change)
        fig.layout.xaxis.update(range=[0, w], autorange=False)
        fig.layout.yaxis.update(range=[h, 0], autorange=False)
        _layout(fig, spec, bars, what)


def _layout(fig, spec: dict, bars: dict, what: str) -> None:
    fig.layout.title.text = spec["title"]
    fig.layout.xaxis2.range = bars["range"]
    fig.layout.xaxis2.title.text = spec.get("bar_title") or what
    note = spec.get("whole") or ""
    fig.layout.annotations = [{"text": note, "xref": "paper", "yref": "paper", "x": 0.0, "y": -0.02,
                               "xanchor": "left", "yanchor": "top", "showarrow": False,
                               "font": {"size": FONT - 1, "color": "#444444"}}] if note else []


def restyle(fig, spec: dict, *, what: str = "attention") -> None:
    """Redraw a built figure in place for a new spec on the same image and region count.

    One explicit restyle per group of traces with full per-trace lists: a ``batch_update`` that
    touches several groups pads missing properties with "undefined", which the browser reads as null.
    """
    s: Shading = spec["shading"]
    n = len(s.boxes)
    lw, lh = layer_size(s.image_size)
    fig.plotly_restyle({"source": [png_uri(shading_layer(s, (lw, lh)))]}, trace_indexes=[1])
    if n:
        hovers = [_box_hover(spec, i, what) for i in range(n)]
        fig.plotly_restyle({"customdata": [hv["customdata"] for hv in hovers],
                            "hovertemplate": [hv["hovertemplate"] for hv in hovers]},
                           trace_indexes=list(range(2, 2 + n)))
    lab = _labels(spec)
    fig.plotly_restyle({"x": [lab["x"]], "y": [lab["y"]], "text": [lab["text"]], "textposition": [lab["textposition"]]},
                       trace_indexes=[2 + n])
    bars = _bars(spec)
    fig.plotly_restyle({"x": [bars["x"]], "y": [bars["y"]], "marker.color": [bars["marker"]["color"]],
                        "text": [bars["text"]]}, trace_indexes=[3 + n])
    cb = _colorbar(s, what, spec.get("paint", True))
    fig.plotly_restyle({k: [v] for k, v in cb.items()}, trace_indexes=[4 + n])
    with fig.batch_update():
        _layout(fig, spec, bars, what)


def draw(fig, image, spec: dict, *, rebuild: bool | None = None, what: str = "attention") -> None:
    """Build or restyle ``fig`` for ``spec`` (``rebuild=None``: when the region count or size changed)."""
    meta = fig.layout.meta or {}
    s: Shading = spec["shading"]
    if rebuild is None:
        rebuild = meta.get("regions") != len(s.boxes) or list(meta.get("image_size", [])) != list(s.image_size)
    if rebuild:
        build(fig, image, spec, what=what)
    else:
        restyle(fig, spec, what=what)


def box_alphas(fig) -> np.ndarray:
    """(R,) fill opacities of an overlay figure's boxes as drawn now (read back from ``customdata``)."""
    n = (fig.layout.meta or {}).get("regions", 0)
    return np.array([float(fig.data[2 + i].customdata[0][1]) for i in range(n)])


def box_weights(fig) -> np.ndarray:
    """(R,) the weight behind each box as drawn now."""
    n = (fig.layout.meta or {}).get("regions", 0)
    return np.array([float(fig.data[2 + i].customdata[0][0]) for i in range(n)])


def overlay_plotly(result, token=None, region=None, *, family: str | None = None, layer: int = -1,
                   head: int | str = "mean", widget: bool = False, vmax: float | None = None):
    """Plotly version of `overlay` (see the module docstring for the traces).

    Args:
        widget: return a `go.FigureWidget` (needs ``anywidget``) instead of a `go.Figure`.

    Returns:
        the figure.

    Example:
        >>> fig = overlay_plotly(result, token="circle")
        >>> int(box_weights(fig).argmax()) == int(result.attn("l2v")[result.token_index("circle")].argmax())
        True
    """
    fig = empty_overlay(widget)
    update_overlay(fig, result, token=token, region=region, family=family, layer=layer, head=head, vmax=vmax)
    return fig


def update_overlay(fig, result, token=None, region=None, *, family: str | None = None, layer: int = -1,
                   head: int | str = "mean", image: bool | None = None, vmax: float | None = None) -> dict:
    """Redraw an `overlay_plotly` figure in place for a (possibly new) result and query.

    Args:
        image: True to re-send the image and rebuild the traces (a new image), False to keep them
            (same image, new question or query); None decides from the region count and size.

    Returns:
        the `overlay_spec` that was drawn.
    """
    spec = overlay_spec(result, token, region, family, layer, head, vmax)
    draw(fig, result.image, spec, rebuild=image)
    return spec


def bar_trace(fig):
    """The bar trace of an overlay figure (the weights of the query, as drawn now)."""
    n = (fig.layout.meta or {}).get("regions", 0)
    return fig.data[3 + n]
