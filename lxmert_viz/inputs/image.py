"""The kit's one image opener, and the content hash that keys every per-image cache.

Shape letters: H height, W width, C channels.

Every image the kit reads (the shapes extractor, the Faster R-CNN, the feature cache, `kit.ask`,
the command line) goes through `open_image`, so all of them see the same upright 8-bit RGB pixels
and refuse the same things, with an `~lxmert_viz.errors.ImageError` that names the image.

What is read:
* a path, ``bytes`` or a binary file object: PNG, JPEG, GIF, BMP, TIFF, WebP and the other raster
  formats in `FORMATS` (not EPS, which would run Ghostscript); the first frame of an animation.
  At most `MAX_FILE_BYTES`; the header's size is checked against `MAX_PIXELS` *before* any pixel is
  decoded (a decompression bomb costs nothing), and the decode has a deadline (`DECODE_SECONDS`:
  reading stops between blocks once it has passed), so no file can hang the kit. A truncated or
  damaged file is an error, not a half-grey picture (unless the caller's own code set
  ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES``).
* EXIF orientation is applied (``ImageOps.exif_transpose``); an unreadable EXIF block is a warning
  and the image is used as stored.
* modes: ``1``, ``L``, ``P``, ``RGB``, ``RGBX``, ``CMYK``, ``YCbCr``, ``LAB``, ``HSV`` through PIL's
  own conversion to RGB; alpha (``RGBA``, ``LA``, ``PA``, ``RGBa``, ``La``, and ``P``/``L``/``RGB``
  with a transparency key) composited on white (a transparent background most often means
  "paper"); ``I;16*`` (16-bit) divided by 257, so 65535 is 255: scaled over the type's range, never
  clipped; ``I`` (32-bit integers, what PIL gives some 16-bit files) the same when its values fit
  0..65535, else refused; ``F`` (32-bit float) by the float rule below.
* numpy arrays: (H, W) grey, (H, W, 1), (H, W, 2) grey + alpha, (H, W, 3) RGB, (H, W, 4) RGBA;
  ``uint8`` as is; ``uint16`` divided by 257; other integer types only with values in 0..255
  (8-bit data in a wider type; anything else is ambiguous and refused: pass ``uint16`` for 16-bit);
  **floats: finite values only; all values in 0..1 are intensities times 255, otherwise all values
  in 0..255 are used as they are, otherwise refused** (so a nearly black 0..255 picture whose
  values are all <= 1 reads as 0..1); ``bool``, complex and object arrays are refused (a mask is
  not an image).
* every image: at least 1 x 1, at most `MAX_PIXELS` pixels and an aspect ratio of at most
  `MAX_ASPECT` (a 10000 x 10 strip cannot be resized into anything a detector or the shapes
  extractor could use).

The caller's file, image or array is never modified (a file object's position is put back).
"""
from __future__ import annotations

import hashlib
import io
import os
import time
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageError, ImageTypeError, MissingFileError

MAX_PIXELS = 64_000_000
"""Largest image the kit opens (width x height); a 64 MP photo is about 190 MB as 8-bit RGB."""
MAX_ASPECT = 50.0
"""Largest ratio of the longer side to the shorter one."""
MAX_FILE_BYTES = 256 * 2**20
"""Largest image file the kit reads."""
DECODE_SECONDS = 8.0
"""Deadline for decoding one image file."""
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "DIB", "TIFF", "WEBP", "PPM", "TGA", "ICO", "JPEG2000",
           "PCX", "SGI", "QOI", "AVIF")
"""The file formats `open_image` reads (PIL's names)."""


class _DecodeTimeout(Exception):
    pass


class _DeadlineBytes(io.BytesIO):
    """The file's bytes, refusing to hand out more once the decode deadline has passed: PIL decodes
    block by block from ``read``, so this bounds the whole decode's time."""

    def __init__(self, data: bytes, deadline: float):
        super().__init__(data)
        self.deadline = deadline

    def _check(self):
        if time.monotonic() > self.deadline:
            raise _DecodeTimeout

    def read(self, size=-1):
        self._check()
        return super().read(size)

    def readline(self, size=-1):
        self._check()
        return super().readline(size)

    def readinto(self, buffer):
        self._check()
        return super().readinto(buffer)


# -- checks ----------------------------------------------------------------------------------------
def _check_size(width: int, height: int, name: str, max_pixels: int) -> None:
    if width < 1 or height < 1:
        raise ImageError(f"{name} is empty ({width} x {height} pixels); an image needs at least 1 x 1")
    if width * height > max_pixels:
        raise ImageError(f"{name} is {width} x {height} = {width * height:,} pixels, more than the "
                         f"{max_pixels:,} the kit opens (a decompression bomb, or shrink it first)")
    aspect = max(width, height) / min(width, height)
    if aspect > MAX_ASPECT:
        raise ImageError(f"{name} is {width} x {height} pixels: its aspect ratio {aspect:.0f}:1 is "
                         f"beyond {MAX_ASPECT:.0f}:1; crop it into parts that are closer to square")


def _float_to_uint8(a: np.ndarray, name: str) -> np.ndarray:
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        bad = int((~np.isfinite(a)).sum())
        raise ImageError(f"{name} holds {bad} NaN or infinite values; image values must be finite")
    lo, hi = float(a.min()), float(a.max())
    if lo >= 0.0 and hi <= 1.0:
        a = a * 255.0
    elif lo < 0.0 or hi > 255.0:
        raise ImageError(f"{name} is float with values {lo:g}..{hi:g}; float images must lie in 0..1 "
                         f"(intensities) or 0..255; rescale it first")
    return np.rint(a).astype(np.uint8)


def _wide_to_uint8(a: np.ndarray, name: str, mode: str) -> np.ndarray:
    """16/32-bit integer pixels to 8 bits over the 16-bit range (65535 -> 255), never clipped."""
    lo, hi = int(a.min()), int(a.max())
    if lo < 0 or hi > 65535:
        raise ImageError(f"{name} has integer pixels {lo}..{hi} (mode {mode}), beyond 16 bits; "
                         f"the kit reads 32-bit integer images only when they hold 0..65535")
    return np.rint(a.astype(np.float64) / 257.0).astype(np.uint8)


# -- PIL images ------------------------------------------------------------------------------------
def _on_white(rgba: Image.Image) -> Image.Image:
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _unpremultiply_la(img: Image.Image) -> Image.Image:
    """``La`` (grey premultiplied by alpha) to RGBA; PIL has no conversion for it."""
    a = np.asarray(img, dtype=np.float64)  # (H, W, 2)
    alpha = a[..., 1]
    grey = np.where(alpha > 0, a[..., 0] * 255.0 / np.maximum(alpha, 1), 0)
    out = np.stack([grey, grey, grey, alpha], -1)
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), "RGBA")


def _upright(img: Image.Image, name: str) -> Image.Image:
    try:
        return ImageOps.exif_transpose(img)
    except Exception as err:  # a damaged EXIF block must not cost the picture
        warnings.warn(f"{name}: its EXIF orientation could not be read ({type(err).__name__}: {err}); "
                      f"the image is used as stored", UserWarning, stacklevel=4)
        return img


def _pil_to_rgb(img: Image.Image, name: str, max_pixels: int) -> Image.Image:
    _check_size(img.width, img.height, name, max_pixels)
    img = _upright(img, name)
    mode = img.mode
    if mode == "La":
        return _on_white(_unpremultiply_la(img))
    if mode == "RGBa":
        return _on_white(img.convert("RGBA"))
    if mode in ("RGBA", "LA", "PA") or (mode in ("P", "L", "RGB") and "transparency" in img.info):
        return _on_white(img.convert("RGBA"))
    if mode.startswith("I;16") or mode == "I":
        grey = _wide_to_uint8(np.asarray(img), name, mode)
        return Image.fromarray(np.repeat(grey[..., None], 3, axis=2), "RGB")
    if mode == "F":
        grey = _float_to_uint8(np.asarray(img), name)
        return Image.fromarray(np.repeat(grey[..., None], 3, axis=2), "RGB")
    if mode == "RGB":
        return img.copy()
    try:
        return img.convert("RGB")
    except (ValueError, OSError) as err:
        raise ImageError(f"{name} has PIL mode {mode!r}, which the kit cannot turn into RGB ({err}); "
                         f"convert it to RGB first") from None


# -- numpy arrays ----------------------------------------------------------------------------------
def _array_to_rgb(arr: np.ndarray, max_pixels: int) -> Image.Image:
    name = f"the {arr.dtype} array of shape {arr.shape}"
    kind = arr.dtype.kind
    if kind == "b":
        raise ImageTypeError(f"{name} is boolean: a mask, not an image; pass arr.astype(np.uint8) * 255")
    if kind == "c":
        raise ImageTypeError(f"{name} is complex; an image holds real values (take .real or abs() first)")
    if kind not in "uif":
        raise ImageTypeError(f"{name} does not hold numbers; an image array is uint8, uint16, "
                             f"another integer type with 0..255, or float")
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 2, 3, 4)):
        hint = ""
        if arr.ndim == 3 and arr.shape[0] in (1, 3, 4):
            hint = "; it looks channel-first (C, H, W): pass arr.transpose(1, 2, 0)"
        raise ImageError(f"{name}: an image array must be (H, W), (H, W, 1), (H, W, 2), (H, W, 3) "
                         f"or (H, W, 4){hint}")
    _check_size(arr.shape[1], arr.shape[0], name, max_pixels)
    if kind == "f":
        a = _float_to_uint8(arr, name)
    elif arr.dtype == np.uint8:
        a = arr
    elif arr.dtype == np.uint16:
        a = np.rint(arr.astype(np.float64) / 257.0).astype(np.uint8)
    else:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise ImageError(f"{name} has values {lo}..{hi}; integer arrays other than uint16 must "
                             f"hold 0..255 (for 16-bit pixels pass a uint16 array: it is divided by 257)")
        a = arr.astype(np.uint8)
    if a.ndim == 2:
        a = a[..., None]
    c = a.shape[2]
    a = np.ascontiguousarray(a)  # a new array whenever it had to change; never written to
    if c == 1:
        return Image.fromarray(np.repeat(a, 3, axis=2), "RGB")
    if c == 2:
        rgba = np.concatenate([np.repeat(a[..., :1], 3, axis=2), a[..., 1:]], axis=2)
        return _on_white(Image.fromarray(rgba, "RGBA"))
    if c == 4:
        return _on_white(Image.fromarray(a, "RGBA"))
    return Image.fromarray(a.copy() if a is arr else a, "RGB")


# -- files -----------------------------------------------------------------------------------------
def _read_source(image) -> tuple[bytes, str]:
    """(the file's bytes, a name for messages) of a path, bytes or binary file object."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        data, name = bytes(image), f"the {len(image):,} bytes given"
    elif isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not os.path.exists(path):
            raise MissingFileError(f"no image file at {path}")
        if os.path.isdir(path):
            raise ImageError(f"{path} is a folder, not an image file")
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise ImageError(f"{path} is {size:,} bytes, more than the {MAX_FILE_BYTES:,} the kit reads")
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
        except OSError as err:
            raise ImageError(f"{path} cannot be read: {err.strerror or err}") from None
        name = path
    else:  # a binary file object
        start = image.tell() if image.seekable() else None
        data = image.read(MAX_FILE_BYTES + 1)
        if start is not None:
            image.seek(start)
        if not isinstance(data, (bytes, bytearray)):
            raise ImageTypeError(f"the file object gave {type(data).__name__}, not bytes: open it in binary mode ('rb')")
        data, name = bytes(data), f"the file object {getattr(image, 'name', '')!s}".rstrip()
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"{name} holds more than {MAX_FILE_BYTES:,} bytes, the most the kit reads")
    if not data:
        raise ImageError(f"{name} is empty (0 bytes)")
    return data, name


_MAGIC = ((b"\x89PNG", "PNG"), (b"\xff\xd8", "JPEG"), (b"GIF8", "GIF"), (b"BM", "BMP"), (b"II*\0", "TIFF"),
          (b"MM\0*", "TIFF"), (b"RIFF", "WebP"))


def _not_readable(data: bytes, name: str) -> ImageError:
    """The error for bytes PIL could not identify: a damaged file of a known format, or no image."""
    if data[:4] in (b"%!PS", b"\xc5\xd0\xd3\xc6"):
        return ImageError(f"{name} is a PostScript/EPS file, which the kit does not open (it would run "
                          f"Ghostscript); convert it to PNG first")
    for magic, fmt in _MAGIC:
        if data.startswith(magic):
            return ImageError(f"{name} starts like a {fmt} file but is damaged: its header cannot be read")
    return ImageError(f"{name} is not an image in a format the kit reads ({', '.join(_formats())})")


def _formats() -> list[str]:
    Image.init()
    return [f for f in FORMATS if f in Image.OPEN]  # this Pillow's plugins (MPO opens through JPEG)


def _decode(data: bytes, name: str, max_pixels: int, timeout: float) -> Image.Image:
    fp = _DeadlineBytes(data, time.monotonic() + timeout)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(fp, formats=_formats()) as im:
                _check_size(im.width, im.height, name, max_pixels)  # from the header: nothing decoded yet
                im.load()
                return _pil_to_rgb(im, name, max_pixels)
    except ImageError:
        raise
    except _DecodeTimeout:
        raise ImageError(f"{name}: decoding took longer than {timeout:g} s and was stopped (a file whose "
                         f"compressed data expands enormously?)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(f"{name} is a decompression bomb: {err}") from None
    except UnidentifiedImageError:
        raise _not_readable(data, name) from None
    except MemoryError:
        raise ImageError(f"{name} needs more memory to decode than there is") from None
    except Exception as err:  # PIL raises many kinds on damaged data; the user needs one message
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ImageError(f"{name} is damaged or truncated and cannot be decoded ({detail})") from None


def open_image(image, max_pixels: int = MAX_PIXELS, timeout: float = DECODE_SECONDS) -> Image.Image:
    """An upright 8-bit RGB ``PIL.Image`` from a path, bytes, a file object, a ``PIL.Image`` or an array.

    Args:
        image: a file path, ``bytes`` / a binary file object holding an image file, a
            ``PIL.Image`` of any mode, or an (H, W[, C]) array (see the module docstring for the
            rules). The caller's image or array is never modified.
        max_pixels: the largest image accepted (width x height).
        timeout: seconds allowed for decoding a file.

    Returns:
        A new RGB ``PIL.Image``.

    Raises:
        MissingFileError: a path with nothing there.
        ImageError: an image that cannot be read or used; the message names it and says why.
        ImageTypeError: something that is not an image (or a bool / complex / object array).

    Example:
        >>> open_image(np.zeros((4, 6), np.uint8)).size
        (6, 4)
        >>> open_image(np.full((2, 2), np.nan))
        Traceback (most recent call last):
        ...
        lxmert_viz.errors.ImageError: the float64 array of shape (2, 2) holds 4 NaN or infinite values; image values must be finite
    """
    if isinstance(image, Image.Image):
        name = f"the {image.mode} PIL image of size {image.size}"
        _check_size(image.width, image.height, name, max_pixels)  # before a lazy image decodes
        try:
            image.load()
        except Exception as err:  # an opened but truncated or damaged file
            raise ImageError(f"the PIL image ({image.format or 'no format'}, {image.size}) cannot be "
                             f"decoded: {err}") from None
        return _pil_to_rgb(image, name, max_pixels)
    if isinstance(image, np.ndarray):
        return _array_to_rgb(image, max_pixels)
    if isinstance(image, (str, os.PathLike, bytes, bytearray, memoryview)) or (
            hasattr(image, "read") and hasattr(image, "seekable")):
        data, name = _read_source(image)
        return _decode(data, name, max_pixels, timeout)
    hint = ""
    if type(image).__module__.startswith("torch"):
        hint = "; for a tensor pass t.permute(1, 2, 0).numpy() (an (H, W, C) array)"
    raise ImageTypeError(f"expected a PIL image, a path, bytes, a binary file or a numpy array, "
                         f"got {type(image).__name__}{hint}")


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
