"""Feature cache: one ``.npz`` per (image content, extractor settings), so an image runs once.

Shape letters: H W image height and width.

The key is a SHA-256 over the decoded, upright pixels (EXIF orientation applied, so a rotated
copy of a file is another image) and the extraction settings (recipe, region count, thresholds,
config, checkpoint identity). File names and timestamps play no part. Default directory:
the user cache folder (``~/.cache/lxmert_viz/features`` on Linux, via platformdirs; env
``LXMERT_VIZ_FEATURE_CACHE`` or the ``directory`` argument override it).

A damaged entry (empty, truncated, not an npz, or not valid regions: `load_npz` refuses it) is a
miss: the image is extracted again and the entry rewritten. A cache folder that cannot be written
costs the cache, not the result (a warning).
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..assets import user_cache_dir
from ..errors import FeatureFileError
from ..inputs.image import image_key
from ..inputs.regions import Regions
from .npz import load_npz, save_npz
from .preprocess import load_image


def default_cache_dir() -> Path:
    env = os.environ.get("LXMERT_VIZ_FEATURE_CACHE")
    return Path(env) if env else user_cache_dir("features")


def image_digest(rgb: np.ndarray) -> str:
    """SHA-256 of an upright (H, W, 3) uint8 image: its shape and pixel bytes (`inputs.image.image_key`)."""
    return image_key(rgb)


def settings_digest(settings: dict) -> str:
    """SHA-256 of extraction settings (a JSON-able dict; keys sorted)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


class FeatureCache:
    """A directory of cached regions keyed by image content + settings.

    Args:
        directory: where files go (default :func:`default_cache_dir`).

    Example:
        >>> cache = FeatureCache(tmp / "feats")
        >>> cache.get(np.zeros((4, 4, 3), np.uint8), {"num_regions": 36}) is None
        True
    """

    def __init__(self, directory: str | Path | None = None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.hits = 0
        self.misses = 0
        self.damaged = 0  # entries found unreadable (each also counts as a miss)

    def key(self, rgb: np.ndarray, settings: dict) -> str:
        return hashlib.sha256((image_digest(rgb) + settings_digest(settings)).encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.npz"

    def get(self, rgb: np.ndarray, settings: dict) -> Regions | None:
        p = self.path(self.key(rgb, settings))
        if p.is_file():
            try:
                regions = load_npz(p)
            except (FeatureFileError, OSError):  # a damaged entry is a miss: extracted again, rewritten
                self.misses += 1
                self.damaged += 1
                return None
            self.hits += 1
            return regions
        self.misses += 1
        return None

    def put(self, rgb: np.ndarray, settings: dict, regions: Regions) -> Path | None:
        """Store ``regions``; None (and a warning) when the cache folder cannot be written."""
        try:
            return save_npz(self.path(self.key(rgb, settings)), regions)
        except OSError as err:
            warnings.warn(f"the feature cache {self.directory} cannot be written ({err.strerror or err}); "
                          f"features are not cached", UserWarning, stacklevel=2)
            return None


class CachedExtractor:
    """An extractor (anything with ``.extract(images, **kw)``, ``.cfg``, ``.identity``) plus a cache.

    ``extract`` decodes each image once, serves cached ones from disk and runs the extractor on
    the rest only.
    """

    def __init__(self, extractor, cache: FeatureCache | str | Path | None = None):
        self.extractor = extractor
        self.cache = cache if isinstance(cache, FeatureCache) else FeatureCache(cache)

    def settings(self, num_regions: int | None = 36, recipe: str = "bottom_up", **selection) -> dict:
        s = self.extractor.settings(num_regions, recipe, **selection)
        return {"selection": asdict(s), "config": asdict(self.extractor.cfg),
                "weights": self.extractor.identity, "format": 1}

    def extract(self, images, num_regions: int | None = 36, recipe: str = "bottom_up",
                **kw) -> list[Regions]:
        """Like ``FasterRCNNExtractor.extract``, served from the cache where possible."""
        if not isinstance(images, (list, tuple)):
            images = [images]
        batch_size = kw.pop("batch_size", 2)
        settings = self.settings(num_regions, recipe, **kw)
        rgbs = [load_image(im) for im in images]
        out: list[Regions | None] = [self.cache.get(rgb, settings) for rgb in rgbs]
        todo = [i for i, r in enumerate(out) if r is None]
        if todo:
            fresh = self.extractor.extract([rgbs[i] for i in todo], num_regions=num_regions, recipe=recipe,
                                           batch_size=batch_size, **kw)
            for i, regions in zip(todo, fresh):
                self.cache.put(rgbs[i], settings, regions)
                out[i] = regions
        return out  # type: ignore[return-value]
