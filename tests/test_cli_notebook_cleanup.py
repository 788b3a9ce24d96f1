"""The notebooks that `lxmert-viz lab` opens leave nothing behind: a notebook that makes a temporary
folder makes it with `tempfile.TemporaryDirectory` and removes it in its last code cell (nbval stops
a kernel without a clean exit, so a folder left to the interpreter's exit would stay)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def code_cells(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_temporary_folders_are_removed_in_the_last_cell(path):
    cells = code_cells(path)
    code = "\n".join(cells)
    assert "mkdtemp(" not in code, "mkdtemp is never removed: use tempfile.TemporaryDirectory"
    names = [line.split("=")[0].strip() for line in code.splitlines() if "tempfile.TemporaryDirectory(" in line]
    for name in names:
        assert f"{name}.cleanup()" in cells[-1], f"{path.name}: the last code cell removes {name}"


def test_the_notebooks_that_write_files_are_checked():
    writers = [p.stem[:2] for p in NOTEBOOKS if "tempfile.TemporaryDirectory(" in "\n".join(code_cells(p))]
    assert {"05", "07"} <= set(writers)
