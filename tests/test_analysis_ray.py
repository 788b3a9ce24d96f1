"""The Ray Data backend: on a local Ray (2 CPUs, no dashboard, token authentication) its records
equal the local backend's bit for bit, also where Ray's blocks and the segments cut across
batches, and the head atlas's causal statistic runs in Ray's workers like any statistic; without
Ray, backend="ray" says how to install it."""
from __future__ import annotations

import builtins
import os

import numpy as np
import pytest
import torch
from test_analysis_runner import bits

from lxmert_viz.analysis import read_records, run
from lxmert_viz.analysis.atlas import head_atlas
from lxmert_viz.analysis.datasets import open_dataset
from lxmert_viz.analysis.manifest import read_manifest
from lxmert_viz.analysis.plan import RayOptions, RunPlan
from lxmert_viz.analysis.runner import execute
from lxmert_viz.analysis.stats import resolve

STATS = ["answer", "topk", "correct", "entropy", "sink", "pointing"]


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for this file's tests (starting one costs 20-40 s on 2 cores; it stops after them,
    as its daemons use CPU while they idle), with token authentication asked for as Ray's docs say:
    ``RAY_AUTH_MODE=token`` set before Ray is imported (it reads it once); ``ray.init`` then uses
    ``~/.ray/auth_token``, made if missing. A node that misses Ray's fixed 30 s start-up wait on a
    loaded machine is tried once more."""
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


def test_ray_records_equal_the_local_backend_bitwise_whatever_the_blocks(tmp_path, local_ray):
    """37 examples in batches of 8 (8, 8, 8, 8, 5): Ray's blocks of 3 + 2 batches (24 + 13
    examples), segments of 20 (batch 2 straddles two) and of 64; each equals the local records."""
    torch.set_num_threads(1)
    info = run("shapes:4", STATS, tmp_path / "ray", backend="ray", batch_size=8, shard_size=64, limit=37,
               concurrency=1, num_cpus=1, progress=False)
    assert info.examples == 37 and info.shards_written == 1  # one segment: one pipeline
    m = read_manifest(tmp_path / "ray")
    assert [v["path"] for v in m["shards"].values()] == ["shards/part-00000"] and m["config"]["backend"] == "ray"
    local = run("shapes:4", STATS, tmp_path / "local", batch_size=8, limit=37, progress=False)
    ref = read_records(local.out)
    assert read_records(info.out).schema == ref.schema
    assert bits(read_records(info.out)) == bits(ref)

    ds = open_dataset("shapes:4").take(37)
    for name, shard_size, blocks in [("blocks", 64, 2), ("segments", 20, 1)]:
        plan = RunPlan(ds, tuple(resolve(STATS)), tmp_path / name, backend="ray", batch_size=8, shard_size=shard_size,
                       progress=False, ray=RayOptions(num_cpus=1, blocks=blocks))
        out = execute(plan)
        assert out.examples == 37 and out.shards_written == -(-37 // shard_size)
        assert bits(read_records(out.out)) == bits(ref), name


def test_ray_backend_without_ray_says_how_to_install(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ImportError, match=r"pip install 'lxmert_viz\[ray\]'"):
        run("shapes:1", ["answer"], tmp_path / "r", backend="ray")
    assert not (tmp_path / "r").exists()  # nothing written before the error


def test_head_atlas_on_ray_equals_local(tmp_path, local_ray):
    """The causal statistic runs in Ray's workers (pickled with its settings) like any statistic."""
    torch.set_num_threads(1)
    kw = dict(families=("l2v",), batch_size=2, limit=3)
    on_ray = head_atlas("shapes:1", tmp_path / "ray", backend="ray", concurrency=1, num_cpus=1, **kw)
    local = head_atlas("shapes:1", tmp_path / "local", **kw)
    for col in ("d_score", "d_accuracy", "entropy", "pointing"):
        np.testing.assert_array_equal(on_ray.grid(col, "l2v"), local.grid(col, "l2v"))
