"""A tiny reader for the YAML subset that detectron2-style ``config.yaml`` files use.

No shape letters: this file holds text, not tensors.

Supported: nested mappings by indentation, ``key: scalar``, block lists (``- item``, including
nested ``- - 32`` lists of lists), flow lists (``[0.5, 1.0]``), quoted strings, ``true/false``,
``null``/``~``, ints, floats, comments, anchors/aliases (``&id001`` / ``*id001``) and type tags (``!!python/tuple``, ignored). That is
all the Visual Genome Faster R-CNN ``config.yaml`` needs, so the kit does not depend on PyYAML.
"""
from __future__ import annotations

import re

_INT = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$|^[-+]?(\.inf|\.Inf)$")


def parse_scalar(text: str):
    """Parse one YAML scalar (``'1'`` -> 1, ``'0.5'`` -> 0.5, ``'true'`` -> True, ``[1, 2]`` -> list)."""
    s = text.strip()
    if s.startswith("[") and s.endswith("]"):
        inner = s[1:-1].strip()
        return [parse_scalar(p) for p in _split_flow(inner)] if inner else []
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        return s[1:-1]
    low = s.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    if low in ("null", "~", ""):
        return None
    if _INT.match(s):
        return int(s)
    if _FLOAT.match(s):
        return float(s.replace("Inf", "inf").replace(".inf", "inf"))
    return s


def _split_flow(inner: str) -> list[str]:
    """Split ``a, [b, c], d`` at top-level commas."""
    parts, depth, cur = [], 0, []
    for ch in inner:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in parts if p.strip()]


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if ch in "'\"":
            quote = None if quote == ch else (ch if quote is None else quote)
        elif ch == "#" and quote is None and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def loads(text: str) -> dict:
    """Parse YAML text of the supported subset into nested dicts and lists.

    Args:
        text: the file's content.

    Returns:
        dict: the top-level mapping.

    Example:
        >>> loads("A:\\n  B: 1\\n  C:\\n  - - 32\\n    - 64\\n")
        {'A': {'B': 1, 'C': [[32, 64]]}}
    """
    lines = []
    for raw in text.splitlines():
        line = _strip_comment(raw).rstrip()
        if line.strip() and line.strip() != "---":
            lines.append((len(line) - len(line.lstrip(" ")), line.strip()))
    value, pos = _block(lines, 0, 0, {})
    return value if isinstance(value, dict) else {}


def _block(lines, pos: int, indent: int, anchors: dict):
    """Parse the block starting at ``lines[pos]`` whose items sit at column ``indent``."""
    if pos >= len(lines):
        return None, pos
    if lines[pos][1].startswith("- ") or lines[pos][1] == "-":
        return _list(lines, pos, lines[pos][0], anchors)
    return _mapping(lines, pos, lines[pos][0], anchors)


def _split_props(rest: str) -> tuple[str | None, str]:
    """Strip ``&anchor`` and ``!!tag`` prefixes; return (anchor name, remaining text)."""
    anchor = None
    while rest.startswith(("&", "!")):
        head, _, rest = rest.partition(" ")
        if head.startswith("&"):
            anchor = head[1:]
        rest = rest.strip()
    return anchor, rest


def _mapping(lines, pos: int, indent: int, anchors: dict):
    out: dict = {}
    while pos < len(lines) and lines[pos][0] == indent and not lines[pos][1].startswith("-"):
        key, _, rest = lines[pos][1].partition(":")
        key = parse_scalar(key)
        anchor, rest = _split_props(rest.strip())
        pos += 1
        if rest.startswith("*"):
            out[key] = anchors.get(rest[1:].strip())
        elif rest:
            out[key] = parse_scalar(rest)
        elif pos < len(lines) and (lines[pos][0] > indent or
                                   (lines[pos][0] == indent and lines[pos][1].startswith("-"))):
            out[key], pos = _block(lines, pos, lines[pos][0], anchors)
        else:
            out[key] = None
        if anchor:
            anchors[anchor] = out[key]
    return out, pos


def _list(lines, pos: int, indent: int, anchors: dict):
    out: list = []
    while pos < len(lines) and lines[pos][0] == indent and lines[pos][1].startswith("-"):
        item = lines[pos][1][1:].strip()
        if not item:  # "-" alone: the item is the nested block below
            pos += 1
            val, pos = _block(lines, pos, lines[pos][0], anchors) if pos < len(lines) else (None, pos)
            out.append(val)
        elif item.startswith("- ") or item == "-":  # "- - 32": a nested list starts on this line
            sub_indent = indent + (len(lines[pos][1]) - len(item))
            lines[pos] = (sub_indent, item)
            val, pos = _list(lines, pos, sub_indent, anchors)
            out.append(val)
        elif ":" in item and not item.startswith(("[", "'", '"')):
            sub_indent = indent + (len(lines[pos][1]) - len(item))
            lines[pos] = (sub_indent, item)
            val, pos = _mapping(lines, pos, sub_indent, anchors)
            out.append(val)
        else:
            out.append(parse_scalar(item))
            pos += 1
    return out, pos
