"""Static export: matplotlib figures to PNG/SVG/PDF, plotly figures to standalone offline HTML.

The HTML embeds plotly.js (``include_plotlyjs=True``), so it opens with no network and no CDN.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError, InputTypeError

MPL_SUFFIXES = (".png", ".svg", ".pdf")
PLOTLY_SUFFIXES = (".html", ".htm")


def _is_plotly(fig) -> bool:
    try:
        from plotly.basedatatypes import BaseFigure
    except ImportError:  # plotly not installed: cannot be a plotly figure
        return False
    return isinstance(fig, BaseFigure)


def _is_mpl(fig) -> bool:
    from matplotlib.figure import Figure, SubFigure

    return isinstance(fig, (Figure, SubFigure))


def save(fig, path, *, dpi: int = 150, **kwargs) -> Path:
    """Write a figure to ``path``; the format follows the suffix.

    Args:
        fig: a matplotlib `Figure` (or an `Axes`, whose figure is saved), or a plotly figure
            (`go.Figure` / `go.FigureWidget`), or an explorer widget with a ``.figures`` dict (its
            first figure is saved).
        path: ``.png``, ``.svg``, ``.pdf`` for matplotlib; ``.html`` for plotly.
        dpi: resolution of PNG output.
        kwargs: passed to ``savefig`` or ``write_html``.

    Returns:
        the written path.

    Raises:
        ValueError: the suffix does not suit the figure type.
        TypeError: not a figure.

    Example:
        >>> from lxmert_viz.viz import heatmap
        >>> save(heatmap(result, "l2v"), tmp / "l2v.svg").suffix
        '.svg'
    """
    path = Path(path)
    suffix = path.suffix.lower()
    figures = getattr(fig, "figures", None)
    if isinstance(figures, dict) and figures:
        fig = next(iter(figures.values()))
    if hasattr(fig, "figure") and not _is_plotly(fig) and not _is_mpl(fig):
        fig = fig.figure  # matplotlib Axes
    if _is_plotly(fig):
        if suffix not in PLOTLY_SUFFIXES:
            raise InputError(f"cannot save a plotly figure as {suffix or 'a file without suffix'!r}: use one of "
                             f"{PLOTLY_SUFFIXES} (static images of plotly figures need kaleido, not a dependency)")
        path.parent.mkdir(parents=True, exist_ok=True)
        opts = {"include_plotlyjs": True, "full_html": True, **kwargs}
        if opts["include_plotlyjs"] is not True:
            raise InputError("include_plotlyjs must stay True: exported HTML must work offline")
        fig.write_html(str(path), **opts)
        return path
    if _is_mpl(fig):
        if suffix not in MPL_SUFFIXES:
            raise InputError(f"cannot save a matplotlib figure as {suffix or 'a file without suffix'!r}: "
                             f"use one of {MPL_SUFFIXES}")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(str(path), format=suffix[1:], dpi=dpi, **kwargs)
        return path
    raise InputTypeError(f"save() takes a matplotlib or plotly figure, got {type(fig).__name__}")
