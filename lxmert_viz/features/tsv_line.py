"""One image's regions from one line of a feature TSV (either layout), read at a known byte offset."""
from __future__ import annotations

from pathlib import Path

from ..errors import FeatureFileError
from ..inputs.regions import Regions
from .tsv import _set_field_limit, layout_of_fields, row_to_regions


def read_tsv_line(path: str | Path, offset: int, image_id: str, pad_to: int | None = None) -> Regions:
    """The regions of the TSV line that starts at byte ``offset`` (which must be ``image_id``'s).

    Args:
        path: the ``.tsv`` file: LXMERT's 10 fields or bottom-up-attention's 6 (`lxmert_viz.features.tsv`).
        offset: where the line starts (`FeatureStore` records it).
        image_id: the id the line must hold.
        pad_to: pad the regions to this many rows.

    Returns:
        The image's `Regions`, checked as `lxmert_viz.features.tsv.read_tsv` checks them.

    Raises:
        FeatureFileError: the line is not ``image_id``'s, is not ASCII, or does not decode; the
            message names the file, the byte offset and the field.
    """
    _set_field_limit()
    where = f"{path} at byte {offset}"
    with open(path, "rb") as f:
        f.seek(offset)
        raw = f.readline()
    try:
        line = raw.decode("ascii").rstrip("\r\n")
    except UnicodeDecodeError as err:
        raise FeatureFileError(f"{where}: byte {err.start} of the line is not ASCII; a feature TSV holds ASCII "
                               f"text only") from None
    fields = line.split("\t")
    if fields[0] != image_id:
        raise FeatureFileError(f"{where} is not the line of image {image_id!r} (found {fields[0][:40]!r}); was the "
                               f"file changed after it was indexed?")
    layout = layout_of_fields(fields, where, raw.endswith(b"\n"))
    return row_to_regions(dict(zip(layout.fields, fields)), pad_to=pad_to, where=where)
