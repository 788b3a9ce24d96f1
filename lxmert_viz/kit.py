"""The kit: model + tokenizer + answers + region extractor, and `ask(image, question)`.

Shape letters: B questions, T tokens, R regions.

Two kits, side by side: `load_shapes` (the embedded shapes-world model, offline) and `load_real`
(a `transformers` LXMERT checkpoint paired with the Visual Genome Faster R-CNN, whose region
features go through a content-keyed cache so the same photo is never extracted twice).

An image's regions and its vision side (relationship encoder) are computed once and kept in a small
cache keyed by the image's pixels, so a second question on the same image runs only the language
and cross-modality layers.
"""
from __future__ import annotations

import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import torch

from .assets import shapes_model_dir
from .errors import InputError, InputTypeError, QuestionError, QuestionTypeError, UnknownWordsError
from .features import CachedExtractor, FasterRCNNExtractor
from .inputs.answers import Answers, check_scoring, check_top_k
from .inputs.image import image_key, open_image
from .inputs.item import Item
from .inputs.regions import Regions
from .inputs.text import Tokenizer
from .inputs.words import UNKNOWN_POLICIES, check_known_words
from .interventions import ask_ablated, patch, patch_sweep, rank_heads
from .model.families import FAMILIES
from .model.lxmert import Lxmert
from .model.pretrained import from_pretrained, load_answers, load_tokenizer
from .output_heads import fill, match, region_labels
from .printing import Card, listing
from .result import Result
from .run import image_side, run
from .shapes.question_forms import check_question_form
from .shapes.visual_input import shapes_regions

ImageLike = "PIL.Image.Image | str | Path | np.ndarray"


class Kit:
    """Everything needed to ask a question about an image.

    Args:
        model: an `Lxmert` with a QA head.
        tokenizer: its `Tokenizer`.
        answers: its `Answers`.
        extractor: image (PIL RGB) -> `Regions`.
        name: what to call it in reprs and figures.
        cache_size: how many images' regions and vision states to keep.
        scoring: how answer logits become scores (``"softmax"`` or ``"sigmoid"``); default: the
            model's ``config.answer_scoring`` when it says, else ``answers.scoring``.
        question_forms: question -> a check with ``.notice()`` (None when the question is of a
            form the model knows); `load_shapes` gives `check_question_form`, so a question outside
            the shapes world's forms comes back with ``result.notice``.

    Example:
        >>> kit = lxmert_viz.load()
        >>> kit.ask(sample, "what color is the circle?").answer      # sample: assets/samples/scene_00.png
        'black'
    """

    def __init__(self, model: Lxmert, tokenizer: Tokenizer, answers: Answers,
                 extractor: Callable[..., Regions], name: str = "kit", cache_size: int = 16,
                 scoring: str | None = None, question_forms: Callable | None = None):
        for what, obj, cls in (("model", model, Lxmert), ("tokenizer", tokenizer, Tokenizer), ("answers", answers, Answers)):
            if not isinstance(obj, cls):
                raise InputTypeError(f"{what} must be a {cls.__name__}, got {type(obj).__name__}")
        if not callable(extractor):
            raise InputTypeError(f"extractor must be callable (image -> Regions), got {type(extractor).__name__}")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise InputError(f"cache_size must be a positive integer, got {cache_size!r}")
        if "qa" not in model.output_heads:
            raise InputError("the kit needs a model with a QA head (answer_head)")
        if len(answers) != model.config.num_qa_labels:
            raise InputError(f"{len(answers)} answers for a model with {model.config.num_qa_labels} answer logits")
        scoring = scoring if scoring is not None else model.config.answer_scoring
        if scoring is not None and check_scoring(scoring) != answers.scoring:
            answers = answers.with_scoring(scoring)  # a new Answers: the caller's is left as it is
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.answers = answers
        self.extractor = extractor
        self.name = name
        self.question_forms = question_forms
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[Regions, object]] = OrderedDict()
        self.stats = {"hits": 0, "misses": 0}

    def __repr__(self) -> str:
        c = self.model.config
        return (f"Kit({self.name!r}: {c.l_layers}/{c.r_layers}/{c.x_layers} layers, hidden {c.hidden_size}, "
                f"{len(self.answers)} answers)")

    def _repr_html_(self) -> str:
        c = self.model.config
        return Card(repr(self), [("layers (lang / vis / cross)", f"{c.l_layers} / {c.r_layers} / {c.x_layers}"),
                                 ("heads", c.num_attention_heads), ("output heads", listing(self.model.output_heads)),
                                 ("answers", listing(self.answers.names, 8)), ("scoring", self.scoring),
                                 ("images cached", len(self._cache))],
                    "kit.ask(image, question), kit.fill / match / region_labels, kit.ask_ablated / patch").html()

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
        if not isinstance(regions, Regions):
            raise InputTypeError(f"the kit's extractor returned {type(regions).__name__}, not Regions")
        with torch.inference_mode():
            vision = image_side(self.model, [regions])
        self._cache[key] = (regions, vision)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return key, regions, vision

    def clear_cache(self) -> None:
        self._cache.clear()

    # -- questions -----------------------------------------------------------------------------
    @property
    def scoring(self) -> str:
        """``"softmax"`` (answers get probabilities) or ``"sigmoid"`` (per-answer scores)."""
        return self.answers.scoring

    def ask(self, image, question: str, top_k: int = 5, unknown: str = "error") -> Result:
        """Answer ``question`` about ``image`` and keep every state and map.

        Args:
            image: a path, bytes, a PIL image or an array (`lxmert_viz.inputs.image.open_image`).
            question: the question text.
            top_k: how many answers to keep in ``result.answers`` (>= 1; more than the answer
                vocabulary gives all).
            unknown: a question with unknown words and no known content word
                (`lxmert_viz.inputs.words`): ``"error"`` refuses it (`UnknownWordsError`),
                ``"warn"`` answers it with an `UnknownWordsWarning`.

        Returns:
            `Result` with ``answers`` as ``[(answer, score), ...]``, best first: softmax
            probabilities or sigmoid scores by the checkpoint (``result.score_label`` says which).
        """
        return self.ask_many(image, [question], top_k, unknown)[0]

    def ask_many(self, image, questions: list[str], top_k: int = 5, unknown: str = "error") -> list[Result]:
        """Several questions about one image, in one batch (arguments as `ask`)."""
        if isinstance(questions, str):
            raise QuestionTypeError("ask_many takes a list of questions; use ask() for one")
        if not hasattr(questions, "__iter__"):
            raise QuestionTypeError(f"questions must be a list of strings, got {type(questions).__name__}")
        questions = list(questions)
        if not questions:
            raise QuestionError("ask_many got no questions: give a list of at least one")
        check_top_k(top_k)
        if unknown not in UNKNOWN_POLICIES:
            raise InputError(f"unknown must be one of {UNKNOWN_POLICIES}, got {unknown!r}")
        toks, _ = self.tokenizer.batch(questions)  # questions first: a bad one costs no image work
        for i, (q, tk) in enumerate(zip(questions, toks)):
            try:
                check_known_words(tk, q, unknown)
            except UnknownWordsError as err:
                if len(questions) == 1:
                    raise
                raise UnknownWordsError(f"question {i}: {err}", err.words) from None
        t0 = time.perf_counter()
        img = open_image(image)
        _, regions, vision = self._image_side(img)
        items = [Item(tk, regions, question=q, image=img) for q, tk in zip(questions, toks)]
        results = run(self.model, items, self.answers, top_k, vision=vision, meta={"kit": self.name},
                      pad_id=self.tokenizer.pad_id).results()
        for r in results:
            r.meta["seconds"] = time.perf_counter() - t0
            if self.question_forms is not None:
                r.notice = self.question_forms(r.question).notice()
        return results

    # -- the pretraining output heads (lxmert_viz.output_heads) ------------------------------------
    def fill(self, image, text: str, top_k: int = 5, unknown: str = "error"):
        """Top tokens for each ``[MASK]`` in ``text``, with the image and without it; see
        `lxmert_viz.output_heads.fill` (returns a `Fill`)."""
        return fill(self, image, text, top_k, unknown)

    def match(self, image, sentences, unknown: str = "error"):
        """Probability that each sentence matches the image; see `lxmert_viz.output_heads.match`."""
        return match(self, image, sentences, unknown)

    def region_labels(self, image, text: str = "what is in the image?", top_k: int = 3, vg_vocab=None):
        """Object (and attribute) labels of every region; see `lxmert_viz.output_heads.region_labels`."""
        return region_labels(self, image, text, top_k, vg_vocab)

    # -- interventions (lxmert_viz.interventions, built on lxmert_viz.model.hooks) ----------------
    def ask_ablated(self, image, question: str, heads, top_k: int = 5, unknown: str = "error"):
        """Ask with attention heads removed; see `lxmert_viz.interventions.ask_ablated`."""
        return ask_ablated(self, image, question, heads, top_k, unknown)

    def rank_heads(self, items, families=None, batch_size: int = 128, limit: int | None = None):
        """Rank heads by how much removing each changes the answer; see
        `lxmert_viz.interventions.rank_heads`."""
        return rank_heads(self, items, FAMILIES if families is None else families, batch_size, limit)

    def patch(self, source, target, site: str, positions=None, heads=None, top_k: int = 5):
        """Run ``target`` with one activation from ``source``; see `lxmert_viz.interventions.patch`."""
        return patch(self, source, target, site, positions, heads, top_k)

    def patch_sweep(self, source, target, streams=("lang", "vis"), positions=None, per_position: bool = False):
        """Patch every hidden state of each stream; see `lxmert_viz.interventions.patch_sweep`."""
        return patch_sweep(self, source, target, streams, positions, per_position)


def load_shapes(directory: str | Path | None = None, device: str = "cpu", model: str = "shapes") -> Kit:
    """An embedded shapes-world kit (offline): tiny LXMERT, its vocabulary, answers and extractor.

    Args:
        directory: a model folder; default: the shipped ``model``.
        model: ``"shapes"`` (trained with the word-referent objective) or ``"shapes-plain"`` (the
            control, trained without it).
    """
    d = Path(directory) if directory is not None else shapes_model_dir(model)
    net = from_pretrained(d, device=device)
    tokenizer = Tokenizer.from_pretrained(d)
    answers = Answers.from_file(d / "answers.json")
    return Kit(net, tokenizer, answers, shapes_regions, name=model, question_forms=check_question_form)


DEFAULT_FRCNN = "unc-nlp/frcnn-vg-finetuned"


class _OneImage:
    """Adapts a batch extractor to the kit's one-image call."""

    def __init__(self, extractor, num_regions: int):
        self.extractor = extractor
        self.num_regions = num_regions

    def __call__(self, image):
        return self.extractor.extract([image], num_regions=self.num_regions)[0]


def load_real(name: str | Path, frcnn: str | Path | object = DEFAULT_FRCNN, answers: str | Path | None = None,
              num_regions: int = 36, cache_dir: str | Path | None = None, device: str = "cpu") -> Kit:
    """Pair a checkpoint with the region extractor and its answer list.

    Args:
        name: checkpoint directory or hub id (needs `huggingface_hub` and a network).
        frcnn: the Faster R-CNN checkpoint (directory or hub id), or a ready extractor object with
            ``extract(images, num_regions=...)``.
        answers: an answer file; default: one in the checkpoint directory, else the config's id2label.
        num_regions: regions per image (36 is LXMERT's setting).
        cache_dir: where region features are cached (default ``~/.cache/lxmert_viz/features``).

    Returns:
        `Kit` named after the checkpoint.
    """
    model = from_pretrained(name, device=device)
    if "qa" not in model.output_heads:
        raise InputError(f"{name} has no answer head; use lxmert_viz.from_pretrained for the bare model")
    tokenizer = load_tokenizer(name)
    ans = Answers.from_file(answers) if answers is not None else load_answers(name, model.config)
    if ans is None:
        warnings.warn(f"{name} carries no answer list: answers are shown as LABEL_n (pass answers=FILE)",
                      stacklevel=2)
        ans = Answers([f"LABEL_{i}" for i in range(model.config.num_qa_labels)])
    extractor = frcnn if hasattr(frcnn, "extract") else FasterRCNNExtractor.from_pretrained(frcnn)
    feat_dim = getattr(getattr(extractor, "cfg", None), "head_dim", None)
    if feat_dim is not None and feat_dim != model.config.visual_feat_dim:
        raise InputError(f"the detector gives {feat_dim}-d region features; {name} expects "
                         f"{model.config.visual_feat_dim}")
    if isinstance(extractor, FasterRCNNExtractor):
        extractor = CachedExtractor(extractor, cache_dir)
    return Kit(model, tokenizer, ans, _OneImage(extractor, num_regions), name=Path(str(name)).name)


def load(name: str | Path | None = None, **kwargs) -> Kit:
    """A ready kit.

    Args:
        name: None or ``"shapes"`` for the embedded shapes-world model, ``"shapes-plain"`` for its
            control (trained without the word-referent objective); otherwise a checkpoint directory
            or hub id (see `load_real`), paired with the Visual Genome Faster R-CNN.

    Example:
        >>> kit = lxmert_viz.load()
        >>> kit
        Kit('shapes': 2/2/3 layers, hidden 128, 20 answers)
        >>> lxmert_viz.load("shapes-plain")   # the control model   # doctest: +SKIP
    """
    if name is None or str(name) in ("shapes", "shapes-plain"):
        return load_shapes(model=str(name or "shapes"), **kwargs)
    return load_real(name, **kwargs)
