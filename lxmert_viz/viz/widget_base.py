"""What the explorers share: display as their ipywidgets box, batch control changes, head options."""
from __future__ import annotations

from contextlib import contextmanager

from ..result import AGGREGATES


class Explorer:
    """Base: ``self.widget`` (an ipywidgets container) is what a notebook shows; ``self.figures``
    names the `go.FigureWidget` objects that are updated in place."""

    widget = None
    figures: dict

    def __init__(self):
        self._hold = 0
        self._pending = False

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

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
            self.redraw()

    def _changed(self, _change=None):
        if self._hold:
            self._pending = True
        else:
            self.redraw()

    def redraw(self):  # pragma: no cover - overridden
        raise NotImplementedError


def head_options(num_heads: int) -> list[tuple[str, int | str]]:
    return [(f"{a} of {num_heads} heads", a) for a in AGGREGATES] + [(f"head {h}", h) for h in range(num_heads)]


def layer_options(num_layers: int) -> list[tuple[str, int]]:
    """``[("last (2)", -1), ("0", 0), ("1", 1), ("2", 2)]``: the last layer first, then each by index."""
    return [(f"last ({num_layers - 1})", -1)] + [(str(i), i) for i in range(num_layers)]
