"""LXMERT's architecture as a figure: which encoder produces which attention family.

Drawn from a config (layer counts, heads, hidden size), so the figure describes the model at hand:
two single-modality encoders (language: family ``lang``; object relationships: family ``vis``),
then the cross-modality layers, each with ONE co-attention module whose weights serve both
directions (``l2v``: words attend to regions, ``v2l``: regions attend to words), then a
self-attention per stream (``cross_lang``, ``cross_vis``) and a feed-forward per stream. Only the
final state of [CLS] goes through the pooler to the answer.
"""
from __future__ import annotations

FONT = 10
LANG, VIS, CROSS, OUT = "#dbe9f6", "#fde7d3", "#e8def3", "#e2f0d9"


def architecture_figure(config=None, *, ax=None):
    """The architecture of an LXMERT with ``config``'s layer counts (default: the base model's 9/5/5).

    Args:
        config: an `LxmertConfig` (or anything with ``l_layers``, ``r_layers``, ``x_layers``,
            ``num_attention_heads``, ``hidden_size``); None: the published base model.
        ax: axes to draw on, or None for a new figure.

    Returns:
        the matplotlib `Figure`; each family's label is a text with ``gid="family-<name>"``.

    Example:
        >>> fig = architecture_figure(kit.model.config)
        >>> sorted(t.get_gid()[7:] for t in fig.axes[0].texts if (t.get_gid() or "").startswith("family-"))
        ['cross_lang', 'cross_vis', 'l2v', 'lang', 'v2l', 'vis']
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    n_lang, r, x = (getattr(config, k, d) for k, d in (("l_layers", 9), ("r_layers", 5), ("x_layers", 5)))
    heads = getattr(config, "num_attention_heads", 12)
    hidden = getattr(config, "hidden_size", 768)
    if ax is None:
        fig = Figure(figsize=(10.5, 7.2), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_axis_off()

    def box(x0, y0, w, h, colour, text, gid=None, weight="normal", top=False):
        ax.add_patch(FancyBboxPatch((x0, y0), w, h, boxstyle="round,pad=0.6", facecolor=colour,
                                    edgecolor="#555555", linewidth=1))
        ax.text(x0 + w / 2, y0 + h - 1 if top else y0 + h / 2, text, ha="center", va="top" if top else "center",
                fontsize=FONT, weight=weight, gid=gid)

    def arrow(a, b, text=None):
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, color="#444444", linewidth=1.2))
        if text:
            ax.text((a[0] + b[0]) / 2 + 1, (a[1] + b[1]) / 2, text, fontsize=FONT - 1, color="#444444", va="center")

    def family(x0, y0, name, text):
        ax.text(x0, y0, f"{name}", fontsize=FONT + 1, weight="bold", family="monospace", color="#5a2d82",
                gid=f"family-{name}", ha="center", va="center")
        ax.text(x0, y0 - 3.2, text, fontsize=FONT - 1, ha="center", va="center", color="#333333")

    # inputs
    box(3, 2, 38, 7, LANG, "question: [CLS] what color is the circle ? [SEP]\nword-piece + position embeddings")
    box(59, 2, 38, 7, VIS, "regions: features + boxes (the shapes world:\nthe whole-image scene row, then objects)")
    arrow((22, 10.5), (22, 15))
    arrow((78, 10.5), (78, 15))
    # single-modality encoders
    box(3, 16, 38, 15, LANG, f"language encoder\n{n_lang} layers of self-attention", weight="bold", top=True)
    family(22, 21, "lang", "tokens attend to tokens")
    box(59, 16, 38, 15, VIS, f"object-relationship encoder\n{r} layers of self-attention", weight="bold", top=True)
    family(78, 21, "vis", "regions attend to regions")
    arrow((22, 32.5), (22, 40), "last single-modality\nstate (before mixing)")
    arrow((78, 32.5), (78, 40))
    # cross-modality encoder
    ax.add_patch(FancyBboxPatch((3, 40), 94, 36, boxstyle="round,pad=0.6", facecolor="#f7f3fb",
                                edgecolor="#5a2d82", linewidth=1.5))
    ax.text(50, 73.5, f"cross-modality encoder: {x} layers, each one of these", ha="center", fontsize=FONT + 1,
            weight="bold", color="#5a2d82")
    box(8, 58, 84, 10, CROSS, "co-attention: ONE set of weights, used in both directions\n\n")
    family(30, 62.5, "l2v", "words attend to regions (queries: tokens)")
    family(70, 62.5, "v2l", "regions attend to words (queries: regions)")
    box(8, 43, 38, 10, LANG, "")
    family(27, 50.5, "cross_lang", "language self-attention, then feed-forward")
    box(54, 43, 38, 10, VIS, "")
    family(73, 50.5, "cross_vis", "vision self-attention, then feed-forward")
    arrow((27, 57), (27, 54))
    arrow((73, 57), (73, 54))
    # output
    box(3, 84, 54, 9, OUT, "[CLS]'s final language state → pooler\n→ QA output head → answers", weight="bold")
    arrow((22, 77.5), (22, 83))
    box(62, 84, 35, 9, "#f2f2f2", "final states of the other tokens and of every\nregion: the QA head never "
        "reads them\n(pre-training heads do, in training)")
    arrow((78, 77.5), (78, 83))
    ax.set_title(f"LXMERT: {n_lang} language, {r} relationship, {x} cross layers · {heads} heads · hidden {hidden}",
                 fontsize=FONT + 2)
    return fig
