"""MaskingWidget: take regions or tokens away and watch the answers and the relevance map change.

Shape letters: T tokens, R regions.

Every removal goes through the attention masks (`lxmert_viz.explain.ask_masked`): nothing else
about the input changes and no position moves, so the boxes and tokens keep their places and a
dropped one is drawn dashed (region) or at zero (word). After each change the widget re-asks the
model and re-explains its new top answer with the chosen method and redraws its overlay panel (a
`view.View`: SVG rendered here, the image sent once). Stable CSS classes (`CSS`) let a browser test
find the parts.
"""
from __future__ import annotations

import html
import time
from collections.abc import Iterable

import numpy as np

from ..errors import InputError, InputIndexError
from ..explain import METHODS, ask_masked, explain, rank_methods, relevance_rows
from ..explain.faithfulness import faithfulness
from ..inputs.item import Item
from .explanations import method_title
from .faithfulness_panel import faithfulness_html
from .plotly_overlay import png_uri
from .shading import shade, whole_label
from .svg import overlay_svg
from .view import View, options
from .widgets_qa import answers_table

CSS = {"root": "lxmert-viz-mask", "region": "lxmert-viz-mask-region", "token": "lxmert-viz-mask-token",
       "answers": "lxmert-viz-mask-answers", "overlay": "lxmert-viz-mask-overlay",
       "method": "lxmert-viz-mask-method", "target": "lxmert-viz-mask-target",
       "reset": "lxmert-viz-mask-reset", "status": "lxmert-viz-mask-status",
       "faithfulness": "lxmert-viz-mask-faithfulness"}
SPECIAL = ("[CLS]", "[SEP]")  # kept: the answer head reads [CLS]; [SEP] closes the question


class MaskingWidget(View):
    """Drop regions and tokens through the attention masks; answers and relevance update live.

    Args:
        kit: a `Kit` (``lxmert_viz.load()`` or a real-checkpoint kit): ``model``, ``answers``, ``ask``.
        image: a PIL image, a path or an array.
        question: the question asked.
        method: the explanation method drawn (one of `lxmert_viz.explain.METHODS`).
        top_k: answers listed.
        seed: seed of the ``random`` method.
        k: the fraction of Del@k / Ins@k in the faithfulness panel (15 %).
        dataset: Items (``lxmert_viz.analysis.items.shapes_examples(kit, n)``): the methods' AUC
            rank over them is computed once (`rank_methods`, the first ``dataset_limit``) and shown
            beside the curves; ``ranking``: a `MethodRanking` computed before (no new passes).

    Attributes:
        base: the unmasked `Result` (``kit.ask``).
        run: the latest `MaskedRun`; ``result`` its `Result` (dropped positions kept, see
            `ask_masked`).
        explanation: the `Explanation` of the current top answer under the current masks.
        relevance: ``(regions (R,), token_row (T,))`` drawn now (0 at dropped positions).
        controls: one toggle per region (``region-i``) and per token (``token-i``; pressed = dropped),
            ``method``, ``target`` and the ``reset`` button.
        shading: the `Shading` drawn now (``alphas``: fill opacity of each box).
        faithfulness: the `Faithfulness` of the shown explanation on the example on screen
            (deletion / insertion curves, ``del_at_k``, ``ins_at_k``), measured at every redraw;
            ``faithfulness_seconds``: what each measurement cost; ``ranking``: the `MethodRanking`
            or None.

    Example:
        >>> mw = MaskingWidget(kit, sample, "what color is the circle?")
        >>> run = mw.set(drop_regions=[1])                        # region 1: the circle
        >>> run.dropped_regions, float(mw.relevance[0][1])
        ([1], 0.0)
    """

    def __init__(self, kit, image, question: str, method: str = "relevancy", top_k: int = 5, seed: int = 0,
                 k: float = 0.15, dataset=None, ranking=None, dataset_limit: int | None = 20):
        super().__init__(CSS["root"])
        if method not in METHODS:
            raise InputError(f"unknown method {method!r}; choose from {METHODS}")
        self.kit, self.top_k, self.seed, self.k = kit, int(top_k), int(seed), float(k)
        # the methods' AUC rank over a data set: computed once here, not per redraw
        self.ranking = ranking if ranking is not None or dataset is None else rank_methods(
            kit.model, dataset, METHODS, k=self.k, limit=dataset_limit, seed=self.seed)
        self.faithfulness = None
        self.faithfulness_seconds: list[float] = []
        self.base = kit.ask(image, question, top_k=self.top_k)
        self.inputs = self.base.model_inputs(kit.model.dtype, kit.model.device)
        self.run = self.result = self.explanation = self.shading = None
        self.relevance = (np.zeros(self.base.regions.num_real), np.zeros(len(self.base.tokens)))
        self.draws = 0
        self.num_regions = self.base.regions.num_real
        names = self.base.regions.names()[: self.num_regions]
        labels = self.base.tokens.labels()
        controls = [{"name": f"region-{i}", "kind": "toggle", "label": n.replace(":", " ", 1), "css": CSS["region"],
                     "tooltip": f"drop region {n}", "row": 0, "row_label": "regions:"} for i, n in enumerate(names)]
        controls += [{"name": f"token-{i}", "kind": "toggle", "label": lab, "css": CSS["token"], "disabled": lab in SPECIAL,
                      "tooltip": f"drop token {i}: {lab}", "row": 1, "row_label": "tokens:"} for i, lab in enumerate(labels)]
        controls += [
            {"name": "method", "kind": "select", "label": "method", "css": CSS["method"], "row": 2,
             "options": options((f"{m}: {method_title(m)}", m) for m in METHODS)},
            {"name": "target", "kind": "select", "label": "relevance for", "css": CSS["target"], "row": 2,
             "options": options([("the answer ([CLS] row)", "answer")]
                                + [(f"word {lab!r}", i) for i, lab in enumerate(labels) if lab not in SPECIAL])},
            {"name": "reset", "kind": "button", "label": "reset", "css": CSS["reset"], "row": 2,
             "tooltip": "keep every region and word, and go back to the first method and target"},
        ]
        self._initial = {"method": method, "target": "answer"}
        self.set_asset("image", png_uri(self.base.image.convert("RGB")) if self.base.image is not None else "")
        with self._holding():
            self.controls = controls
            self._put(**{c["name"]: False for c in controls if c["kind"] == "toggle"}, method=method, target="answer")
            self.set_panels(
                {"name": "question", "block": True,
                 "html": f"<b>{html.escape(self.base.question)}</b> — press a region or a word to drop it "
                         "(pressed = dropped, through the attention masks)"},
                {"name": "answers", "html": answers_table(self.base.answers), "css": CSS["answers"], "block": True},
                {"name": "status", "html": "", "css": CSS["status"], "block": True},
                {"name": "overlay", "html": "", "css": CSS["overlay"], "block": True},
                {"name": "faithfulness", "html": "", "css": CSS["faithfulness"], "block": True})
            self._pending = True

    # -- state -----------------------------------------------------------------------------------
    @property
    def dropped_regions(self) -> list[int]:
        return [i for i in range(self.num_regions) if self.value(f"region-{i}")]

    @property
    def dropped_tokens(self) -> list[int]:
        return [i for i in range(len(self.base.tokens)) if self.value(f"token-{i}")]

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
                raise InputError(f"token {it!r} is {self.base.tokens.labels()[i]}, which the widget keeps")
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
        n = self.num_regions
        regs = None
        if drop_regions is not None:
            asked = [int(i) for i in drop_regions]
            bad = [i for i in asked if not -n <= i < n]
            if bad:
                raise InputIndexError(f"regions {bad} are out of range for {n} regions")
            regs = {i % n for i in asked}
        toks = None if drop_tokens is None else self._token_positions(drop_tokens)
        with self._holding():
            if regs is not None:
                self._put(**{f"region-{i}": i in regs for i in range(n)})
            if toks is not None:
                self._put(**{f"token-{i}": i in toks for i in range(len(self.base.tokens))})
            if method is not None:
                self._put(method=method)
            if token is not None:
                self._put(target="answer" if token == "answer" else self.base.token_index(token))
            self._pending = True  # one redraw when the hold ends, even if nothing changed
        return self.run

    def reset(self):
        """Keep every region and word again and go back to the first method and target (the reset button)."""
        return self.set(drop_regions=(), drop_tokens=(), method=self._initial["method"],
                        token=self._initial["target"])

    def on_press(self, name: str) -> None:
        if name == "reset":
            self.reset()

    # -- drawing ---------------------------------------------------------------------------------
    def redraw(self) -> None:
        """Re-ask with the current masks, re-explain the new top answer, redraw the overlay and the
        faithfulness panel (deletion / insertion curves of the shown explanation)."""
        base = self.base
        run = ask_masked(self.kit.model, self.inputs, drop_regions=self.dropped_regions,
                         drop_tokens=self.dropped_tokens, tokens=base.tokens, regions=base.regions,
                         question=base.question, answers=self.kit.answers, image=base.image, top_k=self.top_k)
        target = self.value("target")
        if target != "answer" and target in run.dropped_tokens:
            target = "answer"  # a dropped word has no row to show
        ex = explain(run.result, self.value("method"), model=self.kit.model, seed=self.seed)
        regions, token_row = relevance_rows(ex, run.result, None if target == "answer" else target)
        self.run, self.result, self.explanation, self.relevance = run, run.result, ex, (regions, token_row)
        names = base.regions.names()
        dr = ", ".join(names[i] for i in run.dropped_regions) or "none"
        labels = base.tokens.labels()
        dt = ", ".join(labels[i] for i in run.dropped_tokens) or "none"
        self.set_panels(
            {"name": "answers", "css": CSS["answers"], "block": True,
             "html": answers_table(self.answers, run.result.score_label)},
            {"name": "status", "css": CSS["status"], "block": True,
             "html": f'<span class="lxmert-viz-mask-ok">dropped regions: {html.escape(dr)} · '
                     f'dropped tokens: {html.escape(dt)} · answer {html.escape(str(self.answer))!s}</span>'},
            {"name": "overlay", "css": CSS["overlay"], "block": True, "html": self._overlay(regions, token_row, target)},
            {"name": "faithfulness", "css": CSS["faithfulness"], "block": True, "html": self._faithfulness(ex)})
        self.draws += 1

    def _faithfulness(self, ex) -> str:
        """Measure the shown explanation's faithfulness on the example on screen (its dropped inputs
        stay removed at every fraction) and draw it; the seconds are kept in ``faithfulness_seconds``."""
        t0 = time.perf_counter()
        item = Item(self.base.tokens, self.base.regions, question=self.base.question)
        self.faithfulness = faithfulness(self.kit.model, item, ex, k=self.k)
        self.faithfulness_seconds.append(time.perf_counter() - t0)
        note = ("dropped inputs are left out of every row (removed, not masked), so the 0 % point can differ "
                "slightly from the answers above" if self.run.dropped_regions or self.run.dropped_tokens else "")
        return faithfulness_html(self.faithfulness, self.ranking, note=note)

    def _overlay(self, regions: np.ndarray, token_row: np.ndarray, target) -> str:
        base, n = self.base, len(regions)
        s = self.shading = shade(base.regions.boxes[:n], regions, base.regions.image_size,
                                 dropped=self.run.dropped_regions)
        names = base.regions.names()[:n]
        what = "the answer" if target == "answer" else repr(base.tokens.labels()[target])
        labels = [f"{lab} (dropped)" if i in self.run.dropped_tokens else lab
                  for i, lab in enumerate(base.tokens.labels())]
        spec = {"shading": s, "names": names, "weights": token_row, "key_labels": labels, "paint": True,
                "bars_are_regions": False, "bar_title": "relevance of each word", "weights_sum_to_one": False,
                "title": f"{method_title(self.value('method'))} · relevance for {what} · answer {self.answer!r}",
                "whole": whole_label(s, names, "relevance")}
        return overlay_svg(spec, "image", what="relevance", width=940, uniform=False)

    def box_alphas(self) -> np.ndarray:
        """(R,) fill opacities of the overlay's boxes as drawn now."""
        return np.asarray(self.shading.alphas)
