"""Results and a fake kit for the viz tests, from the tiny random LXMERT (no trained model needed).

Shape letters: T tokens, R regions (4 real + 1 padding here), F = 16 feature size of the tiny config.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw

from lxmert_viz import Answers, Lxmert, LxmertConfig, Regions, Result, Tokens

ANSWERS = Answers(["yes", "no", "red", "blue", "green", "circle", "square"])  # tiny: 7 QA labels
IMAGE_SIZE = (96, 64)  # (width, height)
BOXES = [(4, 6, 30, 30), (40, 4, 70, 28), (10, 36, 50, 60), (60, 34, 92, 62), (0, 0, 1, 1)]
LABELS = ("red square", "blue circle", "green rectangle", "gray triangle", "pad")


def make_image(seed: int = 0) -> Image.Image:
    """A 96x64 white image with four coloured shapes at `BOXES`."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", IMAGE_SIZE, "white")
    d = ImageDraw.Draw(im)
    for box in BOXES[:4]:
        d.rectangle(box, fill=tuple(int(v) for v in rng.integers(0, 200, 3)))
    return im


def make_regions(seed: int = 0, labels: bool = True) -> Regions:
    """Four real regions plus one padding row; features seeded so that images differ by seed."""
    rng = np.random.default_rng(seed)
    feats = rng.standard_normal((len(BOXES), 16)).astype(np.float32)
    return Regions(np.array(BOXES, dtype=np.float32), feats, IMAGE_SIZE, LABELS if labels else None, num_real=4)


def make_tokens(question: str) -> Tokens:
    """``[CLS] words [SEP]`` with ids from the letters (all < 99, as the tiny vocabulary needs)."""
    words = tuple(question.lower().replace("?", " ?").split())
    if not words:
        raise ValueError("the question is empty")
    ids = (2,) + tuple(5 + sum(map(ord, w)) % 90 for w in words) + (3,)
    return Tokens(ids, ("[CLS]",) + words + ("[SEP]",), (None,) + tuple(range(len(words))) + (None,), words)


def make_model(seed: int = 0) -> Lxmert:
    """Tiny random LXMERT with a QA head; a wide init so that attention is far from uniform."""
    torch.manual_seed(seed)
    return Lxmert(LxmertConfig.tiny(initializer_range=0.6), output_heads=("qa",)).eval()


def _run(model, tokens: Tokens, regions: Regions, vision=None):
    ids = torch.tensor([tokens.ids])
    with torch.no_grad():
        if vision is None:
            return model(input_ids=ids, visual_feats=torch.from_numpy(regions.feats)[None],
                         visual_pos=torch.from_numpy(regions.boxes_norm)[None],
                         visual_attention_mask=torch.from_numpy(regions.mask)[None])
        return model(input_ids=ids, vision=vision)


def make_result(question: str = "what color is the circle ?", seed: int = 0, image: bool = True,
                labels: bool = True, model: Lxmert | None = None) -> Result:
    model = model or make_model(seed)
    tokens, regions = make_tokens(question), make_regions(seed, labels)
    out = _run(model, tokens, regions)
    return Result.from_output(out, 0, question, tokens, regions, image=make_image(seed) if image else None,
                              answers=ANSWERS.top_k(out.question_answering_score[0]))


class FakeKit:
    """Anything with ``ask(image, question) -> Result``: the tiny model, regions fixed per image.

    The image side is encoded once per image (like the real kit's cache), so a new question on the
    same image runs only the language and cross layers.
    """

    def __init__(self, seed: int = 0):
        self.model = make_model(seed)
        self._cache: dict[int, tuple] = {}
        self.calls = 0

    def _image_side(self, image):
        key = id(image)
        if key not in self._cache:
            regions = make_regions(seed=len(self._cache))
            with torch.no_grad():
                vision = self.model.encode_image(torch.from_numpy(regions.feats)[None],
                                                 torch.from_numpy(regions.boxes_norm)[None],
                                                 torch.from_numpy(regions.mask)[None])
            self._cache[key] = (image, regions, vision)
        return self._cache[key][1:]

    def ask(self, image, question: str, top_k: int = 5) -> Result:
        self.calls += 1
        regions, vision = self._image_side(image)
        tokens = make_tokens(question)
        out = _run(self.model, tokens, regions, vision)
        return Result.from_output(out, 0, question, tokens, regions, image=image,
                                  answers=ANSWERS.top_k(out.question_answering_score[0], k=top_k))


def samples(n: int = 2) -> list[tuple[str, Image.Image]]:
    return [(f"scene {i}", make_image(i)) for i in range(n)]


def record_front_end_messages(fig) -> list[dict]:
    """Record the restyle data a FigureWidget sends to the browser (restyle and update messages)."""
    sent: list[dict] = []
    restyle, update = fig._send_restyle_msg, fig._send_update_msg

    def on_restyle(restyle_data, trace_indexes=None, source_view_id=None):
        sent.append(dict(restyle_data))
        return restyle(restyle_data, trace_indexes=trace_indexes, source_view_id=source_view_id)

    def on_update(restyle_data, relayout_data, trace_indexes=None, source_view_id=None):
        sent.append(dict(restyle_data))
        return update(restyle_data, relayout_data, trace_indexes=trace_indexes, source_view_id=source_view_id)

    fig._send_restyle_msg, fig._send_update_msg = on_restyle, on_update
    return sent


def padded_properties(sent: list[dict]) -> list[str]:
    """Trace properties sent as a per-trace list with an undefined entry (the browser reads null)."""
    from plotly.basedatatypes import Undefined

    return sorted({k for msg in sent for k, v in msg.items()
                   if isinstance(v, (list, tuple)) and any(x is Undefined for x in v)})


def ranks(x) -> np.ndarray:
    """The rank of each value (0 = smallest): equal ranks mean the same order."""
    return np.argsort(np.argsort(np.asarray(x)))


def non_finite(obj, path: str = "") -> list[str]:
    """Paths of every NaN or infinite number in a nested JSON-like object (what plotly sends)."""
    import math

    out: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += non_finite(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out += non_finite(v, f"{path}[{i}]")
    elif isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc" and not np.isfinite(obj).all():
            out.append(path)
        elif obj.dtype == object:
            out += non_finite(list(obj), path)
    elif isinstance(obj, (float, np.floating)) and not math.isfinite(float(obj)):
        out.append(path)
    return out
