"""Region labels: what the object and attribute heads call each region.

Shape letters: R regions, K object labels, Q attribute labels.

The heads read the vision stream's last state (after the cross layers), so the labels depend on the
text run with the image as well (LXMERT predicts masked objects beside a caption). Names:
- the embedded shapes model: the shapes world's colour x shape labels (``"red circle"``; label id
  ``COLORS.index * 3 + SHAPES.index``, `lxmert_viz.shapes.data.object_label`); it has no attribute
  head, and its scene row (row 0) never had a label in training, so its prediction means nothing;
- a Visual Genome checkpoint (1600 objects, 400 attributes): the names in the user's
  ``objects_vocab.txt`` / ``attributes_vocab.txt`` (`lxmert_viz.features.vg_labels`; nothing is
  downloaded), else ``obj123`` / ``attr45``;
- anything else: ``obj123`` / ``attr45``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..features.vg_labels import load_vg_labels
from ..inputs.image import open_image
from ..inputs.item import Item
from ..inputs.regions import Regions
from ..printing import Card, Printable
from ..run import run
from ..shapes.data import NUM_OBJECT_LABELS, object_label
from ..shapes.visual_input import shapes_regions
from ..shapes.world import COLORS, SHAPES
from .masked_words import require_pretraining


@dataclass(frozen=True)
class LabelNames:
    """Display names of the object and attribute labels, and where they came from."""

    objects: tuple[str, ...]
    attributes: tuple[str, ...]
    source: str
    scene_row: int | None = None  # a row whose label was never trained (the shapes world's scene row)


def shapes_label_names() -> LabelNames:
    """The shapes world's 24 object labels (colour x shape) in the order of `object_label`."""
    names = [""] * NUM_OBJECT_LABELS
    for c in COLORS:
        for s in SHAPES:
            names[object_label(c, s)] = f"{c} {s}"
    return LabelNames(tuple(names), (), "shapes world (colour x shape)", scene_row=0)


def label_names(kit, vg_vocab: str | Path | None = None) -> LabelNames:
    """The label names that fit ``kit``'s model and region extractor (see the module docstring)."""
    cfg = kit.model.config
    if kit.extractor is shapes_regions and cfg.num_object_labels == NUM_OBJECT_LABELS:
        return shapes_label_names()
    if cfg.num_object_labels == 1600:
        vg = load_vg_labels(vg_vocab, cfg.num_object_labels, cfg.num_attr_labels)
        src = f"Visual Genome vocabulary files in {vg.source}" if vg.source else (
            "no Visual Genome vocabulary files found: generic names (see lxmert_viz.features.vg_labels)")
        return LabelNames(vg.objects, vg.attributes, src)
    return LabelNames(tuple(f"obj{i}" for i in range(cfg.num_object_labels)),
                      tuple(f"attr{i}" for i in range(cfg.num_attr_labels)), "generic names")


@dataclass(repr=False)
class RegionLabels(Printable):
    """What `region_labels` returns.

    Attributes:
        regions: the image's real `Regions`; text: the text run with it.
        objects: per region ``[(name, probability), ...]`` best first (object head).
        attributes: the same from the attribute head, or None when the model has none.
        object_probs: (R, K) softmax of the object head; attribute_probs (R, Q) or None.
        names: the `LabelNames` used; image: the image, when there is one.
    """

    regions: Regions
    text: str
    objects: list[list[tuple[str, float]]]
    attributes: list[list[tuple[str, float]]] | None
    object_probs: np.ndarray
    attribute_probs: np.ndarray | None
    names: LabelNames
    image: Any = None

    def _card(self) -> Card:
        rows = [(f"region {i}", self.label(i)) for i in range(min(len(self.objects), 10))]
        return Card(f"RegionLabels: {len(self.objects)} regions (names: {self.names.source})", rows,
                    "labels.objects / .attributes for the top-k lists, labels.top(), labels.object_probs")

    def label(self, i: int) -> str:
        """``"red circle 0.98"`` (with the best attribute first when there is an attribute head)."""
        name, p = self.objects[i][0]
        if self.attributes:
            name = f"{self.attributes[i][0][0]} {name}"
        if self.names.scene_row == i:
            return f"{name} {p:.2f} (untrained row)"
        return f"{name} {p:.2f}"

    def top(self) -> list[str]:
        """The best object name per region."""
        return [objs[0][0] for objs in self.objects]


def _top(probs: np.ndarray, names: tuple[str, ...], k: int) -> list[list[tuple[str, float]]]:
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    lookup = lambda j: names[j] if j < len(names) else f"#{j}"  # noqa: E731
    return [[(lookup(j), float(row[j])) for j in idx] for row, idx in zip(probs, order)]


def labels_for(model, tokens, regions: Regions, names: LabelNames, text: str = "", top_k: int = 3,
               image=None) -> RegionLabels:
    """`region_labels` on ready `Tokens` and `Regions`."""
    require_pretraining(model)
    if not hasattr(model, "obj_predict_head") or "obj" not in model.obj_predict_head.decoder_dict:
        raise InputError("this model has no object head (obj_predict_head.decoder_dict.obj): its config has "
                         "task_obj_predict or visual_obj_loss off")
    regions = regions.real()
    preds = run(model, [Item(tokens, regions, question=text, image=image)], maps=False).output.obj_predictions
    obj = torch.softmax(preds["obj"][0].float(), -1).cpu().numpy()  # (R, K)
    attr = torch.softmax(preds["attr"][0].float(), -1).cpu().numpy() if "attr" in preds else None
    return RegionLabels(regions, text, _top(obj, names.objects, top_k),
                        None if attr is None else _top(attr, names.attributes, top_k), obj, attr, names, image)


def region_labels(kit, image, text: str = "what is in the image?", top_k: int = 3,
                  vg_vocab: str | Path | None = None) -> RegionLabels:
    """Object (and attribute) labels with probabilities for every region of ``image``.

    Args:
        kit: a `Kit` whose model has the pretraining output head with an object head.
        image: a PIL image, a path, or an (H, W, 3) uint8 array.
        text: run beside the image (the heads read the vision stream after the cross layers).
        top_k: labels listed per region.
        vg_vocab: a folder with the Visual Genome vocabulary files (real checkpoints).

    Returns:
        `RegionLabels`.

    Example:
        >>> labels = kit.region_labels(sample)
        >>> labels.top()[1:]
        ['black circle', 'teal triangle', 'red rectangle']
    """
    img = open_image(image)
    return labels_for(kit.model, kit.tokenizer(text), kit.extract(img), label_names(kit, vg_vocab), text, top_k, img)
