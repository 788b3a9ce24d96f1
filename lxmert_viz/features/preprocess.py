"""Images in any form -> the detector's input batch, with what is needed to map boxes back.

Shape letters: B images, H W height and width (resized), H0 W0 original size.

Every input becomes an upright RGB uint8 (H0, W0, 3) array first, through the kit's one image
opener (`lxmert_viz.inputs.image.open_image`: EXIF orientation, alpha on white, wide types scaled).

Then the shortest side is resized to ``min_size`` (longest at most ``max_size``, detectron2's
``ResizeShortestEdge`` rounding), bilinear, channels flipped to BGR, the pixel mean subtracted
and divided by the std. A batch is padded with zeros (after normalisation) at the bottom/right to
the largest image; each image keeps its own size and x/y scale factors back to its original.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

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
    """``(new_h, new_w)`` by detectron2's ``ResizeShortestEdge`` at test time."""
    scale = min_size / min(height, width)
    if max(height, width) * scale > max_size:
        scale = max_size / max(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


@dataclass
class ImageBatch:
    """What the detector reads, plus what maps its boxes back.

    Attributes:
        tensor: (B, 3, H, W) float32 BGR, mean-subtracted, zero-padded to the batch maximum.
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


def normalize(rgb: np.ndarray, cfg: FRCNNConfig) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 BGR ``(x - mean) / std``."""
    bgr = torch.from_numpy(np.ascontiguousarray(rgb[:, :, ::-1])).permute(2, 0, 1).to(torch.float32)
    mean = torch.tensor(cfg.pixel_mean, dtype=torch.float32)[:, None, None]
    std = torch.tensor(cfg.pixel_std, dtype=torch.float32)[:, None, None]
    return (bgr - mean) / std


def preprocess(images, cfg: FRCNNConfig) -> ImageBatch:
    """Load, resize, normalise and pad a list of images (any mix of sizes and kinds).

    Args:
        images: a list of paths / PIL images / arrays (a single one is accepted too).
        cfg: the detector config (sizes, pixel mean and std).

    Returns:
        ImageBatch
    """
    if not isinstance(images, (list, tuple)):
        images = [images]
    tensors, sizes, originals, scales = [], [], [], []
    for image in images:
        rgb = image if _is_rgb_uint8(image) else load_image(image)
        h0, w0 = rgb.shape[:2]
        h, w = resized_size(h0, w0, cfg.min_size, cfg.max_size)
        if (h, w) != (h0, w0):
            rgb = np.asarray(Image.fromarray(rgb).resize((w, h), Image.BILINEAR))
        tensors.append(normalize(rgb, cfg))
        sizes.append((h, w))
        originals.append((w0, h0))
        scales.append((w0 / w, h0 / h))
    hmax = max(s[0] for s in sizes)
    wmax = max(s[1] for s in sizes)
    batch = torch.zeros((len(tensors), 3, hmax, wmax), dtype=torch.float32)
    for i, t in enumerate(tensors):
        batch[i, :, : t.shape[1], : t.shape[2]] = t
    return ImageBatch(batch, sizes, originals, scales)


def _is_rgb_uint8(x) -> bool:
    return isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim == 3 and x.shape[2] == 3
