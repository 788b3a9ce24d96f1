"""FasterRCNNExtractor: images in, one :class:`~lxmert_viz.inputs.regions.Regions` per image out.

Shape letters: R regions (36 by default), D feature size (2048 for the VG checkpoint).

Wraps the detector, pre-processing, box selection and VG labels. Region rows carry, in
``Regions.extra``: ``obj_ids``, ``obj_conf``, ``attr_ids``, ``attr_conf`` (ids -1 on padding).

Defaults, and why: ``recipe="bottom_up"`` with 36 regions and ``resize="reference"``. LXMERT was
trained on features from bottom-up-attention's ``generate_tsv.py`` (per-class NMS 0.3, confidence
0.2, proposal boxes, 36 regions per image) computed on images resized with ``cv2.resize``
bilinear without antialiasing; the reference resize gives the detector the same kind of pixels.
``recipe="hf_demo"`` reproduces the transformers demo's selection instead (regressed boxes, one
class-agnostic NMS at the config's thresholds).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from ..errors import MissingFileError
from ..inputs.regions import Regions
from .detector import FasterRCNN, build_random_state_dict, load_strict, read_state_dict
from .frcnn_config import FRCNNConfig
from .preprocess import Prepared, collate, prepare
from .selection import BOTTOM_UP_BOXES, Selected, SelectionSettings, select
from .vg_labels import VGLabels, load_vg_labels


def to_regions(sel: Selected, labels: VGLabels | None = None) -> Regions:
    """Turn one :class:`Selected` into :class:`Regions` (labels from VG names when given)."""
    labels = labels or VGLabels.fallback()
    names = tuple(labels.region_label(int(o), int(a), float(c))
                  for o, a, c in zip(sel.obj_ids, sel.attr_ids, sel.attr_conf))
    return Regions(sel.boxes, sel.feats, sel.image_size, labels=names, scores=sel.obj_conf,
                   num_real=sel.num_real,
                   extra={"obj_ids": sel.obj_ids, "obj_conf": sel.obj_conf,
                          "attr_ids": sel.attr_ids, "attr_conf": sel.attr_conf})


class FasterRCNNExtractor:
    """Visual Genome Faster R-CNN region features, the way LXMERT was trained on them.

    Args:
        model: the detector (weights loaded).
        labels: VG names (fallback ``obj123`` names when ``None``).
        identity: a string naming the weights, part of the feature-cache key.

    Example:
        >>> ex = FasterRCNNExtractor.random(FRCNNConfig.tiny())
        >>> regions = ex.extract([np.zeros((60, 80, 3), np.uint8)], num_regions=5)
        >>> regions[0].feats.shape
        (5, 128)
    """

    def __init__(self, model: FasterRCNN, labels: VGLabels | None = None, identity: str = "unknown"):
        self.model = model.eval()
        self.cfg = model.cfg
        self.labels = labels or VGLabels.fallback(self.cfg.num_classes, self.cfg.num_attrs)
        self._identity = identity

    @property
    def identity(self) -> str:
        """Names the weights (and the precision when not float32); part of the feature-cache key."""
        dtype = self.model.dtype
        return self._identity if dtype == torch.float32 else f"{self._identity}-{str(dtype).split('.')[-1]}"

    @property
    def device(self) -> torch.device:
        return self.model.device

    def to(self, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> FasterRCNNExtractor:
        """Run the network on ``device`` in ``dtype`` (see :meth:`FasterRCNN.place`); returns ``self``."""
        self.model.place(device, dtype)
        return self

    @classmethod
    def from_pretrained(cls, path: str | Path, config: FRCNNConfig | None = None,
                        vocab_dir: str | Path | None = None, device: str | torch.device = "cpu",
                        dtype: torch.dtype = torch.float32, **config_overrides) -> FasterRCNNExtractor:
        """Load a local checkpoint directory (``config.yaml`` + ``pytorch_model.bin`` or safetensors).

        A hub id (``unc-nlp/frcnn-vg-finetuned``) is fetched with ``huggingface_hub`` only when the
        argument is not an existing path and the package is installed; offline it raises.

        Args:
            path: checkpoint directory or weights file, or a hub id.
            config: architecture (default: read ``config.yaml`` when present, else the VG defaults).
            vocab_dir: directory with ``objects_vocab.txt`` / ``attributes_vocab.txt``; the
                checkpoint directory and the default cache dir are tried too.
            device: where the network runs (``"cpu"``, ``"cuda"``, ...).
            dtype: ``torch.float32`` (default), ``torch.float16`` or ``torch.bfloat16``.
            **config_overrides: config fields to change, e.g. ``resize="antialias"``.

        Example (needs the checkpoint, from the hub or a folder, and here a GPU; the offline stand-in
        with the same network is ``FasterRCNNExtractor.random(FRCNNConfig.tiny())``)::

            ex = FasterRCNNExtractor.from_pretrained("unc-nlp/frcnn-vg-finetuned", device="cuda")
        """
        from dataclasses import replace

        p = Path(path)
        if not p.exists():
            p = _hub_download(str(path))
        d = p if p.is_dir() else p.parent
        if config is None:
            config = FRCNNConfig.from_yaml(d / "config.yaml") if (d / "config.yaml").is_file() else FRCNNConfig()
        config = replace(config, **config_overrides)
        model = FasterRCNN(config)
        sd = read_state_dict(p)
        load_strict(model, sd)
        labels = None
        for cand in (vocab_dir, d, None):
            labels = load_vg_labels(cand, config.num_classes, config.num_attrs)
            if labels.source is not None:
                break
        return cls(model, labels, identity=_identity(p, sd)).to(device, dtype)

    @classmethod
    def random(cls, cfg: FRCNNConfig | None = None, seed: int = 0, device: str | torch.device = "cpu",
               dtype: torch.dtype = torch.float32) -> FasterRCNNExtractor:
        """An extractor with seeded random weights in the checkpoint's layout (tests, benchmarks)."""
        cfg = cfg or FRCNNConfig()
        model = FasterRCNN(cfg)
        load_strict(model, build_random_state_dict(cfg, seed))
        ident = f"random-seed{seed}-{hashlib.sha1(repr(cfg).encode()).hexdigest()[:12]}"
        return cls(model, identity=ident).to(device, dtype)

    def settings(self, num_regions: int | None = 36, recipe: str = "bottom_up", **kw) -> SelectionSettings:
        """Selection settings for ``num_regions`` regions and a recipe.

        ``bottom_up``: exactly ``num_regions`` (``None``: generate_tsv.py's adaptive 10..100).
        ``hf_demo``: at most ``num_regions`` and at least ``min(MIN_DETECTIONS, num_regions)``
        (``None``: the config's ``MIN_DETECTIONS`` .. ``MAX_DETECTIONS``), NMS thresholds from
        the config's ``NMS_THRESH_TEST``.
        """
        cfg = self.cfg
        if recipe == "hf_demo":
            if num_regions is None:
                lo, hi = cfg.demo_min_detections, cfg.demo_max_detections
            else:
                hi = int(num_regions)
                lo = min(cfg.demo_min_detections, hi)
            base = dict(recipe=recipe, min_boxes=lo, max_boxes=hi, demo_nms=cfg.demo_nms_thresh)
        else:
            lo, hi = BOTTOM_UP_BOXES if num_regions is None else (int(num_regions),) * 2
            base = dict(recipe=recipe, min_boxes=lo, max_boxes=hi)
        base.update(kw)
        return SelectionSettings(**base)

    def prepare(self, image) -> Prepared:
        """Open, resize and normalise one image (CPU work that can run while the detector runs)."""
        return prepare(image, self.cfg)

    @torch.inference_mode()
    def extract_prepared(self, prepared: list[Prepared], settings: SelectionSettings) -> list[Regions]:
        """Detect and describe regions of images already prepared by :meth:`prepare`, as one batch."""
        return [to_regions(select(det, self.cfg, settings), self.labels)
                for det in self.model.detect(collate(prepared, self.cfg))]

    @torch.inference_mode()
    def extract(self, images, num_regions: int | None = 36, recipe: str = "bottom_up",
                batch_size: int = 2, **selection) -> list[Regions]:
        """Detect and describe regions.

        Args:
            images: one image or a list (paths, PIL images, arrays; any sizes and modes).
            num_regions: regions per image (36 for LXMERT), ``None`` for the recipe's adaptive count.
            recipe: ``"bottom_up"`` (original, default) or ``"hf_demo"``; see ``selection``.
            batch_size: images per forward pass.
            **selection: more :class:`SelectionSettings` fields (``score_thresh``, ...).

        Returns:
            list[Regions]: one per image, boxes in original pixels; padded rows masked.
        """
        if not isinstance(images, (list, tuple)):
            images = [images]
        s = self.settings(num_regions, recipe, **selection)
        out: list[Regions] = []
        for i in range(0, len(images), batch_size):
            out.extend(self.extract_prepared([self.prepare(im) for im in images[i:i + batch_size]], s))
        return out


def _identity(path: Path, sd: dict) -> str:
    """A short fingerprint of the weights: file name + size + a hash of a few tensors."""
    h = hashlib.sha1()
    for key in sorted(sd)[:: max(1, len(sd) // 16)]:
        h.update(key.encode())
        h.update(sd[key].detach().to(torch.float32).flatten()[:64].numpy().tobytes())
    return f"{path.name}-{h.hexdigest()[:16]}"


def _hub_download(repo_id: str) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as err:  # pragma: no cover - optional
        raise MissingFileError(f"{repo_id} is not a local path and huggingface_hub is not installed") from err
    return Path(snapshot_download(repo_id, allow_patterns=["config.yaml", "pytorch_model.bin", "*.txt"]))
