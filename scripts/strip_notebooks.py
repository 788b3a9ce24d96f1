"""Strip notebooks for committing: no outputs, no execution counts, no saved widget state.

Usage:
    python scripts/strip_notebooks.py [--check] [NOTEBOOK ...]   (default: notebooks/*.ipynb)

``--check`` changes nothing and exits 1 when a notebook would change (for CI). nbval never compares a
cell whose stored execution count is empty, so stripped notebooks are only executed and their
``assert`` cells are the checks.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
VOLATILE_CELL_KEYS = ("execution", "collapsed", "scrolled", "ExecuteTime")
VOLATILE_NB_KEYS = ("widgets", "varInspector", "toc")


def strip(nb) -> bool:
    """Strip ``nb`` in place; True when something changed."""
    changed = False
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            if key in cell.metadata:
                del cell.metadata[key]
                changed = True
        if cell.cell_type != "code":
            continue
        if cell.outputs:
            cell.outputs = []
            changed = True
        if cell.execution_count is not None:
            cell.execution_count = None
            changed = True
    for key in VOLATILE_NB_KEYS:
        if key in nb.metadata:
            del nb.metadata[key]
            changed = True
    info = nb.metadata.get("language_info")
    if info and set(info) != {"name"}:  # the kernel's version numbers change from machine to machine
        nb.metadata["language_info"] = {"name": info.get("name", "python")}
        changed = True
    return changed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report notebooks that need stripping; write nothing")
    ap.add_argument("paths", nargs="*", type=Path)
    args = ap.parse_args(argv)
    paths = args.paths or sorted((ROOT / "notebooks").glob("*.ipynb"))
    dirty = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if strip(nb):
            dirty.append(path)
            if not args.check:
                nbformat.validate(nb)
                nbformat.write(nb, path)
    for path in dirty:
        print(("needs stripping: " if args.check else "stripped: ") + str(path))
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())
