"""Which word a picture shows first: the question's content word, not "what".

Shape letters: T tokens, R regions.

The rule (`default_token`), the same for the embedded model and real checkpoints:

1. Candidates are the first token of each word that is not a special token, not punctuation and
   not a function word (`lxmert_viz.inputs.words.FUNCTION_WORDS`: question words, articles,
   auxiliaries, prepositions, pronouns);
   words the vocabulary does not know (`Tokens.unknown`) only when no known word is left.
2. Among them, the one whose ``l2v`` row (last cross layer, mean over heads) puts the largest
   weight on a single region that is not the whole image wins: the word that looks hardest at one
   object. The whole-image row (the shapes world's "scene") is left out, since a word that names
   nothing parks its attention there.
3. No candidate (e.g. "what is it?"): the last word that is not punctuation; no word at all: [CLS].

Why not "lowest entropy": words such as "many" put nearly all their attention on the scene row,
which is concentrated but points at no object.
"""
from __future__ import annotations

import numpy as np

from ..inputs.words import FUNCTION_WORDS, is_punctuation
from .shading import whole_image


def _word_starts(result) -> list[int]:
    """Positions of each word's first token (no special tokens)."""
    toks = result.tokens
    seen, out = set(), []
    for i, wi in enumerate(toks.word_index):
        if wi is not None and wi not in seen:
            seen.add(wi)
            out.append(i)
    return out


def default_token(result, family: str = "l2v") -> int:
    """The token a picture shows first (see the module docstring for the rule).

    Example:
        >>> result.tokens.labels()[default_token(result)]          # "what color is the circle?"
        'circle'
    """
    toks = result.tokens
    starts = _word_starts(result)
    words = [(i, toks.words[toks.word_index[i]].lower()) for i in starts]
    unknown = {w.lower() for w in toks.unknown}
    content = [i for i, w in words if not is_punctuation(w) and w not in FUNCTION_WORDS]
    content = [i for i, w in words if i in content and w not in unknown] or content
    if content and family in result.attentions:
        a = result.attn(family, -1, "mean")  # (T, R)
        n = a.shape[1]
        objects = ~whole_image(result.regions.boxes[:n], result.regions.image_size)
        if objects.any():
            score = a[content][:, objects].max(-1)
            return int(content[int(np.argmax(score))])
        return int(content[-1])
    if content:
        return int(content[-1])
    plain = [i for i, w in words if not is_punctuation(w)]
    return int(plain[-1]) if plain else 0


def default_region(result, family: str = "l2v") -> int:
    """The region a picture of region queries shows first: the object region (not the whole
    image) that the content word (`default_token`) attends to most; 0 when there is none."""
    n = result.regions.num_real
    objects = np.flatnonzero(~whole_image(result.regions.boxes[:n], result.regions.image_size))
    if not len(objects) or family not in result.attentions:
        return 0
    w = result.attn(family, -1, "mean")[default_token(result, family)]
    return int(objects[int(np.argmax(w[objects]))])
