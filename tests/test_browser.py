"""The kit's views in real browsers: JupyterLab 4, Notebook 7 and marimo, and every notebook's HTML
export read offline. Debian's Chromium through Playwright (it downloads no browser); one server per
front end, on loopback.

* JupyterLab: every notebook in notebooks/ (a glob, so new ones are covered) is opened and run;
  each view found is driven (`front_end_drive.DRIVERS`) with a check after every interaction that
  every picture shows data; the static twins are hidden while the live views show. The notebook is
  then saved by JupyterLab and exported by nbconvert, and the HTML page is opened with every
  request but file:// aborted: every image output must load and every view must show its static
  twin with its pictures (`check_offline_export`). Notebook 04 is also executed by nbconvert itself
  (which stores the widget state, so the export carries widget views) and checked the same way.
* Notebook 7 and marimo: the QA view and the attention explorer, driven the same way (Notebook 7:
  a small notebook of those two; marimo: notebooks/marimo/*.py served by ``marimo run``).
* Notebook 02 loaded afresh ten times: tests/test_browser_loads.py. Servers, pages and running a
  notebook: front_ends.py; the `browser` and `lab` fixtures: conftest.py.

Fails on any page error, console error, HTTP error, error output, warning or traceback on stderr,
or "Error displaying widget". Screenshots of every view after its interactions, and of each export's
first twin, go to tests/out/<front end or notebook>/ (ignored by git; ``LXMERT_VIZ_BROWSER_OUT``
moves it), a summary to tests/out/browser_report.json. Servers get ``--allow-root`` only when the
test runs as root.
"""
from __future__ import annotations

import base64
import io
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from front_end_drive import check_offline_export, drive_all
from front_ends import (
    ENV,
    NOTEBOOKS,
    OUT,
    ROOT,
    RUN_TIMEOUT_S,
    free_port,
    jupyter,
    new_page,
    problems,
    run_notebook,
    serve,
    shutdown_kernels,
)

MARIMO = sorted((ROOT / "notebooks" / "marimo").glob("*.py"))
REPORT: dict = {}


@pytest.fixture(scope="module", autouse=True)
def report():
    """What the tests of this file saw, written to tests/out/browser_report.json at the end."""
    yield REPORT
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "browser_report.json").write_text(json.dumps(REPORT, indent=1, default=str))


def shoot_outputs(page, folder: Path) -> list[str]:
    """A screenshot of every visible figure and view output, in notebook order."""
    names = []
    outs = page.locator(".jp-Cell-outputArea .jp-OutputArea-output")
    for k in range(outs.count()):
        el = outs.nth(k)
        if not el.is_visible() or not el.locator("img, svg, .lxv-root").count():
            continue
        el.scroll_into_view_if_needed()
        path = folder / f"output_{k:02d}.png"
        el.screenshot(path=str(path))
        names.append(path.name)
    return names


def panels_differ(png_src: str, columns: int) -> dict:
    """Split a compare_methods PNG into its columns, crop each image panel, and compare them pairwise."""
    from PIL import Image

    im = np.asarray(Image.open(io.BytesIO(base64.b64decode(png_src.split(",", 1)[1]))).convert("RGB"), dtype=np.int16)
    h, w, _ = im.shape
    cw = w // columns
    crops = [im[int(0.2 * h):int(0.62 * h), j * cw + int(0.1 * cw):(j + 1) * cw - int(0.1 * cw)] for j in range(columns)]
    return {f"{a}-{b}": float((np.abs(crops[a] - crops[b]).sum(-1) > 0).mean())
            for a in range(columns) for b in range(a + 1, columns)}


def live_views(page) -> dict:
    """Views shown live and their static twins (which must be hidden while the view is live)."""
    return page.evaluate("""() => ({
      views: document.querySelectorAll('.lxv-root').length,
      twins: Array.from(document.querySelectorAll('.lxmert-viz-twin')).map(t => t.offsetParent !== null)})""")


def save_notebook(page, path: Path) -> dict:
    """Save the open notebook through the front end and read the file it wrote."""
    before = path.stat().st_mtime_ns
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    for _ in range(120):
        if path.stat().st_mtime_ns != before and not page.evaluate(
                "window.jupyterapp.shell.currentWidget.context.model.dirty"):
            break
        time.sleep(0.25)
    else:
        raise AssertionError(f"{path.name} was not saved")
    return json.loads(path.read_text(encoding="utf-8"))


def export_html(notebook_path: Path, out: Path) -> Path:
    """nbconvert's HTML export (the lab template), without executing."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook_path))
    out.write_text(body, encoding="utf-8")
    return out


# -- JupyterLab: every notebook, then its export offline ------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_in_jupyterlab_and_its_export_offline(lab, browser, path):
    base, token, folder_served = lab
    folder = OUT / path.stem
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    page, errors = new_page(browser)
    t0 = time.time()
    workspace = "".join(ch for ch in path.stem if ch.isalnum())  # each notebook in a fresh workspace
    try:
        cells = run_notebook(page, f"{base}/lab/workspaces/{workspace}/tree/{path.name}?reset&token={token}", path.name)
        ran = time.time() - t0
        found = problems(cells)
        assert not found, f"{path.name}: {found}"
        assert "Error displaying widget" not in page.inner_text(".jp-Notebook")
        shots = shoot_outputs(page, folder)
        results = drive_all(page, folder)
        shown = live_views(page)
        assert shown["views"] == len(shown["twins"]) and not any(shown["twins"]), \
            f"{path.name}: every live view hides its static twin: {shown}"
        for css, r in results.items():
            width, room = page.evaluate(f"() => {{ const e = document.querySelector('.lxv-root{css}');"
                                        " return [e.scrollWidth, e.closest('.jp-OutputArea-output').clientWidth]; }")
            r["width_px"] = [width, room]
            assert width <= room, f"{css} is {width} px wide in an output area of {room} px"
        for c in cells:  # the explanation panels of one answer must not look alike
            if "compare_methods(result, maps)" in c["source"]:
                src = page.evaluate("(text) => { const cells = window.jupyterapp.shell.currentWidget.content.widgets;"
                                    " const c = cells.find(c => c.model.sharedModel.getSource().includes(text));"
                                    " return c.node.querySelector('.jp-OutputArea-output img').src; }",
                                    "compare_methods(result, maps)")
                panels = panels_differ(src, 4)
                results["explanation_panels_differing_pixels"] = panels
                assert min(panels.values()) > 0, f"two explanation panels are pixel-identical: {panels}"
        assert "Error displaying widget" not in page.inner_text(".jp-Notebook")
        page.screenshot(path=str(folder / "viewport.png"))
        saved = save_notebook(page, folder_served / path.name)
    finally:
        page.close()
        shutdown_kernels(base, token)
    assert not errors, f"{path.name}: {errors}"
    html = export_html(folder_served / path.name, folder / f"{path.stem}.html")
    offline = check_offline_export(browser, html, saved, folder / "export_first_twin.png")
    REPORT[f"lab/{path.stem}"] = {"run_s": round(ran, 1), "total_s": round(time.time() - t0, 1), "screenshots": shots,
                                  "views": results, "export_offline": offline}


def test_nbconvert_execute_export_with_widget_state_offline(browser, tmp_path):
    """nbconvert executing a notebook stores the widget state, so its export carries widget views
    whose JavaScript would come from a CDN: offline, the static twins must still show."""
    import nbformat
    from nbconvert.preprocessors import ExecutePreprocessor

    path = ROOT / "notebooks" / "04_interactive_qa.ipynb"
    nb = nbformat.read(path, as_version=4)
    ExecutePreprocessor(timeout=RUN_TIMEOUT_S, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"], "the widget state is stored"
    out = tmp_path / "04_executed.ipynb"
    nbformat.write(nb, out)
    folder = OUT / "nbconvert_execute"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    html = export_html(out, folder / "04_interactive_qa.html")
    offline = check_offline_export(browser, html, json.loads(out.read_text()), folder / "export_first_twin.png")
    assert offline["blocked_requests"] > 0, "the page asked for the widget manager from a CDN, and was refused"
    REPORT["nbconvert_execute/04_interactive_qa"] = offline


# -- Notebook 7 ---------------------------------------------------------------------------------------
NB7_LOAD_ERROR = "Cannot read properties of undefined (reading 'schema')"
FRONT_END_NOTEBOOK = """from lxmert_viz.viz import AttentionExplorer, QAWidget, notebook_setup, sample_scenes

kit = notebook_setup()
scenes = sample_scenes()
qa = QAWidget(kit, [(s["file"].removesuffix(".png"), s["path"]) for s in scenes], question="what color is the circle?")
qa
---
result = kit.ask(scenes[2]["path"], "what color is the circle?")
AttentionExplorer(result)"""


def test_notebook7_drives_the_qa_view_and_the_explorer(browser, tmp_path_factory):
    pytest.importorskip("notebook")
    import nbformat

    folder = tmp_path_factory.mktemp("nb7")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in FRONT_END_NOTEBOOK.split("---\n")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "views.ipynb")
    out = OUT / "notebook7"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    base, token, server = jupyter("notebook", folder)
    for _ in server:
        page, errors = new_page(browser)
        try:
            cells = run_notebook(page, f"{base}/notebooks/views.ipynb?token={token}", "views.ipynb")
            assert not problems(cells), problems(cells)
            results = drive_all(page, out)
            shown = live_views(page)
            page.screenshot(path=str(out / "viewport.png"))
        finally:
            page.close()
            shutdown_kernels(base, token)
    assert set(results) == {".lxmert-viz-qa", ".lxmert-viz-attention-explorer"}, results
    assert not any(shown["twins"]), f"the static twins show beside the live views: {shown}"
    # Notebook 7.6.5's own keyboard-shortcut settings plugin throws this while the page loads, with
    # every third-party extension disabled and before any cell runs (seen with JupyterLab 4.6.6)
    known = [e for e in errors if NB7_LOAD_ERROR in e and "notebook_core" in e]
    assert not [e for e in errors if e not in known], errors
    REPORT["notebook7"] = {**results, "ignored_notebook7_load_errors": len(known)}


# -- marimo -------------------------------------------------------------------------------------------
def test_marimo_drives_the_qa_view_and_the_explorer(browser, tmp_path_factory):
    pytest.importorskip("marimo")
    folder = tmp_path_factory.mktemp("marimo")
    for f in MARIMO:
        shutil.copy(f, folder / f.name)
    port = free_port()
    cmd = [sys.executable, "-m", "marimo", "run", str(folder), "--headless", "--host", "127.0.0.1",
           "--port", str(port), "--no-token"]
    out = OUT / "marimo"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    results = {}
    for _ in serve(cmd, f"http://127.0.0.1:{port}/", folder, ENV, "marimo"):
        for f in MARIMO:
            page, errors = new_page(browser)
            try:
                page.goto(f"http://127.0.0.1:{port}/?file={f.name}", timeout=90_000)
                page.locator(".lxv-root .lxv-panel svg").first.wait_for(timeout=RUN_TIMEOUT_S * 1000)
                results[f.stem] = drive_all(page, out)
                page.screenshot(path=str(out / f"{f.stem}_viewport.png"))
                marimo_errors = page.locator("[data-testid='marimo-error'], .marimo-error").count()
            finally:
                page.close()
            assert not errors, f"{f.name}: {errors}"
            assert not marimo_errors, f"{f.name}: a cell shows an error"
    views = {css for r in results.values() for css in r}
    assert views == {".lxmert-viz-qa", ".lxmert-viz-attention-explorer"}, results
    REPORT["marimo"] = results
