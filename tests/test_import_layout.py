"""The dependency graph can be read from the top of each file: no function-local import of the
package's own modules (lazy imports stay only for heavy optional packages: matplotlib, plotly,
ipywidgets, anywidget, ray, transformers, h5py, tqdm, huggingface_hub and the like)."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "lxmert_viz"


def _local_package_imports(path: Path) -> list[str]:
    """``file:line module`` of every import of ``lxmert_viz`` inside a function or method body."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []

    def visit(node, in_function: bool):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if in_function and isinstance(child, ast.ImportFrom) and (child.level > 0 or (child.module or "").startswith("lxmert_viz")):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{child.lineno} {'.' * child.level}{child.module or ''}")
            if in_function and isinstance(child, ast.Import) and any(a.name.startswith("lxmert_viz") for a in child.names):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{child.lineno} {child.names[0].name}")
            visit(child, inner)

    visit(tree, False)
    return found


def test_no_function_local_imports_of_the_package():
    found = [hit for p in sorted(PACKAGE.rglob("*.py")) for hit in _local_package_imports(p)]
    assert not found, "imports of the package's own modules belong at the top of the file:\n" + "\n".join(found)


def test_the_scan_sees_a_local_import(tmp_path):
    # the check itself can fail: a function-local relative import is found
    p = PACKAGE / "_probe_for_test.py"
    try:
        p.write_text("def f():\n    from .result import Result\n    return Result\n", encoding="utf-8")
        assert _local_package_imports(p) == ["lxmert_viz/_probe_for_test.py:2 .result"]
    finally:
        p.unlink()


def test_the_network_file_stays_one_read_of_at_most_500_lines():
    lines = (PACKAGE / "model" / "lxmert.py").read_text(encoding="utf-8").count("\n")
    assert lines <= 500, f"lxmert_viz/model/lxmert.py has {lines} lines; move bookkeeping out of the network file"
