"""Images in any form -> the detector's input batch, with what is needed to map boxes back.

Shape letters: B images, H W height and width (resized), H0 W0 original size.

Every input becomes an RGB uint8 (H0, W0, 3) array first:
* a path or ``PIL.Image``: EXIF orientation applied (``ImageOps.exif_transpose``), so the
  "original size" is the size as the image is displayed.
* greyscale (``L``, ``1``) and palette (``P``/``PA``): converted to RGB.
* alpha (``RGBA``, ``LA``, ``PA``, ``P`` with transparency): composited on WHITE, since detectors
  were trained on opaque photos and a transparent background most often means "paper".
* 16-bit and 32-bit (``I;16``, ``I``, ``F``): scaled to 0..255 by the type's range
  (``I;16``: /257; ``I``/``F``: by the image's own min..max) then rounded.
* numpy arrays: (H, W) grey, (H, W, 3) RGB, (H, W, 4) RGBA; uint8 as is, uint16 /257, floats in
  0..1 times 255.

Then the shortest side is resized to ``min_size`` (longest at most ``max_size``, detectron2's
``ResizeShortestEdge`` rounding), bilinear, channels flipped to BGR, the pixel mean subtracted
and divided by the std. A batch is padded with zeros (after normalisation) at the bottom/right to
the largest image; each image keeps its own size and x/y scale factors back to its original.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageOps

from .frcnn_config import FRCNNConfig


def _flatten_alpha(img: Image.Image) -> Image.Image:
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _wide_to_uint8(arr: np.ndarray, mode: str) -> np.ndarray:
    arr = arr.astype(np.float64)
    if mode.startswith("I;16"):
        arr = arr / 257.0
    else:
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
    return np.clip(np.rint(arr), 0, 255).astype(np.uint8)


def pil_to_rgb(img: Image.Image) -> np.ndarray:
    """``PIL.Image`` of any mode -> (H0, W0, 3) uint8 RGB, EXIF orientation applied."""
    img = ImageOps.exif_transpose(img)
    mode = img.mode
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        return np.asarray(_flatten_alpha(img))
    if mode.startswith("I") or mode == "F":
        grey = _wide_to_uint8(np.asarray(img), mode)
        return np.repeat(grey[..., None], 3, axis=2)
    return np.asarray(img.convert("RGB"))


def array_to_rgb(arr: np.ndarray) -> np.ndarray:
    """numpy image -> (H0, W0, 3) uint8 RGB (see the module docstring for accepted layouts)."""
    a = np.asarray(arr)
    if a.dtype == np.uint16:
        a = np.clip(np.rint(a.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)
    elif a.dtype.kind == "f":
        a = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
    elif a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ValueError(f"image array must be (H, W), (H, W, 3) or (H, W, 4), got {a.shape}")
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    if a.shape[2] == 4:
        a = np.asarray(_flatten_alpha(Image.fromarray(a, "RGBA")))
    return np.ascontiguousarray(a)


def load_image(image) -> np.ndarray:
    """A path, ``PIL.Image`` or numpy array -> (H0, W0, 3) uint8 RGB, upright.

    Example:
        >>> load_image(np.zeros((4, 6), np.uint8)).shape
        (4, 6, 3)
    """
    if isinstance(image, (str, os.PathLike)):
        with Image.open(image) as im:
            im.load()
            return pil_to_rgb(im)
    if isinstance(image, Image.Image):
        return pil_to_rgb(image)
    if isinstance(image, np.ndarray):
        return array_to_rgb(image)
    raise TypeError(f"cannot read an image from {type(image).__name__}")


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
