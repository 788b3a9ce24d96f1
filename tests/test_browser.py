"""Every notebook in a real browser: JupyterLab on loopback, Debian's Chromium through Playwright.

For each notebook in notebooks/ (a glob, so new ones are covered): open it, run all cells, wait
until every code cell has run, then drive each widget type the test knows (QA widget, attention
explorer, states explorer, masking widget). Fails on any page error, console error, error output,
warning or traceback on stderr, or "Error displaying widget". Saves a screenshot of every figure
and widget under tests/out/<notebook>/ (ignored by git; ``LXMERT_VIZ_BROWSER_OUT`` moves it) and a
summary in tests/out/browser_report.json.

It also checks the pictures themselves: on sample scene 0, for the word "circle", the mean change
the shading makes to the pixels outside every object box is at most 10 % of its mean change inside
the circle's box (measured on the browser's own rendering, shading shown vs hidden); and the four
explanation panels of 06 are not pixel-identical.

JupyterLab gets ``--allow-root`` only when the test runs as root. Playwright drives the system
Chromium; it downloads no browser.
"""
from __future__ import annotations

import base64
import io
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

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
OUT = Path(os.environ.get("LXMERT_VIZ_BROWSER_OUT", ROOT / "tests" / "out"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
RUN_TIMEOUT_S = 300
REPORT: dict = {}


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


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving copies of every notebook (the repository's files are never written)."""
    pytest.importorskip("jupyterlab")
    folder = tmp_path_factory.mktemp("lab")
    for nb in NOTEBOOKS:
        shutil.copy(nb, folder / nb.name)
    cfg = folder / ".cfg"
    (cfg / "labconfig").mkdir(parents=True)
    # no "get notified about Jupyter news" pop-up over the screenshots
    (cfg / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(cfg), JUPYTER_RUNTIME_DIR=str(folder / ".rt"),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", MPLBACKEND="module://matplotlib_inline.backend_inline")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
           "--LabApp.expose_app_in_browser=True", "--ServerApp.disable_check_xsrf=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # JupyterLab refuses root without it; a normal user needs none
    log = open(folder / "lab.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("jupyter lab exited: " + (folder / "lab.log").read_text()[-2000:])
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
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "browser_report.json").write_text(json.dumps(REPORT, indent=1))


@pytest.fixture(scope="module")
def browser(lab):
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it as root)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


# -- running a notebook ---------------------------------------------------------------------------
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


def _problems(cells) -> list[str]:
    out = []
    for i, c in enumerate(cells):
        for o in c["outputs"]:
            if o["type"] == "error":
                out.append(f"cell {i}: {o['ename']}: {o['evalue']}")
            elif o["type"] == "stream" and o["name"] == "stderr" and any(w in o["text"] for w in BAD_STDERR):
                out.append(f"cell {i} wrote to stderr: {o['text'][:300]}")
    return out


def run_notebook(page, base: str, token: str, name: str) -> list:
    """Open ``name``, run all cells, wait until every code cell ran (or one failed); returns the cells."""
    # a workspace of its own, reset: JupyterLab would otherwise reopen the notebooks opened before
    workspace = "".join(ch for ch in Path(name).stem if ch.isalnum())
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{name}?reset&token={token}", timeout=90_000)
    page.wait_for_selector(".jp-Notebook", timeout=90_000)
    page.wait_for_function(KERNEL_JS, timeout=90_000)
    page.wait_for_function(KERNEL_JS + ".status === 'idle'", timeout=90_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    t0 = time.time()
    while True:
        cells = page.evaluate(CELLS_JS)
        done = all(c["count"] is not None for c in cells)
        idle = page.evaluate(KERNEL_JS + ".status") == "idle"
        if _problems(cells) or (done and idle):
            return cells
        if time.time() - t0 > RUN_TIMEOUT_S:
            raise AssertionError(f"{name}: cells still running after {RUN_TIMEOUT_S} s: "
                                 f"{[i for i, c in enumerate(cells) if c['count'] is None]}")
        time.sleep(0.5)


def shoot_outputs(page, folder: Path) -> list[str]:
    """A screenshot of every figure and widget output, in notebook order."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    outs = page.locator(".jp-Cell-outputArea .jp-OutputArea-output")
    for k in range(outs.count()):
        el = outs.nth(k)
        if not el.locator("img, .js-plotly-plot, .widget-box, .jupyter-widgets").count():
            continue
        el.scroll_into_view_if_needed()
        time.sleep(0.3)
        path = folder / f"output_{k:02d}.png"
        el.screenshot(path=str(path))
        names.append(path.name)
    return names


# -- pixels ---------------------------------------------------------------------------------------
GEOMETRY_JS = """(sel) => {
  const gd = document.querySelector(sel);
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
  const n = gd.layout.meta.regions, px = (x, y) => [r.left + xa.l2p(x) + xa._offset, r.top + ya.l2p(y) + ya._offset];
  const rect = (x0, y0, x1, y1) => { const a = px(x0, y0), b = px(x1, y1);
    return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])]; };
  const boxes = [];
  for (let i = 0; i < n; i++) {
    const t = gd.data[2 + i];
    boxes.push(rect(Math.min(...t.x), Math.min(...t.y), Math.max(...t.x), Math.max(...t.y)));
  }
  const [w, h] = gd.layout.meta.image_size;
  return {image: rect(0, 0, w, h), boxes: boxes, title: gd.layout.title.text};
}"""


def _grab(page, rect) -> np.ndarray:
    from PIL import Image

    x0, y0, x1, y1 = rect
    png = page.screenshot(clip={"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0})
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)


def shading_ratio(page, plot: str, target: int) -> dict:
    """Mean |shaded - unshaded| outside every object box over the mean inside box ``target``,
    on the browser's own rendering (the shading layer, the plot's second image, hidden for the
    unshaded picture). Box 0 is the whole-image scene row and not an object box."""
    geo = page.evaluate(GEOMETRY_JS, plot)
    shaded = _grab(page, geo["image"])
    page.evaluate("(sel) => { document.querySelector(sel).querySelectorAll('g.imagelayer image, .im image')[1]"
                  ".style.visibility = 'hidden'; }", plot)
    time.sleep(0.3)
    plain = _grab(page, geo["image"])
    page.evaluate("(sel) => { document.querySelector(sel).querySelectorAll('g.imagelayer image, .im image')[1]"
                  ".style.visibility = ''; }", plot)
    diff = np.abs(shaded - plain).sum(-1)
    ox, oy = geo["image"][0], geo["image"][1]
    h, w = diff.shape
    inside_any = np.zeros((h, w), bool)
    for i, (x0, y0, x1, y1) in enumerate(geo["boxes"]):
        if i == 0:
            continue
        inside_any[max(0, int(y0 - oy)):int(y1 - oy) + 1, max(0, int(x0 - ox)):int(x1 - ox) + 1] = True
    x0, y0, x1, y1 = geo["boxes"][target]
    inside = diff[int(y0 - oy) + 1:int(y1 - oy), int(x0 - ox) + 1:int(x1 - ox)].mean()
    outside = diff[~inside_any].mean()
    return {"inside": float(inside), "outside": float(outside), "ratio": float(outside / max(inside, 1e-9)),
            "title": geo["title"], "plain": plain}


def upright(plain: np.ndarray, source: Path) -> dict:
    """How far the rendered picture is from the source image, as it is and upside down."""
    from PIL import Image

    with Image.open(source) as im:
        src = np.asarray(im.convert("RGB").resize((plain.shape[1], plain.shape[0]), Image.NEAREST), dtype=np.float64)
    return {"as_is": float(np.abs(plain - src).mean()), "flipped": float(np.abs(plain - src[::-1]).mean())}


def panels_differ(png_src: str, columns: int) -> dict:
    """Split a compare_methods PNG into its columns, crop each image panel, and compare them pairwise."""
    from PIL import Image

    im = np.asarray(Image.open(io.BytesIO(base64.b64decode(png_src.split(",", 1)[1]))).convert("RGB"), dtype=np.int16)
    h, w, _ = im.shape
    cw = w // columns
    crops = [im[int(0.2 * h):int(0.62 * h), j * cw + int(0.1 * cw):(j + 1) * cw - int(0.1 * cw)] for j in range(columns)]
    share = {f"{a}-{b}": float((np.abs(crops[a] - crops[b]).sum(-1) > 0).mean())
             for a in range(columns) for b in range(a + 1, columns)}
    return share


# -- widgets --------------------------------------------------------------------------------------
def _select(page, css: str, label: str) -> None:
    """Pick the option labelled ``label`` (ipywidgets writes the label into the value attribute; the
    shown text has non-breaking spaces)."""
    page.locator(f"{css} select").first.select_option(value=label)


def _wait_text(page, css: str, predicate_js: str, timeout: int = 60_000) -> None:
    try:
        page.wait_for_function(f"() => {{ const e = document.querySelector({css!r}); return e && ({predicate_js}); }}",
                               timeout=timeout)
    except Exception as err:
        now = page.evaluate(f"() => {{ const e = document.querySelector({css!r}); return e ? e.outerHTML.slice(0, 600)"
                            " : 'missing'; }")
        status = page.evaluate("() => Array.from(document.querySelectorAll('.lxmert-viz-qa-status, "
                               ".lxmert-viz-mask-status')).map(e => e.innerText)")
        raise AssertionError(f"waited for {css} to satisfy {predicate_js}; it is {now}; status lines {status}") from err


def drive_qa(page, folder: Path) -> dict:
    """Ask, change image, upload, and measure the shading for the word 'circle'."""
    root = ".lxmert-viz-qa"
    plot = f"{root} .lxmert-viz-qa-overlay.js-plotly-plot"
    before = page.inner_text(".lxmert-viz-qa-answers")
    page.locator(".lxmert-viz-qa-question input").first.fill("how many triangles are there?")
    page.click(".lxmert-viz-qa-ask")
    _wait_text(page, ".lxmert-viz-qa-answers", f"e.innerText !== {before!r}")
    top = page.inner_text('.lxmert-viz-qa-answers tr[data-rank="1"] b').strip()
    assert top in {"0", "1", "2", "3", "4", "5", "6"}, f"a count question got {top!r}"
    _select(page, ".lxmert-viz-qa-sample", "scene_02")  # a new image: the figure rebuilds in place
    _wait_text(page, ".lxmert-viz-qa-status", "e.innerText.includes('scene_02')")
    sample = ROOT / "assets" / "samples" / "scene_03.png"
    upload = page.locator(".lxmert-viz-qa-upload")
    inner = upload.locator("input[type=file]")
    if inner.count():
        inner.first.set_input_files(str(sample))
    else:  # ipywidgets 8 opens a file chooser from the button
        with page.expect_file_chooser() as chooser:
            upload.first.click()
        chooser.value.set_files(str(sample))
    _wait_text(page, ".lxmert-viz-qa-sample select", "e.value === 'uploaded: scene_03.png'")
    _wait_text(page, ".lxmert-viz-qa-status", "e.innerText.includes('scene_03.png')")
    _select(page, ".lxmert-viz-qa-sample", "scene_00")
    _wait_text(page, ".lxmert-viz-qa-status", "e.innerText.includes('scene_00')")
    page.locator(".lxmert-viz-qa-question input").first.fill("what color is the circle?")
    page.click(".lxmert-viz-qa-ask")
    _wait_text(page, ".lxmert-viz-qa-token select", "e.value === 'circle'")
    page.wait_for_function("(sel) => document.querySelector(sel).layout.title.text.includes(\"word 'circle'\")",
                           arg=plot, timeout=60_000)
    page.locator(plot).scroll_into_view_if_needed()
    time.sleep(1.0)
    page.locator(root).screenshot(path=str(folder / "qa_circle.png"))
    meta = json.loads((ROOT / "assets" / "samples" / "samples.json").read_text())[0]
    circle = 1 + next(i for i, o in enumerate(meta["objects"]) if o["shape"] == "circle")
    ratio = shading_ratio(page, plot, circle)
    orientation = upright(ratio.pop("plain"), ROOT / "assets" / "samples" / meta["file"])
    assert orientation["as_is"] < orientation["flipped"], f"the picture is drawn upside down: {orientation}"
    _select(page, ".lxmert-viz-qa-token", "what")
    page.wait_for_function("(sel) => document.querySelector(sel).layout.title.text.includes(\"word 'what'\")",
                           arg=plot, timeout=60_000)
    _select(page, ".lxmert-viz-qa-head", "head 0")
    page.wait_for_function("(sel) => document.querySelector(sel).layout.title.text.includes('head 0')",
                           arg=plot, timeout=60_000)
    page.locator(root).screenshot(path=str(folder / "qa_what_head0.png"))
    return {"circle_shading": ratio, "orientation": orientation, "count_answer": top}


def drive_attention(page, folder: Path) -> dict:
    root = ".lxmert-viz-attention-explorer"
    _select(page, ".lxmert-viz-attn-family", "v2l")
    page.wait_for_function(f"() => Array.from(document.querySelectorAll('{root} .js-plotly-plot'))"
                           ".some(g => g.layout.title.text.startsWith('v2l'))", timeout=60_000)
    _select(page, ".lxmert-viz-attn-head", "head 1")
    page.wait_for_function(f"() => Array.from(document.querySelectorAll('{root} .js-plotly-plot'))"
                           ".some(g => g.layout.title.text.includes('head 1'))", timeout=60_000)
    page.locator(root).first.scroll_into_view_if_needed()
    time.sleep(0.8)
    page.locator(root).first.screenshot(path=str(folder / "attention_v2l_head1.png"))
    width, room = page.evaluate(f"() => {{ const e = document.querySelector('{root}');"
                                " return [e.scrollWidth, e.closest('.jp-OutputArea-output').clientWidth]; }")
    notebook = page.evaluate("() => document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)').clientWidth")
    assert width <= room, f"the explorer is {width} px wide; its output area in a {notebook} px notebook has {room}"
    return {"explorer_width_px": width, "output_area_px": room, "notebook_px": notebook}


def drive_states(page, folder: Path) -> dict:
    root = ".lxmert-viz-states-explorer"
    options = page.evaluate("() => Array.from(document.querySelectorAll('.lxmert-viz-states-item select option'))"
                            ".map(o => o.value)")
    _select(page, ".lxmert-viz-states-item", options[2])
    page.locator(f"{root} button", has_text="distance").first.click()
    page.wait_for_function(f"() => Array.from(document.querySelectorAll('{root} .js-plotly-plot'))"
                           ".some(g => g.layout.title.text.includes('distance') && g.layout.title.text.includes("
                           f"{options[2].split(': ', 1)[1]!r}))", timeout=60_000)
    page.locator(root).first.scroll_into_view_if_needed()
    time.sleep(0.8)
    page.locator(root).first.screenshot(path=str(folder / "states_distance.png"))
    return {"item": options[2]}


def drive_masking(page, folder: Path) -> dict:
    root = ".lxmert-viz-mask"
    button = page.locator(".lxmert-viz-mask-region").nth(1)
    name = button.inner_text().strip()
    button.click()
    _wait_text(page, ".lxmert-viz-mask-status", "!e.innerText.includes('dropped regions: none')")
    page.locator(root).first.scroll_into_view_if_needed()
    time.sleep(0.8)
    page.locator(root).first.screenshot(path=str(folder / "masking_dropped.png"))
    _select(page, ".lxmert-viz-mask-method", page.evaluate(
        "() => document.querySelector('.lxmert-viz-mask-method select').options[3].value"))
    page.locator(".lxmert-viz-mask-reset").first.click()
    _wait_text(page, ".lxmert-viz-mask-status", "e.innerText.includes('dropped regions: none')")
    method = page.evaluate("() => document.querySelector('.lxmert-viz-mask-method select').value")
    assert method.startswith("relevancy"), f"reset leaves the method at {method!r}"
    return {"dropped": name}


def drive_dataset(page, folder: Path) -> dict:
    """Click a head of the data-set grid: the examples panel must redraw for that head."""
    root = ".lxmert-viz-dataset-explorer"
    page.locator(root).first.scroll_into_view_if_needed()
    xy = page.evaluate(f"""() => {{ const g = document.querySelectorAll('{root} .js-plotly-plot')[0];
        const L = g._fullLayout, r = g.getBoundingClientRect();
        return [r.left + L._size.l + L.xaxis.l2p(1), r.top + L._size.t + L.yaxis.l2p(0)]; }}""")
    page.mouse.click(*xy)
    page.wait_for_function(f"() => {{ const g = document.querySelectorAll('{root} .js-plotly-plot')[1];"
                           " return g.layout.title.text.includes('layer 0 head 1'); }", timeout=60_000)
    images = page.evaluate(f"() => document.querySelectorAll('{root} .js-plotly-plot')[1].layout.images.length")
    time.sleep(0.8)
    page.locator(root).first.screenshot(path=str(folder / "dataset_layer0_head1.png"))
    assert images >= 2, f"the examples panel shows {images} images after the click"
    return {"examples_shown": images}


def drive_interventions(page, folder: Path) -> dict:
    """Every tab of the interventions widget: run it, wait for its table or picture, no error."""
    root = ".lxmert-viz-iv"
    tabs = page.locator(f"{root} .lxmert-viz-iv-tabs .lm-TabBar-tab")
    done = {}

    def tab(title):
        tabs.filter(has_text=title).first.click()
        time.sleep(0.3)

    def run_and_wait(button, table):
        before = page.inner_text(table) if page.locator(table).count() else ""
        page.locator(button).first.click()
        _wait_text(page, table, f"e.innerText !== {before!r}")

    tab("masked word")
    page.locator(f"{root} .lxmert-viz-iv-fill-text input").first.fill("what color is the [MASK]?")
    run_and_wait(f"{root} .lxmert-viz-iv-fill-run", f"{root} .lxmert-viz-iv-fill-table")
    done["fill_rows"] = page.locator(f"{root} .lxmert-viz-iv-fill-table tr.lxmert-viz-iv-row").count()
    tab("match")
    page.locator(f"{root} .lxmert-viz-iv-match-text textarea").first.fill("a black circle\na yellow square")
    run_and_wait(f"{root} .lxmert-viz-iv-match-run", f"{root} .lxmert-viz-iv-match-table")
    tab("ablation")
    _select(page, f"{root} .lxmert-viz-iv-ablate-family", "lang")
    run_and_wait(f"{root} .lxmert-viz-iv-ablate-run", f"{root} .lxmert-viz-iv-ablate-table")
    tab("patching")
    before = page.evaluate(f"() => document.querySelector('{root} img.lxmert-viz-iv-patch-image').naturalHeight")
    page.locator(f"{root} .lxmert-viz-iv-patch-per-position input").first.click()
    page.locator(f"{root} .lxmert-viz-iv-patch-run").first.click()
    page.wait_for_function(f"() => document.querySelector('{root} img.lxmert-viz-iv-patch-image').naturalHeight "
                           f"!== {before}", timeout=60_000)
    time.sleep(0.5)
    page.locator(root).first.screenshot(path=str(folder / "interventions_patching.png"))
    status = page.inner_text(f"{root} .lxmert-viz-iv-status").strip()
    assert not status, f"the interventions widget reports: {status}"
    assert done["fill_rows"] > 0, "the masked-word table is empty"
    return done


def _shutdown_kernels(base: str, token: str) -> None:
    """Stop every kernel the notebook started (the next notebook gets the machine to itself)."""
    with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=10) as r:
        kernels = json.loads(r.read())
    for k in kernels:
        req = urllib.request.Request(f"{base}/api/kernels/{k['id']}?token={token}", method="DELETE")
        urllib.request.urlopen(req, timeout=30).close()


WIDGETS = {".lxmert-viz-qa": drive_qa, ".lxmert-viz-attention-explorer": drive_attention,
           ".lxmert-viz-states-explorer": drive_states, ".lxmert-viz-mask": drive_masking,
           ".lxmert-viz-dataset-explorer": drive_dataset, ".lxmert-viz-iv": drive_interventions}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_in_chromium(lab, browser, path):
    base, token = lab
    folder = OUT / path.stem
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url.split('?')[0]}") if r.status >= 400 else None)
    t0 = time.time()
    try:
        cells = run_notebook(page, base, token, path.name)
        ran = time.time() - t0
        problems = _problems(cells)
        assert not problems, f"{path.name}: {problems}"
        assert "Error displaying widget" not in page.inner_text(".jp-Notebook")
        shots = shoot_outputs(page, folder)
        found, results = [], {}
        for css, drive in WIDGETS.items():
            if page.locator(css).count():
                found.append(css)
                results[css] = drive(page, folder)
                width, room = page.evaluate(f"() => {{ const e = document.querySelector('{css}');"
                                            " return [e.scrollWidth, e.closest('.jp-OutputArea-output').clientWidth]; }")
                results[css]["width_px"] = [width, room]
                assert width <= room, f"{css} is {width} px wide in an output area of {room} px"
        for c in cells:  # the explanation panels of one answer must not look alike
            if "compare_methods(result, maps)" in c["source"]:
                src = page.evaluate("(text) => { const cells = window.jupyterapp.shell.currentWidget.content.widgets;"
                                    " const c = cells.find(c => c.model.sharedModel.getSource().includes(text));"
                                    " return c.node.querySelector('.jp-OutputArea-output img').src; }",
                                    "compare_methods(result, maps)")
                results["explanation_panels_differing_pixels"] = panels_differ(src, 4)
        time.sleep(0.5)
        assert "Error displaying widget" not in page.inner_text(".jp-Notebook")
        page.screenshot(path=str(folder / "viewport.png"))
        REPORT[path.stem] = {"run_s": round(ran, 1), "total_s": round(time.time() - t0, 1), "widgets": found,
                             "screenshots": shots, **{k: v for k, v in results.items()}}
    finally:
        page.close()
        _shutdown_kernels(base, token)
    assert not errors, f"{path.name}: {errors}"
    qa = results.get(".lxmert-viz-qa")
    if qa:
        r = qa["circle_shading"]
        assert r["inside"] > 5 and r["ratio"] <= 0.10, f"shading outside the object boxes is {r}"
    panels = results.get("explanation_panels_differing_pixels")
    if panels is not None:
        assert min(panels.values()) > 0, f"two explanation panels are pixel-identical: {panels}"
