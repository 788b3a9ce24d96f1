"""One question about one image, from whatever the caller has: an `Item`, or ``(image, question)``
/ ``(image, question, answer)``.

Shape letters: T tokens, R regions.
"""
from __future__ import annotations

from dataclasses import replace

from ..errors import InputTypeError
from ..inputs.image import open_image
from ..inputs.item import Item
from ..inputs.words import check_known_words


def as_item(kit, item) -> Item:
    """An `Item` from an `Item` (its regions cut to the real rows), ``(image, question)`` or
    ``(image, question, answer)`` (the answer's name, looked up in ``kit.answers``)."""
    if isinstance(item, Item):
        question = item.question or item.meta.get("question", " ".join(item.tokens.words))
        return replace(item, regions=item.regions.real(), question=question)
    if isinstance(item, (tuple, list)) and len(item) in (2, 3) and isinstance(item[1], str):
        img = open_image(item[0])
        gold = kit.answers.index(str(item[2])) if len(item) == 3 else -1
        tokens = kit.tokenizer(item[1])
        check_known_words(tokens, item[1], "error")  # the rule of Kit.ask
        return Item(tokens, kit.extract(img), gold, question=item[1], image=img)
    raise InputTypeError(f"expected an Item, (image, question) or (image, question, answer), got "
                         f"{type(item).__name__}")
