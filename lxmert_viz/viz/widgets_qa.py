"""QAWidget: pick or upload an image, ask a question, see the answers and where each word looks.

Shape letters: T tokens, R regions.

A `view.View` (anywidget): Python asks the kit and renders the overlay as SVG; the browser draws
it. The image is sent once per image (an asset): a new question on the same image re-sends only the
shading and the bars. The word shown first is the question's content word (`defaults.default_token`),
and words the model's vocabulary does not know are named in a notice. Stable CSS classes let a
browser test find the parts (`CSS`).
"""
from __future__ import annotations

import html
import io
import time
from pathlib import Path

import numpy as np

from ..errors import InputIndexError, UnknownWordsError
from .defaults import default_token
from .image_overlay import overlay_spec
from .plotly_overlay import png_uri
from .shading import colour
from .svg import overlay_svg
from .view import View, options
from .widget_base import head_options, layer_options

CSS = {"question": "lxmert-viz-qa-question", "ask": "lxmert-viz-qa-ask", "answers": "lxmert-viz-qa-answers",
       "overlay": "lxmert-viz-qa-overlay", "status": "lxmert-viz-qa-status", "sample": "lxmert-viz-qa-sample",
       "upload": "lxmert-viz-qa-upload", "token": "lxmert-viz-qa-token", "root": "lxmert-viz-qa",
       "notice": "lxmert-viz-qa-notice", "layer": "lxmert-viz-qa-layer", "head": "lxmert-viz-qa-head",
       "unknown": "lxmert-viz-qa-unknown"}
UNKNOWN_LABEL = "answer even with unknown words"  # the kit's unknown="warn", as a control
UPLOADED = -1  # the image dropdown's value while an uploaded image is shown


def answers_table(answers: list[tuple[str, float]], score_label: str = "probability") -> str:
    """Answers as an HTML table with bars (each row ``class="lxmert-viz-answer"``), headed by what the
    numbers are (``score_label``: "probability" for a softmax output head, "score" for a sigmoid one)."""
    r, g, b = (int(v) for v in colour(0.85))
    rows = []
    for i, (ans, p) in enumerate(answers):
        pct = max(0.0, min(100.0, 100.0 * float(p)))
        rows.append(
            f'<tr class="lxmert-viz-answer" data-rank="{i + 1}"><td style="padding-right:10px">'
            f'<b>{html.escape(str(ans))}</b></td><td style="width:170px"><div style="background:rgb({r},{g},{b});'
            f'height:11px;width:{pct:.1f}%"></div></td><td style="padding-left:8px">{float(p):.3f}</td></tr>')
    if not rows:
        return '<div class="lxmert-viz-answers-empty">no answers yet</div>'
    head = (f'<tr><th style="text-align:left">answer</th><th></th>'
            f'<th style="text-align:left;padding-left:8px">{html.escape(score_label)}</th></tr>')
    return '<table class="lxmert-viz-answers-table">' + head + "".join(rows) + "</table>"


def unknown_notice(words) -> str:
    """HTML naming the words the model's vocabulary does not know ("" when there are none)."""
    if not words:
        return ""
    listed = ", ".join(f"<b>{html.escape(w)}</b>" for w in words)
    return (f'<div class="lxmert-viz-unknown" style="color:#8a4b00;background:#fff4e0;padding:4px 8px;'
            f'border-left:3px solid #e08a00">The model does not know {listed}: it saw them as [UNK] or as '
            f'single letters, so the answer ignores what they mean.</div>')


def _open(image):
    from PIL import Image

    if isinstance(image, (str, Path)):
        with Image.open(image) as im:
            return im.convert("RGB")
    return image


class QAWidget(View):
    """Ask questions about sample or uploaded images with any kit.

    Args:
        kit: any object with ``ask(image, question) -> Result`` (e.g. ``lxmert_viz.load()``).
        samples: ``[(name, PIL image or path), ...]`` (bare images get names ``sample i``).
        question: asked at once on the first sample, when given.
        top_k: how many answers to show (passed to ``kit.ask`` when it accepts ``top_k``).
        allow_unknown: start with the "answer even with unknown words" box ticked (the kit's
            ``unknown="warn"``); unticked, a question the model cannot read is refused, and the
            answers and picture of the previous question are cleared.

    Attributes:
        result: the latest `Result` (None before the first question).
        token: the index of the word shown; ``drawn``: ``{"weights": (R,), "alphas": (R,), "title"}``.
        panels: ``notice``, ``answers``, ``status``, ``overlay`` (`panel(name)` gives the HTML/SVG).
        timings: ``{"ask_ms", "draw_ms", "total_ms"}`` of the last question.
        error: the last error message, or None.

    Example:
        >>> qa = QAWidget(kit, [("scene_00", sample)])
        >>> qa.ask("what color is the circle?").answer, qa.result.tokens.labels()[qa.token]
        ('black', 'circle')
    """

    def __init__(self, kit, samples=(), question: str | None = None, top_k: int = 5, allow_unknown: bool = False):
        super().__init__(CSS["root"])
        self.kit = kit
        self.top_k = int(top_k)
        self.samples = [s if isinstance(s, tuple) else (f"sample {i}", s) for i, s in enumerate(samples)]
        self.result = None
        self.error = None
        self.timings: dict[str, float] = {}
        self.drawn: dict = {}
        self.image = None
        self.image_name = None
        self._drawn_image = None  # the image object whose asset the view holds
        self._asked: tuple | None = None  # (image id, question) last answered
        self._upload_name = None
        with self.hold_sync():
            self.controls = self._controls([], 0)
            self._put(sample=0 if self.samples else None, question=question or "", token=None, layer=-1, head="mean",
                      unknown=bool(allow_unknown))
            self.set_panels({"name": "notice", "html": "", "css": CSS["notice"], "block": True},
                            {"name": "answers", "html": answers_table([]), "css": CSS["answers"], "block": True},
                            {"name": "status", "html": "", "css": CSS["status"], "block": True},
                            {"name": "overlay", "html": "", "css": CSS["overlay"], "block": True})
        if self.samples:
            self._set_image(_open(self.samples[0][1]), self.samples[0][0])
            if question:
                self.ask(question)

    def _controls(self, labels, num_heads: int, num_layers: int = 1) -> list[dict]:
        samples = [(n, i) for i, (n, _) in enumerate(self.samples)]
        if self._upload_name is not None:
            samples.append((f"uploaded: {self._upload_name}", UPLOADED))
        return [
            {"name": "sample", "kind": "select", "label": "image", "css": CSS["sample"], "options": options(samples)},
            {"name": "upload", "kind": "file", "label": "upload", "accept": "image/*", "css": CSS["upload"]},
            {"name": "question", "kind": "text", "label": "question", "placeholder": "ask a question about the image",
             "width": "420px", "css": CSS["question"], "row": 1},
            {"name": "ask", "kind": "button", "label": "ask", "primary": True, "css": CSS["ask"], "row": 1},
            {"name": "unknown", "kind": "checkbox", "label": UNKNOWN_LABEL, "css": CSS["unknown"], "row": 1},
            {"name": "token", "kind": "select", "label": "word", "css": CSS["token"], "row": 2,
             "options": options((lab, i) for i, lab in enumerate(labels))},
            {"name": "layer", "kind": "select", "label": "cross layer", "css": CSS["layer"], "row": 2,
             "options": options(layer_options(num_layers) if labels else [("last", -1)])},
            {"name": "head", "kind": "select", "label": "head", "css": CSS["head"], "row": 2,
             "options": options(head_options(num_heads))},
        ]

    @property
    def token(self):
        return self.value("token")

    @property
    def overlay(self) -> QAWidget:
        """The view whose overlay panel is redrawn in place (kept for callers that check identity)."""
        return self

    # -- inputs ----------------------------------------------------------------------------------
    def _set_image(self, image, name: str) -> None:
        self.image, self.image_name = image, name

    def on_values(self, changed: dict) -> None:
        if "sample" in changed and changed["sample"] not in (None, UPLOADED):
            self.select_sample(int(changed["sample"]))
        if "question" in changed:
            self.ask(changed["question"])
        elif "unknown" in changed and self.error and (self.value("question") or "").strip():
            self._asked = None
            self.ask(self.value("question"))  # the box ticked after a refusal: ask again
        if {"token", "layer", "head"} & set(changed):
            self._pending = True

    def on_press(self, name: str) -> None:
        if name == "ask":
            self.ask(self.value("question"))

    def on_upload(self, name: str, filename: str, content: bytes) -> None:
        from PIL import Image

        try:
            img = Image.open(io.BytesIO(content)).convert("RGB")
        except Exception as err:  # PIL raises several types for bad files; show, do not crash
            self._fail(f"could not read {filename}: {err}")
            return
        self.set_image(img, filename)

    def select_sample(self, i: int):
        """Show sample ``i``; re-ask the current question on it. Returns the new `Result` or None."""
        if not 0 <= i < len(self.samples):
            raise InputIndexError(f"sample {i} is out of range for {len(self.samples)} samples")
        name, img = self.samples[i]
        self._set_image(_open(img), name)
        self._put(sample=i)
        q = self.value("question") or ""
        return self.ask(q) if q.strip() else None

    def set_image(self, image, name: str = "image"):
        """Use any PIL image (or path); re-ask the current question on it."""
        self._set_image(_open(image), name)
        self._upload_name = name
        self.controls = self._controls(*self._control_args())
        self._put(sample=UPLOADED)
        q = self.value("question") or ""
        return self.ask(q) if q.strip() else None

    def _control_args(self):
        r = self.result
        return (r.tokens.labels(), r.num_heads, r.num_layers("l2v")) if r is not None else ([], 0)

    # -- asking ----------------------------------------------------------------------------------
    def _fail(self, msg: str, clear: bool = False) -> None:
        """Show ``msg``; ``clear``: the question was refused, so the previous answers and picture go
        (they answered another question) and nothing under the message can be read as its answer."""
        self.error = msg
        panels = [{"name": "status", "css": CSS["status"], "block": True,
                   "html": f'<span class="lxmert-viz-qa-error" style="color:#b00">{html.escape(msg)}</span>'}]
        if clear:
            self.result, self.drawn, self._asked = None, {}, None
            panels += [{"name": "answers", "css": CSS["answers"], "block": True, "html": answers_table([])},
                       {"name": "notice", "css": CSS["notice"], "block": True, "html": ""},
                       {"name": "overlay", "css": CSS["overlay"], "block": True, "html": ""}]
        self.set_panels(*panels)
        self._update_twins()

    def ask(self, question: str):
        """Answer ``question`` about the current image and redraw the overlay.

        Returns:
            the `Result`, or None when nothing was asked (no image, empty question) or the kit
            failed (the message is in ``error`` and the status line).
        """
        question = (question or "").strip()
        if not question:
            return None
        if self.image is None:
            self._fail("pick or upload an image first")
            return None
        warn = bool(self.value("unknown"))
        key = (id(self.image), question, warn)
        if key == self._asked and self.result is not None:
            return self.result  # same image, same question (Enter then click): nothing new
        if (self.value("question") or "").strip() != question:
            self._put(question=question)
        t0 = time.perf_counter()
        try:
            result = self.kit.ask(self.image, question, **({"unknown": "warn"} if warn else {}))
        except UnknownWordsError as err:  # refused: the box below is the widget's unknown="warn"
            msg = str(err).split('; rephrase it')[0]
            self._fail(f"{msg}. Rephrase it with words the model knows, or tick '{UNKNOWN_LABEL}'.", clear=True)
            return None
        except Exception as err:  # any kit error becomes a message in the widget, not a traceback
            self._fail(f"{type(err).__name__}: {err}", clear=True)
            return None
        t1 = time.perf_counter()
        new_question = self.result is None or self.result.question != question
        self.result, self.error, self._asked = result, None, key
        with self.hold_sync():
            self._sync_controls(result, new_question)
            self.set_panels(
                {"name": "answers", "css": CSS["answers"], "block": True,
                 "html": answers_table(result.answers[: self.top_k], result.score_label)},
                {"name": "notice", "css": CSS["notice"], "block": True,
                 "html": unknown_notice(result.unknown_words)})
            self._draw()
            t2 = time.perf_counter()
            self.timings = {"ask_ms": 1e3 * (t1 - t0), "draw_ms": 1e3 * (t2 - t1), "total_ms": 1e3 * (t2 - t0)}
            self.set_panels({"name": "status", "css": CSS["status"], "block": True,
                             "html": f'<span class="lxmert-viz-qa-ok">{html.escape(self.image_name or "")}: '
                                     f'answered in {self.timings["total_ms"]:.0f} ms</span>'})
        self._update_twins()
        return result

    def _sync_controls(self, result, new_question: bool) -> None:
        """New question: new word list, its content word chosen; the same question on a new image
        keeps the chosen word."""
        labels = result.tokens.labels()
        old_opts = next(c for c in self.controls if c["name"] == "token")["options"]
        old = next((lab for lab, v in old_opts if v == self.value("token")), None)
        controls = self._controls(labels, result.num_heads, result.num_layers("l2v"))
        if controls != self.controls:
            self.controls = controls
        keep = not new_question and old in labels
        head = self.value("head")
        self._put(token=labels.index(old) if keep else default_token(result),
                  layer=self.value("layer") if -1 <= (self.value("layer") or -1) < result.num_layers("l2v") else -1,
                  head=head if head in [v for _, v in head_options(result.num_heads)] else "mean")

    def _draw(self) -> None:
        if self.result is None:
            return
        if self._drawn_image is not self.image:
            self.set_asset("image", png_uri(self.image.convert("RGB")))
            self._drawn_image = self.image
        spec = overlay_spec(self.result, self.value("token"), None, "l2v", self.value("layer"), self.value("head"))
        self.drawn = {"weights": np.asarray(spec["weights"]), "alphas": np.asarray(spec["alphas"]), "title": spec["title"]}
        self.set_panels({"name": "overlay", "css": CSS["overlay"], "block": True, "html": overlay_svg(spec, "image", width=940)})

    def redraw(self) -> None:
        """Word, layer or head changed: only the overlay moves."""
        self._draw()

    def select_token(self, token: int | str) -> None:
        """Show where ``token`` (word or index) of the current question looks."""
        if self.result is None:
            raise RuntimeError("ask a question first")
        with self._holding():
            self._put(token=self.result.token_index(token))
            self._pending = True
