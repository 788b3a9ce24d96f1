"""A kit for real photos: a `transformers` LXMERT checkpoint paired with the Visual Genome Faster R-CNN.

    kit = lxmert_viz.load("unc-nlp/lxmert-vqa-uncased")           # online, or a local copy
    kit = lxmert_viz.load("path/to/lxmert-vqa", frcnn="path/to/frcnn-vg-finetuned")

Region features come from `lxmert_viz.features.FasterRCNNExtractor` (36 regions, the original
bottom-up-attention box selection) through a content-keyed cache, so asking about the same photo
again never re-extracts.
"""
from __future__ import annotations

import warnings
from pathlib import Path

from .answers import Answers
from .kit import Kit

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
    from .features import CachedExtractor, FasterRCNNExtractor
    from .loading import from_pretrained, load_answers, load_tokenizer

    model = from_pretrained(name, device=device)
    if "qa" not in model.heads:
        raise ValueError(f"{name} has no answer head; use lxmert_viz.from_pretrained for the bare model")
    tokenizer = load_tokenizer(name)
    ans = Answers.from_file(answers) if answers is not None else load_answers(name, model.config)
    if ans is None:
        warnings.warn(f"{name} carries no answer list: answers are shown as LABEL_n (pass answers=FILE)",
                      stacklevel=2)
        ans = Answers([f"LABEL_{i}" for i in range(model.config.num_qa_labels)])
    extractor = frcnn if hasattr(frcnn, "extract") else FasterRCNNExtractor.from_pretrained(frcnn)
    feat_dim = getattr(getattr(extractor, "cfg", None), "head_dim", None)
    if feat_dim is not None and feat_dim != model.config.visual_feat_dim:
        raise ValueError(f"the detector gives {feat_dim}-d region features; {name} expects "
                         f"{model.config.visual_feat_dim}")
    if isinstance(extractor, FasterRCNNExtractor):
        extractor = CachedExtractor(extractor, cache_dir)
    return Kit(model, tokenizer, ans, _OneImage(extractor, num_regions), name=Path(str(name)).name)
