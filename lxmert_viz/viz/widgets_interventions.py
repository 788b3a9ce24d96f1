"""InterventionsWidget: the pretraining output heads and the causal tools on one image, live.

Five tabs of plain ipywidgets: masked word (``[MASK]`` filled with and without the image, and the
mask's ``l2v`` on the image), match (sentences ranked by the matching head), region labels (the
object head's label at each box), ablation (remove chosen heads, see the answers move) and patching
(the layer x stream sweep from a source run into a target run). Figures are matplotlib figures kept
for the widget's lifetime, redrawn into and sent as PNG to an `ipywidgets.Image`; tables are
`ipywidgets.HTML`. Every control carries a CSS class ``lxmert-viz-iv-<name>`` (see `CSS`) so a
browser test can find it; errors go to the status line, never out of a callback.
"""
from __future__ import annotations

import html
import io

from .interventions import patch_sweep_figure
from .output_heads import fill_overlay, region_labels_overlay

PARTS = ("image", "tabs", "fill-text", "fill-run", "fill-table", "fill-image", "match-text", "match-run",
         "match-table", "labels-text", "labels-run", "labels-image", "ablate-question", "ablate-family",
         "ablate-layer", "ablate-heads", "ablate-run", "ablate-table", "patch-source", "patch-source-question",
         "patch-target", "patch-target-question", "patch-per-position", "patch-run", "patch-image",
         "patch-summary", "status")
CSS = {part: f"lxmert-viz-iv-{part}" for part in PARTS} | {"root": "lxmert-viz-iv", "row": "lxmert-viz-iv-row"}
TABS = ("masked word", "match", "region labels", "ablation", "patching")


def bars_table(rows, headers) -> str:
    """An HTML table: a label column, then one probability bar per value column."""
    head = "".join(f"<th style='text-align:left;padding-right:8px'>{html.escape(h)}</th>" for h in headers)
    body = []
    for label, *values in rows:
        cells = "".join(
            f"<td style='width:150px'><div style='background:{'#d62728' if j == 0 else '#7f7f7f'};height:9px;"
            f"width:{100 * max(0.0, min(1.0, float(v))):.1f}%'></div></td><td style='padding:0 8px'>{float(v):.3f}</td>"
            for j, v in enumerate(values))
        body.append(f"<tr class='{CSS['row']}'><td style='padding-right:8px'><b>{html.escape(str(label))}</b></td>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _png(fig, dpi: int = 90) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


class InterventionsWidget:
    """Masked words, matching, region labels, head ablation and patching for one kit.

    Args:
        kit: a `Kit` whose model has the pretraining output head (``lxmert_viz.load()``).
        samples: ``[(name, PIL image or path), ...]``; the first is the image of the first three tabs
            and the patching target, the second (if any) the patching source.
        question: the question of the ablation and patching tabs.

    Attributes:
        widget: the `ipywidgets.VBox` to display; controls: name -> control (names as in `PARTS`).
        fill_result, match_result, labels_result, ablation, sweep: the latest results.
        error: the last error message, or None.

    Example:
        >>> w = InterventionsWidget(kit, [("scene_00", sample)])
        >>> w.fill("the [MASK] circle is on the left").with_image[0][0][0], w.error
        ('black', None)
    """

    def __init__(self, kit, samples=(), question: str = "what color is the circle?"):
        import ipywidgets as w
        from matplotlib.figure import Figure

        from ..inputs.image import open_image

        self.kit = kit
        self.samples = [(str(n), open_image(im)) for n, im in
                        (s if isinstance(s, tuple) else (f"sample {i}", s) for i, s in enumerate(samples))]
        if not self.samples:
            raise ValueError("give at least one (name, image) sample")
        self.error = None
        self.fill_result = self.match_result = self.labels_result = self.ablation = self.sweep = None
        self._figs = {k: Figure(figsize=(4, 4), layout="constrained") for k in ("fill", "labels", "patch")}
        names = [n for n, _ in self.samples]
        cfg = kit.model.config
        c = self.controls = {
            "image": w.Dropdown(options=names, value=names[0], description="image"),
            "fill-text": w.Text(value="the [MASK] circle is on the left", description="text",
                                layout=w.Layout(width="420px")),
            "fill-run": w.Button(description="fill"),
            "fill-table": w.HTML(),
            "fill-image": w.Image(format="png", layout=w.Layout(width="320px")),
            "match-text": w.Textarea(value="a black circle\na red circle\na teal triangle\na yellow square",
                                     description="sentences", layout=w.Layout(width="420px", height="90px")),
            "match-run": w.Button(description="match"),
            "match-table": w.HTML(),
            "labels-text": w.Text(value="what is in the image?", description="text", layout=w.Layout(width="420px")),
            "labels-run": w.Button(description="label regions"),
            "labels-image": w.Image(format="png", layout=w.Layout(width="360px")),
            "ablate-question": w.Text(value=question, description="question", layout=w.Layout(width="420px")),
            "ablate-family": w.Dropdown(options=["lang", "vis", "l2v", "v2l", "cross_lang", "cross_vis"],
                                        value="l2v", description="family"),
            "ablate-layer": w.Dropdown(description="layer"),
            "ablate-heads": w.SelectMultiple(options=[(f"head {h}", h) for h in range(cfg.num_attention_heads)],
                                             value=tuple(range(cfg.num_attention_heads)), description="heads",
                                             rows=min(6, cfg.num_attention_heads)),
            "ablate-run": w.Button(description="ask without them"),
            "ablate-table": w.HTML(),
            "patch-source": w.Dropdown(options=names, value=names[min(1, len(names) - 1)], description="source"),
            "patch-source-question": w.Text(value=question, description="question", layout=w.Layout(width="420px")),
            "patch-target": w.Dropdown(options=names, value=names[0], description="target"),
            "patch-target-question": w.Text(value=question, description="question", layout=w.Layout(width="420px")),
            "patch-per-position": w.Checkbox(value=False, description="each position alone"),
            "patch-run": w.Button(description="sweep"),
            "patch-image": w.Image(format="png", layout=w.Layout(width="640px")),
            "patch-summary": w.HTML(),
            "status": w.HTML(),
        }
        self._layers()
        c["ablate-family"].observe(lambda _ch: self._layers(), names="value")
        c["fill-run"].on_click(lambda _b: self._safe(self.fill))
        c["match-run"].on_click(lambda _b: self._safe(self.match))
        c["labels-run"].on_click(lambda _b: self._safe(self.label_regions))
        c["ablate-run"].on_click(lambda _b: self._safe(self.ablate))
        c["patch-run"].on_click(lambda _b: self._safe(self.patch_sweep))
        c["image"].observe(lambda _ch: self.refresh(), names="value")
        pages = [
            w.VBox([w.HBox([c["fill-text"], c["fill-run"]]), w.HBox([c["fill-image"], c["fill-table"]])]),
            w.VBox([w.HBox([c["match-text"], c["match-run"]]), c["match-table"]]),
            w.VBox([w.HBox([c["labels-text"], c["labels-run"]]), c["labels-image"]]),
            w.VBox([c["ablate-question"], w.HBox([c["ablate-family"], c["ablate-layer"]]), c["ablate-heads"],
                    c["ablate-run"], c["ablate-table"]]),
            w.VBox([w.HBox([c["patch-source"], c["patch-source-question"]]),
                    w.HBox([c["patch-target"], c["patch-target-question"]]),
                    w.HBox([c["patch-per-position"], c["patch-run"]]), c["patch-summary"], c["patch-image"]]),
        ]
        c["tabs"] = w.Tab(children=pages, titles=TABS)
        for name, ctl in c.items():
            ctl.add_class(CSS[name])
        self.widget = w.VBox([c["image"], c["tabs"], c["status"]])
        self.widget.add_class(CSS["root"])
        self._safe(self.fill, self.match, self.label_regions, self.ablate, self.patch_sweep)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # -- plumbing ------------------------------------------------------------------------------
    def _image(self, name: str | None = None):
        name = name or self.controls["image"].value
        return dict(self.samples)[name]

    def _layers(self):
        fam = self.controls["ablate-family"].value
        from ..interventions import family_layers

        n = family_layers(self.kit.model.config, fam)
        self.controls["ablate-layer"].options = [("all", "all")] + [(str(i), i) for i in range(n)]
        self.controls["ablate-layer"].value = "all"

    def _safe(self, *fns):
        errors = []
        for fn in fns:
            try:
                fn()
            except Exception as err:  # shown in the widget: a callback must not raise into the front end
                errors.append(f"{type(err).__name__}: {err}")
        self.error = "; ".join(errors) or None
        self.controls["status"].value = "" if not errors else (
            f"<span style='color:#b00'>{html.escape(self.error)}</span>")

    def refresh(self):
        """Run the first four tabs again on the chosen image (each on its own: one error stops none)."""
        self._safe(self.fill, self.match, self.label_regions, self.ablate)

    # -- the five tabs -------------------------------------------------------------------------
    def fill(self, text: str | None = None):
        """Fill the masks of ``text`` (default: the text box) on the chosen image; returns the `Fill`."""
        c = self.controls
        if text is not None:
            c["fill-text"].value = text
        f = self.fill_result = self.kit.fill(self._image(), c["fill-text"].value)
        parts = [bars_table(f.compare(m), [f"[MASK] #{m + 1}", "with the image", "", "without", ""])
                 for m in range(len(f.positions))]
        c["fill-table"].value = "".join(parts)
        fig = self._figs["fill"]
        fig.clear()
        fill_overlay(f, 0, ax=fig.add_subplot())
        c["fill-image"].value = _png(fig)
        return f

    def match(self, sentences=None):
        """Rank ``sentences`` (default: the text area's lines) for the chosen image; returns the `Matching`."""
        c = self.controls
        if sentences is not None:
            c["match-text"].value = "\n".join(sentences)
        lines = [s.strip() for s in c["match-text"].value.splitlines() if s.strip()]
        m = self.match_result = self.kit.match(self._image(), lines)
        note = "" if m.trained else ("<p><i>This model's matching head was never trained (task_matched is off "
                                     "in its config): its scores carry no meaning.</i></p>")
        c["match-table"].value = note + bars_table(m.ranked(), ["sentence", "P(matches)", ""])
        return m

    def label_regions(self, text: str | None = None):
        """Label every region of the chosen image; returns the `RegionLabels`."""
        c = self.controls
        if text is not None:
            c["labels-text"].value = text
        lab = self.labels_result = self.kit.region_labels(self._image(), c["labels-text"].value)
        fig = self._figs["labels"]
        fig.clear()
        region_labels_overlay(lab, ax=fig.add_subplot())
        c["labels-image"].value = _png(fig)
        return lab

    def ablate(self, question: str | None = None, family: str | None = None, layer=None, heads=None):
        """Ask with the chosen heads removed; returns the `Ablation`."""
        c = self.controls
        with c["ablate-family"].hold_trait_notifications():
            if question is not None:
                c["ablate-question"].value = question
            if family is not None:
                c["ablate-family"].value = family
                self._layers()
            if layer is not None:
                c["ablate-layer"].value = layer
            if heads is not None:
                c["ablate-heads"].value = tuple(heads)
        fam, lay, hs = c["ablate-family"].value, c["ablate-layer"].value, c["ablate-heads"].value
        from ..interventions import family_layers

        layers = range(family_layers(self.kit.model.config, fam)) if lay == "all" else [lay]
        spec = [(fam, i, h) for i in layers for h in hs]
        ab = self.ablation = self.kit.ask_ablated(self._image(), c["ablate-question"].value, spec)
        c["ablate-table"].value = (f"<p>{len(spec)} heads removed; answer <b>{html.escape(str(ab.clean.answer))}</b>"
                                   f" → <b>{html.escape(str(ab.ablated.answer))}</b></p>"
                                   + bars_table(ab.compare(), ["answer", "full model", "", "heads removed", ""]))
        return ab

    def patch_sweep(self, per_position: bool | None = None):
        """The layer x stream sweep from the source run into the target run; returns the `PatchSweep`."""
        c = self.controls
        if per_position is not None:
            c["patch-per-position"].value = bool(per_position)
        src = (self._image(c["patch-source"].value), c["patch-source-question"].value)
        tgt = (self._image(c["patch-target"].value), c["patch-target-question"].value)
        sw = self.sweep = self.kit.patch_sweep(src, tgt, per_position=c["patch-per-position"].value)
        metric = "prob" if sw.same_answer else "effect"
        patch_sweep_figure(sw, metric, fig=self._figs["patch"])
        c["patch-image"].value = _png(self._figs["patch"])
        same = " Both runs give the same answer, so the colour is the source answer's probability." if sw.same_answer else ""
        c["patch-summary"].value = (f"<p>source answers <b>{html.escape(sw.source_answer)}</b>, target "
                                    f"<b>{html.escape(sw.target_answer)}</b>; {sw.seconds * 1000:.0f} ms.{same}</p>")
        return sw
