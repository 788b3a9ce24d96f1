"""Masked words: what the pretraining head puts in each ``[MASK]``, with the image and without it.

Shape letters: B batch (2: with and without the image), T tokens, R regions, V vocabulary.

"Without the image" means that no information from the regions reaches the language stream: every
``l2v`` head's output is zeroed in every cross layer (hook points ``l2v.*.z``; the output projection's
bias stays), and the language stream reads the image nowhere else, so the masked-word logits of that
run are a function of the text alone. Masking every region through ``visual_attention_mask`` would not
do it: with every key masked, attention becomes uniform over the masked keys (the additive mask is the
same large negative number for all of them), and the words would still hear the mean region.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..errors import InputError, InputTypeError, QuestionError
from ..inputs.image import open_image
from ..inputs.item import Item
from ..inputs.text import Tokens, check_question
from ..inputs.words import check_known_words
from ..model.hooks import Intervention
from ..printing import Card, Printable, scored
from ..result import Result
from ..run import Row, run

MASK = "[MASK]"
_MASK_RE = re.compile(re.escape(MASK), re.IGNORECASE)


def require_pretraining(model) -> None:
    """A clear error when ``model`` has no pretraining output head (masked words, matching, regions)."""
    if "pretraining" not in model.output_heads:
        raise InputError("this model has no pretraining output head (cls.predictions / seq_relationship / "
                         "obj_predict_head); load a pretraining checkpoint such as unc-nlp/lxmert-base-uncased "
                         "or the embedded model (lxmert_viz.load())")


def masked_tokens(tokenizer, text: str) -> tuple[Tokens, list[int]]:
    """Tokens of ``text`` with each ``[MASK]`` (any case) as the mask token, and the mask positions.

    The text between the masks is tokenized piece by piece, so a vocabulary without ``[MASK]`` as an
    unsplittable token (the word-piece pre-tokenizer splits at ``[``) still gets one mask id per mask.

    Example:
        >>> toks, where = masked_tokens(kit.tokenizer, "the [MASK] circle is on the left")
        >>> toks.pieces[where[0]], where
        ('[MASK]', [2])
    """
    if not isinstance(text, str):
        raise InputTypeError(f"text must be a string, got {type(text).__name__}")
    if tokenizer.mask_id is None:
        raise InputError("this tokenizer's vocabulary has no [MASK] token")
    check_question(text)
    parts = _MASK_RE.split(text)
    if len(parts) == 1:
        raise QuestionError(f"{text!r} has no {MASK}; write e.g. 'is the {MASK} circle on the left?'")
    ids, pieces, word_index, words, unknown = [tokenizer.cls_id], ["[CLS]"], [None], [], []
    for i, part in enumerate(parts):
        if part.strip():
            t = tokenizer.fragment(part, max_length=10_000)
            ids += t.ids[1:-1]
            pieces += t.pieces[1:-1]
            word_index += [None if w is None else w + len(words) for w in t.word_index[1:-1]]
            words += t.words
            unknown += t.unknown
        if i < len(parts) - 1:
            ids.append(tokenizer.mask_id)
            pieces.append(MASK)
            word_index.append(len(words))
            words.append(MASK)
    ids.append(tokenizer.sep_id)
    pieces.append("[SEP]")
    word_index.append(None)
    if len(ids) > tokenizer.max_length:
        raise QuestionError(f"{text!r} is {len(ids)} tokens; the tokenizer's limit is {tokenizer.max_length}")
    where = [i for i, p in enumerate(pieces) if p == MASK]
    return Tokens(tuple(ids), tuple(pieces), tuple(word_index), tuple(words), unknown=tuple(dict.fromkeys(unknown))), where


@dataclass(repr=False)
class Fill(Printable):
    """What `fill` returns.

    Attributes:
        text: the text given; tokens: its `Tokens` (each ``[MASK]`` one token); positions: the mask
            token positions, in order.
        with_image, without_image: per mask, ``[(token, probability), ...]`` best first; special
            tokens are left out of the lists (their probability stays in the softmax).
        probs, blind_probs: (masks, V) full distributions, with and without the image.
        result: the run with the image as a `Result` (its maps give the mask token's ``l2v``);
            blind: the run without (``blind.intervention`` says how the image was removed).
        vocab: the token of each vocabulary id (the columns of ``probs``).
    """

    text: str
    tokens: Tokens
    positions: list[int]
    with_image: list[list[tuple[str, float]]]
    without_image: list[list[tuple[str, float]]]
    probs: np.ndarray
    blind_probs: np.ndarray
    result: Result
    blind: Result
    vocab: list[str] = field(default_factory=list)

    def _card(self) -> Card:
        rows = []
        for m in range(len(self.positions)):
            rows.append((f"[MASK] {m + 1} with the image", scored(self.with_image[m])))
            rows.append((f"[MASK] {m + 1} without", scored(self.without_image[m])))
        return Card(f"Fill {self.text!r}: {len(self.positions)} mask(s)", rows,
                    "fill.compare(mask) for both columns, fill.image_gain(mask), fill.l2v(mask); fill.result / fill.blind")

    def l2v(self, mask: int = 0, layer: int = -1, head: int | str = "mean") -> np.ndarray:
        """(R,) the ``mask``-th mask token's attention over the regions (family ``l2v``)."""
        return self.result.row("l2v", self.positions[mask], layer, head)

    def compare(self, mask: int = 0) -> list[tuple[str, float, float]]:
        """``[(token, probability with the image, without), ...]`` for the tokens listed either way,
        best first with the image."""
        index = {t: i for i, t in enumerate(self.vocab)}
        tokens = dict.fromkeys([t for t, _ in self.with_image[mask]] + [t for t, _ in self.without_image[mask]])
        rows = [(t, float(self.probs[mask, index[t]]), float(self.blind_probs[mask, index[t]])) for t in tokens]
        return sorted(rows, key=lambda r: -r[1])

    def image_gain(self, mask: int = 0) -> float:
        """Total variation distance between the distributions with and without the image (0..1)."""
        return float(0.5 * np.abs(self.probs[mask] - self.blind_probs[mask]).sum())


def _top(probs: torch.Tensor, vocab: list[str], special: set[int], k: int) -> list[tuple[str, float]]:
    order = torch.argsort(probs, descending=True).tolist()
    return [(vocab[i], float(probs[i])) for i in order if i not in special][:k]


BLIND = Intervention("blind", ("l2v.*.z",), note="every l2v head's output zeroed in every cross layer (the words "
                     "hear no region)", fns={"l2v.*.z": lambda z, _name: z * 0.0})


def _vocab(tokenizer) -> list[str]:
    vocab = tokenizer.vocab()
    out = [""] * tokenizer.vocab_size
    for piece, i in vocab.items():
        if i < len(out):
            out[i] = piece
    return out


def fill_tokens(model, tokenizer, tokens: Tokens, positions: list[int], regions, image=None, text: str = "",
                top_k: int = 5) -> Fill:
    """`fill` on ready `Tokens` and `Regions` (one forward pass of a batch of two)."""
    require_pretraining(model)
    item = Item(tokens, regions, question=text, image=image)
    batch = run(model, [Row(item), Row(item, intervention=BLIND)], meta={"masks": list(positions)})
    logits = batch.output.prediction_logits[:, positions].float()  # (2, masks, V); row 1: no image
    probs = torch.softmax(logits, -1).cpu()
    vocab = _vocab(tokenizer)
    special = {i for i in (tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id, tokenizer.unk_id,
                           tokenizer.mask_id) if i is not None}
    withi = [_top(p, vocab, special, top_k) for p in probs[0]]
    without = [_top(p, vocab, special, top_k) for p in probs[1]]
    res, blind = batch.results()
    return Fill(text, tokens, list(positions), withi, without, probs[0].numpy(), probs[1].numpy(), res, blind, vocab)


def fill(kit, image, text: str, top_k: int = 5, unknown: str = "error") -> Fill:
    """Top-``top_k`` tokens for each ``[MASK]`` in ``text``, with the image and without it.

    Args:
        kit: a `Kit` whose model has the pretraining output head.
        image: a PIL image, a path, or an (H, W, 3) uint8 array.
        text: a sentence or question with one or more ``[MASK]``.
        top_k: tokens listed per mask.
        unknown: the unknown-word rule of `Kit.ask` (``"error"`` or ``"warn"``).

    Returns:
        `Fill`.

    Example:
        >>> f = kit.fill(sample, "what color is the [MASK]?")
        >>> f.tokens.pieces[f.positions[0]], len(f.with_image[0]), f.l2v(0).shape
        ('[MASK]', 5, (4,))
    """
    img = open_image(image)
    tokens, where = masked_tokens(kit.tokenizer, text)
    check_known_words(replace(tokens, words=tuple(w for w in tokens.words if w != MASK)), text, unknown)
    return fill_tokens(kit.model, kit.tokenizer, tokens, where, kit.extract(img), img, text, top_k)
