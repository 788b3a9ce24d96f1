"""The kit: model + tokenizer + answers + region extractor, and `ask(image, question)`.

Shape letters: B questions, T tokens, R regions.

An image's regions and its vision side (relationship encoder) are computed once and kept in a small
cache keyed by the image's pixels, so a second question on the same image runs only the language
and cross-modality layers.
"""
from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .answers import Answers
from .model import Lxmert
from .regions import Regions
from .result import Result
from .text import Tokenizer

ImageLike = "PIL.Image.Image | str | Path | np.ndarray"


def open_image(image) -> "PIL.Image.Image":
    """A PIL RGB image from a PIL image, a path or an (H, W[, C]) uint8 array; clear errors otherwise."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise FileNotFoundError(f"no image file at {path}")
        try:
            with Image.open(path) as im:
                im.load()
                return _to_rgb(im)
        except UnidentifiedImageError:
            raise ValueError(f"{path} is not an image PIL can read") from None
    if isinstance(image, Image.Image):
        return _to_rgb(image)
    if isinstance(image, np.ndarray):
        arr = image
        if arr.dtype != np.uint8:
            if arr.dtype.kind == "f" and arr.size and arr.max() <= 1.0:
                arr = (arr * 255).round()
            arr = np.clip(arr, 0, 255).astype(np.uint8)
        if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4)):
            return _to_rgb(Image.fromarray(arr))
        raise ValueError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}")
    raise TypeError(f"expected a PIL image, a path or a numpy array, got {type(image).__name__}")


def _to_rgb(im):
    from PIL import Image

    if im.mode == "RGB":
        return im.copy()
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")


def image_key(image) -> str:
    """Content hash of an RGB PIL image (pixels and size)."""
    h = hashlib.sha1(np.asarray(image).tobytes())
    h.update(repr(image.size).encode())
    return h.hexdigest()


class Kit:
    """Everything needed to ask a question about an image.

    Args:
        model: an `Lxmert` with a QA head.
        tokenizer: its `Tokenizer`.
        answers: its `Answers`.
        extractor: image (PIL RGB) -> `Regions`.
        name: what to call it in reprs and figures.
        cache_size: how many images' regions and vision states to keep.

    Example:
        >>> kit = lxmert_viz.load()                                   # doctest: +SKIP
        >>> kit.ask("assets/samples/scene_00.png", "what color is the circle?").answers[0]  # doctest: +SKIP
        ('red', 0.99...)
    """

    def __init__(self, model: Lxmert, tokenizer: Tokenizer, answers: Answers,
                 extractor: Callable[..., Regions], name: str = "kit", cache_size: int = 16):
        if "qa" not in model.heads:
            raise ValueError("the kit needs a model with a QA head (answer_head)")
        if len(answers) != model.config.num_qa_labels:
            raise ValueError(f"{len(answers)} answers for a model with {model.config.num_qa_labels} answer logits")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.answers = answers
        self.extractor = extractor
        self.name = name
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[Regions, object]] = OrderedDict()
        self.stats = {"hits": 0, "misses": 0}

    def __repr__(self) -> str:
        c = self.model.config
        return (f"Kit({self.name!r}: {c.l_layers}/{c.r_layers}/{c.x_layers} layers, hidden {c.hidden_size}, "
                f"{len(self.answers)} answers)")

    # -- image side ----------------------------------------------------------------------------
    def extract(self, image) -> Regions:
        """The image's regions (cached by pixel content)."""
        return self._image_side(open_image(image))[1]

    def _image_side(self, img):
        key = image_key(img)
        if key in self._cache:
            self._cache.move_to_end(key)
            self.stats["hits"] += 1
            regions, vision = self._cache[key]
            return key, regions, vision
        self.stats["misses"] += 1
        regions = self.extractor(img)
        feats, pos, mask = self.region_tensors(regions)
        with torch.inference_mode():
            vision = self.model.encode_image(feats, pos, mask)
        self._cache[key] = (regions, vision)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return key, regions, vision

    def region_tensors(self, regions: Regions):
        """(1, R, F) feats, (1, R, 4) boxes and (1, R) mask for the model; padding only when no region is real."""
        n = regions.num_real if regions.num_real > 0 else len(regions)
        if n == 0:
            raise ValueError("the extractor found no regions and gave no padding rows to attend to")
        dev, dt = self.model.device, self.model.dtype
        feats = torch.as_tensor(regions.feats[:n], dtype=dt, device=dev)[None]
        pos = torch.as_tensor(regions.boxes_norm[:n], dtype=dt, device=dev)[None]
        mask = torch.as_tensor(regions.mask[:n], dtype=dt, device=dev)[None]
        return feats, pos, (None if regions.num_real == n else mask)

    def clear_cache(self) -> None:
        self._cache.clear()

    # -- questions -----------------------------------------------------------------------------
    def ask(self, image, question: str, top_k: int = 5) -> Result:
        """Answer ``question`` about ``image`` and keep every state and map.

        Args:
            image: a PIL image, a path, or an (H, W, 3) uint8 array.
            question: the question text.
            top_k: how many answers to keep in ``result.answers``.

        Returns:
            `Result` with ``answers`` as ``[(answer, probability), ...]``, best first.
        """
        return self.ask_many(image, [question], top_k)[0]

    def ask_many(self, image, questions: list[str], top_k: int = 5) -> list[Result]:
        """Several questions about one image, in one batch."""
        if isinstance(questions, str):
            raise TypeError("ask_many takes a list of questions; use ask() for one")
        t0 = time.perf_counter()
        img = open_image(image)
        _, regions, vision = self._image_side(img)
        toks, batch = self.tokenizer.batch(list(questions))
        dev = self.model.device
        with torch.inference_mode():
            out = self.model(input_ids=batch["input_ids"].to(dev), attention_mask=batch["attention_mask"].to(dev),
                             vision=vision)
        results = []
        for i, (q, tk) in enumerate(zip(questions, toks)):
            answers = self.answers.top_k(out.question_answering_score[i], top_k)
            results.append(Result.from_output(out, i, q, tk, regions, image=img, answers=answers,
                                              meta={"kit": self.name, "seconds": time.perf_counter() - t0}))
        return results


def load_shapes(directory: str | Path | None = None, device: str = "cpu") -> Kit:
    """The embedded shapes-world kit (offline): tiny LXMERT, its vocabulary, answers and extractor."""
    from .assets import shapes_model_dir
    from .loading import from_pretrained
    from .shapes.regions import shapes_regions

    d = Path(directory) if directory is not None else shapes_model_dir()
    model = from_pretrained(d, device=device)
    tokenizer = Tokenizer.from_pretrained(d)
    answers = Answers.from_file(d / "answers.json")
    return Kit(model, tokenizer, answers, shapes_regions, name="shapes")


def load(name: str | Path | None = None, **kwargs) -> Kit:
    """A ready kit.

    Args:
        name: None for the embedded shapes-world model; otherwise a checkpoint directory or hub id
            (see `lxmert_viz.realworld.load_real`), paired with the Visual Genome Faster R-CNN.

    Example:
        >>> kit = lxmert_viz.load()   # doctest: +SKIP
    """
    if name is None or str(name) == "shapes":
        return load_shapes(**kwargs)
    from .realworld import load_real

    return load_real(name, **kwargs)
