"""The examples behind one cell of a data-set head grid: the best and the worst on their images.

Shape letters: R regions, T tokens.

`Summary.examples` picks them from the records; each is run again (`result_for_record`) so the
chosen head's attention can be drawn: boxes shaded by the naming token's weights on the regions
(or, for a family whose queries are regions, by the mean over queries), the named region outlined.
The whole-image row is not shaded (its box is the picture); its weight is written under the image.
"""
from __future__ import annotations

import textwrap

import numpy as np

from ..analysis.referents import whole_image_region
from ..analysis.replay import cell_weights, record_image, result_for_record
from .shading import box_fill_alphas, draw_boxes, draw_image


def cell_panels(summary, kit, stat: str, family: str, layer: int, head: int, k: int = 3,
                group: str | None = None) -> list[dict]:
    """Everything the pictures need, as plain values: one dict per example, best first then worst.

    Each has ``row`` (``"best"`` / ``"worst"``), ``record``, ``image``, ``boxes`` (R, 4), ``alphas``
    (R,) box fills from the head's weights (zeros when its keys are tokens), ``outline`` (the named
    region or None), ``caption``.
    """
    picked = summary.examples(stat, family, layer, head, k=k, group=group)
    draw_family = family if family in summary.layers else "l2v"
    panels = []
    for row in ("best", "worst"):
        for rec in picked[row]:
            res = result_for_record(kit, rec)
            n_l = res.num_layers(draw_family)
            w = cell_weights(res, rec, draw_family, min(layer, n_l - 1), head)
            n = res.regions.num_real
            scene = whole_image_region(res.regions)
            alphas = np.zeros(n)
            if w["tokens"] is not None:
                top = int(np.argmax(w["tokens"]))
                extra = f"top token {res.tokens.pieces[top]!r} {w['tokens'][top]:.2f}"
            else:
                extra = f"query {w['query']}"
                alphas = box_fill_alphas(w["regions"])  # scaled with the scene row's weight included
                if scene >= 0:  # a fill over the whole picture would hide it: the weight goes in the caption
                    extra += f", scene row {w['regions'][scene]:.2f}"
                    alphas[scene] = 0.0
            ref = rec.get("referent_region", -1)
            caption = "\n".join(textwrap.wrap(rec["question"], 30)) + \
                f"\n{stat} {rec['value']:.2f} · answer {res.answer!r}\n{extra}"
            panels.append({"row": row, "record": rec, "image": res.image if res.image is not None else record_image(rec),
                           "size": res.regions.image_size, "boxes": res.regions.boxes[:n], "alphas": alphas,
                           "outline": ref if ref is not None and ref >= 0 else None, "caption": caption})
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
    fig = Figure(figsize=(2.3 * cols, 5.6), layout="constrained")
    axes = fig.subplots(2, cols, squeeze=False)
    for r, row in enumerate(("best", "worst")):
        mine = [p for p in panels if p["row"] == row]
        for c in range(cols):
            ax = axes[r, c]
            if c >= len(mine):
                ax.set_axis_off()
                continue
            p = mine[c]
            draw_image(ax, p["image"], p["size"])
            draw_boxes(ax, p["boxes"], p["alphas"], outline=p["outline"])
            ax.set_title(p["caption"], fontsize=7)
            if c == 0:
                ax.set_ylabel(f"{row} {k}", fontsize=8)
    fig.suptitle(f"{family} layer {layer} head {head}: examples with the highest and lowest {stat} "
                 "(outline: the named region)", fontsize=9)
    return fig
