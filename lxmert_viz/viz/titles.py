"""What a picture shows, in words: family, layer, head aggregate and query, one way everywhere.

One layer-numbering convention everywhere (notebooks, views, command line, figures): layers and
heads are numbered as `Result.attn` and the hook points take them (from 0); a title gives the range
too, e.g. ``"l2v · cross layer 2 (last of 0-2) · mean of 4 heads · word 'circle'"``. Hidden states
keep `lxmert_viz.model.families.stage_names`'s names, which count layers *run* (``cross3`` is the
state after cross layer 2); `stage_text` and `STAGE_NOTE` say so wherever states are drawn.
"""
from __future__ import annotations

ENCODER = {"lang": "language layer", "vis": "relationship layer", "l2v": "cross layer", "v2l": "cross layer",
           "cross_lang": "cross layer", "cross_vis": "cross layer"}
SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[PAD]")
STAGE_NOTE = "state names count layers run: cross3 = after cross layer 2 (layers from 0)"
STAGE_SHORT = "cross3 = after cross layer 2"  # the same, where a title is narrow
STAGE_ENCODER = {"lang": "language layer", "vis": "relationship layer", "cross": "cross layer"}


def stage_text(name: str) -> str:
    """``"cross3"`` -> ``"cross3 (after cross layer 2)"``; ``"emb"`` -> ``"emb (embeddings)"``."""
    if name == "emb":
        return "emb (embeddings)"
    stem = name.rstrip("0123456789")
    if stem in STAGE_ENCODER and name[len(stem):]:
        return f"{name} (after {STAGE_ENCODER[stem]} {int(name[len(stem):]) - 1})"
    return name


def layer_text(family: str, layer: int, num_layers: int) -> str:
    """``"cross layer 2 (last of 0-2)"``; ``layer`` may count from the end."""
    i = layer % num_layers
    where = "last of" if i == num_layers - 1 else "of"
    return f"{ENCODER.get(family, 'layer')} {i} ({where} 0-{num_layers - 1})" if num_layers > 1 else \
        f"{ENCODER.get(family, 'layer')} 0 (the only one)"


def head_text(head, num_heads: int) -> str:
    """``"mean of 4 heads"``, ``"max of 4 heads"`` or ``"head 2 of 0-3"``."""
    if isinstance(head, str):
        return f"{head} of {num_heads} heads"
    return f"head {head % num_heads} of 0-{num_heads - 1}"


def query_text(label: str, side: str, word: str | None = None) -> str:
    """``"word 'circle'"`` for a token, ``"word 'meaning' (token 'm')"`` for a piece of a longer word,
    ``"region '1:black circle'"`` for a region."""
    if side == "lang":
        if label in SPECIAL_TOKENS:
            return f"token {label}"
        if word is not None and word.lower() != label.split(" (")[0].lower():
            return f"word {word!r} (token {label!r})"
        return f"word {label!r}"
    return f"region {label!r}"


def word_of(result, token: int) -> str | None:
    """The word that token ``token`` belongs to, or None for a special token."""
    wi = result.tokens.word_index[token]
    return None if wi is None else result.tokens.words[wi]


def attention_title(result, family: str, layer: int, head, query_label: str | None = None,
                    side: str | None = None, query: int | None = None) -> str:
    """The title of one attention picture (see the module docstring); ``query`` (a token index)
    names the word a word piece belongs to."""
    parts = [family, layer_text(family, layer, result.num_layers(family)), head_text(head, result.num_heads)]
    if query_label is not None:
        side = side or "lang"
        word = word_of(result, query) if side == "lang" and query is not None else None
        parts.append(query_text(query_label, side, word))
    return " · ".join(parts)
