"""Region features on disk, found by image id: a folder of ``<image_id>.npz`` files or a feature
TSV in either layout (LXMERT's 10 fields or bottom-up-attention's 6: `lxmert_viz.features.tsv`),
read one image at a time.

Shape letters: R regions, F feature size.

A TSV of a whole split is gigabytes, so it is never read whole: `FeatureStore` makes one pass that
records where each image's line starts (reading only up to the first tab of each line), and an
example then holds a `FeatureRef` (file, offset, id) that reads its one line when encoded.

Ids are matched as given, else by their number: VQA's questions say ``image_id: 262148`` where
LXMERT's COCO TSV says ``COCO_val2014_000000262148``; both name the same image.
"""
from __future__ import annotations

import re
from pathlib import Path

from ...errors import FeatureFileError, MissingFileError, UnknownNameError
from ...features.tsv import LAYOUTS
from ..example import FeatureRef

_NUMBER = re.compile(r"(\d+)$")
_HEADERS = [[name.encode("ascii") for name in layout.fields] for layout in LAYOUTS.values()]


class FeatureStore:
    """Image id -> `FeatureRef`, for a folder of ``.npz`` files or one ``.tsv`` file.

    Args:
        path: the folder or the ``.tsv`` file (either layout; bottom-up-attention's integer ids
            such as ``262148`` are matched by number like the others).
        pad_to: pad TSV regions to this many rows (TSV lines carry no padding).

    Example:
        >>> from lxmert_viz.features.npz import save_npz
        >>> from lxmert_viz import Regions
        >>> _ = save_npz(tmp / "feats" / "COCO_val2014_000000000042.npz",
        ...              Regions(np.zeros((2, 4), "f4"), np.ones((2, 8), "f4"), (64, 48)))
        >>> FeatureStore(tmp / "feats").ref(42).load().feats.shape
        (2, 8)
    """

    def __init__(self, path: str | Path, pad_to: int | None = None):
        self.path = Path(path)
        self.pad_to = pad_to
        self._refs: dict[str, FeatureRef] = {}
        if self.path.is_dir():
            for f in sorted(self.path.glob("*.npz")):
                self._refs[f.stem] = FeatureRef(str(f), f.stem)
        elif self.path.is_file() and self.path.suffix == ".tsv":
            offset = 0
            with open(self.path, "rb") as f:
                for lineno, line in enumerate(f, 1):
                    header = offset == 0 and line.rstrip(b"\r\n").split(b"\t") in _HEADERS
                    if line.strip() and not header:  # blank lines and a first-line header hold no image
                        image_id = line.split(b"\t", 1)[0]
                        try:
                            image_id = image_id.decode("ascii")
                        except UnicodeDecodeError:
                            raise FeatureFileError(f"{self.path} line {lineno}: the image id {image_id[:40]!r} is "
                                                   f"not ASCII; a feature TSV holds ASCII text only") from None
                        self._refs[image_id] = FeatureRef(str(self.path), image_id, offset, pad_to)
                    offset += len(line)
        else:
            raise MissingFileError(f"{self.path} is neither a folder of .npz feature files nor a .tsv file")
        if not self._refs:
            raise FeatureFileError(f"{self.path} holds no region features (.npz files or TSV lines)")
        self._by_number: dict[int, str] = {}
        for key in self._refs:
            m = _NUMBER.search(key)
            if m:
                self._by_number.setdefault(int(m.group(1)), key)

    def __len__(self) -> int:
        return len(self._refs)

    def __contains__(self, image_id) -> bool:
        return self._key(image_id) is not None

    def _key(self, image_id) -> str | None:
        s = str(image_id)
        if s in self._refs:
            return s
        m = _NUMBER.search(s)
        return self._by_number.get(int(m.group(1))) if m else None

    def ref(self, image_id) -> FeatureRef:
        """Where ``image_id``'s features are.

        Raises:
            KeyError: no file or line for it (the message names the store and an id it holds).
        """
        key = self._key(image_id)
        if key is None:
            some = next(iter(self._refs))
            raise UnknownNameError(f"no region features for image {image_id!r} in {self.path} "
                           f"({len(self)} images, e.g. {some!r})")
        return self._refs[key]
