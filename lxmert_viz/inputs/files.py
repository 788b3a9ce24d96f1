"""Reading the small text and JSON files a checkpoint carries (vocabularies, answer lists, configs).

Every failure is one of the kit's errors naming the file and what is wrong with it: not UTF-8 (the
byte and line), NUL bytes (a binary file), invalid or too deeply nested JSON.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import CheckpointError


def read_utf8(path: Path, what: str, error: type = CheckpointError) -> str:
    """The text of ``path``; ``error`` when it is binary (NUL bytes) or not UTF-8.

    Example:
        >>> (tmp / "v.txt").write_bytes(b"[PAD]\\n\\xff\\n")
        8
        >>> read_utf8(tmp / "v.txt", "a vocab.txt")
        Traceback (most recent call last):
        ...
        lxmert_viz.errors.CheckpointError: .../v.txt is not UTF-8 text: byte 6 (line 2) is b'\\xff'
    """
    data = path.read_bytes()
    nul = data.find(b"\0")
    if nul >= 0:
        raise error(f"{path} holds a NUL byte at byte {nul}: it is a binary file, not {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise error(f"{path} is not UTF-8 text: byte {err.start} (line {line}) is "
                    f"{data[err.start:err.start + 1]!r}") from None


def read_json_file(path: Path, what: str, error: type = CheckpointError):
    """The JSON value in ``path``; ``error`` naming the file for bad text or bad JSON."""
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except IsADirectoryError:
        raise error(f"{path} is a folder, not {what}") from None
    except UnicodeDecodeError as err:
        raise error(f"{path} is not UTF-8 text (byte {err.start}): not {what}") from None
    except json.JSONDecodeError as err:
        raise error(f"{path} is not valid JSON: {err}") from None
    except RecursionError:
        raise error(f"{path} nests too deeply to be {what}") from None
