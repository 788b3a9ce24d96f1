"""View: the one widget class every interactive view of the kit is built on (an anywidget).

Why anywidget and not ipywidgets boxes of plotly ``FigureWidget`` s (what the kit had until issue 24):
a view is one Python object with synced traitlets plus one small ES module (``view.js``) that draws
the controls it is told about and the panels Python rendered (plain HTML and SVG: no plotting
library, no CDN). The same object then runs in JupyterLab 4, Notebook 7, VS Code, Colab and marimo
(``mo.ui.anywidget``); the ipywidgets layer it still rides on is only the comm, which works from
ipywidgets 7.6 (Colab's 7.7.1) to 8.x. The alternative, keeping ipywidgets + plotly with version
exclusions, reaches fewer hosts: marimo runs no ipywidgets, ``FigureWidget`` inside a box breaks in
VS Code and Colab (plotly#4998, #5027, colabtools#5889), and no version pin repairs those. The
price: no plotly hover or zoom in the views (a ``<title>`` tooltip per region and cell instead).

State (all synced):
    root      the CSS class of the view's root element (browser tests find views by it)
    uid       ties the view to its static twin
    controls  ``[{name, kind, label, options, ...}]``: what the module draws as controls
    values    ``{name: value}``: each control's value (the module writes here; Python reads)
    panels    ``[{name, html, css, tab, block}]``: pictures and tables, rendered by Python
    assets    ``{key: data URI}``: images shared by panels (``data-lxv-asset="key"``), so a new
              query on the same image re-sends the shading, not the image
    tabs      tab titles (empty: no tab bar); ``values["tab"]`` is the tab shown
    events    what the reader did, queued by the module: ``{kind, name, data, seq, session}`` with
              kind "set" (a control's new value), "press" (a button), "click" (a panel element
              carrying ``data-lxv-click``) or "upload"; applied once each, in order (`receive`)

Kernel-free twin: displayed in IPython, a view shows two outputs: the live view, and its static
twin (``twin_html``: the same panels with images inlined, and the controls' current values as a
line of text; no JavaScript), which is updated in place after every redraw. The live view hides its
twin with a CSS rule; an HTML export (nbconvert, docs), a notebook opened without a kernel, or a
host that cannot load the module shows the twin. In Colab the view prints one line saying how to
switch on the custom widget manager it needs.
"""
from __future__ import annotations

import html
import json
import re
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import anywidget
import traitlets as t

from ..errors import UnknownNameError

ESM = Path(__file__).with_name("view.js")
COLAB_NOTE = ("In Colab, run `from google.colab import output; output.enable_custom_widget_manager()` once and "
              "re-run this cell for the live view; until then the static picture below shows its current state.")
TWIN_STYLE = (".lxmert-viz-twin{font:13px/1.35 system-ui,sans-serif;color:#222}"
              ".lxmert-viz-twin .lxv-panels{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start}"
              ".lxmert-viz-twin svg{display:block;max-width:100%;height:auto}"
              ".lxmert-viz-twin .lxv-state{color:#555;margin:2px 0 6px}")
_ASSET = re.compile(r'<(img|image)\b([^>]*?)\sdata-lxv-asset="([^"]+)"')


class View(anywidget.AnyWidget):
    """Base of every view: synced controls, values, panels and assets; one redraw per change.

    Subclasses fill ``controls`` and ``values``, implement `redraw` (set panels from the values)
    and may override `on_values` (react to changed controls), `on_press`, `on_click`, `on_upload`.
    """

    _esm = ESM
    root = t.Unicode("").tag(sync=True)
    uid = t.Unicode("").tag(sync=True)
    controls = t.List().tag(sync=True)
    values = t.Dict().tag(sync=True)
    panels = t.List().tag(sync=True)
    assets = t.Dict().tag(sync=True)
    tabs = t.List().tag(sync=True)
    events = t.List().tag(sync=True)

    def __init__(self, root: str, **kwargs):
        super().__init__(root=root, uid=uuid.uuid4().hex, **kwargs)
        self._hold = 0
        self._pending = False
        self._quiet = 0
        self._twins: list = []
        self._seen: dict[str, int] = {}  # the last event applied, per browser view
        self.observe(self._on_values_change, names="values")
        self.observe(self._on_events, names="events")

    # -- values ----------------------------------------------------------------------------------
    def value(self, name: str):
        return self.values.get(name)

    def _put(self, **kw) -> None:
        """Set control values from Python without calling `on_values`."""
        self._quiet += 1
        try:
            self.values = {**self.values, **kw}
        finally:
            self._quiet -= 1

    def choose(self, name: str, value) -> None:
        """What the reader does with a control in the browser (tests and notebooks call it too)."""
        self.values = {**self.values, name: value}

    def _on_values_change(self, change) -> None:
        if self._quiet:
            return
        old, new = change["old"] or {}, change["new"] or {}
        changed = {k: v for k, v in new.items() if k not in old or old[k] != v}
        if changed and set(changed) != {"tab"}:
            with self._holding():
                self.on_values(changed)
                self._pending = True

    def on_values(self, changed: dict) -> None:
        """Controls changed (``{name: new value}``); the view redraws once afterwards."""

    # -- events ----------------------------------------------------------------------------------
    def _on_events(self, change) -> None:
        for ev in change["new"] or []:
            session, seq = str(ev.get("session", "")), int(ev.get("seq", 0))
            if seq <= self._seen.get(session, 0):
                continue
            self._seen[session] = seq
            try:
                self.receive(ev.get("kind"), ev.get("name"), ev.get("data"))
            except Exception as err:  # shown in the view: an error in a callback would only reach the kernel log
                self.set_panels({"name": "error", "block": True, "css": "lxmert-viz-view-error lxv-status",
                                 "html": f'<span style="color:#b00">{html.escape(type(err).__name__)}: '
                                         f'{html.escape(str(err))}</span>'})
                continue
            if any(p["name"] == "error" for p in self.panels):  # the last action worked: clear the message
                self.panels = [p for p in self.panels if p["name"] != "error"]

    def receive(self, kind: str, name: str, data=None) -> None:
        """Apply one thing the reader did (what the module queues in ``events``)."""
        if kind == "set":
            self.choose(name, data)
        elif kind == "press":
            self.on_press(name)
        elif kind == "click":
            self.on_click(name, data)
        elif kind == "upload" and data:
            import base64

            self.on_upload(name, data.get("filename", "upload"), base64.b64decode(data.get("base64", "")))

    def press(self, name: str) -> None:
        """What a click on button ``name`` does."""
        self.receive("press", name)

    def click(self, panel: str, data) -> None:
        """What a click on a panel element with ``data-lxv-click=data`` does."""
        self.receive("click", panel, data)

    def on_press(self, name: str) -> None:
        """A button was pressed."""

    def on_click(self, panel: str, data) -> None:
        """A clickable element of ``panel`` was clicked (its ``data-lxv-click`` JSON)."""

    def on_upload(self, name: str, filename: str, content: bytes) -> None:
        """A file was chosen in file control ``name``."""

    # -- redraw ----------------------------------------------------------------------------------
    @contextmanager
    def _holding(self):
        """Change several controls, redraw once at the end."""
        self._hold += 1
        try:
            yield
        finally:
            self._hold -= 1
        if not self._hold and self._pending:
            self._pending = False
            self._redraw_and_publish()

    def _changed(self, _change=None) -> None:
        if self._hold:
            self._pending = True
        else:
            self._redraw_and_publish()

    def _redraw_and_publish(self) -> None:
        with self.hold_sync():
            self.redraw()
        self._update_twins()

    def redraw(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    # -- panels ----------------------------------------------------------------------------------
    def set_panels(self, *panels: dict) -> None:
        """Replace or add panels by name (``{"name", "html", "css"?, "tab"?, "block"?}``), keeping order."""
        now = list(self.panels)
        index = {p["name"]: i for i, p in enumerate(now)}
        for p in panels:
            p = {"css": "", "tab": "", "block": False, **p}
            if p["name"] in index:
                now[index[p["name"]]] = p
            else:
                index[p["name"]] = len(now)
                now.append(p)
        self.panels = now

    def panel(self, name: str) -> str:
        """The HTML of panel ``name`` as drawn now."""
        for p in self.panels:
            if p["name"] == name:
                return p["html"]
        raise UnknownNameError(f"no panel {name!r}; this view has {[p['name'] for p in self.panels]}")

    def set_asset(self, key: str, uri: str) -> None:
        if self.assets.get(key) != uri:
            self.assets = {**self.assets, key: uri}

    # -- the static twin -------------------------------------------------------------------------
    def state_text(self) -> str:
        """The controls' current values as one line ("family: l2v · layer: 2 · ...")."""
        parts = []
        for c in self.controls:
            if c.get("kind") in ("button", "file", "toggle") or c.get("tab"):
                continue
            v = self.values.get(c["name"])
            label = next((lab for lab, val in c.get("options", []) if val == v), v)
            if isinstance(label, (list, tuple)):
                label = ", ".join(str(x) for x in label)
            if label not in (None, ""):
                parts.append(f"{c.get('label') or c['name']}: {label}")
        pressed = [c["label"] for c in self.controls if c.get("kind") == "toggle" and self.values.get(c["name"])]
        if any(c.get("kind") == "toggle" for c in self.controls):
            parts.append("dropped: " + (", ".join(pressed) or "none"))
        return " · ".join(parts)

    def twin_html(self) -> str:
        """The view's current state as self-contained HTML: the panels with their images inlined,
        no JavaScript (what an export or a page without a kernel shows)."""
        def inline(m):
            tag, attrs, key = m.group(1), m.group(2), m.group(3)
            uri = self.assets.get(key, "")
            return f'<{tag}{attrs} {"src" if tag == "img" else "href"}="{uri}"'

        tab = self.values.get("tab") or (self.tabs[0] if self.tabs else "")
        block = ' style="flex-basis:100%"'
        body = "".join(f'<div class="lxv-panel {p.get("css", "")}"{block if p.get("block") else ""}>'
                       f'{_ASSET.sub(inline, p["html"])}</div>'
                       for p in self.panels if not p.get("tab") or p.get("tab") == tab)
        state = self.state_text()
        title = f"{type(self).__name__} (static copy of its current state{'; tab ' + tab if tab else ''})"
        return (f'<div class="lxmert-viz-twin" data-lxv-uid="{self.uid}"><style>{TWIN_STYLE}</style>'
                f'<div class="lxv-state"><b>{html.escape(title)}</b>'
                f'{"<br>" + html.escape(state) if state else ""}</div><div class="lxv-panels">{body}</div></div>')

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):
            data, meta = bundle
        else:
            data, meta = bundle, {}
        data = {**(data or {}), "text/html": self.twin_html()}
        return data, meta

    def _ipython_display_(self):
        from IPython.display import display

        if "google.colab" in sys.modules:
            display({"text/plain": "lxmert_viz: " + COLAB_NOTE,
                     "text/html": f'<div class="lxmert-viz-colab-note">lxmert_viz: {html.escape(COLAB_NOTE)}</div>'},
                    raw=True)
        data, meta = anywidget.AnyWidget._repr_mimebundle_(self) or ({}, {})
        # the live view; its text/html is empty so that an export without widget state shows only the twin
        display({**data, "text/html": ""}, metadata=meta, raw=True)
        self._twins.append(display(_Twin(self), display_id=True))

    def _update_twins(self) -> None:
        for handle in self._twins:
            handle.update(_Twin(self))


class _Twin:
    """The static twin as an IPython display object (text/html only)."""

    def __init__(self, view: View):
        self.view = view

    def _repr_mimebundle_(self, **kwargs):
        return {"text/html": self.view.twin_html(), "text/plain": f"<{type(self.view).__name__}: static copy>"}


def options(pairs) -> list[list]:
    """``[(label, value), ...]`` as the module's option list (JSON: tuples become lists)."""
    return [[str(lab), _jsonable(v)] for lab, v in pairs]


def _jsonable(v):
    return json.loads(json.dumps(v))
