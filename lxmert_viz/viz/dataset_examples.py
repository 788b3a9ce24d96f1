"""The examples behind one cell of a data-set head grid: the best and the worst on their images.

Shape letters: R regions, T tokens.

`Summary.examples` picks them from the records; each is run again (`result_for_record`) so the
chosen head's attention can be drawn: boxes shaded by the naming token's weights on the regions
(or, for a family whose queries are regions, by the mean over queries), the named region outlined,
through the kit's one shading path (`shading.shade`, `region_picture.draw_regions`): the
whole-image row is never painted; its weight is written under the image.
"""
from __future__ import annotations

import textwrap

import numpy as np

from ..analysis.replay import cell_weights, record_image, result_for_record
from .region_picture import draw_regions
from .shading import shade


def cell_panels(summary, kit, stat: str, family: str, layer: int, head: int, k: int = 3,
                group: str | None = None, picked: dict | None = None) -> list[dict]:
    """Everything the pictures need, as plain values: one dict per example, best first then worst.

    Each has ``row`` (``"best"`` / ``"worst"``), ``record``, ``image``, ``shading`` (a `Shading` of the
    head's weights on the regions; no fill when its keys are tokens; the named region outlined),
    ``names`` (region names), ``caption``. ``picked``: ``summary.examples(...)`` of this cell, read
    before (the run's folder is then not read again).
    """
    if picked is None:
        picked = summary.examples(stat, family, layer, head, k=k, group=group)
    draw_family = family if family in summary.layers else "l2v"
    panels = []
    for row in ("best", "worst"):
        for rec in picked[row]:
            res = result_for_record(kit, rec)
            n_l = res.num_layers(draw_family)
            w = cell_weights(res, rec, draw_family, min(layer, n_l - 1), head)
            n = res.regions.num_real
            ref = rec.get("referent_region", -1)
            outline = ref if ref is not None and ref >= 0 else None
            if w["tokens"] is not None:
                top = int(np.argmax(w["tokens"]))
                extra = f"top token {res.tokens.pieces[top]!r} {w['tokens'][top]:.2f}"
                shading = shade(res.regions.boxes[:n], None, res.regions.image_size, chosen=outline)
            else:
                extra = f"query {w['query']}"
                shading = shade(res.regions.boxes[:n], w["regions"], res.regions.image_size, chosen=outline)
            caption = "\n".join(textwrap.wrap(rec["question"], 30)) + \
                f"\n{stat} {rec['value']:.2f} · answer {res.answer!r}\n{extra}"
            panels.append({"row": row, "record": rec, "image": res.image if res.image is not None else record_image(rec),
                           "shading": shading, "names": res.regions.names()[:n], "caption": caption})
    return panels


def cell_examples(summary, kit, stat: str, family: str, layer: int, head: int, k: int = 3,
                  group: str | None = None):
    """Matplotlib: the ``k`` best (top row) and worst (bottom row) examples of one cell.

    Args:
        summary: a `Summary`.
        kit: the kit the run used (the examples are run again to draw the head's weights).
        stat, family, layer, head: the cell (``"ref_attn", "l2v", 2, 1``).
        k: examples per row.
        group: only one question type.

    Returns:
        the matplotlib `Figure`: ``2 * k`` image axes; the named region is outlined.

    Example:
        >>> from lxmert_viz.analysis import run, summarize
        >>> _ = run("shapes:2", ["pointing"], tmp / "r", progress=False)
        >>> fig = cell_examples(summarize(tmp / "r"), kit, "ref_attn", "l2v", 2, 0, k=2)
        >>> len(fig.axes)
        4
    """
    from matplotlib.figure import Figure

    panels = cell_panels(summary, kit, stat, family, layer, head, k, group)
    cols = max(1, max(sum(p["row"] == r for p in panels) for r in ("best", "worst")))
    fig = Figure(figsize=(3.0 * cols, 7.0), layout="constrained")  # room for 9 pt captions
    axes = fig.subplots(2, cols, squeeze=False)
    for r, row in enumerate(("best", "worst")):
        mine = [p for p in panels if p["row"] == row]
        for c in range(cols):
            ax = axes[r, c]
            if c >= len(mine):
                ax.set_axis_off()
                continue
            p = mine[c]
            draw_regions(ax, p["image"], p["shading"], p["names"])
            ax.set_title(p["caption"], fontsize=9)
            if c == 0:
                ax.set_ylabel(f"{row} {k}", fontsize=9)
    fig.suptitle(f"{family} layer {layer} head {head}: examples with the highest and lowest {stat} "
                 "(outline: the named region)", fontsize=9)
    return fig
