"""Images in any form -> the detector's input batch, with what is needed to map boxes back.

Shape letters: B images, H W height and width (resized), H0 W0 original size.

Every input becomes an upright RGB uint8 (H0, W0, 3) array first, through the kit's one image
opener (`lxmert_viz.inputs.image.open_image`: EXIF orientation, alpha on white, wide types scaled).

Then the shortest side is resized to ``min_size`` (longest at most ``max_size``; the size
arithmetic of the transformers demo's ``ResizeShortestEdge``, see :func:`resized_size`). The
default ``resize="reference"`` resamples the float pixels with ``F.interpolate(mode="bilinear",
align_corners=False)`` and no antialiasing, as the demo does (and as the Caffe pipeline that made
LXMERT's training features did with ``cv2.resize``): a shrunk photo keeps its aliasing, exactly as
the detector saw photos when it was trained. ``resize="antialias"`` is PIL's bilinear filter on
the uint8 image, which averages over the footprint when shrinking (smoother, but not what the
detector was trained on; the kit's resize before it followed the demo).

Channels are put in the order the network reads (``input_format``, BGR for the checkpoint), the
pixel mean subtracted and divided by the std. A batch is padded with ``pad_value`` (after
normalisation) at the bottom/right to the largest image; each image keeps its own size and x/y
scale factors back to its original.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from ..errors import InputError
from ..inputs.image import open_image
from .frcnn_config import FRCNNConfig


def load_image(image) -> np.ndarray:
    """A path, ``PIL.Image`` or numpy array -> (H0, W0, 3) uint8 RGB, upright (see `lxmert_viz.inputs.image`).

    Example:
        >>> load_image(np.zeros((4, 6), np.uint8)).shape
        (4, 6, 3)
    """
    return np.asarray(open_image(image))


def resized_size(height: int, width: int, min_size: int, max_size: int) -> tuple[int, int]:
    """``(new_h, new_w)`` by the transformers demo's ``ResizeShortestEdge`` (test time).

    The shortest side becomes ``min_size`` and the other side ``scale`` times its length; if the
    longest is then over ``max_size`` both are scaled down to fit; each is rounded half up.
    ``min_size == 0`` keeps the image as it is.

    Example:
        >>> resized_size(600, 800, 800, 1333), resized_size(100, 1000, 800, 1333)
        ((800, 1067), (133, 1333))
    """
    if min_size == 0:
        return height, width
    scale = min_size / min(height, width)
    if height < width:
        new_h, new_w = float(min_size), scale * width
    else:
        new_h, new_w = scale * height, float(min_size)
    if max(new_h, new_w) > max_size:
        shrink = max_size / max(new_h, new_w)
        new_h, new_w = new_h * shrink, new_w * shrink
    return int(new_h + 0.5), int(new_w + 0.5)


@dataclass
class ImageBatch:
    """What the detector reads, plus what maps its boxes back.

    Attributes:
        tensor: (B, 3, H, W) float32 in ``input_format`` order, normalised, padded with
            ``pad_value`` to the batch maximum.
        sizes: per image ``(h, w)`` after resizing, before padding.
        original_sizes: per image ``(W0, H0)`` of the upright original.
        scales: per image ``(sx, sy) = (W0 / w, H0 / h)``: resized -> original pixels.
    """

    tensor: torch.Tensor
    sizes: list[tuple[int, int]]
    original_sizes: list[tuple[int, int]]
    scales: list[tuple[float, float]]

    def __len__(self) -> int:
        return len(self.sizes)


def resize_pixels(rgb: np.ndarray, size: tuple[int, int], how: str = "reference") -> torch.Tensor:
    """(H0, W0, 3) uint8 RGB -> (3, h, w) float32 RGB at ``size = (h, w)``.

    Args:
        rgb: the upright image.
        size: target ``(h, w)``.
        how: ``"reference"`` (bilinear on float pixels, no antialias: the demo's and Caffe's) or
            ``"antialias"`` (PIL bilinear on uint8, antialiased when shrinking).
    """
    h, w = size
    if how == "antialias":
        if (h, w) != rgb.shape[:2]:
            rgb = np.asarray(Image.fromarray(rgb).resize((w, h), Image.BILINEAR))
        return _chw_float(rgb)
    if how != "reference":
        raise InputError(f"resize must be 'reference' or 'antialias', got {how!r}")
    x = _chw_float(rgb)  # (3, H0, W0)
    if (h, w) == rgb.shape[:2]:
        return x
    return F.interpolate(x[None], (h, w), mode="bilinear", align_corners=False)[0]


def normalize(pixels: torch.Tensor, cfg: FRCNNConfig) -> torch.Tensor:
    """(3, H, W) float32 RGB pixels -> the network's channel order, ``(x - mean) / std``."""
    if cfg.input_format == "BGR":
        pixels = pixels.flip(0)
    mean = torch.tensor(cfg.pixel_mean, dtype=torch.float32)[:, None, None]
    std = torch.tensor(cfg.pixel_std, dtype=torch.float32)[:, None, None]
    return (pixels - mean) / std


@dataclass
class Prepared:
    """One image ready for batching: its normalised tensor and the sizes that map boxes back."""

    tensor: torch.Tensor  # (3, h, w)
    size: tuple[int, int]  # (h, w)
    original_size: tuple[int, int]  # (W0, H0)


def prepare(image, cfg: FRCNNConfig) -> Prepared:
    """Open, resize and normalise one image (see the module docstring).

    Every image, an RGB uint8 array too, goes through `open_image`, so its checks (empty, too many
    pixels, aspect ratio, NaN) apply whatever the caller passes; an array costs one copy.
    """
    rgb = load_image(image)
    h0, w0 = rgb.shape[:2]
    h, w = resized_size(h0, w0, cfg.min_size, cfg.max_size)
    return Prepared(normalize(resize_pixels(rgb, (h, w), cfg.resize), cfg), (h, w), (w0, h0))


def collate(prepared: list[Prepared], cfg: FRCNNConfig) -> ImageBatch:
    """Pad prepared images to the largest with ``cfg.pad_value`` into one :class:`ImageBatch`."""
    hmax = max(p.size[0] for p in prepared)
    wmax = max(p.size[1] for p in prepared)
    batch = torch.full((len(prepared), 3, hmax, wmax), float(cfg.pad_value), dtype=torch.float32)
    for i, p in enumerate(prepared):
        batch[i, :, : p.size[0], : p.size[1]] = p.tensor
    scales = [(p.original_size[0] / p.size[1], p.original_size[1] / p.size[0]) for p in prepared]
    return ImageBatch(batch, [p.size for p in prepared], [p.original_size for p in prepared], scales)


def preprocess(images, cfg: FRCNNConfig) -> ImageBatch:
    """Load, resize, normalise and pad a list of images (any mix of sizes and kinds).

    Args:
        images: a list of paths / PIL images / arrays (a single one is accepted too).
        cfg: the detector config (sizes, resize, channel order, pixel mean and std, pad value).

    Returns:
        ImageBatch
    """
    if not isinstance(images, (list, tuple)):
        images = [images]
    if not images:
        raise InputError("no images to preprocess")
    return collate([prepare(image, cfg) for image in images], cfg)


def _chw_float(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32, one copy (the input may be a read-only view)."""
    return torch.from_numpy(np.asarray(rgb).transpose(2, 0, 1).astype(np.float32, order="C"))
