"""The computation side never imports rendering libraries (matplotlib, plotly, ipywidgets).

Checked in a fresh interpreter: import `lxmert_viz` and every module under it except
`lxmert_viz.viz`, then look at ``sys.modules``.
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
        if name in ("lxmert_viz.viz", "lxmert_viz.conftest"):  # rendering; pytest's doctest set-up
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
