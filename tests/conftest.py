"""Shared test fixtures: a seed, one torch thread, a tiny result, Chromium and JupyterLab for the browser
tests. Plain helpers live in helpers.py, the front ends' in front_ends.py.
Also how the suite splits over pytest-xdist workers (``-n 2 --dist loadfile``, as scripts/test.sh runs it):
the front-end tests first, the files that start Ray on one worker."""
from __future__ import annotations

import shutil

import pytest
import torch
from front_ends import CHROMIUM_ARGS, NOTEBOOKS, chromium, jupyter

try:  # pytest-xdist is in the [test] extra; without it the suite runs in one process
    from xdist.scheduler import LoadFileScheduling
except ImportError:
    LoadFileScheduling = None

# The longest files (JupyterLab, Notebook 7 and marimo in Chromium ~220 s; the docs build ~100 s; notebook
# 02 loaded ten times ~100 s): collected first, so the two workers start on the first two and the one
# done first takes the third; then both work through the rest.
FIRST = ("tests/test_browser.py", "tests/test_docs.py", "tests/test_browser_loads.py")
# Files that start Ray (a local Ray, a head of their own): one scope, so that one worker runs them and
# no two Ray instances start at once on a 2-core machine.
RAY_FILES = ("tests/test_analysis_ray.py", "tests/test_ray_cluster.py")


def pytest_collection_modifyitems(config, items):
    """The files of FIRST to the front, in that order; everything else keeps its order."""
    def rank(item):
        path = item.nodeid.split("::", 1)[0]
        return FIRST.index(path) if path in FIRST else len(FIRST)
    items.sort(key=rank)  # stable


if LoadFileScheduling is not None:
    class _Scopes(LoadFileScheduling):
        """``--dist loadfile`` (a file's tests on one worker, in order: module fixtures and nbval's
        cells need that), with the files of RAY_FILES as one scope."""

        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return "ray" if path in RAY_FILES else path

    def pytest_xdist_make_scheduler(config, log):
        if config.getoption("dist") == "loadfile":
            return _Scopes(config, log)
        return None


@pytest.fixture
def seed():
    """Seed torch's generator; returns the seed."""
    torch.manual_seed(0)
    return 0


@pytest.fixture
def one_thread():
    """Run torch on one thread: tiny models gain nothing from more, and on a shared, loaded
    machine intra-op threads contend (a 3x slower suite was measured with 2 threads)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def result():
    """A `Result` of a tiny random model on a drawn image (see `viz_fixtures.make_result`)."""
    from viz_fixtures import make_result

    return make_result()



@pytest.fixture(scope="session")
def kit():
    """The embedded shapes-world kit, loaded once (modules that need another kit define their own)."""
    import lxmert_viz

    return lxmert_viz.load()


@pytest.fixture(scope="session")
def circle_scenes():
    """Sample scene 0 as drawn (a black circle) and the same scene with the circle painted red."""
    import json

    from lxmert_viz.assets import assets_dir
    from lxmert_viz.shapes.world import SceneObject, render_objects

    sc = json.loads((assets_dir() / "samples" / "samples.json").read_text())[0]
    objs = [SceneObject(o["shape"], o["color"], tuple(o["box"])) for o in sc["objects"]]
    red = [SceneObject(o.shape, "red" if o.shape == "circle" else o.color, o.box) for o in objs]
    return render_objects(objs, sc["size"]), render_objects(red, sc["size"])


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, through Playwright (skips where either is missing)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    path = chromium()
    if path is None:
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it as root)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving copies of every notebook (the repository's files are never written):
    (base url, token, the folder it serves)."""
    pytest.importorskip("jupyterlab")
    folder = tmp_path_factory.mktemp("lab")
    for nb in NOTEBOOKS:
        shutil.copy(nb, folder / nb.name)
    base, token, server = jupyter("jupyterlab", folder)
    for _ in server:
        yield base, token, folder
