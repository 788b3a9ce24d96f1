"""What LXMERT's pretraining output heads say: masked words, image-text matching, region labels.

- `fill` (``kit.fill``): the top tokens for each ``[MASK]``, with the image and without it;
- `match` (``kit.match``): the probability that a sentence matches the image, for a list at once;
- `region_labels` (``kit.region_labels``): object (and attribute) labels for every region.

Each needs a model with the ``pretraining`` output head (the embedded model has one).
"""
from .masked_words import MASK, Fill, fill, fill_tokens, masked_tokens, require_pretraining
from .matching import MATCHED, Matching, match
from .region_labels import LabelNames, RegionLabels, label_names, labels_for, region_labels, shapes_label_names

__all__ = ["MASK", "MATCHED", "Fill", "LabelNames", "Matching", "RegionLabels", "fill", "fill_tokens",
           "label_names", "labels_for", "masked_tokens", "match", "region_labels", "require_pretraining",
           "shapes_label_names"]
