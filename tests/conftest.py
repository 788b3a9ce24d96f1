"""Shared test fixtures: a seed, one torch thread, a tiny result. Plain helpers live in helpers.py."""
from __future__ import annotations

import os

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


@pytest.fixture(scope="session")
def local_ray():
    """One local Ray for the whole test session (starting one costs 20-40 s on 2 cores), with token
    authentication asked for as Ray's docs say: ``RAY_AUTH_MODE=token`` set before Ray is imported
    (it reads it once); ``ray.init`` then uses ``~/.ray/auth_token``, made if missing. A node that
    misses Ray's fixed 30 s start-up wait on a loaded machine is tried once more."""
    before = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "token"
    ray = pytest.importorskip("ray")
    for attempt in range(2):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=80 * 1024 ** 2,
                     configure_logging=False)
            break
        except Exception as err:
            ray.shutdown()
            if attempt or "timed out during startup" not in str(err):
                raise
    yield ray
    ray.shutdown()
    if before is None:
        os.environ.pop("RAY_AUTH_MODE", None)
    else:
        os.environ["RAY_AUTH_MODE"] = before
