"""How the objects the kit returns print: a short text (at most ~1,000 characters) and a compact HTML
table in a notebook, each saying what the object holds and how to see more.

A class lists what it shows in ``_card()`` (a `Card`: a title, label/value rows, one "more" line);
`Printable` turns that into ``__repr__`` and ``_repr_html_``. Dataclasses that use it are declared
with ``repr=False`` so that the generated repr (tens of thousands of characters of tensors) never
floods a cell.

Example:
    >>> print(Card("Thing", [("size", "3")], "thing.items for the rest").text())
    Thing
      size: 3
      (thing.items for the rest)
"""
from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

MAX_CHARS = 1000
VALUE_CHARS = 160  # one value's text is cut here


def short(value, limit: int = VALUE_CHARS) -> str:
    """``value`` as text of at most ``limit`` characters (floats to 3 significant digits)."""
    if isinstance(value, (float, np.floating)):
        text = f"{float(value):.3g}"
    elif isinstance(value, np.ndarray):
        text = f"array {tuple(value.shape)} {value.dtype}"
    elif hasattr(value, "shape") and hasattr(value, "dtype"):
        text = f"tensor {tuple(value.shape)} {value.dtype}"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def listing(items: Iterable, limit: int = 6) -> str:
    """The first ``limit`` items, comma-separated, with how many more."""
    items = list(items)
    head = ", ".join(short(i, 80) for i in items[:limit])
    return head + (f", … (+{len(items) - limit})" if len(items) > limit else "")


def scored(pairs: Sequence[tuple[str, float]], limit: int = 5) -> str:
    """``[(name, score), ...]`` as ``name 0.91, name 0.05``."""
    return listing([f"{n} {float(s):.2f}" for n, s in pairs], limit)


@dataclass(frozen=True)
class Card:
    """What one object shows: a title, label/value rows and how to see more."""

    title: str
    rows: Sequence[tuple[str, object]] = ()
    more: str = ""

    def text(self) -> str:
        lines = [self.title] + [f"  {k}: {short(v)}" for k, v in self.rows]
        if self.more:
            lines.append(f"  ({self.more})")
        out = "\n".join(lines)
        return out if len(out) <= MAX_CHARS else out[: MAX_CHARS - 1] + "…"

    def html(self) -> str:
        body = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(str(k))}</th>"
                       f"<td style='text-align:left'>{html.escape(short(v))}</td></tr>" for k, v in self.rows)
        more = f"<tr><td colspan='2' style='text-align:left;color:#555'>{html.escape(self.more)}</td></tr>" if self.more else ""
        return (f"<table class='lxmert-viz-card'><caption style='text-align:left;font-weight:bold'>"
                f"{html.escape(self.title)}</caption>{body}{more}</table>")


class Printable:
    """Mixin: ``__repr__`` and ``_repr_html_`` from the class's ``_card()``."""

    def _card(self) -> Card:  # pragma: no cover - every user defines it
        raise NotImplementedError

    def __repr__(self) -> str:
        return self._card().text()

    def _repr_html_(self) -> str:
        return self._card().html()
