"""Notebook 02 in JupyterLab, loaded afresh again and again: every picture of every view is drawn on
every load (issue 23.5). A file of its own, beside tests/test_browser.py, so that the two run on
different pytest-xdist workers. Screenshot and report: tests/out/explorer_loads/."""
from __future__ import annotations

import json
import os
import shutil
import time

from front_end_drive import check_drawn
from front_ends import NOTEBOOKS, OUT, new_page, problems, run_notebook, shutdown_kernels

EXPLORER_LOADS = int(os.environ.get("LXMERT_VIZ_EXPLORER_LOADS", "10"))


def test_notebook_02_draws_every_panel_on_every_load(lab, browser):
    """Issue 23.5: with plotly FigureWidgets inside ipywidgets boxes, 1 load in 4 of notebook 02 left
    the explorer's heatmap and head grid as empty axes. Load 02 afresh (new workspace, new kernel)
    ``EXPLORER_LOADS`` times; after each, every picture panel of every view must have data drawn
    (SVG cells, bars, lines or images with a size, and pixels that are not one flat colour)."""
    base, token, folder = lab
    path = next(p for p in NOTEBOOKS if p.stem.startswith("02_"))
    out = OUT / "explorer_loads"
    out.mkdir(parents=True, exist_ok=True)
    loads = []
    for k in range(EXPLORER_LOADS):
        # a fresh copy each time: a copy JupyterLab has saved (autosave) holds outputs, and views saved
        # without their kernel's widget models are not what a first load sees
        name = f"load{k:02d}_{path.name}"
        shutil.copy(path, folder / name)
        page, errors = new_page(browser)
        t0 = time.time()
        try:
            cells = run_notebook(page, f"{base}/lab/workspaces/load02n{k}/tree/{name}?reset&token={token}", name)
            assert not problems(cells), f"load {k}: {problems(cells)}"
            roots = page.locator(".lxv-root")
            assert roots.count() >= 1, f"load {k}: no view on the page"
            drawn = []
            for i in range(roots.count()):
                root = roots.nth(i)
                root.scroll_into_view_if_needed()
                panels = check_drawn(root, f"load {k}, view {i}")
                drawn.append({"panels": len(panels), "empty": sum(p["shapes"] + p["images"] == 0 for p in panels)})
            if k == 0:
                roots.first.screenshot(path=str(out / "load_00_first_view.png"))
        finally:
            page.close()
            shutdown_kernels(base, token)
        assert not errors, f"load {k}: {errors}"
        loads.append({"load": k, "views": drawn, "s": round(time.time() - t0, 1)})
    (out / "report.json").write_text(json.dumps(loads, indent=1))
    assert len(loads) == EXPLORER_LOADS and all(v["empty"] == 0 for ld in loads for v in ld["views"])
