"""QAWidget: pick or upload an image, ask a question, see the answers and where each word looks.

Shape letters: T tokens, R regions.

One `go.FigureWidget` overlay lives for the widget's lifetime: a new question on the same image
restyles it in place (no image re-send), a new image rebuilds its traces in place. The word shown
first is the question's content word (`defaults.default_token`), and words the model's vocabulary
does not know are named in a notice. Stable CSS classes let a browser test find the parts (`CSS`).
"""
from __future__ import annotations

import html
import io
import time
from pathlib import Path

from .defaults import default_token
from .plotly_overlay import empty_overlay, update_overlay
from .shading import colour
from .widget_base import Explorer, head_options, layer_options

CSS = {"question": "lxmert-viz-qa-question", "ask": "lxmert-viz-qa-ask", "answers": "lxmert-viz-qa-answers",
       "overlay": "lxmert-viz-qa-overlay", "status": "lxmert-viz-qa-status", "sample": "lxmert-viz-qa-sample",
       "upload": "lxmert-viz-qa-upload", "token": "lxmert-viz-qa-token", "root": "lxmert-viz-qa",
       "notice": "lxmert-viz-qa-notice", "layer": "lxmert-viz-qa-layer", "head": "lxmert-viz-qa-head"}
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


class QAWidget(Explorer):
    """Ask questions about sample or uploaded images with any kit.

    Args:
        kit: any object with ``ask(image, question) -> Result`` (e.g. ``lxmert_viz.load()``).
        samples: ``[(name, PIL image or path), ...]`` (bare images get names ``sample i``).
        question: asked at once on the first sample, when given.
        top_k: how many answers to show (passed to ``kit.ask`` when it accepts ``top_k``).

    Attributes:
        result: the latest `Result` (None before the first question).
        answers_html: `ipywidgets.HTML` holding the answer table (``.value``).
        notice: `ipywidgets.HTML` naming unknown words ("" when every word is known).
        overlay: the one `go.FigureWidget` (image, regions shaded by ``l2v`` from the chosen word).
        timings: ``{"ask_ms", "draw_ms", "total_ms"}`` of the last question.
        error: the last error message, or None.

    Example:
        >>> qa = QAWidget(kit, [("scene_00", sample)])
        >>> qa.ask("what color is the circle?").answer, qa.result.tokens.labels()[qa.token.value]
        ('black', 'circle')
    """

    def __init__(self, kit, samples=(), question: str | None = None, top_k: int = 5):
        import ipywidgets as w

        super().__init__()
        self.kit = kit
        self.top_k = int(top_k)
        self.samples = [s if isinstance(s, tuple) else (f"sample {i}", s) for i, s in enumerate(samples)]
        self.result = None
        self.error = None
        self.timings: dict[str, float] = {}
        self.image = None
        self.image_name = None
        self._drawn_image = None  # the image object the overlay currently shows
        self._asked: tuple | None = None  # (image id, question) last answered

        wide = {"description_width": "initial"}
        self.sample = w.Dropdown(options=[(n, i) for i, (n, _) in enumerate(self.samples)],
                                 value=0 if self.samples else None, description="image", style=wide)
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="upload")
        self.question = w.Text(value=question or "", placeholder="ask a question about the image",
                               description="question", continuous_update=False, style=wide,
                               layout=w.Layout(width="440px"))
        self.ask_button = w.Button(description="ask", button_style="primary")
        self.answers_html = w.HTML(value=answers_table([]))
        self.notice = w.HTML(value="")
        self.status = w.HTML(value="")
        self.token = w.Dropdown(options=[], description="word", style=wide)
        self.layer = w.Dropdown(options=[("last", -1)], value=-1, description="cross layer", style=wide)
        self.head = w.Dropdown(options=head_options(0), value="mean", description="head", style=wide)
        self.overlay = empty_overlay(widget=True)
        self.figures = {"overlay": self.overlay}
        for key, wid in (("question", self.question), ("ask", self.ask_button), ("answers", self.answers_html),
                         ("overlay", self.overlay), ("status", self.status), ("sample", self.sample),
                         ("upload", self.upload), ("token", self.token), ("notice", self.notice),
                         ("layer", self.layer), ("head", self.head)):
            wid.add_class(CSS[key])

        self._quiet = False  # True while the widget itself sets a control (no callback loop)
        self.sample.observe(lambda ch: self._quiet or ch["new"] == UPLOADED or self.select_sample(ch["new"]),
                            names="value")
        self.upload.observe(self._uploaded, names="value")
        self.question.observe(lambda ch: self._quiet or self.ask(ch["new"]), names="value")
        self.ask_button.on_click(lambda _b: self.ask(self.question.value))
        for c in (self.token, self.layer, self.head):
            c.observe(self._changed, names="value")

        left = w.VBox([w.HBox([self.sample, self.upload]), w.HBox([self.question, self.ask_button]),
                       self.notice, self.answers_html, self.status])
        self.widget = w.VBox([left, w.HBox([self.token, self.layer, self.head]), self.overlay])
        self.widget.add_class(CSS["root"])
        if self.samples:
            self._set_image(_open(self.samples[0][1]), self.samples[0][0])
            if question:
                self.ask(question)

    # -- inputs ----------------------------------------------------------------------------------
    def _set_image(self, image, name: str) -> None:
        self.image, self.image_name = image, name

    def _show_in_dropdown(self, value, name: str | None = None) -> None:
        """Make the image dropdown name what is shown (an upload gets its own entry)."""
        opts = [(n, i) for i, (n, _) in enumerate(self.samples)]
        if value == UPLOADED:
            opts.append((f"uploaded: {name}", UPLOADED))
        self._quiet = True
        try:
            if list(self.sample.options) != opts:
                self.sample.options = opts
            self.sample.value = value
        finally:
            self._quiet = False

    def select_sample(self, i: int):
        """Show sample ``i``; re-ask the current question on it. Returns the new `Result` or None."""
        if not 0 <= i < len(self.samples):
            raise IndexError(f"sample {i} is out of range for {len(self.samples)} samples")
        name, img = self.samples[i]
        self._set_image(_open(img), name)
        self._show_in_dropdown(i)
        return self.ask(self.question.value) if self.question.value.strip() else None

    def set_image(self, image, name: str = "image"):
        """Use any PIL image (or path); re-ask the current question on it."""
        self._set_image(_open(image), name)
        self._show_in_dropdown(UPLOADED, name)
        return self.ask(self.question.value) if self.question.value.strip() else None

    def _uploaded(self, change):
        from PIL import Image

        files = change["new"]
        if not files:
            return
        f = files[0]
        try:
            img = Image.open(io.BytesIO(bytes(f["content"]))).convert("RGB")
        except Exception as err:  # PIL raises several types for bad files; show, do not crash
            self._fail(f"could not read {f.get('name', 'the upload')}: {err}")
            return
        self.set_image(img, f.get("name", "upload"))

    def _set_quietly(self, control, value) -> None:
        self._quiet = True
        try:
            control.value = value
        finally:
            self._quiet = False

    # -- asking ----------------------------------------------------------------------------------
    def _fail(self, msg: str) -> None:
        self.error = msg
        self.status.value = f'<span class="lxmert-viz-qa-error" style="color:#b00">{html.escape(msg)}</span>'

    def ask(self, question: str):
        """Answer ``question`` about the current image and redraw the overlay in place.

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
        key = (id(self.image), question)
        if key == self._asked and self.result is not None:
            return self.result  # same image, same question (Enter then click): nothing new
        if self.question.value.strip() != question:
            self._set_quietly(self.question, question)
        t0 = time.perf_counter()
        try:
            result = self.kit.ask(self.image, question)
        except Exception as err:  # any kit error becomes a message in the widget, not a traceback
            self._fail(f"{type(err).__name__}: {err}")
            return None
        t1 = time.perf_counter()
        new_question = self.result is None or self.result.question != question
        self.result, self.error, self._asked = result, None, key
        self.answers_html.value = answers_table(result.answers[: self.top_k],
                                                getattr(result, "score_label", "probability"))
        self.notice.value = unknown_notice(getattr(result, "unknown_words", ()))
        self._sync_controls(result, new_question)
        self._draw()
        t2 = time.perf_counter()
        self.timings = {"ask_ms": 1e3 * (t1 - t0), "draw_ms": 1e3 * (t2 - t1), "total_ms": 1e3 * (t2 - t0)}
        self.status.value = (f'<span class="lxmert-viz-qa-ok">{html.escape(self.image_name or "")}: '
                             f'answered in {self.timings["total_ms"]:.0f} ms</span>')
        return result

    def _sync_controls(self, result, new_question: bool) -> None:
        """New question: new word list, its content word chosen; the same question on a new image
        keeps the chosen word."""
        labels = result.tokens.labels()
        old = dict((v, k) for k, v in self.token.options).get(self.token.value) if self.token.options else None
        with self._holding():
            opts = [(lab, i) for i, lab in enumerate(labels)]
            if list(self.token.options) != opts:
                self.token.options = opts
            keep = not new_question and old in labels
            self.token.value = labels.index(old) if keep else default_token(result)
            layer_opts = layer_options(result.num_layers("l2v"))
            if list(self.layer.options) != layer_opts:
                self.layer.options = layer_opts
                self.layer.value = -1
            hopts = head_options(result.num_heads)
            if list(self.head.options) != hopts:
                value = self.head.value
                self.head.options = hopts
                self.head.value = value if value in [v for _, v in hopts] else "mean"
            self._pending = False  # ask() draws once right after; no redraw when the hold ends

    def _draw(self) -> None:
        if self.result is None:
            return
        new_image = self._drawn_image is not self.image
        update_overlay(self.overlay, self.result, token=self.token.value, family="l2v", layer=self.layer.value,
                       head=self.head.value, image=True if new_image else None)
        self._drawn_image = self.image

    def redraw(self) -> None:
        """Word, layer or head changed: only the overlay moves."""
        self._draw()

    def select_token(self, token: int | str) -> None:
        """Show where ``token`` (word or index) of the current question looks."""
        if self.result is None:
            raise RuntimeError("ask a question first")
        self.token.value = self.result.token_index(token)
