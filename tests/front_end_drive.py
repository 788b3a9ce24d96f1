"""Driving the kit's views in a browser, the same way in every front end (JupyterLab, Notebook 7, marimo).

Every view is one `view.View` (anywidget) whose DOM is the same wherever it runs, so each driver
takes the view's root element (a Playwright locator; CSS locators pierce marimo's shadow roots)
and does what a reader does: pick options, type, press buttons, click heatmap rows and head-grid
cells, upload a file. After every interaction it waits for the view's redraw counter and checks
that every picture shows data (`check_drawn`): SVG shapes with a size and, on the screenshot of
each panel, pixels that are not one flat colour.
"""
from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 90

DRAWN_JS = """(root) => {
  const out = [];
  for (const p of root.querySelectorAll('.lxv-panel')) {
    if (p.offsetParent === null) continue;            // a hidden tab
    const svgs = p.querySelectorAll('svg'), imgs = p.querySelectorAll('img');
    if (!svgs.length && !imgs.length) continue;       // text panels (answers, status)
    let shapes = 0, images = 0;
    for (const s of svgs) {
      for (const e of s.querySelectorAll('rect.lxv-cell, rect.lxv-bar, polyline, circle, rect.lxv-point')) {
        const b = e.getBBox();
        if (b.width > 0 || b.height > 0) shapes++;
      }
      for (const im of s.querySelectorAll('image')) {
        const href = im.getAttribute('href') || '';
        if (href.startsWith('data:image/') && im.getBBox().width > 0) images++;
      }
    }
    for (const im of imgs) if (im.complete && im.naturalWidth > 0) images++;
    out.push({panel: p.className, shapes, images});
  }
  return out;
}"""


def draws(root) -> int:
    return int(root.evaluate("r => +(r.dataset.draws || 0)"))


def wait_for(root, predicate_js: str, what: str, timeout_s: float = TIMEOUT_S) -> None:
    """Poll ``predicate_js`` (a function of the root element) until it is true."""
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        if root.evaluate(predicate_js):
            return
        time.sleep(0.2)
    status = root.evaluate("r => Array.from(r.querySelectorAll('[class*=status]')).map(e => e.innerText).join(' | ')")
    raise AssertionError(f"waited {timeout_s:.0f} s for {what}; status: {status!r}")


def redrawn(root, before: int, what: str) -> None:
    wait_for(root, f"r => +(r.dataset.draws || 0) > {before}", f"a redraw after {what}")


def text_has(css: str, needle: str) -> str:
    return f"r => {{ const e = r.querySelector({css!r}); return !!e && e.textContent.includes({needle!r}); }}"


def check_drawn(root, what: str, shots: list | None = None, pictures: bool = True) -> list[dict]:
    """Every visible picture panel of the view shows data: drawn SVG shapes or loaded images, and a
    screenshot whose pixels are not one flat colour (``pictures=False``: a step that shows tables only)."""
    from PIL import Image

    time.sleep(0.3)  # let the browser paint
    panels = root.evaluate(DRAWN_JS)
    assert panels or not pictures, f"after {what}: the view shows no picture"
    for p in panels:
        assert p["shapes"] + p["images"] > 0, f"after {what}: panel {p['panel']} draws nothing: {p}"
    for k, loc in enumerate(root.locator(".lxv-panel:has(svg), .lxv-panel:has(img)").all()):
        if not loc.is_visible():
            continue
        px = np.asarray(Image.open(io.BytesIO(loc.screenshot())).convert("L"), dtype=np.float64)
        ink = float((px < 235).mean())
        assert px.std() > 8 and ink > 0.01, f"after {what}: panel {k} looks blank (std {px.std():.1f}, ink {ink:.3f})"
    if shots is not None:
        shots.append({"after": what, "panels": panels})
    return panels


def select(root, css: str, label: str, what: str) -> None:
    before = draws(root)
    root.locator(f"{css} select").first.select_option(label=label)
    redrawn(root, before, what)


# -- the shading, measured on the browser's own pixels ----------------------------------------------
GEOMETRY_JS = """(root) => {
  const svg = root.querySelector('.lxv-overlay');
  const r = (e) => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
  return {image: r(svg.querySelector('image.lxv-image')),
          boxes: Array.from(svg.querySelectorAll('rect.lxv-box')).map(r)};
}"""


def _grab(page, rect) -> np.ndarray:
    from PIL import Image

    x0, y0, x1, y1 = rect
    png = page.screenshot(clip={"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0})
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)


def shading_ratio(page, root, target: int) -> dict:
    """Where the shading changes the browser's own pixels (the shading layer hidden for the plain
    picture): inside box ``target`` (its object keeps its own pixels), in a ring just outside it (the
    weight's frame), and far from every box. Box 0 is the whole-image scene row."""
    root.locator(".lxv-overlay").first.scroll_into_view_if_needed()
    time.sleep(0.3)
    geo = root.evaluate(GEOMETRY_JS)
    shaded = _grab(page, geo["image"])
    root.evaluate("r => { r.querySelector('.lxv-overlay image.lxv-shading').style.visibility = 'hidden'; }")
    time.sleep(0.3)
    plain = _grab(page, geo["image"])
    root.evaluate("r => { r.querySelector('.lxv-overlay image.lxv-shading').style.visibility = ''; }")
    diff = np.abs(shaded - plain).sum(-1)
    ox, oy = geo["image"][0], geo["image"][1]
    h, w = diff.shape
    margin = max(4, int(0.06 * w))  # the frame is drawn just outside its box

    def mask(box, grow=0):
        m = np.zeros((h, w), bool)
        x0, y0, x1, y1 = box
        m[max(0, int(y0 - oy) - grow):max(0, int(y1 - oy) + 1 + grow), max(0, int(x0 - ox) - grow):max(0, int(x1 - ox) + 1 + grow)] = True
        return m

    near_any = np.zeros((h, w), bool)
    for i, box in enumerate(geo["boxes"]):
        if i:
            near_any |= mask(box, margin)
    box = geo["boxes"][target]
    inside = mask((box[0] + 2, box[1] + 2, box[2] - 2, box[3] - 2))
    ring = mask(box, margin) & ~mask(box)
    return {"inside": float(diff[inside].mean()), "ring": float(diff[ring].mean()), "far": float(diff[~near_any].mean()),
            "plain": plain}


def upright(plain: np.ndarray, source: Path) -> dict:
    """How far the rendered picture is from the source image, as it is and upside down."""
    from PIL import Image

    with Image.open(source) as im:
        src = np.asarray(im.convert("RGB").resize((plain.shape[1], plain.shape[0]), Image.NEAREST), dtype=np.float64)
    return {"as_is": float(np.abs(plain - src).mean()), "flipped": float(np.abs(plain - src[::-1]).mean())}


# -- the drivers ------------------------------------------------------------------------------------
def drive_qa(page, root, folder: Path) -> dict:
    """Ask, change image, upload, ask again, change word and head; measure the shading for 'circle'."""
    steps: list = []
    check_drawn(root, "the first question", steps)
    before_text = root.locator(".lxmert-viz-qa-answers").inner_text()
    before = draws(root)
    root.locator(".lxmert-viz-qa-question input").first.fill("how many triangles are there?")
    root.locator(".lxmert-viz-qa-ask button").first.click()
    wait_for(root, f"r => r.querySelector('.lxmert-viz-qa-answers').innerText !== {before_text!r}", "new answers")
    redrawn(root, before, "a count question")
    top = root.locator('.lxmert-viz-qa-answers tr[data-rank="1"] b').first.inner_text().strip()
    assert top in {"0", "1", "2", "3", "4", "5", "6"}, f"a count question got {top!r}"
    check_drawn(root, "a count question", steps)
    select(root, ".lxmert-viz-qa-sample", "scene_02", "another image")
    wait_for(root, text_has(".lxmert-viz-qa-status", "scene_02"), "scene_02 answered")
    check_drawn(root, "another image", steps)
    before = draws(root)
    root.locator(".lxmert-viz-qa-upload input[type=file]").first.set_input_files(
        str(ROOT / "assets" / "samples" / "scene_03.png"))
    wait_for(root, text_has(".lxmert-viz-qa-status", "scene_03.png"), "the upload answered")
    redrawn(root, before, "an upload")
    assert root.locator(".lxmert-viz-qa-sample select option:checked").inner_text() == "uploaded: scene_03.png"
    check_drawn(root, "an upload", steps)
    select(root, ".lxmert-viz-qa-sample", "scene_00", "back to scene_00")
    before = draws(root)
    question = root.locator(".lxmert-viz-qa-question input").first
    question.fill("what color is the circle?")
    question.press("Enter")
    wait_for(root, text_has(".lxmert-viz-qa-overlay svg", "word 'circle'"), "the overlay of 'circle'")
    redrawn(root, before, "the circle question")
    root.locator(".lxmert-viz-qa-ask button").first.click()  # same question: nothing new, no error
    check_drawn(root, "the circle question", steps)
    root.locator(".lxmert-viz-qa-overlay").first.scroll_into_view_if_needed()
    root.screenshot(path=str(folder / "qa_circle.png"))
    meta = json.loads((ROOT / "assets" / "samples" / "samples.json").read_text())[0]
    circle = 1 + next(i for i, o in enumerate(meta["objects"]) if o["shape"] == "circle")
    ratio = shading_ratio(page, root, circle)
    orientation = upright(ratio.pop("plain"), ROOT / "assets" / "samples" / meta["file"])
    assert orientation["as_is"] < orientation["flipped"], f"the picture is drawn upside down: {orientation}"
    assert ratio["inside"] < 2, f"the shading paints over the attended object: {ratio}"
    assert ratio["ring"] > 5 and ratio["far"] <= 0.10 * ratio["ring"], f"the weight's frame is not where the circle is: {ratio}"
    select(root, ".lxmert-viz-qa-token", "what", "the word 'what'")
    wait_for(root, text_has(".lxmert-viz-qa-overlay svg", "word 'what'"), "the overlay of 'what'")
    select(root, ".lxmert-viz-qa-head", "head 0", "head 0")
    wait_for(root, text_has(".lxmert-viz-qa-overlay svg", "head 0"), "the overlay of head 0")
    check_drawn(root, "word 'what', head 0", steps)
    root.screenshot(path=str(folder / "qa_what_head0.png"))
    return {"count_answer": top, "circle_shading": ratio, "orientation": orientation, "steps": len(steps)}


def drive_attention(page, root, folder: Path) -> dict:
    """Family, head, a heatmap row click, a head-grid click, the layer slider."""
    steps: list = []
    check_drawn(root, "the first view", steps)
    select(root, ".lxmert-viz-attn-family", "v2l", "family v2l")
    wait_for(root, text_has(".lxmert-viz-attn-heatmap svg", "v2l"), "the v2l heatmap")
    check_drawn(root, "family v2l", steps)
    select(root, ".lxmert-viz-attn-head", "head 1", "head 1")
    wait_for(root, text_has(".lxmert-viz-attn-heatmap svg", "head 1"), "the head-1 heatmap")
    check_drawn(root, "head 1", steps)
    before = draws(root)
    row = root.locator(".lxmert-viz-attn-heatmap text[data-lxv-click]").nth(2)
    label = row.text_content()
    row.click()
    redrawn(root, before, "a heatmap row click")
    wait_for(root, f"r => r.querySelector('.lxmert-viz-attn-query select option:checked').textContent.endsWith({label!r})",
             "the clicked row as the query")
    check_drawn(root, "a heatmap row click", steps)
    before = draws(root)
    root.locator('.lxmert-viz-attn-heads rect.lxv-cell[data-row="0"][data-col="2"]').first.click()
    redrawn(root, before, "a head-grid click")
    wait_for(root, text_has(".lxmert-viz-attn-heatmap svg", "head 2"), "layer 0 head 2 opened")
    assert root.locator(".lxmert-viz-attn-layer output").first.inner_text() == "0"
    check_drawn(root, "a head-grid click", steps)
    before = draws(root)
    slider = root.locator(".lxmert-viz-attn-layer input").first
    slider.fill(slider.get_attribute("max"))  # drag to the last layer: input, then change
    redrawn(root, before, "the layer slider")
    wait_for(root, f"r => r.querySelector('.lxmert-viz-attn-layer output').textContent === {slider.get_attribute('max')!r}",
             "the slider's value shown")
    check_drawn(root, "the layer slider", steps)
    root.scroll_into_view_if_needed()
    root.screenshot(path=str(folder / "attention_v2l_head2.png"))
    width = root.evaluate("r => [r.scrollWidth, r.clientWidth]")
    return {"query_clicked": label, "width_px": width, "steps": len(steps)}


def drive_states(page, root, folder: Path) -> dict:
    steps: list = []
    check_drawn(root, "the first view", steps)
    label = root.locator(".lxmert-viz-states-item select option").nth(2).inner_text()
    select(root, ".lxmert-viz-states-item", label, "another item")
    select(root, ".lxmert-viz-states-metric", "distance: distance from single-modality state", "metric distance")
    wait_for(root, text_has(".lxmert-viz-states-drift svg", "distance"), "the distance lines")
    check_drawn(root, "item and metric", steps)
    root.scroll_into_view_if_needed()
    root.screenshot(path=str(folder / "states_distance.png"))
    return {"item": label, "steps": len(steps)}


def drive_masking(page, root, folder: Path) -> dict:
    steps: list = []
    check_drawn(root, "the first view", steps)
    button = root.locator(".lxmert-viz-mask-region button").nth(1)
    name = button.inner_text().strip()
    before = draws(root)
    button.click()
    redrawn(root, before, "a region dropped")
    wait_for(root, "r => !r.querySelector('.lxmert-viz-mask-status').innerText.includes('dropped regions: none')",
             "the status naming the dropped region")
    check_drawn(root, "a region dropped", steps)
    root.scroll_into_view_if_needed()
    root.screenshot(path=str(folder / "masking_dropped.png"))
    option = root.locator(".lxmert-viz-mask-method select option").nth(3).inner_text()
    select(root, ".lxmert-viz-mask-method", option, "another method")
    check_drawn(root, "another method", steps)
    before = draws(root)
    root.locator(".lxmert-viz-mask-reset button").first.click()
    redrawn(root, before, "reset")
    wait_for(root, text_has(".lxmert-viz-mask-status", "dropped regions: none"), "the reset")
    method = root.locator(".lxmert-viz-mask-method select option:checked").inner_text()
    assert method.startswith("relevancy"), f"reset leaves the method at {method!r}"
    check_drawn(root, "reset", steps)
    return {"dropped": name, "steps": len(steps)}


def drive_dataset(page, root, folder: Path) -> dict:
    """Click a head of the data-set grid: the examples must redraw for that head."""
    steps: list = []
    check_drawn(root, "the first view", steps)
    before = draws(root)
    root.locator('.lxmert-viz-dataset-grid rect.lxv-cell[data-row="0"][data-col="1"]').first.click()
    redrawn(root, before, "a grid click")
    wait_for(root, text_has(".lxmert-viz-dataset-examples", "layer 0 head 1"), "the examples of layer 0 head 1")
    images = root.locator(".lxmert-viz-dataset-examples img").count()
    assert images >= 2, f"the examples panel shows {images} images after the click"
    check_drawn(root, "a grid click", steps)
    root.scroll_into_view_if_needed()
    root.screenshot(path=str(folder / "dataset_layer0_head1.png"))
    return {"examples_shown": images, "steps": len(steps)}


def drive_interventions(page, root, folder: Path) -> dict:
    """Every tab: run it, wait for its table or picture, no error."""
    steps: list = []
    done = {}

    def tab(title):
        root.locator(".lxv-tabs button", has_text=title).first.click()
        wait_for(root, f"r => r.querySelector('.lxv-tabs .lxv-current').textContent === {title!r}", f"tab {title}")

    def run_and_wait(button, panel, what, pictures=True):
        before = root.locator(panel).first.inner_html() if root.locator(panel).count() else ""
        root.locator(f"{button} button").first.click()
        wait_for(root, f"r => r.querySelector({panel!r}) && r.querySelector({panel!r}).innerHTML !== {before!r}", what)
        check_drawn(root, what, steps, pictures)

    tab("masked word")
    root.locator(".lxmert-viz-iv-fill-text input").first.fill("what color is the [MASK]?")
    run_and_wait(".lxmert-viz-iv-fill-run", ".lxmert-viz-iv-fill-table", "fill")
    done["fill_rows"] = root.locator(".lxmert-viz-iv-fill-table tr.lxmert-viz-iv-row").count()
    tab("match")
    root.locator(".lxmert-viz-iv-match-text textarea").first.fill("a black circle\na yellow square")
    root.locator(".lxmert-viz-iv-match-run button").first.click()
    wait_for(root, text_has(".lxmert-viz-iv-match-table", "a yellow square"), "the match table")
    tab("ablation")
    root.locator(".lxmert-viz-iv-ablate-family select").first.select_option(label="lang")
    run_and_wait(".lxmert-viz-iv-ablate-run", ".lxmert-viz-iv-ablate-table", "ablation", pictures=False)
    assert root.locator(".lxmert-viz-iv-ablate-table tr.lxmert-viz-iv-row").count() > 0, "the ablation table is empty"
    tab("patching")
    root.locator(".lxmert-viz-iv-patch-per-position input").first.check()
    run_and_wait(".lxmert-viz-iv-patch-run", ".lxmert-viz-iv-patch-image", "a per-position sweep")
    root.scroll_into_view_if_needed()
    root.screenshot(path=str(folder / "interventions_patching.png"))
    status = root.locator(".lxmert-viz-iv-status").first.inner_text().strip()
    assert not status, f"the interventions widget reports: {status}"
    assert done["fill_rows"] > 0, "the masked-word table is empty"
    return {**done, "steps": len(steps)}


DRIVERS = {".lxmert-viz-qa": drive_qa, ".lxmert-viz-attention-explorer": drive_attention,
           ".lxmert-viz-states-explorer": drive_states, ".lxmert-viz-mask": drive_masking,
           ".lxmert-viz-dataset-explorer": drive_dataset, ".lxmert-viz-iv": drive_interventions}


def drive_all(page, folder: Path) -> dict:
    """Drive every view on the page; returns what each driver reports, by root class."""
    results = {}
    for css, drive in DRIVERS.items():
        views = page.locator(f".lxv-root{css}")
        if views.count():
            root = views.first
            root.scroll_into_view_if_needed()
            results[css] = drive(page, root, folder)
    return results


# -- exported HTML, offline -------------------------------------------------------------------------
OFFLINE_JS = """() => {
  const imgs = Array.from(document.images);
  const twins = Array.from(document.querySelectorAll('.lxmert-viz-twin'));
  const svgShapes = (el) => Array.from(el.querySelectorAll('svg rect, svg polyline, svg circle, svg image'))
      .filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length;
  return {
    images: imgs.length, broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => (i.src || '').slice(0, 60)),
    twins: twins.map(t => ({visible: t.offsetParent !== null, shapes: svgShapes(t),
                            images: Array.from(t.querySelectorAll('img')).filter(i => i.complete && i.naturalWidth > 0).length,
                            state: (t.querySelector('.lxv-state') || {}).innerText || ''})),
    placeholders: document.body.innerText.includes('Loading widget') ? 1 : 0,
  };
}"""


def check_offline_export(browser, html_path: Path, notebook: dict, shot: Path) -> dict:
    """Open an exported HTML page with every request but file:// aborted; every figure must show:
    each image output loaded, one visible static twin per view with its pictures drawn."""
    from PIL import Image

    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    blocked: list[str] = []
    errors: list[str] = []

    def route(r):
        if r.request.url.startswith(("file://", "data:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(html_path.as_uri(), wait_until="load", timeout=60_000)
        time.sleep(0.5)
        seen = page.evaluate(OFFLINE_JS)
        outputs = [o for c in notebook["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
        pngs = sum("image/png" in o.get("data", {}) for o in outputs)
        views = sum("application/vnd.jupyter.widget-view+json" in o.get("data", {})  # the kit's views, not tqdm's bars
                    and "lxmert_viz.viz." in "".join(o["data"].get("text/plain", "")) for o in outputs)
        assert not seen["broken"], f"{html_path.name}: images that do not load offline: {seen['broken']}"
        twin_imgs = sum(t["images"] for t in seen["twins"])
        assert seen["images"] - twin_imgs >= pngs, f"{html_path.name}: {pngs} PNG outputs, {seen['images']} images shown"
        assert len(seen["twins"]) == views, f"{html_path.name}: {views} views but {len(seen['twins'])} static twins"
        for t in seen["twins"]:
            assert t["visible"] and t["shapes"] + t["images"] > 0, f"{html_path.name}: a twin shows nothing: {t}"
        for k, loc in enumerate(page.locator(".lxmert-viz-twin").all()):
            loc.scroll_into_view_if_needed()
            px = np.asarray(Image.open(io.BytesIO(loc.screenshot())).convert("L"), dtype=np.float64)
            assert px.std() > 8, f"{html_path.name}: twin {k} looks blank"
            if k == 0:
                loc.screenshot(path=str(shot))
        return {"png_outputs": pngs, "images_shown": seen["images"], "views": views, "twins": seen["twins"],
                "blocked_requests": len(blocked), "page_errors": errors}
    finally:
        page.close()
