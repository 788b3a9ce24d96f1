"""MaskingWidget: take regions or tokens away and watch the answers and the relevance map change.

Shape letters: T tokens, R regions.

Every removal goes through the attention masks (`lxmert_viz.explain.ask_masked`): nothing else
about the input changes and no position moves, so the boxes and tokens keep their places and a
dropped one is drawn dashed (region) or at zero (word). After each change the widget re-asks the
model and re-explains its new top answer with the chosen method; the one `go.FigureWidget`
overlay is restyled in place. Stable CSS classes (`CSS`) let a browser test find the parts.
"""
from __future__ import annotations

import html
from collections.abc import Iterable

import numpy as np

from .explanations import method_title
from .plotly_overlay import box_alphas, draw, empty_overlay
from .shading import shade, whole_label
from .widget_base import Explorer
from .widgets_qa import answers_table

CSS = {"root": "lxmert-viz-mask", "region": "lxmert-viz-mask-region", "token": "lxmert-viz-mask-token",
       "answers": "lxmert-viz-mask-answers", "overlay": "lxmert-viz-mask-overlay",
       "method": "lxmert-viz-mask-method", "target": "lxmert-viz-mask-target",
       "reset": "lxmert-viz-mask-reset", "status": "lxmert-viz-mask-status"}
SPECIAL = ("[CLS]", "[SEP]")  # kept: the answer head reads [CLS]; [SEP] closes the question


class MaskingWidget(Explorer):
    """Drop regions and tokens through the attention masks; answers and relevance update live.

    Args:
        kit: a `Kit` (``lxmert_viz.load()`` or a real-checkpoint kit): ``model``, ``answers``, ``ask``.
        image: a PIL image, a path or an array.
        question: the question asked.
        method: the explanation method drawn (one of `lxmert_viz.explain.METHODS`).
        top_k: answers listed.
        seed: seed of the ``random`` method.

    Attributes:
        base: the unmasked `Result` (``kit.ask``).
        run: the latest `MaskedRun`; ``result`` its `Result` (dropped positions kept, see
            `ask_masked`).
        explanation: the `Explanation` of the current top answer under the current masks.
        relevance: ``(regions (R,), token_row (T,))`` drawn now (0 at dropped positions).
        region_buttons, token_buttons: one `ToggleButton` per region / token (pressed = dropped).
        overlay: the one `go.FigureWidget` (image, boxes shaded by relevance, word bars).

    Example:
        >>> mw = MaskingWidget(kit, sample, "what color is the circle?")
        >>> run = mw.set(drop_regions=[1])                        # region 1: the circle
        >>> run.dropped_regions, float(mw.relevance[0][1])
        ([1], 0.0)
    """

    def __init__(self, kit, image, question: str, method: str = "relevancy", top_k: int = 5, seed: int = 0):
        import ipywidgets as w

        from ..explain import METHODS

        super().__init__()
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
        self.kit, self.top_k, self.seed = kit, int(top_k), int(seed)
        self.base = kit.ask(image, question, top_k=self.top_k)
        self.inputs = self.base.model_inputs(kit.model.dtype, kit.model.device)
        self.run = self.result = self.explanation = None
        self.relevance = (np.zeros(self.base.regions.num_real), np.zeros(len(self.base.tokens)))
        self.draws = 0

        names = self.base.regions.names()[: self.base.regions.num_real]
        self.region_buttons = [w.ToggleButton(value=False, description=n.replace(":", " ", 1),
                                              tooltip=f"drop region {n}", layout=w.Layout(width="auto"))
                               for n in names]
        labels = self.base.tokens.labels()
        self.token_buttons = [w.ToggleButton(value=False, description=lab, tooltip=f"drop token {i}: {lab}",
                                             disabled=lab in SPECIAL, layout=w.Layout(width="auto"))
                              for i, lab in enumerate(labels)]
        self.method = w.Dropdown(options=[(f"{m}: {method_title(m)}", m) for m in METHODS], value=method,
                                 description="method", style={"description_width": "initial"},
                                 layout=w.Layout(width="380px"))
        self.target = w.Dropdown(options=[("the answer ([CLS] row)", "answer")]
                                 + [(f"word {lab!r}", i) for i, lab in enumerate(labels) if lab not in SPECIAL],
                                 value="answer", description="relevance for", style={"description_width": "initial"},
                                 layout=w.Layout(width="300px"))
        self._initial = {"method": method, "target": "answer"}
        self.reset_button = w.Button(description="reset", icon="undo", tooltip="keep every region and word, "
                                     "and go back to the first method and target")
        self.answers_html = w.HTML(value=answers_table(self.base.answers))
        self.status = w.HTML(value="")
        self.overlay = empty_overlay(widget=True)
        self.figures = {"overlay": self.overlay}
        self._built = False  # the first draw builds the traces; later ones restyle them in place

        for b in self.region_buttons:
            b.add_class(CSS["region"])
        for b in self.token_buttons:
            b.add_class(CSS["token"])
        for key, wid in (("method", self.method), ("target", self.target), ("reset", self.reset_button),
                         ("answers", self.answers_html), ("overlay", self.overlay), ("status", self.status)):
            wid.add_class(CSS[key])
        for c in (*self.region_buttons, *self.token_buttons, self.method, self.target):
            c.observe(self._changed, names="value")
        for b in (*self.region_buttons, *self.token_buttons):
            b.observe(_press_style, names="value")
        self.reset_button.on_click(lambda _b: self.reset())

        self.widget = w.VBox([
            w.HTML(f"<b>{html.escape(self.base.question)}</b> — press a region or a word to drop it "
                   "(pressed = dropped, through the attention masks)"),
            w.HBox([w.Label("regions:"), *self.region_buttons], layout=w.Layout(flex_flow="row wrap")),
            w.HBox([w.Label("tokens:"), *self.token_buttons], layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self.method, self.target, self.reset_button]),
            self.answers_html, self.status, self.overlay])
        self.widget.add_class(CSS["root"])
        self.redraw()

    # -- state -----------------------------------------------------------------------------------
    @property
    def dropped_regions(self) -> list[int]:
        return [i for i, b in enumerate(self.region_buttons) if b.value]

    @property
    def dropped_tokens(self) -> list[int]:
        return [i for i, b in enumerate(self.token_buttons) if b.value]

    @property
    def answers(self) -> list[tuple[str, float]]:
        """The current answers, best first, as ``(answer, probability)``."""
        return list(self.result.answers) if self.result is not None else []

    @property
    def answer(self) -> str | None:
        return self.answers[0][0] if self.answers else None

    def _token_positions(self, items: Iterable) -> set[int]:
        out = set()
        for it in items:
            i = self.base.token_index(it)
            if self.base.tokens.labels()[i] in SPECIAL:
                raise ValueError(f"token {it!r} is {self.base.tokens.labels()[i]}, which the widget keeps")
            out.add(i)
        return out

    def set(self, drop_regions: Iterable[int] | None = None, drop_tokens: Iterable[int | str] | None = None,
            method: str | None = None, token: int | str | None = None):
        """Headless driver: press exactly these buttons (None leaves a group as it is), redraw once.

        Args:
            drop_regions: region indices to drop (all others are kept).
            drop_tokens: token indices or words to drop ([CLS] and [SEP] cannot be dropped).
            method: the explanation method, or None to keep it.
            token: ``"answer"`` for the [CLS] row, or a word / index whose row is drawn; None keeps it.

        Returns:
            the new `MaskedRun`.
        """
        n = len(self.region_buttons)
        regs = None
        if drop_regions is not None:
            asked = [int(i) for i in drop_regions]
            bad = [i for i in asked if not -n <= i < n]
            if bad:
                raise IndexError(f"regions {bad} are out of range for {n} regions")
            regs = {i % n for i in asked}
        toks = None if drop_tokens is None else self._token_positions(drop_tokens)
        with self._holding():
            if regs is not None:
                for i, b in enumerate(self.region_buttons):
                    b.value = i in regs
            if toks is not None:
                for i, b in enumerate(self.token_buttons):
                    b.value = i in toks
            if method is not None:
                self.method.value = method
            if token is not None:
                self.target.value = "answer" if token == "answer" else self.base.token_index(token)
            self._pending = True  # one redraw when the hold ends, even if nothing changed
        return self.run

    def reset(self):
        """Keep every region and word again and go back to the first method and target (the reset button)."""
        return self.set(drop_regions=(), drop_tokens=(), method=self._initial["method"],
                        token=self._initial["target"])

    # -- drawing ---------------------------------------------------------------------------------
    def redraw(self) -> None:
        """Re-ask with the current masks, re-explain the new top answer, restyle the overlay in place."""
        from ..explain import ask_masked, explain, relevance_rows

        base = self.base
        run = ask_masked(self.kit.model, self.inputs, drop_regions=self.dropped_regions,
                         drop_tokens=self.dropped_tokens, tokens=base.tokens, regions=base.regions,
                         question=base.question, answers=self.kit.answers, image=base.image, top_k=self.top_k)
        target = self.target.value
        if target != "answer" and target in run.dropped_tokens:
            target = "answer"  # a dropped word has no row to show
        ex = explain(run.result, self.method.value, model=self.kit.model, seed=self.seed)
        regions, token_row = relevance_rows(ex, run.result, None if target == "answer" else target)
        self.run, self.result, self.explanation, self.relevance = run, run.result, ex, (regions, token_row)
        self.answers_html.value = answers_table(self.answers, getattr(run.result, "score_label", "probability"))
        self._restyle(regions, token_row, target)
        self.draws += 1
        names = base.regions.names()
        dr = ", ".join(names[i] for i in run.dropped_regions) or "none"
        labels = base.tokens.labels()
        dt = ", ".join(labels[i] for i in run.dropped_tokens) or "none"
        self.status.value = (f'<span class="lxmert-viz-mask-ok">dropped regions: {html.escape(dr)} · '
                             f'dropped tokens: {html.escape(dt)} · answer {html.escape(str(self.answer))!s}</span>')

    def _restyle(self, regions: np.ndarray, token_row: np.ndarray, target) -> None:
        base, n = self.base, len(regions)
        s = shade(base.regions.boxes[:n], regions, base.regions.image_size, dropped=self.run.dropped_regions)
        names = base.regions.names()[:n]
        what = "the answer" if target == "answer" else repr(base.tokens.labels()[target])
        labels = [f"{lab} (dropped)" if i in self.run.dropped_tokens else lab
                  for i, lab in enumerate(base.tokens.labels())]
        spec = {"shading": s, "names": names, "weights": token_row, "key_labels": labels, "paint": True,
                "bars_are_regions": False, "bar_title": "relevance of each word", "family": "relevance",
                "title": f"{method_title(self.method.value)} · relevance for {what} · answer {self.answer!r}",
                "whole": whole_label(s, names, "relevance")}
        draw(self.overlay, base.image, spec, rebuild=not self._built, what="relevance")
        self._built = True

    def box_alphas(self) -> np.ndarray:
        """(R,) fill opacities of the overlay's boxes as drawn now."""
        return box_alphas(self.overlay)


def _press_style(change) -> None:
    """A pressed (dropped) button looks dropped: red, struck through."""
    b = change["owner"]
    b.button_style = "danger" if change["new"] else ""
    b.icon = "times" if change["new"] else ""
