"""Regions: the visual input of LXMERT for one image, whatever extractor made it.

Shape letters: R regions, F feature size.

Every extractor (the shapes-world extractor, the Visual Genome Faster R-CNN, a feature file) returns
this one type, so the model, the kit and the renderers never care where features came from.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import InputError, ModelInputError
from ..printing import Card, Printable, listing

WHOLE_IMAGE = 0.9  # a box covering at least this share of the image is "the whole image"


@dataclass(frozen=True, repr=False)
class Regions(Printable):
    """Region boxes and features of one image.

    Args:
        boxes: (R, 4) float32 pixel boxes ``x1, y1, x2, y2`` in the original image.
        feats: (R, F) float32 region features.
        image_size: ``(width, height)`` of the original image in pixels.
        labels: optional display name per region (e.g. ``"red circle"``, ``"cat"``).
        scores: optional (R,) confidence per region.
        num_real: how many of the R rows are real; rows after it are padding (masked out).
        extra: extractor-specific arrays (object/attribute ids, ...), each with R rows.
        labels_absent: why there are no ``labels`` when a source cannot have them (e.g.
            ``"bottom-up-attention's 6-field TSV stores no object labels"``); region names then
            say ``(no label)``.

    Example:
        >>> r = Regions(np.zeros((2, 4), "f4"), np.zeros((2, 8), "f4"), (64, 64))
        >>> r.boxes_norm.shape
        (2, 4)
    """

    boxes: np.ndarray
    feats: np.ndarray
    image_size: tuple[int, int]
    labels: tuple[str, ...] | None = None
    scores: np.ndarray | None = None
    num_real: int | None = None
    extra: dict = field(default_factory=dict)
    labels_absent: str | None = None

    def _card(self) -> Card:
        real = self.num_real if self.num_real is not None else len(self.boxes)
        return Card(f"Regions: {real} real of {len(self.boxes)}, {self.feats.shape[1]}-d features, "
                    f"image {self.image_size[0]}x{self.image_size[1]}", [("names", listing(self.names(), 10))],
                    "regions.boxes (pixels) / boxes_norm / feats / labels / scores")

    def __post_init__(self):
        boxes = _real_array("Regions.boxes", self.boxes)
        feats = _real_array("Regions.feats", self.feats)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise InputError(f"Regions.boxes must be (R, 4), got {tuple(boxes.shape)}")
        if feats.ndim != 2 or feats.shape[0] != boxes.shape[0]:
            raise InputError(
                f"Regions.feats must be (R, F) with R={boxes.shape[0]} rows like boxes, got {tuple(feats.shape)}"
            )
        size = tuple(self.image_size) if isinstance(self.image_size, (tuple, list, np.ndarray)) else ()
        if len(size) != 2 or not all(_is_int(v) and v > 0 for v in size):
            raise InputError(f"Regions.image_size must be (width, height), two integers > 0, got {self.image_size!r}")
        n = boxes.shape[0]
        if self.num_real is not None and not _is_int(self.num_real):
            raise InputError(f"Regions.num_real must be an integer, got {self.num_real!r}")
        num_real = n if self.num_real is None else int(self.num_real)
        if not 0 <= num_real <= n:
            raise InputError(f"Regions.num_real={num_real} is outside 0..{n}")
        if self.labels is not None and (isinstance(self.labels, str) or len(self.labels) != n):
            raise InputError(f"Regions.labels must be {n} names, one per region, got {self.labels!r:.80}")
        scores = None if self.scores is None else _real_array("Regions.scores", self.scores)
        if scores is not None and scores.shape != (n,):
            raise InputError(f"Regions.scores must be ({n},), got {tuple(scores.shape)}")
        if not isinstance(self.extra, dict):
            raise InputError(f"Regions.extra must be a dict of arrays, got {type(self.extra).__name__}")
        for key, val in self.extra.items():
            rows = _rows(val)
            if rows != n:
                got = "a single value (0-d), not one per region" if rows is None else f"{rows} rows"
                raise InputError(f"Regions.extra[{key!r}] has {got}; extra arrays need one row per region "
                                 f"({n} regions)")
        if self.labels_absent is not None and (not isinstance(self.labels_absent, str) or self.labels is not None):
            raise InputError(f"Regions.labels_absent must be a string saying why there are no labels, and only "
                             f"without labels; got {self.labels_absent!r} with labels={self.labels is not None}")
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "feats", feats)
        object.__setattr__(self, "image_size", (int(size[0]), int(size[1])))
        object.__setattr__(self, "labels", None if self.labels is None else tuple(self.labels))
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "num_real", num_real)

    def __len__(self) -> int:
        return self.boxes.shape[0]

    @property
    def boxes_norm(self) -> np.ndarray:
        """(R, 4) boxes divided by the original image's ``(W, H, W, H)``: LXMERT's ``visual_pos``."""
        w, h = self.image_size
        return (self.boxes / np.array([w, h, w, h], dtype=np.float32)).astype(np.float32)

    @property
    def mask(self) -> np.ndarray:
        """(R,) float32: 1 for real regions, 0 for padding: LXMERT's ``visual_attention_mask``."""
        m = np.zeros(len(self), dtype=np.float32)
        m[: self.num_real] = 1.0
        return m

    def names(self) -> list[str]:
        """Display label per region: its label when known, else ``r0, r1, ...`` (``r0 (no label)``
        when the source has none: see ``labels_absent``)."""
        if self.labels is not None:
            return [f"{i}:{lab}" for i, lab in enumerate(self.labels)]
        if self.labels_absent is not None:
            return [f"r{i} (no label)" for i in range(len(self))]
        return [f"r{i}" for i in range(len(self))]

    def whole_image(self, share: float = WHOLE_IMAGE) -> np.ndarray:
        """(R,) True where a box covers at least ``share`` of the image: the shapes world's scene row,
        or a detector box that is the whole picture. Renderers report such a row instead of
        painting it, and statistics count attention mass on it.

        Example:
            >>> Regions(np.array([[0, 0, 64, 48], [1, 2, 9, 9]], "f4"), np.zeros((2, 3), "f4"), (64, 48)).whole_image()
            array([ True, False])
        """
        w, h = self.image_size
        b = self.boxes.astype(np.float64)
        x1, y1 = np.clip(b[:, 0], 0, w), np.clip(b[:, 1], 0, h)
        x2, y2 = np.clip(b[:, 2], 0, w), np.clip(b[:, 3], 0, h)
        area = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        return area >= share * float(w * h)

    def real(self) -> Regions:
        """The same regions without their padding rows (``self`` when there is none)."""
        r = self.num_real
        if r == len(self):
            return self
        return Regions(self.boxes[:r], self.feats[:r], self.image_size,
                       None if self.labels is None else self.labels[:r],
                       None if self.scores is None else self.scores[:r], r,
                       {k: v[:r] for k, v in self.extra.items()}, self.labels_absent)


def _rows(value) -> int | None:
    """How many rows an extra array has; None for a single value (a 0-d array or tensor, a scalar)."""
    try:
        return len(value)
    except TypeError:  # numpy and torch 0-d arrays have __len__ but no length
        return None


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _real_array(name: str, value) -> np.ndarray:
    """``value`` as a new float32 array; refuses non-numbers and NaN / infinite values."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise InputError(f"{name} is not an array of numbers: {err}") from None
    if arr.dtype.kind not in "uif":
        raise InputError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):  # a value beyond float32 becomes inf: refused below
        arr = arr.astype(np.float32)  # always a copy: the caller's array is never shared
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(f"{name} holds {int(bad.sum())} NaN or infinite values (first at {first}; a number "
                         f"beyond float32's range counts as infinite); features and boxes must be finite")
    return arr


def region_tensors(regions: Regions, dtype: torch.dtype = torch.float32, device=None):
    """``visual_feats`` (1, R, F), ``visual_pos`` (1, R, 4) and ``visual_attention_mask`` (1, R) of the
    real rows; the mask is None when every row given is real. An image with no real region keeps
    its padding rows (masked), so that attention has keys to go to.

    Example:
        >>> r = Regions(np.zeros((3, 4), "f4"), np.ones((3, 8), "f4"), (64, 64), num_real=2)
        >>> [None if t is None else tuple(t.shape) for t in region_tensors(r)]
        [(1, 2, 8), (1, 2, 4), None]
    """
    n = regions.num_real if regions.num_real > 0 else len(regions)
    if n == 0:
        raise ModelInputError("the extractor found no regions and gave no padding rows to attend to")
    feats = torch.as_tensor(regions.feats[:n], dtype=dtype, device=device)[None]
    pos = torch.as_tensor(regions.boxes_norm[:n], dtype=dtype, device=device)[None]
    mask = None if regions.num_real == n else torch.as_tensor(regions.mask[:n], dtype=dtype, device=device)[None]
    return feats, pos, mask
