"""Visual Genome object (1600) and attribute (400) names, read from the user's vocabulary files.

No tensors here. Files: ``objects_vocab.txt`` and ``attributes_vocab.txt`` (one name per line,
synonyms separated by commas; the first is shown), as shipped with bottom-up-attention. Looked for
in the given path, then in the user cache folder (``~/.cache/lxmert_viz/vg`` on Linux, env
``LXMERT_VIZ_VG_VOCAB``). Nothing is downloaded unless :func:`download_vg_vocab` is called; without
files, names fall back to ``obj123`` / ``attr45``.
"""
from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..assets import user_cache_dir

OBJECTS_FILE = "objects_vocab.txt"
ATTRIBUTES_FILE = "attributes_vocab.txt"
VOCAB_URL = ("https://raw.githubusercontent.com/airsplay/py-bottom-up-attention/master/"
             "demo/data/genome/1600-400-20/")


def default_vocab_dir() -> Path:
    """Where vocabulary files are looked for and downloaded to by default."""
    env = os.environ.get("LXMERT_VIZ_VG_VOCAB")
    return Path(env) if env else user_cache_dir("vg")


@dataclass(frozen=True)
class VGLabels:
    """Object and attribute names by id.

    Attributes:
        objects: one display name per object id (0..K-1).
        attributes: one display name per attribute id (0..Q-1).
        source: the directory read, or ``None`` for fallback names.
    """

    objects: tuple[str, ...]
    attributes: tuple[str, ...]
    source: str | None = None

    def object_name(self, i: int) -> str:
        return self.objects[i] if 0 <= i < len(self.objects) else f"obj{i}"

    def attribute_name(self, i: int) -> str:
        return self.attributes[i] if 0 <= i < len(self.attributes) else f"attr{i}"

    def region_label(self, obj_id: int, attr_id: int, attr_conf: float, attr_thresh: float = 0.1) -> str:
        """``"red car"`` when the attribute is confident enough, else ``"car"``; ``"<pad>"`` for -1."""
        if obj_id < 0:
            return "<pad>"
        name = self.object_name(obj_id)
        if attr_id >= 0 and attr_conf >= attr_thresh:
            return f"{self.attribute_name(attr_id)} {name}"
        return name

    @classmethod
    def fallback(cls, num_objects: int = 1600, num_attrs: int = 400) -> VGLabels:
        return cls(tuple(f"obj{i}" for i in range(num_objects)), tuple(f"attr{i}" for i in range(num_attrs)))


def _read_names(path: Path) -> tuple[str, ...]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(line.split(",")[0].strip() for line in lines if line.strip())


def load_vg_labels(path: str | Path | None = None, num_objects: int = 1600,
                   num_attrs: int = 400) -> VGLabels:
    """Read the VG names if the files are there, else fallback names.

    Args:
        path: a directory holding both files (default: :func:`default_vocab_dir`).
        num_objects, num_attrs: expected counts; files of another length are refused (fallback).

    Returns:
        VGLabels

    Example:
        >>> load_vg_labels("/nonexistent").object_name(3)
        'obj3'
    """
    d = Path(path) if path is not None else default_vocab_dir()
    obj, att = d / OBJECTS_FILE, d / ATTRIBUTES_FILE
    if obj.is_file() and att.is_file():
        objects, attributes = _read_names(obj), _read_names(att)
        if len(objects) == num_objects and len(attributes) == num_attrs:
            return VGLabels(objects, attributes, str(d))
    return VGLabels.fallback(num_objects, num_attrs)


def download_vg_vocab(dest: str | Path | None = None, base_url: str = VOCAB_URL, timeout: float = 30.0) -> Path:
    """Download both vocabulary files (only when called; needs the network).

    Args:
        dest: target directory (default: :func:`default_vocab_dir`).
        base_url: where the two files live.
        timeout: seconds per request.

    Returns:
        Path: the directory holding the files.

    Raises:
        ConnectionError: offline or the server refused, with the URL and what to do instead.
    """
    d = Path(dest) if dest is not None else default_vocab_dir()
    d.mkdir(parents=True, exist_ok=True)
    for name in (OBJECTS_FILE, ATTRIBUTES_FILE):
        url = base_url + name
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                data = resp.read()
        except (urllib.error.URLError, OSError) as err:
            raise ConnectionError(
                f"could not download {url} ({err}). Copy {OBJECTS_FILE} and {ATTRIBUTES_FILE} into {d} "
                "by hand, or pass their directory to load_vg_labels().") from err
        tmp = d / (name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, d / name)
    return d
