"""The kit's one image opener, and the content hash that keys every per-image cache.

Shape letters: H height, W width, C channels.

Every image the kit reads (the shapes extractor, the Faster R-CNN, the feature cache, `kit.ask`,
the command line) goes through `open_image`, so all of them see the same upright 8-bit RGB pixels:
* a path or ``PIL.Image``: EXIF orientation applied (``ImageOps.exif_transpose``);
* greyscale (``L``, ``1``) and palette (``P``): converted to RGB;
* alpha (``RGBA``, ``LA``, ``PA``, ``P`` with transparency): composited on white (a transparent
  background most often means "paper");
* 16-bit and 32-bit (``I;16``, ``I``, ``F``): scaled to 0..255 (``I;16`` by /257, ``I``/``F`` by the
  image's own min..max) and rounded;
* numpy arrays: (H, W) grey, (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA; uint8 as is, uint16 /257,
  floats in 0..1 times 255, other integers clipped to 0..255.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


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


def _pil_to_rgb(img: Image.Image) -> Image.Image:
    img = ImageOps.exif_transpose(img)
    mode = img.mode
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        return _flatten_alpha(img)
    if mode.startswith("I") or mode == "F":
        grey = _wide_to_uint8(np.asarray(img), mode)
        return Image.fromarray(np.repeat(grey[..., None], 3, axis=2), "RGB")
    return img.convert("RGB") if mode != "RGB" else img.copy()


def _array_to_rgb(arr: np.ndarray) -> Image.Image:
    a = np.asarray(arr)
    if a.dtype == np.uint16:
        a = np.clip(np.rint(a.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)
    elif a.dtype.kind == "f":
        a = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
    elif a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ValueError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), got {a.shape}")
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    if a.shape[2] == 4:
        return _flatten_alpha(Image.fromarray(np.ascontiguousarray(a), "RGBA"))
    return Image.fromarray(np.ascontiguousarray(a), "RGB")


def open_image(image) -> Image.Image:
    """An upright 8-bit RGB ``PIL.Image`` from a path, a ``PIL.Image`` or a numpy array.

    Args:
        image: a file path, a ``PIL.Image`` of any mode, or an (H, W[, C]) array (see the module
            docstring for the rules). The caller's image or array is never modified.

    Returns:
        A new RGB ``PIL.Image``.

    Example:
        >>> open_image(np.zeros((4, 6), np.uint8)).size
        (6, 4)
    """
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no image file at {path}")
        try:
            with Image.open(path) as im:
                im.load()
                return _pil_to_rgb(im)
        except UnidentifiedImageError:
            raise ValueError(f"{path} is not an image PIL can read") from None
    if isinstance(image, Image.Image):
        return _pil_to_rgb(image)
    if isinstance(image, np.ndarray):
        return _array_to_rgb(image)
    raise TypeError(f"expected a PIL image, a path or a numpy array, got {type(image).__name__}")


def image_key(image: Image.Image | np.ndarray) -> str:
    """SHA-256 of an RGB image's size and pixel bytes: equal pictures, equal keys.

    Example:
        >>> image_key(open_image(np.zeros((4, 6), np.uint8))) == image_key(np.zeros((4, 6, 3), np.uint8))
        True
    """
    rgb = np.ascontiguousarray(np.asarray(image), dtype=np.uint8)
    h = hashlib.sha256()
    h.update(repr(tuple(rgb.shape)).encode())
    h.update(rgb.tobytes())
    return h.hexdigest()
