"""Shared test fixtures: a seed, one torch thread, a tiny result. Plain helpers live in helpers.py."""
from __future__ import annotations

import pytest
import torch


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
