"""Jupyter front ends and Chromium for the browser tests: Debian's Chromium through Playwright (it
downloads no browser), servers on loopback with a fresh token, pages that record every error, and
running a notebook in JupyterLab or Notebook 7 as a reader does (run all, wait for every cell).
The `browser` and `lab` fixtures built on these are in conftest.py."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
OUT = Path(os.environ.get("LXMERT_VIZ_BROWSER_OUT", ROOT / "tests" / "out"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
RUN_TIMEOUT_S = 300
ENV = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", MPLBACKEND="module://matplotlib_inline.backend_inline")
ROOT_FLAG = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


def chromium() -> str | None:
    """The system Chromium (Debian's package), or None."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(cmd: list[str], url: str, folder: Path, env: dict, name: str):
    """Start a server, wait until ``url`` answers; yields the process; stops it afterwards."""
    log = open(folder / f"{name}.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited: " + (folder / f"{name}.log").read_text()[-2000:])
                time.sleep(0.5)
        else:
            raise RuntimeError(f"{name} did not answer within 120 s")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def jupyter_config(folder: Path, app: str) -> Path:
    cfg = folder / ".cfg"
    (cfg / "labconfig").mkdir(parents=True)
    if app == "jupyterlab":  # no "get notified about Jupyter news" pop-up over the screenshots
        (cfg / "labconfig" / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    return cfg


def jupyter(app: str, folder: Path):
    port, token = free_port(), secrets.token_hex(16)
    env = dict(ENV, JUPYTER_CONFIG_DIR=str(jupyter_config(folder, app)), JUPYTER_RUNTIME_DIR=str(folder / ".rt"))
    cmd = [sys.executable, "-m", app, "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
           "--ServerApp.disable_check_xsrf=True", *ROOT_FLAG]
    if app == "jupyterlab":
        cmd.append("--LabApp.expose_app_in_browser=True")
    else:
        cmd.append("--JupyterNotebookApp.expose_app_in_browser=True")
    base = f"http://127.0.0.1:{port}"
    return base, token, serve(cmd, f"{base}/api/status?token={token}", folder, env, app)


def new_page(browser):
    """A page that records every page error, console error and failed request."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"page error: {e} {(e.stack or '')[:300]}"))
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url.split('?')[0]}") if r.status >= 400 else None)
    return page, errors


# -- running a notebook in JupyterLab or Notebook 7 ----------------------------------------------------
CELLS_JS = """() => {
  const nb = window.jupyterapp.shell.currentWidget;
  return nb.content.widgets.filter(c => c.model.type === 'code').map(c => ({
    count: c.model.executionCount, source: c.model.sharedModel.getSource(),
    outputs: c.model.outputs.toJSON().map(o => ({type: o.output_type, name: o.name || null,
      text: Array.isArray(o.text) ? o.text.join('') : (o.text || ''), ename: o.ename || null, evalue: o.evalue || null}))}));
}"""
KERNEL_JS = ("window.jupyterapp && window.jupyterapp.shell.currentWidget && window.jupyterapp.shell.currentWidget"
             ".sessionContext && window.jupyterapp.shell.currentWidget.sessionContext.session && "
             "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel")
BAD_STDERR = ("Traceback", "Error", "Warning", "warning:")


def problems(cells) -> list[str]:
    out = []
    for i, c in enumerate(cells):
        for o in c["outputs"]:
            if o["type"] == "error":
                out.append(f"cell {i}: {o['ename']}: {o['evalue']}")
            elif o["type"] == "stream" and o["name"] == "stderr" and any(w in o["text"] for w in BAD_STDERR):
                out.append(f"cell {i} wrote to stderr: {o['text'][:300]}")
    return out


def run_notebook(page, url: str, name: str) -> list:
    """Open ``url``, run all cells, wait until every code cell ran (or one failed); returns the cells."""
    page.goto(url, timeout=90_000)
    page.wait_for_selector(".jp-Notebook", timeout=90_000)
    page.wait_for_function(KERNEL_JS, timeout=90_000)
    page.wait_for_function(KERNEL_JS + ".status === 'idle'", timeout=90_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    t0 = time.time()
    while True:
        cells = page.evaluate(CELLS_JS)
        done = all(c["count"] is not None for c in cells)
        idle = page.evaluate(KERNEL_JS + ".status") == "idle"
        if problems(cells) or (done and idle):
            return cells
        if time.time() - t0 > RUN_TIMEOUT_S:
            raise AssertionError(f"{name}: cells still running after {RUN_TIMEOUT_S} s: "
                                 f"{[i for i, c in enumerate(cells) if c['count'] is None]}")
        time.sleep(0.5)


def shutdown_kernels(base: str, token: str) -> None:
    """Stop every kernel the notebook started (the next notebook gets the machine to itself)."""
    with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=10) as r:
        kernels = json.loads(r.read())
    for k in kernels:
        req = urllib.request.Request(f"{base}/api/kernels/{k['id']}?token={token}", method="DELETE")
        urllib.request.urlopen(req, timeout=30).close()
