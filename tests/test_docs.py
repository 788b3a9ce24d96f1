"""The documentation site (docs/, built by ``bash scripts/docs.sh``), read as a visitor would.

The site is built once per test session into a temporary folder, exactly as ``scripts/docs.sh``
builds it (``sphinx-build -W --keep-going``: a warning fails the build; the tutorials executed by
myst-nb, cached in that folder). ``LXMERT_VIZ_DOCS_SITE=docs/_build/html`` reads a site built
earlier instead (the warning test is then skipped).

Checks: zero warnings; every public name (each package's ``__all__``; the names that ``run``,
``result`` and ``kit`` define) has an entry in the built ``objects.inv`` whose page holds its anchor;
the index and every tutorial page (a glob of notebooks/) opened in Debian's Chromium with every
request but file:// refused: no request leaves the disk, no console error, every image loads,
and every code cell that produced a figure (an image, an SVG or a widget's static twin) shows at
least that many drawn figures; inline code that names an API object links to its entry
(docs/_ext/code_links.py states the rule). Screenshots of each page's figures go to
tests/out/docs/ (ignored by git).
"""
from __future__ import annotations

import importlib
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
OUT = Path(os.environ.get("LXMERT_VIZ_BROWSER_OUT", ROOT / "tests" / "out")) / "docs"
# The list of public modules: the top level and each subpackage / module with public names.
PUBLIC_MODULES = ["lxmert_viz"] + [f"lxmert_viz.{m}" for m in (
    "model", "inputs", "explain", "analysis", "interventions", "output_heads", "features", "viz",
    "run", "result", "kit", "errors")]
FIGURE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
BUILD_TIMEOUT_S = 900


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The built site: {"html": folder, "cache": the executed notebooks (jupyter-cache), "log": sphinx's
    stderr or None, "seconds": build time}."""
    for name in ("sphinx", "myst_nb", "furo"):
        pytest.importorskip(name)
    prebuilt = os.environ.get("LXMERT_VIZ_DOCS_SITE")
    if prebuilt:
        html = Path(prebuilt).resolve()
        assert (html / "index.html").is_file(), f"LXMERT_VIZ_DOCS_SITE={prebuilt} holds no index.html"
        cache = Path(os.environ.get("LXMERT_VIZ_DOCS_CACHE", html.parent / ".jupyter_cache"))
        return {"html": html, "cache": cache, "log": None, "seconds": None}
    base = tmp_path_factory.mktemp("docs")
    env = dict(os.environ, LXMERT_VIZ_DOCS_CACHE=str(base / "jupyter_cache"), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
                           str(DOCS), str(base / "html")], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT_S)
    seconds = time.perf_counter() - start
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "build.log").write_text(f"{seconds:.0f} s, exit status {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    assert proc.returncode == 0, f"the docs build failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}"
    return {"html": base / "html", "cache": base / "jupyter_cache", "log": proc.stderr, "seconds": seconds}


def _sphinx_problems(log: str) -> list[str]:
    """Sphinx's warnings and errors in its stderr (the kernels' own log lines are not Sphinx's)."""
    return [line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL|SEVERE):", line)]


def test_build_has_no_warnings(site):
    if site["log"] is None:
        pytest.skip("LXMERT_VIZ_DOCS_SITE: a site built earlier, its log is not here")
    assert _sphinx_problems(site["log"]) == []
    assert (site["html"] / "index.html").is_file()


def _inventory(html: Path) -> dict[str, tuple[str, str]]:
    """objects.inv's Python entries: full name -> (uri with anchor, object type)."""
    from sphinx.util.inventory import InventoryFile

    data = InventoryFile.loads((html / "objects.inv").read_bytes(), uri="").data
    return {name: (item.uri, role.split(":", 1)[1]) for role, items in data.items() if role.startswith("py:")
            for name, item in items.items()}


def _public_names(modname: str) -> list[str]:
    mod = importlib.import_module(modname)
    if hasattr(mod, "__all__"):
        return list(mod.__all__)
    return [n for n, o in vars(mod).items() if not n.startswith("_") and getattr(o, "__module__", None) == modname]


def test_every_public_name_has_a_reference_entry(site):
    entries = _inventory(site["html"])
    missing = [f"{m}.{n}" for m in PUBLIC_MODULES for n in _public_names(m) if f"{m}.{n}" not in entries]
    assert missing == [], f"public names without an entry in objects.inv: {missing}"
    assert len(_public_names("lxmert_viz.viz")) > 10 and "lxmert_viz.result.Result.attn" in entries
    pages: dict[str, str] = {}
    for m in PUBLIC_MODULES:
        for n in _public_names(m):
            uri = entries[f"{m}.{n}"][0]
            page, _, anchor = uri.partition("#")
            text = pages.setdefault(page, (site["html"] / page).read_text())
            assert not anchor or f'id="{anchor}"' in text, f"{m}.{n}: {uri} has no anchor {anchor!r}"


def _code_links():
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import code_links
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    return code_links


def test_link_rule_on_the_built_inventory(site):
    resolve, entries = _code_links().resolve, _inventory(site["html"])

    def target(text):  # the entry's page and anchor (several public names of one object share it)
        name = resolve(text, entries)
        return entries[name][0] if name else None

    assert target("kit.ask") == target("kit.ask(image, question)") == entries["lxmert_viz.kit.Kit.ask"][0]
    assert target("Result.attn") == entries["lxmert_viz.result.Result.attn"][0]
    assert target("result.labels(family)") == entries["lxmert_viz.result.Result.labels"][0]
    assert target("run_with_cache") == entries["lxmert_viz.model.hooks.run_with_cache"][0]
    assert target("lxmert_viz.analysis.run") == entries["lxmert_viz.analysis.run"][0]
    assert entries[resolve('explain(result, "rollout")', entries)][1] == "function"
    for plain in ("lang", "l2v", "transformers", "[CLS]", "hidden.lang.{k}", "cls.predictions", "k"):
        assert resolve(plain, entries) is None, plain


def _tutorial_pages(html: Path) -> list[Path]:
    pages = [html / "tutorials" / f"{nb.stem}.html" for nb in NOTEBOOKS]
    assert NOTEBOOKS and all(p.is_file() for p in pages), [p.name for p in pages if not p.is_file()]
    return pages


def _figures_per_cell(cache: Path, name: str) -> list[int]:
    """For each code cell of a tutorial as the build executed it (its outputs, from the build's
    jupyter-cache), how many figures its outputs hold: images, SVG, HTML that draws (a static twin)."""
    import nbformat
    from jupyter_cache import get_cache

    source = nbformat.read(DOCS / "tutorials" / f"{name}.ipynb", as_version=4)
    _, nb = get_cache(str(cache)).merge_match_into_notebook(source)
    counts = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "remove-cell" in cell.get("metadata", {}).get("tags", []):
            continue
        n = 0
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            html = "".join(data.get("text/html", ""))
            if any(m in data for m in FIGURE_MIMES) or re.search(r"<(svg|img|canvas)\b", html):
                n += 1
        counts.append(n)
    return counts


# Per code cell (myst-nb's div.cell, in order): how many figures in its output are drawn.
DRAWN_JS = """() => Array.from(document.querySelectorAll('div.cell')).map(cell => {
  const out = cell.querySelector('.cell_output');
  if (!out) return 0;
  const shapes = 'rect, path, circle, ellipse, polyline, polygon, line, image, text';
  const svgs = Array.from(out.querySelectorAll('svg')).filter(s => !s.parentElement.closest('svg'))
    .filter(s => Array.from(s.querySelectorAll(shapes)).some(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; }));
  const imgs = Array.from(out.querySelectorAll('img')).filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0);
  const canvases = Array.from(out.querySelectorAll('canvas')).filter(c => {
    if (!c.width || !c.height) return false;
    const ctx = c.getContext('2d'); if (!ctx) return true;
    return ctx.getImageData(0, 0, c.width, c.height).data.some(v => v !== 0);
  });
  return svgs.length + imgs.length + canvases.length;
})"""
PAGE_JS = """() => ({
  images: document.images.length,
  broken: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => (i.src || '').slice(-80)),
  cells: document.querySelectorAll('div.cell').length,
})"""
LINKS_JS = """() => Array.from(document.querySelectorAll('article code.literal'))
  .filter(c => !c.closest('pre, h1, h2, h3, h4, h5, h6, .cell_output'))
  .map(c => ({text: c.innerText, href: (c.closest('a') || {}).href || null}))"""


def _open_offline(browser, path: Path):
    """The page at ``path`` with every request but file:// (and data:) refused; its problems."""
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    seen = {"blocked": [], "errors": []}

    def route(r):
        if r.request.url.startswith(("file://", "data:")):
            r.continue_()
        else:
            seen["blocked"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.goto(path.as_uri(), wait_until="load", timeout=60_000)
    page.wait_for_timeout(300)
    return page, seen


def _blank(png: bytes) -> bool:
    from PIL import Image

    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64).std()) <= 8


def test_pages_offline_in_chromium(site, browser):
    html = site["html"]
    OUT.mkdir(parents=True, exist_ok=True)
    report = {}
    for path in [html / "index.html", html / "lxmert.html", *_tutorial_pages(html)]:
        page, seen = _open_offline(browser, path)
        try:
            info = page.evaluate(PAGE_JS)
            name = path.stem
            assert seen["blocked"] == [], f"{name}: requests that leave the disk: {seen['blocked'][:5]}"
            assert seen["errors"] == [], f"{name}: console errors: {seen['errors'][:5]}"
            assert info["broken"] == [], f"{name}: images that do not load: {info['broken']}"
            report[name] = {"images": info["images"], "cells": info["cells"]}
            if path.parent.name != "tutorials":
                page.screenshot(path=str(OUT / f"{name}.png"))
                continue
            want = _figures_per_cell(site["cache"], name)
            drawn = page.evaluate(DRAWN_JS)
            assert len(drawn) == len(want), f"{name}: {len(want)} code cells, {len(drawn)} on the page"
            short = [(i, w, d) for i, (w, d) in enumerate(zip(want, drawn)) if d < w]
            assert short == [], f"{name}: code cells (index, figures produced, figures drawn) short of figures: {short}"
            outputs = page.locator("div.cell").all()
            for k in [i for i, w in enumerate(want) if w]:
                loc = outputs[k].locator(".cell_output")
                loc.scroll_into_view_if_needed()
                png = loc.screenshot(path=str(OUT / f"{name}_cell{k:02d}.png"))
                assert not _blank(png), f"{name}: the figures of code cell {k} look blank"
            report[name].update(figure_cells=sum(bool(w) for w in want), figures=sum(want))
        finally:
            page.close()
    (OUT / "report.json").write_text(json.dumps({"build_seconds": site["seconds"], "pages": report}, indent=1))


def test_api_names_in_tutorials_link_to_their_entries(site, browser):
    """Inline code that the rule resolves is a link to that entry's anchor, on every tutorial page."""
    resolve, entries = _code_links().resolve, _inventory(site["html"])
    linked = set()
    for path in _tutorial_pages(site["html"]):
        page, _ = _open_offline(browser, path)
        try:
            spans = page.evaluate(LINKS_JS)
        finally:
            page.close()
        for span in spans:
            target = resolve(span["text"], entries)
            if target is None:
                continue
            anchor = entries[target][0].partition("#")[2]
            assert span["href"] and span["href"].endswith("#" + anchor), \
                f"{path.stem}: `{span['text']}` should link to {target}, links to {span['href']}"
            linked.add(entries[target][0])
    for name in ("lxmert_viz.kit.Kit.ask", "lxmert_viz.model.hooks.run_with_cache"):
        assert entries[name][0] in linked, f"no tutorial links to {name}: {sorted(linked)}"
