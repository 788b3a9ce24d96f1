"""One image's regions from one line of an LXMERT feature TSV, read at a known byte offset."""
from __future__ import annotations

from pathlib import Path

from ...inputs.regions import Regions


def read_tsv_line(path: str | Path, offset: int, image_id: str, pad_to: int | None = None) -> Regions:
    """The regions of the TSV line that starts at byte ``offset`` (which must be ``image_id``'s)."""
    from ...features.tsv import FIELDNAMES, _set_field_limit, row_to_regions

    _set_field_limit()
    with open(path, "rb") as f:
        f.seek(offset)
        line = f.readline().decode("ascii").rstrip("\r\n")
    fields = line.split("\t")
    if len(fields) != len(FIELDNAMES) or fields[0] != image_id:
        raise ValueError(f"{path} at byte {offset} is not the line of image {image_id!r} "
                         f"(found {fields[0][:40]!r}); was the file changed after it was indexed?")
    return row_to_regions(dict(zip(FIELDNAMES, fields)), pad_to=pad_to)
