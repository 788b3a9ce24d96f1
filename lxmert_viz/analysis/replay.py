"""Open the example behind a record again: its image and a fresh `Result` (every map), for the
few examples a summary points at (the best and worst of a head)."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..inputs.image import open_image
from ..inputs.item import Item
from ..model.families import KEY_STREAM, QUERY_STREAM
from ..run import run
from .example import FeatureRef, SceneImage, open_image_source


def record_image(record: dict):
    """The record's PIL image (a file or a regenerated shapes scene), or None for features only."""
    src = record.get("image")
    if not src:
        return None
    img = open_image_source(src)
    if isinstance(img, SceneImage):
        return img.load()
    return open_image(img)


def result_for_record(kit, record: dict, top_k: int = 5):
    """Run ``kit`` again on a record's question and image (or features): a full `Result`.

    The regions are the same as in the run when the kit's extractor is deterministic (the shapes
    extractor is) or the example came with feature files.

    Example:
        >>> rec = {"question": "what color is the circle?", "image": "shapes-scene:2000000:128"}
        >>> result_for_record(kit, rec).answer
        'black'
    """
    image = record_image(record)
    if image is not None:
        return kit.ask(image, record["question"], top_k=top_k)
    if not record.get("features"):
        raise InputError(f"record {record.get('id')!r} names neither an image nor a feature file")
    regions = FeatureRef.parse(record["features"]).load().real()
    item = Item(kit.tokenizer(record["question"]), regions, question=record["question"])
    return run(kit.model, [item], kit.answers, top_k).result(0)


def cell_weights(result, record: dict, family: str, layer: int, head: int | str) -> dict:
    """What one (family, layer, head) did on one example, for drawing it on the image.

    The query is the naming token when the family's queries are tokens and the record has a
    referent; otherwise the weights are averaged over the family's queries.

    Returns:
        ``{"regions": (R,) weights or None, "tokens": (T,) weights or None, "query": label}``:
        region weights when the family's keys are regions, token weights when they are tokens.
    """
    a = result.attn(family, layer, head)  # (Q, K)
    tt = int(record.get("referent_token", -1))
    if QUERY_STREAM[family] == "lang" and 0 <= tt < a.shape[0]:
        w, query = a[tt], f"{result.tokens.pieces[tt]!r}"
    else:
        w, query = a.mean(0), "mean over queries"
    w = np.asarray(w, dtype=np.float64)
    keys_are_regions = KEY_STREAM[family] == "vis"
    return {"regions": w if keys_are_regions else None, "tokens": None if keys_are_regions else w, "query": query}
