"""Region features from real photos: the Visual Genome Faster R-CNN (``unc-nlp/frcnn-vg-finetuned``).

Computation only (torch, numpy, PIL). Entry points:

>>> ex = FasterRCNNExtractor.from_pretrained("path/to/frcnn-vg-finetuned")  # doctest: +SKIP
>>> ex = FasterRCNNExtractor.random(FRCNNConfig.tiny())     # offline: the same network, tiny and random
>>> regions = ex.extract([np.zeros((60, 80, 3), np.uint8)], num_regions=5)
>>> regions[0].feats.shape
(5, 128)
>>> cached = CachedExtractor(ex, tmp / "cache")             # same call, each image extracted once
"""
from .batch import FolderReport, extract_folder
from .cache import CachedExtractor, FeatureCache
from .detector import FasterRCNN, build_random_state_dict, load_strict, random_checkpoint, read_state_dict
from .extractor import FasterRCNNExtractor, to_regions
from .frcnn_config import FRCNNConfig
from .npz import load_npz, save_npz
from .preprocess import ImageBatch, load_image, preprocess
from .selection import SelectionSettings
from .tsv import read_tsv, write_tsv
from .vg_labels import VGLabels, download_vg_vocab, load_vg_labels

__all__ = [
    "CachedExtractor", "FRCNNConfig", "FasterRCNN", "FasterRCNNExtractor", "FeatureCache", "FolderReport",
    "ImageBatch",
    "SelectionSettings", "VGLabels", "build_random_state_dict", "download_vg_vocab", "extract_folder",
    "load_image", "load_npz", "load_strict", "load_vg_labels", "preprocess", "random_checkpoint",
    "read_state_dict", "read_tsv", "save_npz", "to_regions", "write_tsv",
]
