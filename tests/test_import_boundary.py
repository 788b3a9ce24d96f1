"""The computation side never imports rendering libraries (matplotlib, plotly, ipywidgets).

Checked in a fresh interpreter: import `lxmert_viz` and every module under it except
`lxmert_viz.viz` and the command line (`lxmert_viz.cli`, a front end that draws its PNG), then look at
``sys.modules``.
"""
import json
import subprocess
import sys

RENDERING = ("matplotlib", "plotly", "ipywidgets")

SCRIPT = r"""
import importlib, json, pkgutil, sys
import lxmert_viz
names, failed = [], {}


def walk(path, prefix):
    # pkgutil.walk_packages imports every package to recurse into it, lxmert_viz.viz included;
    # walk by hand so that the rendering package is never imported at all
    for info in pkgutil.iter_modules(path, prefix):
        name = info.name
        # rendering, the command line (a front end that draws its PNG) and pytest's doctest set-up
        if name in ("lxmert_viz.viz", "lxmert_viz.cli", "lxmert_viz.conftest"):
            continue
        try:
            mod = importlib.import_module(name)
            names.append(name)
        except Exception as err:  # a module that cannot import here is reported, not hidden
            failed[name] = f"{type(err).__name__}: {err}"
            continue
        if info.ispkg:
            walk(mod.__path__, name + ".")


walk(lxmert_viz.__path__, "lxmert_viz.")
assert "lxmert_viz.viz" not in sys.modules
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"matplotlib", "plotly", "ipywidgets"})
print(json.dumps({"imported": names, "failed": failed, "rendering": loaded}))
"""


def _run(script: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_computation_modules_leave_rendering_libraries_out():
    out = _run(SCRIPT)
    assert "lxmert_viz.model.lxmert" in out["imported"] and "lxmert_viz.result" in out["imported"]
    assert out["rendering"] == [], f"imported by the computation side: {out['rendering']}"
    # modules that need an optional package (transformers, easy_vqa, ...) may fail to import here,
    # but never because of a rendering library
    assert not [n for n, e in out["failed"].items() if any(r in e for r in RENDERING)], out["failed"]


def test_importing_viz_package_is_lazy_too():
    out = _run("import json, sys, lxmert_viz.viz as v; v.overlay; "
               "print(json.dumps({'rendering': sorted({m.split('.')[0] for m in sys.modules} & "
               "{'matplotlib', 'plotly', 'ipywidgets'})}))")
    assert out["rendering"] == []


def _import_graph() -> dict[str, set[str]]:
    """module -> the lxmert_viz modules it imports (at the top or inside functions), from the source."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    files = {}
    for f in (root / "lxmert_viz").rglob("*.py"):
        parts = f.relative_to(root).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    graph = {m: set() for m in files}
    for mod, f in files.items():
        pkg = mod if f.name == "__init__.py" else mod.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = pkg.split(".")[: len(pkg.split(".")) - max(node.level - 1, 0)] if node.level else []
                target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
                for name in [target] + [f"{target}.{a.name}" for a in node.names]:
                    if name in files and name != mod:
                        graph[mod].add(name)
            elif isinstance(node, ast.Import):
                graph[mod].update(a.name for a in node.names if a.name in files)
    return graph


def test_no_import_circle():
    """No two modules import each other, directly or through others (a package's __init__ that
    re-exports its own modules is not a circle)."""
    graph = _import_graph()
    for mod in graph:  # drop a package's edges to its own children: those are re-exports
        graph[mod] = {m for m in graph[mod] if not m.startswith(mod + ".")}
    state, path = {}, []

    def visit(m):
        state[m] = "open"
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                raise AssertionError("import circle: " + " -> ".join(path[path.index(n):] + [n]))
            if n not in state:
                visit(n)
        path.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert graph["lxmert_viz.kit"], "the graph was read (kit imports other modules)"
