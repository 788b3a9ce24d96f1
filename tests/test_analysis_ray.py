"""The Ray Data backend: on a local Ray (2 CPUs, no dashboard) its records equal the local
backend's for the same examples; without Ray, backend="ray" says how to install it."""
from __future__ import annotations

import builtins

import pytest

from lxmert_viz.analysis import read_records, run
from lxmert_viz.analysis.manifest import read_manifest

STATS = ["answer", "topk", "correct", "entropy", "sink", "pointing"]


def test_ray_backend_records_equal_the_local_backend(tmp_path):
    ray = pytest.importorskip("ray")
    import torch

    torch.set_num_threads(1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=80 * 1024 ** 2,
             configure_logging=False)
    try:
        info = run("shapes:3", STATS, tmp_path / "ray", backend="ray", batch_size=8, shard_size=64,
                   concurrency=1, num_cpus=1, progress=False)
    finally:
        ray.shutdown()
    local = run("shapes:3", STATS, tmp_path / "local", batch_size=8, progress=False)
    assert info.examples == local.examples == 36 and info.shards_written == 1  # one segment: one pipeline
    m = read_manifest(tmp_path / "ray")
    assert [v["path"] for v in m["shards"].values()] == ["shards/part-00000"] and m["config"]["backend"] == "ray"
    a, b = read_records(tmp_path / "ray"), read_records(tmp_path / "local")
    assert a.schema == b.schema
    assert a.to_pylist() == b.to_pylist()  # the same per-batch code on the same batches: equal records


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
