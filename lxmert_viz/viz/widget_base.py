"""What the views share: the head and layer options of their dropdowns (the views are `view.View`)."""
from __future__ import annotations

from ..result import AGGREGATES


def head_options(num_heads: int) -> list[tuple[str, int | str]]:
    return [(f"{a} of {num_heads} heads", a) for a in AGGREGATES] + [(f"head {h}", h) for h in range(num_heads)]


def layer_options(num_layers: int) -> list[tuple[str, int]]:
    """``[("last (2)", -1), ("0", 0), ("1", 1), ("2", 2)]``: the last layer first, then each by index."""
    return [(f"last ({num_layers - 1})", -1)] + [(str(i), i) for i in range(num_layers)]
