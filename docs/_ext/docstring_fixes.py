"""Reads the package's docstrings as their authors write them (Google style with a few Markdown
habits) without changing the source: an ``autodoc-process-docstring`` hook that rewrites, before
reStructuredText sees them,

* a Markdown pipe table (``| a | b |`` / ``|---|---|``) into a ``list-table``;
* a block laid out in columns (runs of spaces inside its lines) into a literal block, as it reads;
* a ``- item`` list that starts right under a paragraph line: a blank line before it;
* ```Name`s`` (a plural after a reference or literal): ```Name`\\ s``;
* ``**kwargs`` in prose: escaped, so it is not read as the start of bold text;
* in ``Args:`` / ``Attributes:`` / ``Returns:`` sections, a line at an entry's indentation that is
  not an entry (``name: text``): indented as the continuation it is.
"""
from __future__ import annotations

import re

SECTION = re.compile(r"^(\s*)(Args|Arguments|Attributes|Parameters|Returns|Yields|Raises|Keyword Args):\s*$")
ENTRY = re.compile(r"^[\w\*\.\[\], ]+(\s*\([^)]*\))?:(\s|$)")
TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
COLUMNS = re.compile(r"\S {3,}\S")


def fix(lines: list[str]) -> list[str]:
    """The docstring's lines, rewritten as the module docstring says."""
    lines = _continuations(lines)
    lines = _tables(lines)
    lines = _column_blocks(lines)
    lines = _lists(lines)
    return [_inline(line) for line in lines]


def _inline(line: str) -> str:
    if line.lstrip().startswith((">>>", "...")):
        return line
    line = re.sub(r"(`)(s|es)\b", r"\1\\ \2", line)
    line = re.sub(r"(?<![\\*\w])\*\*(\w+)(?!.*\*\*)", r"\\*\\*\1", line)
    return line


def _continuations(lines: list[str]) -> list[str]:
    out, indent = [], None
    for line in lines:
        m = SECTION.match(line)
        if m:
            indent = None
            out.append(line)
            section_indent = len(m.group(1))
            continue
        if indent is None and out and SECTION.match(out[-1]) and line.strip():
            indent = len(line) - len(line.lstrip())
            if indent <= section_indent:
                indent = None
        elif indent is not None and line.strip():
            here = len(line) - len(line.lstrip())
            if here < indent:
                indent = None  # the section ended
            elif here == indent and not ENTRY.match(line.strip()):
                line = " " * 4 + line
        out.append(line)
    return out


def _split_row(line: str) -> list[str]:
    cells = line.strip()
    cells = cells[1:] if cells.startswith("|") else cells
    cells = cells[:-1] if cells.endswith("|") else cells
    return [c.strip() for c in cells.split("|")]


def _tables(lines: list[str]) -> list[str]:
    out, i = [], 0
    while i < len(lines):
        if (i + 1 < len(lines) and lines[i].lstrip().startswith("|") and TABLE_SEP.match(lines[i + 1])
                and "|" in lines[i + 1]):
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            rows = [_split_row(lines[i])]
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(_split_row(lines[i]))
                i += 1
            width = max(len(r) for r in rows)
            if out and out[-1].strip():
                out.append("")
            out += [f"{indent}.. list-table::", f"{indent}   :header-rows: 1", ""]
            for row in rows:
                row = row + [""] * (width - len(row))
                out.append(f"{indent}   * - {row[0] or ' '}")
                out += [f"{indent}     - {c or ' '}" for c in row[1:]]
            out.append("")
            continue
        out.append(lines[i])
        i += 1
    return out


def _column_blocks(lines: list[str]) -> list[str]:
    """Paragraphs (runs of non-blank lines) of which two or more lines are laid out in columns."""
    out, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].strip():
            j += 1
        block = lines[i:j]
        stripped = [b.strip() for b in block]
        if (sum(bool(COLUMNS.search(s)) for s in stripped) >= 2 and not any(s.startswith((">>>", "..", "*", "|"))
                                                                            for s in stripped)):
            indent = min(len(b) - len(b.lstrip()) for b in block)
            if out and out[-1].strip():
                if out[-1].rstrip().endswith(":"):
                    out[-1] = out[-1].rstrip() + ":"  # "text:" + "::" reads as "text:"
                out.append("")
            out += [" " * indent + "::", ""] + ["    " + b for b in block] + [""]
        else:
            out += block
        i = j
    return out


def _lists(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        s = line.lstrip()
        if s.startswith(("- ", "* ")) and out and out[-1].strip():
            prev = out[-1].lstrip()
            same = len(out[-1]) - len(prev) == len(line) - len(s)
            if not prev.startswith(("- ", "* ")) and same:
                out.append("")
        out.append(line)
    return out


def process(app, what, name, obj, options, lines) -> None:
    lines[:] = fix(lines)


def setup(app):
    # before napoleon (priority 500), which reads the Args / Attributes sections this repairs
    app.connect("autodoc-process-docstring", process, priority=400)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
