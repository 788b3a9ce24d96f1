"""The project's hostile corpus, part 1: the case type, fingerprints, images and questions.

Every case is generated at test time (no binary blobs in the repository). A case builds its input
in a temporary folder (``make``), calls one public entry point on it (``call``), and either expects
one of the kit's error types whose message names the input (``error`` + ``needles``), or is a
documented fallback whose result is checked (``check``). The runner (`test_hostile_inputs.py`)
also checks that the input (array, PIL image, file, folder) is unchanged afterwards.
"""
from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from lxmert_viz import errors as E
from lxmert_viz.inputs.image import open_image


@dataclass
class Case:
    cls: str                                   # image, question, model, config, checkpoint, features, cli
    name: str
    make: Callable[[Path], Any]                # the input, built in the temporary folder
    call: Callable[[Any, Any], Any]            # (input, env) -> result (or raises)
    error: type | None = None                  # expected error type; None: a documented fallback
    needles: Callable[[Any], tuple] | tuple = ()   # what the message must name
    check: Callable[[Any, Any, Any], None] | None = None  # fallback: (result, input, env) -> asserts
    writes: bool = False                       # the call is asked to write into the folder

    @property
    def id(self) -> str:
        return f"{self.cls}-{self.name}"


def fingerprint(x) -> Any:
    """A comparable summary of an input: bytes of arrays, tensors, images and files."""
    if isinstance(x, np.ndarray):
        return ("nd", x.dtype.str, x.shape, hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest())
    if isinstance(x, torch.Tensor):
        return ("t", str(x.dtype), tuple(x.shape), hashlib.sha256(x.detach().contiguous().numpy().tobytes()).hexdigest()
                if not x.is_complex() else x.tolist())
    if isinstance(x, Image.Image):
        return ("pil", x.mode, x.size, hashlib.sha256(x.tobytes()).hexdigest(), dict(x.info).keys())
    if isinstance(x, Path):
        if x.is_dir():
            return ("dir", tuple((str(p.relative_to(x)), fingerprint(p)) for p in sorted(x.rglob("*"))))
        return ("file", hashlib.sha256(x.read_bytes()).hexdigest()) if x.exists() else ("missing",)
    if isinstance(x, (bytes, bytearray)):
        return ("bytes", hashlib.sha256(bytes(x)).hexdigest())
    if isinstance(x, dict):
        return ("dict", tuple((k, fingerprint(v)) for k, v in x.items()))
    if isinstance(x, (list, tuple)):
        return ("seq", tuple(fingerprint(v) for v in x))
    return ("obj", repr(x))


# -- image files, made here ---------------------------------------------------------------------
def image_bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def scene_like(size=(48, 40)) -> Image.Image:
    img = Image.new("RGB", size, (255, 255, 255))
    img.paste((200, 30, 30), (5, 5, 20, 20))
    img.paste((30, 30, 200), (25, 10, 40, 30))
    return img


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_only(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (8-bit grey) with the given IDAT payload."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(idat, 9))
            + png_chunk(b"IEND", b""))


def write(tmp: Path, name: str, data: bytes) -> Path:
    p = tmp / name
    p.write_bytes(data)
    return p


def _is_rgb(result, size=None):
    assert isinstance(result, Image.Image) and result.mode == "RGB"
    if size is not None:
        assert result.size == size, result.size


def image_cases() -> list[Case]:
    rgb = scene_like()
    png, jpg = image_bytes(rgb, "PNG"), image_bytes(rgb, "JPEG", quality=90)
    bad_crc = bytearray(png)
    bad_crc[40] ^= 0xFF  # inside IHDR/IDAT: PIL's CRC check fails
    ztxt = png_chunk(b"zTXt", b"k\0\0" + zlib.compress(b"a" * (32 * 2**20), 9))
    text_bomb = png_header_only(2, 2, b"\0" * 6)[:-12] + ztxt + png_chunk(b"IEND", b"")
    opener = lambda x, env: open_image(x)  # noqa: E731
    name = lambda x: (str(x), "damaged")  # noqa: E731
    cases = [
        Case("image", "missing-path", lambda t: t / "nope.png", opener, E.MissingFileError, lambda x: (str(x), "no image file")),
        Case("image", "folder", lambda t: t, opener, E.ImageError, lambda x: (str(x), "is a folder")),
        Case("image", "zero-bytes", lambda t: write(t, "empty.png", b""), opener, E.ImageError, lambda x: (str(x), "empty (0 bytes)")),
        Case("image", "text-file", lambda t: write(t, "notes.png", b"hello, not pixels\n" * 20), opener, E.ImageError,
             lambda x: (str(x), "not an image in a format")),
        Case("image", "truncated-png", lambda t: write(t, "half.png", png[: len(png) // 2]), opener, E.ImageError,
             lambda x: (str(x), "truncated")),
        Case("image", "truncated-jpeg", lambda t: write(t, "half.jpg", jpg[: len(jpg) // 2]), opener, E.ImageError,
             lambda x: (str(x), "truncated")),
        Case("image", "bad-crc-png", lambda t: write(t, "crc.png", bytes(bad_crc)), opener, E.ImageError,
             lambda x: (str(x), "starts like a PNG file but is damaged")),
        Case("image", "decompression-bomb-header", lambda t: write(t, "bomb.png", png_header_only(30000, 30000)),
             opener, E.ImageError, lambda x: (str(x), "decompression bomb", "900000000 pixels")),
        Case("image", "over-the-kit-limit", lambda t: write(t, "big.png", png_header_only(9000, 9000)),
             opener, E.ImageError, lambda x: (str(x), "9000 x 9000 = 81,000,000 pixels", "64,000,000")),
        Case("image", "text-chunk-bomb", lambda t: write(t, "ztxt.png", text_bomb), opener, E.ImageError, name),
        Case("image", "decode-deadline", lambda t: write(t, "slow.png", png), lambda x, env: open_image(x, timeout=0.0),
             E.ImageError, lambda x: (str(x), "longer than 0 s")),
        Case("image", "eps-refused", lambda t: write(t, "doc.png", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"),
             opener, E.ImageError, lambda x: (str(x), "PostScript/EPS", "Ghostscript")),
        Case("image", "nan-array", lambda t: np.full((8, 8, 3), np.nan, np.float32), opener, E.ImageError,
             ("float32 array of shape (8, 8, 3)", "NaN")),
        Case("image", "inf-array", lambda t: np.array([[0.0, np.inf]] * 4), opener, E.ImageError, ("(4, 2)", "infinite")),
        Case("image", "bool-array", lambda t: np.ones((8, 8), bool), opener, E.ImageTypeError, ("bool array", "mask")),
        Case("image", "complex-array", lambda t: np.ones((8, 8), complex), opener, E.ImageTypeError, ("complex",)),
        Case("image", "object-array", lambda t: np.array([["a", 1]], dtype=object), opener, E.ImageTypeError,
             ("object array", "does not hold numbers")),
        Case("image", "empty-array", lambda t: np.zeros((0, 0, 3), np.uint8), opener, E.ImageError, ("(0, 0, 3)", "empty")),
        Case("image", "empty-rows", lambda t: np.zeros((0, 10), np.uint8), opener, E.ImageError, ("(0, 10)", "empty")),
        Case("image", "strip-10000x10", lambda t: np.zeros((10, 10000, 3), np.uint8), opener, E.ImageError,
             ("10000 x 10", "aspect ratio")),
        Case("image", "4d-array", lambda t: np.zeros((2, 2, 2, 2), np.uint8), opener, E.ImageError, ("(2, 2, 2, 2)", "(H, W)")),
        Case("image", "channel-first", lambda t: np.zeros((3, 40, 50), np.uint8), opener, E.ImageError,
             ("(3, 40, 50)", "channel-first")),
        Case("image", "five-channels", lambda t: np.zeros((8, 8, 5), np.uint8), opener, E.ImageError, ("(8, 8, 5)", "(H, W, 4)")),
        Case("image", "float-out-of-range", lambda t: np.linspace(-1, 2, 64).reshape(8, 8), opener, E.ImageError,
             ("-1..2", "0..1")),
        Case("image", "int32-beyond-255", lambda t: np.full((8, 8), 1000, np.int32), opener, E.ImageError,
             ("int32", "1000..1000", "uint16")),
        Case("image", "int64-negative", lambda t: np.full((8, 8, 3), -3, np.int64), opener, E.ImageError, ("int64", "-3..-3")),
        Case("image", "list-not-array", lambda t: [[0, 1], [1, 0]], opener, E.ImageTypeError, ("got list",)),
        Case("image", "torch-tensor", lambda t: torch.zeros(3, 8, 8), opener, E.ImageTypeError, ("Tensor", "permute")),
        Case("image", "none", lambda t: None, opener, E.ImageTypeError, ("NoneType",)),
        Case("image", "pil-too-large", lambda t: Image.new("L", (100, 100)), lambda x, env: open_image(x, max_pixels=5000),
             E.ImageError, ("100 x 100 = 10,000 pixels", "5,000")),
        Case("image", "pil-32bit-beyond-16", lambda t: Image.fromarray(np.full((4, 4), 70000, np.int32)), opener,
             E.ImageError, ("70000..70000", "mode I", "beyond 16 bits")),
        Case("image", "pil-float-nan", lambda t: Image.fromarray(np.full((4, 4), np.nan, np.float32)), opener,
             E.ImageError, ("F PIL image", "NaN")),
        Case("image", "text-mode-file", lambda t: write(t, "p.png", png), lambda x, env: _open_text(x), E.ImageTypeError,
             ("binary mode",)),
        Case("image", "kit-truncated", lambda t: write(t, "half.png", png[: len(png) // 2]),
             lambda x, env: env.kit.ask(x, "what color is the circle?"), E.ImageError, lambda x: (str(x), "truncated")),
        Case("image", "preprocess-nan", lambda t: np.full((8, 8, 3), np.nan), lambda x, env: _load_image(x),
             E.ImageError, ("NaN",)),
        # documented fallbacks
        Case("image", "16bit-png-scaled", lambda t: write(t, "g16.png", image_bytes(Image.fromarray(
            np.array([[0, 32768, 65535]] * 2, np.uint16)), "PNG")), opener,
             check=lambda r, x, env: _assert_pixels(r, [0, 128, 255])),
        Case("image", "16bit-scene-keeps-objects", lambda t: _wide_scene(t), lambda x, env: _regions_both(x),
             check=lambda r, x, env: _assert_same_regions(*r)),
        Case("image", "float-0-255-same-everywhere", lambda t: np.asarray(scene_like(), np.float64),
             lambda x, env: (open_image(x), _load_image(x)),
             check=lambda r, x, env: _assert_float_rule(r, x)),
        Case("image", "exif-rotated-same-in-kit-and-detector", lambda t: _exif_rotated(t),
             lambda x, env: (open_image(x), _load_image(x)), check=lambda r, x, env: _assert_rotated(r)),
        Case("image", "premultiplied-La", lambda t: _la_image(), opener, check=lambda r, x, env: _assert_pixels(r, [255])),
        Case("image", "transparent-rgba-on-white", lambda t: Image.new("RGBA", (6, 6), (255, 0, 0, 0)), opener,
             check=lambda r, x, env: _assert_pixels(r, [255])),
        Case("image", "cmyk", lambda t: Image.new("CMYK", (6, 6), (0, 255, 255, 0)), opener,
             check=lambda r, x, env: _assert_pixel_rgb(r, (255, 0, 0))),
        Case("image", "bytes-input", lambda t: png, opener, check=lambda r, x, env: _is_rgb(r, (48, 40))),
        Case("image", "one-pixel-answered", lambda t: np.zeros((1, 1, 3), np.uint8),
             lambda x, env: env.kit.ask(x, "what color is the circle?"), check=lambda r, x, env: _assert_answered(r)),
    ]
    return cases


def _open_text(path: Path):
    with open(path, encoding="latin-1") as f:
        return open_image(f)


def _load_image(x):
    from lxmert_viz.features import load_image

    return load_image(x)


def _assert_pixels(img, values):
    _is_rgb(img)
    a = np.asarray(img)
    assert (a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all()
    got = sorted(set(a[..., 0].ravel().tolist()))
    assert got == sorted(values), got


def _assert_pixel_rgb(img, rgb):
    _is_rgb(img)
    assert tuple(np.asarray(img)[0, 0]) == rgb


def _wide_scene(tmp: Path) -> Path:
    from lxmert_viz.shapes.world import generate_scene

    rgb = np.asarray(generate_scene(3).image.convert("L"), np.uint16) * 257  # 8-bit grey -> exact 16-bit
    p = tmp / "scene16.png"
    Image.fromarray(rgb).save(p)
    Image.fromarray((rgb // 257).astype(np.uint8)).save(tmp / "scene8.png")
    return p


def _regions_both(path: Path):
    from lxmert_viz.shapes.world import extract_regions

    return extract_regions(path), extract_regions(path.with_name("scene8.png"))


def _assert_same_regions(wide, narrow):
    assert narrow.num_real >= 3, "the 8-bit scene has its objects"
    assert wide.num_real == narrow.num_real and np.array_equal(wide.boxes, narrow.boxes)


def _assert_float_rule(r, x):
    kit_img, det = r
    as_uint8 = np.asarray(scene_like())
    assert np.array_equal(np.asarray(kit_img), as_uint8) and np.array_equal(det, as_uint8)


def _exif_rotated(tmp: Path) -> Path:
    img = Image.new("RGB", (60, 20), (0, 128, 255))
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp / "rotated.jpg"
    img.save(p, exif=exif.tobytes())
    return p


def _assert_rotated(r):
    kit_img, det = r
    assert kit_img.size == (20, 60) and det.shape == (60, 20, 3)


def _la_image() -> Image.Image:
    return Image.frombytes("La", (4, 4), bytes([0, 0] * 16))  # fully transparent: white


def _assert_answered(result):
    assert result.answers and np.isfinite([s for _, s in result.answers]).all()
