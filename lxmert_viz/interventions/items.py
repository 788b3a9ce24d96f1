"""One question about one image, from whatever the caller has: an `Example` or ``(image, question)``.

Shape letters: B batch rows, T tokens, R regions.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..inputs.model_inputs import model_inputs
from ..inputs.regions import Regions
from ..inputs.text import Tokens


@dataclass
class Item:
    """Tokens and regions of one question, with the image, question text and gold answer when known."""

    tokens: Tokens
    regions: Regions
    image: Any = None
    question: str = ""
    gold: int | None = None


def as_item(kit, item) -> Item:
    """An `Item` from an `lxmert_viz.explain.examples.Example`, ``(image, question)`` or
    ``(image, question, answer)`` (the answer's name, looked up in ``kit.answers``)."""
    from ..explain.examples import Example
    from ..inputs.image import open_image
    from ..inputs.words import check_known_words

    if isinstance(item, Item):
        return item
    if isinstance(item, Example):
        q = (item.meta or {}).get("question", " ".join(item.tokens.words))
        return Item(item.tokens, item.regions.real(), None, q, item.gold)
    if isinstance(item, (tuple, list)) and len(item) in (2, 3) and isinstance(item[1], str):
        img = open_image(item[0])
        gold = kit.answers.index(str(item[2])) if len(item) == 3 else None
        tokens = kit.tokenizer(item[1])
        check_known_words(tokens, item[1], "error")  # the rule of Kit.ask
        return Item(tokens, kit.extract(img), img, item[1], gold)
    raise TypeError(f"expected an Example, (image, question) or (image, question, answer), got "
                    f"{type(item).__name__}")


def item_inputs(model, item: Item, rows: int = 1) -> dict:
    """The model keyword arguments of ``item``, repeated over ``rows`` batch rows (views, no copy)."""
    kw = model_inputs(item.tokens, item.regions, model.dtype, model.device)
    return {k: v.expand(rows, *v.shape[1:]) for k, v in kw.items()}
