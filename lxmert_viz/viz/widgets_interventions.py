"""InterventionsWidget: the pretraining output heads and the causal tools on one image, live.

A `view.View` (anywidget) with five tabs: masked word (``[MASK]`` filled with and without the image, and the
mask's ``l2v`` on the image), match (sentences ranked by the matching head), region labels (the
object head's label at each box), ablation (remove chosen heads, see the answers move) and patching
(the layer x stream sweep from a source run into a target run). Figures are matplotlib figures kept
for the widget's lifetime, redrawn into and sent as PNG panels; tables are HTML panels. Every
control and panel carries a CSS class ``lxmert-viz-iv-<name>`` (see `CSS`) so a browser test can
find it; errors go to the status line, never out of a callback.
"""
from __future__ import annotations

import base64
import html
import io

from ..errors import InputError
from ..inputs.image import open_image
from ..interventions import family_layers
from .interventions import patch_sweep_figure
from .output_heads import fill_overlay, region_labels_overlay
from .svg import img_html
from .view import View, options

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


def _png_img(png: bytes, css: str, width: int) -> str:
    return img_html("data:image/png;base64," + base64.b64encode(png).decode("ascii"), width=width, cls=css)


class InterventionsWidget(View):
    """Masked words, matching, region labels, head ablation and patching for one kit.

    Args:
        kit: a `Kit` whose model has the pretraining output head (``lxmert_viz.load()``).
        samples: ``[(name, PIL image or path), ...]``; the first is the image of the first three tabs
            and the patching target, the second (if any) the patching source.
        question: the question of the ablation and patching tabs.

    Attributes:
        values: each control's value (names as in `PARTS`); ``press(name)`` runs a tab's button.
        fill_result, match_result, labels_result, ablation, sweep: the latest results.
        pngs: ``{"fill", "labels", "patch"}`` -> the PNG bytes drawn now.
        error: the last error message, or None.

    Example:
        >>> w = InterventionsWidget(kit, [("scene_00", sample)])
        >>> w.fill("the [MASK] circle is on the left").with_image[0][0][0], w.error
        ('black', None)
    """

    def __init__(self, kit, samples=(), question: str = "what color is the circle?"):
        from matplotlib.figure import Figure


        super().__init__(CSS["root"])
        self.kit = kit
        self.samples = [(str(n), open_image(im)) for n, im in
                        (s if isinstance(s, tuple) else (f"sample {i}", s) for i, s in enumerate(samples))]
        if not self.samples:
            raise InputError("give at least one (name, image) sample")
        self.error = None
        self.fill_result = self.match_result = self.labels_result = self.ablation = self.sweep = None
        self._figs = {k: Figure(figsize=(4, 4), layout="constrained") for k in ("fill", "labels", "patch")}
        self.pngs: dict[str, bytes] = {}
        names = [n for n, _ in self.samples]
        cfg = kit.model.config
        heads = list(range(cfg.num_attention_heads))

        def ctl(name, kind, label="", tab="", row=0, **kw):
            return {"name": name, "kind": kind, "label": label, "css": CSS[name], "tab": tab, "row": row, **kw}

        t_fill, t_match, t_lab, t_abl, t_patch = TABS
        self.tabs = list(TABS)
        self.controls = [
            ctl("image", "select", "image", options=options((n, n) for n in names)),
            ctl("fill-text", "text", "text", t_fill, width="420px"), ctl("fill-run", "button", "fill", t_fill),
            ctl("match-text", "textarea", "sentences", t_match, rows=4, width="420px"),
            ctl("match-run", "button", "match", t_match),
            ctl("labels-text", "text", "text", t_lab, width="420px"), ctl("labels-run", "button", "label regions", t_lab),
            ctl("ablate-question", "text", "question", t_abl, width="420px"),
            ctl("ablate-family", "select", "family", t_abl, 1,
                options=options((f, f) for f in ("lang", "vis", "l2v", "v2l", "cross_lang", "cross_vis"))),
            ctl("ablate-layer", "select", "layer", t_abl, 1, options=[]),
            ctl("ablate-heads", "multiselect", "heads", t_abl, 2, rows=min(6, len(heads)),
                options=options((f"head {h}", h) for h in heads)),
            ctl("ablate-run", "button", "ask without them", t_abl, 3),
            ctl("patch-source", "select", "source", t_patch, 0, options=options((n, n) for n in names)),
            ctl("patch-source-question", "text", "question", t_patch, 0, width="420px"),
            ctl("patch-target", "select", "target", t_patch, 1, options=options((n, n) for n in names)),
            ctl("patch-target-question", "text", "question", t_patch, 1, width="420px"),
            ctl("patch-per-position", "checkbox", "each position alone", t_patch, 2),
            ctl("patch-run", "button", "sweep", t_patch, 2),
        ]
        self._put(**{"image": names[0], "fill-text": "the [MASK] circle is on the left",
                     "match-text": "a black circle\na red circle\na teal triangle\na yellow square",
                     "labels-text": "what is in the image?", "ablate-question": question, "ablate-family": "l2v",
                     "ablate-heads": heads, "patch-source": names[min(1, len(names) - 1)],
                     "patch-source-question": question, "patch-target": names[0],
                     "patch-target-question": question, "patch-per-position": False, "tab": TABS[0]})
        self._layers()
        with self.hold_sync():
            self._safe(self.fill, self.match, self.label_regions, self.ablate, self.patch_sweep)

    # -- plumbing ------------------------------------------------------------------------------
    def _image(self, name: str | None = None):
        name = name or self.value("image")
        return dict(self.samples)[name]

    def _layers(self):
        fam = self.value("ablate-family")
        n = family_layers(self.kit.model.config, fam)
        self.controls = [{**c, "options": options([("all", "all")] + [(str(i), i) for i in range(n)])}
                         if c["name"] == "ablate-layer" else c for c in self.controls]
        self._put(**{"ablate-layer": "all"})

    def layer_options(self) -> list:
        return [v for _, v in next(c for c in self.controls if c["name"] == "ablate-layer")["options"]]

    def on_values(self, changed: dict) -> None:
        if "ablate-family" in changed:
            self._layers()
        if "image" in changed:
            self.refresh()

    def on_press(self, name: str) -> None:
        fn = {"fill-run": self.fill, "match-run": self.match, "labels-run": self.label_regions,
              "ablate-run": self.ablate, "patch-run": self.patch_sweep}.get(name)
        if fn is not None:
            with self.hold_sync():
                self._safe(fn)
            self._update_twins()

    def redraw(self) -> None:
        """Controls changed: nothing to draw until a tab's button runs (the image runs `refresh`)."""

    def _safe(self, *fns):
        errors = []
        for fn in fns:
            try:
                fn()
            except Exception as err:  # shown in the widget: a callback must not raise into the front end
                errors.append(f"{type(err).__name__}: {err}")
        self.error = "; ".join(errors) or None
        self.set_panels({"name": "status", "css": CSS["status"], "block": True,
                         "html": "" if not errors else f"<span style='color:#b00'>{html.escape(self.error)}</span>"})

    def refresh(self):
        """Run the first four tabs again on the chosen image (each on its own: one error stops none)."""
        self._safe(self.fill, self.match, self.label_regions, self.ablate)

    def _panel(self, name: str, html_: str, tab: str, block: bool = False) -> None:
        self.set_panels({"name": name, "html": html_, "css": CSS[name], "tab": tab, "block": block})

    # -- the five tabs -------------------------------------------------------------------------
    def fill(self, text: str | None = None):
        """Fill the masks of ``text`` (default: the text box) on the chosen image; returns the `Fill`."""
        if text is not None:
            self._put(**{"fill-text": text})
        f = self.fill_result = self.kit.fill(self._image(), self.value("fill-text"))
        parts = [bars_table(f.compare(m), [f"[MASK] #{m + 1}", "with the image", "", "without", ""])
                 for m in range(len(f.positions))]
        fig = self._figs["fill"]
        fig.clear()
        fill_overlay(f, 0, ax=fig.add_subplot())
        self.pngs["fill"] = _png(fig)
        self._panel("fill-image", _png_img(self.pngs["fill"], CSS["fill-image"], 320), TABS[0])
        self._panel("fill-table", "".join(parts), TABS[0])
        return f

    def match(self, sentences=None):
        """Rank ``sentences`` (default: the text area's lines) for the chosen image; returns the `Matching`."""
        if sentences is not None:
            self._put(**{"match-text": "\n".join(sentences)})
        lines = [s.strip() for s in self.value("match-text").splitlines() if s.strip()]
        m = self.match_result = self.kit.match(self._image(), lines)
        note = "" if m.trained else ("<p><i>This model's matching head was never trained (task_matched is off "
                                     "in its config): its scores carry no meaning.</i></p>")
        self._panel("match-table", note + bars_table(m.ranked(), ["sentence", "P(matches)", ""]), TABS[1])
        return m

    def label_regions(self, text: str | None = None):
        """Label every region of the chosen image; returns the `RegionLabels`."""
        if text is not None:
            self._put(**{"labels-text": text})
        lab = self.labels_result = self.kit.region_labels(self._image(), self.value("labels-text"))
        fig = self._figs["labels"]
        fig.clear()
        region_labels_overlay(lab, ax=fig.add_subplot())
        self.pngs["labels"] = _png(fig)
        self._panel("labels-image", _png_img(self.pngs["labels"], CSS["labels-image"], 360), TABS[2])
        return lab

    def ablate(self, question: str | None = None, family: str | None = None, layer=None, heads=None):
        """Ask with the chosen heads removed; returns the `Ablation`."""
        if question is not None:
            self._put(**{"ablate-question": question})
        if family is not None:
            self._put(**{"ablate-family": family})
            self._layers()
        if layer is not None:
            self._put(**{"ablate-layer": layer})
        if heads is not None:
            self._put(**{"ablate-heads": [int(h) for h in heads]})
        fam, lay, hs = self.value("ablate-family"), self.value("ablate-layer"), self.value("ablate-heads")
        layers = range(family_layers(self.kit.model.config, fam)) if lay == "all" else [int(lay)]
        spec = [(fam, i, int(h)) for i in layers for h in hs]
        ab = self.ablation = self.kit.ask_ablated(self._image(), self.value("ablate-question"), spec)
        self._panel("ablate-table", f"<p>{len(spec)} heads removed; answer <b>{html.escape(str(ab.clean.answer))}</b>"
                                    f" → <b>{html.escape(str(ab.ablated.answer))}</b></p>"
                                    + bars_table(ab.compare(), ["answer", "full model", "", "heads removed", ""]), TABS[3])
        return ab

    def patch_sweep(self, per_position: bool | None = None):
        """The layer x stream sweep from the source run into the target run; returns the `PatchSweep`."""
        if per_position is not None:
            self._put(**{"patch-per-position": bool(per_position)})
        src = (self._image(self.value("patch-source")), self.value("patch-source-question"))
        tgt = (self._image(self.value("patch-target")), self.value("patch-target-question"))
        sw = self.sweep = self.kit.patch_sweep(src, tgt, per_position=bool(self.value("patch-per-position")))
        metric = "prob" if sw.same_answer else "effect"
        patch_sweep_figure(sw, metric, fig=self._figs["patch"])
        self.pngs["patch"] = _png(self._figs["patch"])
        same = " Both runs give the same answer, so the colour is the source answer's probability." if sw.same_answer else ""
        self._panel("patch-summary", f"<p>source answers <b>{html.escape(sw.source_answer)}</b>, target "
                                     f"<b>{html.escape(sw.target_answer)}</b>; {sw.seconds * 1000:.0f} ms.{same}</p>",
                    TABS[4], block=True)
        self._panel("patch-image", _png_img(self.pngs["patch"], CSS["patch-image"], 640), TABS[4])
        return sw
