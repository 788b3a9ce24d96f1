"""Attention on the image: one query's weights as shaded regions, with the weights as bars.

Shape letters: R regions, T tokens, K keys of the chosen family.

One query row of a family drives the picture. ``token=`` picks a word (default family ``l2v``: the
regions are shaded by how much the word attends to each); ``region=`` picks a region (default
family ``v2l``: the region is outlined and the bars show its attention over the words). With
neither, the question's content word is shown (`defaults.default_token`). The shading follows
`shading` (the whole-image row is never painted; its weight is written under the image).
`overlay` draws with matplotlib; `overlay_plotly` / `update_overlay` (in `plotly_overlay.py`)
build and update a plotly figure in place.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError, InputIndexError
from ..model.output import key_stream, query_stream
from .defaults import default_token
from .region_picture import FONT, draw_bars, draw_regions
from .shading import shade, whole_label
from .titles import attention_title


def overlay_spec(result, token=None, region=None, family=None, layer: int = -1, head="mean",
                 vmax: float | None = None) -> dict:
    """Everything a renderer needs for one overlay, as plain values (no plotting).

    Args:
        result: a `Result`.
        token, region: the query (at most one; neither: the content word, see `default_token`).
        family: any family whose queries are on the chosen side (default ``l2v`` / ``v2l``).
        layer, head: as `Result.attn`.
        vmax: a shared top of the colour scale (to compare several overlays), or None.

    Returns:
        dict with ``family``, ``side``, ``query`` (index), ``query_label``, ``weights`` (K,),
        ``key_labels``, ``shading`` (a `shading.Shading`), ``alphas`` (R,) fill opacities (0 when the
        keys are words), ``outline`` (region index or None), ``boxes`` (R, 4) px, ``names`` (R,),
        ``title`` and ``whole`` (the line about whole-image regions, "" when there are none).

    Example:
        >>> spec = overlay_spec(result, token="circle")
        >>> spec["title"]
        "l2v · cross layer 2 (last of 0-2) · mean of 4 heads · word 'circle'"
        >>> spec["shading"].whole                              # the scene row: not painted
        (0,)
    """
    if token is not None and region is not None:
        raise InputError("give token= or region=, not both")
    side = "vis" if region is not None else "lang"
    family = family or ("l2v" if side == "lang" else "v2l")
    if query_stream(family) != side:
        raise InputError(f"family {family!r} has {query_stream(family)} queries; "
                         f"pick {'region=' if side == 'lang' else 'token='} instead")
    n = result.regions.num_real
    if side == "lang":
        q = default_token(result) if token is None else result.token_index(token)
    else:
        q = int(region)
        if not -n <= q < n:
            raise InputIndexError(f"region {q} is out of range for {n} regions")
        q %= n
    weights = np.asarray(result.row(family, q, layer, head), dtype=np.float64)
    qlabels, klabels = result.labels(family)
    boxes, names = result.regions.boxes[:n], result.regions.names()[:n]
    keys_are_regions = key_stream(family) == "vis"
    s = shade(boxes, weights if keys_are_regions else None, result.regions.image_size, vmax=vmax,
              chosen=q if side == "vis" else None, paint=keys_are_regions)
    return {
        "family": family, "side": side, "query": q, "query_label": qlabels[q], "weights": weights,
        "key_labels": klabels, "shading": s, "alphas": s.alphas, "outline": q if side == "vis" else None,
        "boxes": boxes, "names": names, "keys_are_regions": keys_are_regions, "paint": keys_are_regions,
        "bars_are_regions": keys_are_regions,
        "bar_title": "attention" if keys_are_regions else f"{family} weight over the words",
        "title": attention_title(result, family, layer, head, qlabels[q], side, q),
        "whole": whole_label(s, names) if keys_are_regions else "",
    }


def overlay(result, token=None, region=None, *, family: str | None = None, layer: int = -1,
            head: int | str = "mean", ax=None, vmax: float | None = None, bars: bool = True):
    """Image with regions shaded by one query's attention, a colour bar, and the weights as bars.

    Args:
        result: a `Result`.
        token: a word or token index (language queries; default family ``l2v``).
        region: a region index (vision queries; default family ``v2l``). Neither: the content word.
        family: any attention family whose queries are on the chosen side.
        layer, head: as `Result.attn` (``head`` an index, ``"mean"`` or ``"max"``).
        ax: image axes to draw on (the colour bar and bars go in insets to its right). None: a new figure.
        vmax: a shared top of the colour scale, or None (this query's largest weight).
        bars: draw the bar chart.

    Returns:
        the matplotlib `Figure`; the image axes has ``gid="regions"`` and holds the shading layer
        (``ax.images[1]``, ``gid="shading"``); the bar chart's patches are the weights.

    Example:
        >>> fig = overlay(result, token="circle", layer=-1, head="mean")
        >>> [round(b.get_width(), 2) for b in fig.axes[-1].patches] == [round(float(v), 2) for v in
        ...     result.attn("l2v", -1, "mean")[result.token_index("circle")]]
        True
    """
    from matplotlib.figure import Figure

    spec = overlay_spec(result, token, region, family, layer, head, vmax)
    s = spec["shading"]
    if ax is None:
        fig = Figure(figsize=(10.5, 4.4), layout="constrained")
        widths = [4, 0.18, 3.2] if bars else [4, 0.18]
        axes = fig.subplots(1, len(widths), gridspec_kw={"width_ratios": widths})
        ax, cax = axes[0], axes[1]
        ax.set_anchor("E")  # the image hugs its colour bar
        bax = axes[2] if bars else None
        fig.suptitle(spec["title"], fontsize=FONT + 1)
    else:
        fig = ax.figure
        cax = ax.inset_axes([1.02, 0.1, 0.04, 0.8])
        bax = ax.inset_axes([1.45, 0.0, 0.75, 1.0]) if bars else None
        ax.set_title(spec["title"], fontsize=FONT)
    draw_regions(ax, result.image, s, spec["names"], colorbar_ax=cax if spec["keys_are_regions"] else None)
    if not spec["keys_are_regions"]:
        cax.set_axis_off()
        ax.set_xlabel(f"outlined: the query region {spec['query_label']!r}", fontsize=FONT - 1)
    if bax is not None:
        if spec["keys_are_regions"]:
            draw_bars(bax, spec["key_labels"], spec["weights"], levels=s.level_of(spec["weights"]),
                      whole=s.whole)
        else:
            draw_bars(bax, spec["key_labels"], spec["weights"])
        bax.set_title(f"{spec['family']} weights of {spec['query_label']!r}", fontsize=FONT)
    return fig
