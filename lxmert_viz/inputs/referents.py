"""Which token names the referent and which region it is: the pointing game's matching rules.

Shape letters: R regions.

One set of rules for the shapes world's training and evaluation tables (`lxmert_viz.shapes.data`)
and for the data-set analysis (`lxmert_viz.analysis`): the naming token is the
token whose character span covers the naming word's offset (never the closing [SEP], so a word cut
off by truncation names nothing), and the named region is the real region whose box overlaps the
object's box most, if that IoU is above 0.5 (the whole-image row counts like any other region).
"""
from __future__ import annotations

import numpy as np

from .regions import Regions
from .text import Tokens

MATCH_IOU = 0.5


def box_iou(a, b) -> float:
    """Intersection over union of two ``x1, y1, x2, y2`` boxes (0 when either is empty).

    Example:
        >>> box_iou((0, 0, 2, 2), (1, 0, 3, 2))
        0.3333333333333333
    """
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def referent_token(tokenizer, question: str, tokens: Tokens, char: int | None = None, word: str | None = None) -> int:
    """Index of the naming token, or -1 when the word is not among the tokens the model saw."""
    if char is not None:
        offsets = tokenizer.offsets(question)
        for k, (s, e) in enumerate(offsets):
            if s <= char < e and k < len(tokens) - 1:
                return k
        return -1
    if word is not None:
        try:
            k = tokens.find(word)
        except KeyError:
            return -1
        return k if 0 < k < len(tokens) - 1 else -1
    return -1


def referent_region(regions: Regions, region: int | None = None, box=None) -> int:
    """Row of the named region among the real ones, or -1 (no match above IoU 0.5, or out of range)."""
    if region is not None:
        return int(region) if 0 <= int(region) < regions.num_real else -1
    if box is None or regions.num_real == 0:
        return -1
    ious = [box_iou(box, regions.boxes[r]) for r in range(regions.num_real)]
    best = int(np.argmax(ious))
    return best if ious[best] > MATCH_IOU else -1


def whole_image_region(regions: Regions) -> int:
    """Row of the first real region whose box is the whole image (`Regions.whole_image`), or -1.

    The shapes world's row 0 is such a "scene" row; a detector's regions seldom are.

    Example:
        >>> from lxmert_viz import Regions
        >>> r = Regions(np.array([[0, 0, 64, 48], [1, 2, 9, 9]], "f4"), np.zeros((2, 3), "f4"), (64, 48))
        >>> whole_image_region(r)
        0
    """
    hits = np.flatnonzero(regions.whole_image()[: regions.num_real])
    return int(hits[0]) if len(hits) else -1
