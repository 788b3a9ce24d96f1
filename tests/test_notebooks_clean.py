"""The committed notebooks are clean: numbered, stripped, set up (seeded) first, and checking themselves.

nbval never compares a cell whose stored execution count is empty, so a stripped notebook is only
executed (``pytest --nbval-lax notebooks``); its ``assert`` cells are what the run proves.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NAME = re.compile(r"^\d\d_[a-z0-9]+(_[a-z0-9]+)*\.ipynb$")


def _code(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_readme_lists_every_notebook():
    listed = re.findall(r"^\| `(\d\d_\w+)` \|", (ROOT / "README.md").read_text(), re.M)
    assert listed == [p.stem for p in NOTEBOOKS], f"README's notebook table {listed} vs notebooks/ {NOTEBOOKS}"


def test_nbstripout_would_change_nothing():
    nbstripout = Path(sys.executable).with_name("nbstripout")
    run = subprocess.run(["bash", str(ROOT / "scripts/strip_notebooks.sh"), "--verify"], capture_output=True,
                         text=True, env={"NBSTRIPOUT": str(nbstripout), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, f"notebooks need stripping (bash scripts/strip_notebooks.sh): {run.stdout}{run.stderr}"


def test_numbers_are_unique_and_consecutive():
    numbers = sorted(int(p.name[:2]) for p in NOTEBOOKS if NAME.match(p.name))
    assert numbers == list(range(1, len(numbers) + 1)), f"notebook numbers {numbers}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean(path):
    assert NAME.match(path.name), f"{path.name} is not named NN_name.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = _code(nb)
    assert code, f"{path.name} has no code cells"
    for i, cell in enumerate(code):
        assert not cell.outputs, f"{path.name}: code cell {i} has outputs (run bash scripts/strip_notebooks.sh)"
        assert cell.execution_count is None, f"{path.name}: code cell {i} has an execution count"
    assert "widgets" not in nb.metadata, f"{path.name} stores widget state"
    first = code[0].source
    seeded = "notebook_setup(" in first or ("torch.manual_seed(" in first and "np.random.seed(" in first)
    assert seeded, f"{path.name}: the first code cell must call lxmert_viz.viz.notebook_setup() (or seed torch and numpy)"
    asserts = sum(len(re.findall(r"^\s*assert\b", c.source, re.M)) for c in code)
    assert asserts >= 3, f"{path.name} has {asserts} assert lines; nbval-lax only fails on exceptions"
    assert len(nb.cells) <= 24, f"{path.name} has {len(nb.cells)} cells; keep notebooks short"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_stays_offline(path):
    src = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "LXMERT_VIZ_ASSETS" not in src, f"{path.name} must use the installed assets, not set a path"
    assert "lxmert_viz.load(" in src or "notebook_setup(" in src, f"{path.name} must load a kit (offline)"
    assert not re.search(r"https?://", src), f"{path.name} must not fetch anything"
