"""The faithfulness panel beside an explanation: deletion and insertion curves as a small SVG chart.

Shape letters: S fractions.

Every number comes from `lxmert_viz.explain.faithfulness` (a `Faithfulness`, and optionally a
`MethodRanking` over a data set); this module only draws. The y axis is the answer's probability on
its full 0..1 scale, so a flat curve looks flat.
"""
from __future__ import annotations

import html

import numpy as np

from .svg import FONT, svg, text

DELETION, INSERTION = "#c0392b", "#2471a3"
CSS = {"chart": "lxmert-viz-faithfulness", "line": "lxmert-viz-faithfulness-line",
       "rank": "lxmert-viz-faithfulness-rank"}


def curves_svg(f, *, width: int = 400, height: int = 240) -> str:
    """Deletion (red) and insertion (blue) curves of one `Faithfulness`, k marked by a dashed line.

    Each ``<polyline>`` carries ``data-curve`` ("deletion" / "insertion") and ``data-y`` (the S
    probabilities, comma separated), so a test reads back what is drawn.
    """
    x0, y0, w, h = 46.0, 26.0, width - 60.0, height - 96.0
    xs = np.asarray(f.fractions, dtype=np.float64)

    def px(x, y):
        return x0 + float(x) * w, y0 + h * (1.0 - float(np.clip(y, 0.0, 1.0)))

    parts = [text(6, 16, f"faithfulness of {f.method} (answer's probability)", size=FONT - 1, weight="600"),
             f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#999"/>']
    for v in (0.0, 0.5, 1.0):
        _, yy = px(0, v)
        parts.append(f'<line x1="{x0}" x2="{x0 + w}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#eee"/>')
        parts.append(text(x0 - 4, yy + 4, f"{v:.1f}", size=FONT - 3, anchor="end"))
    for v in (0.0, 0.5, 1.0):
        xx, _ = px(v, 0)
        parts.append(text(xx, y0 + h + 13, f"{v:.0%}", size=FONT - 3, anchor="middle"))
    parts.append(text(x0 + w / 2, y0 + h + 27, "inputs removed / kept, most relevant first", size=FONT - 3,
                      anchor="middle", fill="#555"))
    kx, _ = px(f.k, 0)
    parts.append(f'<line x1="{kx:.1f}" x2="{kx:.1f}" y1="{y0}" y2="{y0 + h}" stroke="#777" stroke-dasharray="3 3">'
                 f'<title>k = {f.k:.0%}</title></line>')
    for name, ys, colour in (("deletion", f.deletion, DELETION), ("insertion", f.insertion, INSERTION)):
        pts = " ".join("{:.1f},{:.1f}".format(*px(x, y)) for x, y in zip(xs, ys))
        data = ",".join(f"{float(y):.6g}" for y in ys)
        parts.append(f'<polyline class="{CSS["line"]}" data-curve="{name}" data-y="{data}" points="{pts}" '
                     f'fill="none" stroke="{colour}" stroke-width="2"><title>{name}</title></polyline>')
    for row, (name, colour, auc, better) in enumerate((("deletion", DELETION, f.deletion_auc, "lower"),
                                                         ("insertion", INSERTION, f.insertion_auc, "higher"))):
        ly = y0 + h + 48 + 16 * row
        parts.append(f'<line x1="{x0}" x2="{x0 + 18}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}" stroke-width="2"/>')
        parts.append(text(x0 + 22, ly, f"{name} (AUC {auc:.2f}, {better} = more faithful)", size=FONT - 3))
    return svg(width, height, "".join(parts), CSS["chart"])


def faithfulness_html(f, ranking=None, *, note: str = "", seconds: float | None = None) -> str:
    """The panel: the chart, the Del@k / Ins@k line and, with a `MethodRanking`, the method's rank."""
    line = f'<div class="{CSS["line"]}" style="font-size:12px"><b>{html.escape(f.line())}</b></div>'
    rank = ""
    if ranking is not None and f.method in ranking.deletion_auc:
        n = len(ranking.deletion_auc[f.method])
        ranked = ranking.ranked()
        rank = (f'<div class="{CSS["rank"]}" style="font-size:12px">AUC rank over the data set: '
                f'<b>{ranking.rank(f.method)} of {len(ranked)}</b> ({n} question{"s" if n != 1 else ""}; '
                "insertion AUC − deletion AUC, larger is more faithful: "
                + html.escape(", ".join(f"{m} {s:+.2f}" for m, s, _, _ in ranked)) + ")</div>")
    cost = f" · measured in {1000 * seconds:.0f} ms" if seconds is not None else ""
    small = f'<div style="font-size:11px;color:#555">{html.escape(note)}{cost}</div>' if note or cost else ""
    return f"<div>{curves_svg(f)}{line}{rank}{small}</div>"
