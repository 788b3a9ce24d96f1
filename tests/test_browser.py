"""A real browser: JupyterLab on loopback, 04_interactive_qa in Debian's Chromium via Playwright.

Runs every cell, types a new question into the QA widget and checks that the widgets rendered (their
DOM is there, no "Error displaying widget"), that the answer list changed, and saves a screenshot to
``tests/out/browser_qa.png``. Playwright drives the system Chromium; it downloads no browser.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "04_interactive_qa.ipynb"
SHOT = ROOT / "tests" / "out" / "browser_qa.png"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """JupyterLab serving a copy of the notebook (the repository's file is never written)."""
    pytest.importorskip("jupyterlab")
    shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
               HF_HUB_OFFLINE="1", MPLBACKEND="Agg")
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
           f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}",
           "--LabApp.expose_app_in_browser=True", "--ServerApp.disable_check_xsrf=True"]
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("jupyter lab exited: " + (tmp_path / "lab.log").read_text()[-2000:])
                time.sleep(0.5)
        else:
            raise RuntimeError("jupyter lab did not answer within 60 s")
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _answers(page) -> str:
    return page.inner_text(".lxmert-viz-qa-answers")


def test_interactive_qa_in_chromium(lab):
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it as root)")
    base, token = lab
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{NOTEBOOK.name}?token={token}", timeout=90_000)
            page.wait_for_selector(".jp-Notebook", timeout=90_000)
            page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
                                   timeout=90_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            box = page.wait_for_selector(".lxmert-viz-qa-question input", timeout=180_000)
            page.wait_for_function(
                "document.querySelector('.lxmert-viz-qa-answers') &&"
                " document.querySelector('.lxmert-viz-qa-answers').innerText.trim().length > 0", timeout=120_000)
            # wait until the kernel is idle: every cell has run
            page.wait_for_function("window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
                                   " === 'idle'", timeout=180_000)
            before = _answers(page)
            box.fill("how many triangles are there?")
            page.click(".lxmert-viz-qa-ask")
            page.wait_for_function(
                "(b) => document.querySelector('.lxmert-viz-qa-answers').innerText !== b", arg=before,
                timeout=60_000)
            after = _answers(page)
            top = page.inner_text('.lxmert-viz-qa-answers tr[data-rank="1"] b')
            plot = ".lxmert-viz-qa-overlay.js-plotly-plot"
            page.wait_for_selector(plot, timeout=60_000)
            # the overlay's region boxes reached the browser with their corners and a fill
            page.wait_for_function(
                "(sel) => { const gd = document.querySelector(sel); return gd && gd.data &&"
                " gd.data.filter(t => t.fill === 'toself' && t.x && t.x.length === 5).length > 0; }",
                arg=plot, timeout=60_000)
            boxes = page.evaluate(
                "(sel) => document.querySelector(sel).data.filter(t => t.fill === 'toself')"
                ".map(t => [t.x.length, t.fillcolor])", plot)
            page.locator(".lxmert-viz-qa-answers").scroll_into_view_if_needed()
            time.sleep(1.0)
            SHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOT), full_page=False)
            text = page.inner_text("body")
        finally:
            browser.close()
    assert "Error displaying widget" not in text
    assert "Traceback" not in text, "a notebook cell raised"
    assert after != before and after.strip()
    assert top.strip() in {"0", "1", "2", "3", "4", "5", "6"}, f"a count question got {top!r}"
    assert boxes and all(n == 5 for n, _ in boxes), boxes
    assert any(float(c.rsplit(",", 1)[1].rstrip(")")) > 0.2 for _, c in boxes), "no box is shaded"
    assert SHOT.stat().st_size > 10_000
