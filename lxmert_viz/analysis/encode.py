"""From a data-set `Example` to a prepared `Item` (`lxmert_viz.inputs.item`): tokens, regions, the
gold answer's index and the referent as (token, region) indices. Regions are cached per image, so
the questions of one image read or extract it once.

Shape letters: T tokens, R regions.
"""
from __future__ import annotations

from collections import OrderedDict

from ..errors import InputError
from ..inputs.image import image_key, open_image
from ..inputs.item import Item
from ..inputs.referents import referent_region, referent_token
from ..inputs.regions import Regions
from .example import Example, FeatureRef, SceneImage
from .stats.answers import vqa_answer_scores


def _image_cache_key(image) -> str:
    if isinstance(image, SceneImage):
        return image.key
    if isinstance(image, str) or hasattr(image, "__fspath__"):
        return f"file:{image}"
    return "pixels:" + image_key(open_image(image))


class Encoder:
    """Tokenizer + answers + region extractor, with a small per-image region cache.

    Args:
        tokenizer: a `Tokenizer`.
        answers: the model's `Answers` (for the gold index); None leaves ``gold`` at -1.
        extractor: image (PIL RGB) -> `Regions`; needed only for examples given as images.
        cache_size: how many images' regions to keep (questions are usually grouped by image).

    Example:
        >>> from lxmert_viz.analysis.datasets import shapes_dataset
        >>> enc = Encoder.from_kit(kit)
        >>> e = enc(next(iter(shapes_dataset(1))))
        >>> e.tokens.pieces[e.referent_token], e.regions.labels[e.referent_region]
        ('circle', 'black circle')
    """

    def __init__(self, tokenizer, answers=None, extractor=None, cache_size: int = 64):
        self.tokenizer = tokenizer
        self.answers = answers
        self.extractor = extractor
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Regions] = OrderedDict()

    @classmethod
    def from_kit(cls, kit, cache_size: int = 64) -> Encoder:
        """The kit's tokenizer, answers and its raw extractor (a kit-like object with ``extract``
        and no ``extractor`` serves too)."""
        extractor = getattr(kit, "extractor", None) or getattr(kit, "extract", None)
        return cls(kit.tokenizer, kit.answers, extractor, cache_size)

    def regions(self, example: Example) -> Regions:
        """The example's regions: given, read from its feature file, or extracted from its image."""
        src = example.regions
        if isinstance(src, Regions):
            return src
        key = self.image_key(example)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if isinstance(src, FeatureRef):
            regions = src.load()
        else:
            if self.extractor is None:
                raise InputError(f"example {example.id!r} is an image but this encoder has no region extractor")
            image = example.image.load() if isinstance(example.image, SceneImage) else open_image(example.image)
            regions = self.extractor(image)
        self._cache[key] = regions
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return regions

    @staticmethod
    def image_key(example: Example) -> str | None:
        """What identifies the example's image (a feature source, a file, a scene, pixels); None for
        in-memory `Regions` (the object itself is the image)."""
        src = example.regions
        if isinstance(src, Regions):
            return None
        return src.key if isinstance(src, FeatureRef) else _image_cache_key(example.image)

    def gold(self, example: Example) -> int:
        if self.answers is None or example.answer is None:
            return -1
        try:
            return self.answers.index(example.answer)
        except KeyError:
            return -1

    def __call__(self, example: Example) -> Item:
        tokens = self.tokenizer(example.question)
        regions = self.regions(example)
        tt = rr = -1
        ref = example.referent
        if ref is not None:
            tt = referent_token(self.tokenizer, example.question, tokens, ref.char, ref.word)
            rr = referent_region(regions, ref.region, ref.box)
            if tt < 0 or rr < 0:
                tt = rr = -1
        return Item(tokens, regions, self.gold(example), self.gold_scores(example), example.question,
                    referent_token=tt, referent_region=rr, example=example, meta=dict(example.meta))

    def gold_scores(self, example: Example) -> dict | None:
        """``{answer index: score}``: the data set's answer scores (LXMERT's files), else each
        answer's official VQA accuracy against the annotators' answers (`vqa_answer_scores`: the
        10-choose-9 average of min(1, matches / 3) after the official normalisation)."""
        if self.answers is None:
            return None
        if example.answer_scores:
            given = example.answer_scores
        elif example.answers:
            given = vqa_answer_scores(example.answers, self.answers.names)
        else:
            return None
        return {self.answers.index(a): float(v) for a, v in given.items() if a in self.answers.names}
