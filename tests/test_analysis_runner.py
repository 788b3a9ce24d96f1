"""The local runner: shards, manifest, resuming (a run killed with SIGKILL loses and redoes no
shard), settings checks, custom statistics and batch functions, and records that are the same bit
for bit whatever the shard size (batches fixed by the example's index)."""
from __future__ import annotations

import hashlib
import json
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from lxmert_viz.analysis import Stat, read_records, run
from lxmert_viz.analysis.manifest import read_manifest, write_manifest
from lxmert_viz.analysis.schema import BASE_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
STATS = ["answer", "correct", "pointing"]

KILLABLE = r"""
import json, sys, time
import torch
torch.set_num_threads(1)
from lxmert_viz.analysis import run


def slow(worker, batch):  # gives the parent time to kill the run between shards
    time.sleep(float(sys.argv[2]))
    return worker.records(batch)


info = run("shapes:6", ["answer", "correct", "pointing"], sys.argv[1], batch_size=4, shard_size=8,
           batch_fn=slow, progress=False)
print(json.dumps({"skipped": info.shards_skipped, "written": info.shards_written,
                  "examples_written": info.examples_written, "examples": info.examples}))
"""


def _files(out: Path) -> dict[str, tuple]:
    """shard name -> (inode, mtime_ns, sha256) of every finished shard."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted((out / "shards").glob("shard-*.parquet"))}


def bits(table) -> list:
    """The records of a table with every float as its bytes: equal lists are bitwise-equal records."""
    def b(v):
        if isinstance(v, float):
            return struct.pack("<d", v)
        if isinstance(v, list):
            return [b(x) for x in v]
        if isinstance(v, dict):
            return {k: b(x) for k, x in v.items()}
        return v

    return [b(r) for r in table.to_pylist()]


def _script(tmp_path) -> Path:
    path = tmp_path / "killable.py"
    path.write_text(KILLABLE)
    return path


def test_sigkill_resume_loses_and_redoes_no_shard(tmp_path):
    out, script = tmp_path / "run", _script(tmp_path)
    proc = subprocess.Popen([sys.executable, str(script), str(out), "0.25"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while len(_files(out)) < 2 if (out / "shards").is_dir() else True:
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
        assert time.monotonic() < deadline, "no shard appeared in time"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    before = _files(out)
    total = 9  # shapes:6 gives 68 questions: 8 shards of 8 and one of 4
    assert 2 <= len(before) < total
    (out / "shards" / ".shard-00008.parquet.999.tmp").write_bytes(b"half a shard")  # what a kill mid-write leaves

    done = subprocess.run([sys.executable, str(script), str(out), "0"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    info = json.loads(done.stdout.strip().splitlines()[-1])
    assert info["skipped"] == len(before), "every shard on disk at the kill is kept (0 lost)"
    assert info["written"] == total - len(before), "only the missing shards are computed (0 redone)"
    after = _files(out)
    assert {k: after[k] for k in before} == before, "the shards written before the kill are untouched"
    assert len(after) == total and not list((out / "shards").glob(".*"))
    manifest = read_manifest(out)
    assert manifest["complete"] and sorted(manifest["shards"]) == [f"{k}" for k in range(total)]
    assert sum(v["rows"] for v in manifest["shards"].values()) == info["examples"] == 68

    torch.set_num_threads(1)
    ref = run("shapes:6", STATS, tmp_path / "straight", batch_size=4, shard_size=8, progress=False)
    assert ref.examples == 68
    assert read_records(out).to_pylist() == read_records(tmp_path / "straight").to_pylist()


def test_run_writes_shards_and_a_finished_run_is_skipped(tmp_path):
    out = tmp_path / "run"
    info = run("shapes:2", STATS, out, batch_size=5, shard_size=10, progress=False)
    assert (info.examples, info.shards_written, info.examples_written) == (24, 3, 24)
    assert sorted(p.name for p in (out / "shards").iterdir()) == [f"shard-0000{k}.parquet" for k in range(3)]
    m = read_manifest(out)
    assert m["config"]["stats"] == STATS and m["config"]["dataset"]["kind"] == "shapes" and m["complete"]
    assert [m["shards"][k]["rows"] for k in "012"] == [10, 10, 4]
    table = read_records(out)
    assert table["index"].to_pylist() == list(range(24))
    assert set(BASE_COLUMNS) <= set(table.column_names) and "ref_top1.l2v" in table.column_names
    assert pq.ParquetFile(out / "shards" / "shard-00000.parquet").schema_arrow == table.schema
    again = run("shapes:2", STATS, out, batch_size=5, shard_size=10, progress=False)
    assert (again.shards_skipped, again.shards_written) == (3, 0)


def test_settings_and_folders_are_checked(tmp_path):
    out = tmp_path / "run"
    run("shapes:1", ["answer"], out, batch_size=4, progress=False)
    with pytest.raises(ValueError, match="other settings \\(batch_size: 4 there, 8 now\\)"):
        run("shapes:1", ["answer"], out, batch_size=8, progress=False)
    with pytest.raises(ValueError, match="stats"):
        run("shapes:1", ["answer", "max"], out, batch_size=4, progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        run("shapes:1", ["answer"], tmp_path / "other", progress=False)
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="backend"):
        run("shapes:1", ["answer"], tmp_path / "x", backend="spark")
    with pytest.raises(TypeError, match="one-shot"):
        run((e for e in []), ["answer"], tmp_path / "y")


def test_custom_stat_and_batch_function(tmp_path):
    import pyarrow as pa

    def question_length(result, encoded, ctx):  # typed from its values
        return {"question_tokens": len(result.tokens)}

    declared = Stat("scene_row", lambda r, e, c: {"scene_weight": float(r.attentions["l2v"][-1, :, 0, 0].mean())},
                    lambda shape: {"scene_weight": pa.float64()})
    calls = []

    def counting(worker, batch):
        calls.append(len(batch))
        return worker.records(batch)

    run("shapes:1", ["answer", question_length, declared], tmp_path / "r", batch_size=4, batch_fn=counting,
        progress=False)
    t = read_records(tmp_path / "r")
    assert t.schema.field("question_tokens").type == pa.int64() and t.schema.field("scene_weight").type == pa.float64()
    assert t["question_tokens"].to_pylist() == t["n_tokens"].to_pylist()
    assert calls == [4, 4, 2]

    def wrong(worker, batch):
        return worker.records(batch)[:-1]

    with pytest.raises(ValueError, match="returned 3 records for 4 examples"):
        run("shapes:1", ["answer"], tmp_path / "w", batch_size=4, batch_fn=wrong, progress=False)


def test_progress_bar_counts_examples(tmp_path, capsys):
    run("shapes:1", ["answer"], tmp_path / "r", batch_size=4, progress=True)
    err = capsys.readouterr().err
    assert "10/10" in err and "analyze" in err


def test_a_shard_the_manifest_missed_is_kept(tmp_path):
    """A kill between a shard's rename and the manifest's update: the shard is on disk, not listed."""
    out = tmp_path / "run"
    run("shapes:2", ["answer"], out, batch_size=5, shard_size=10, progress=False)
    m = read_manifest(out)
    del m["shards"]["2"]
    m["complete"] = False
    write_manifest(out, m)
    before = _files(out)
    info = run("shapes:2", ["answer"], out, batch_size=5, shard_size=10, progress=False)
    assert (info.shards_skipped, info.shards_written) == (3, 0) and _files(out) == before
    assert read_manifest(out)["shards"]["2"]["rows"] == 4
    (out / "shards" / "shard-00001.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="lists shard 1"):
        run("shapes:2", ["answer"], out, batch_size=5, shard_size=10, progress=False)


def test_records_are_bitwise_equal_whatever_the_shard_size(tmp_path):
    """Batch j is examples [8j, 8j + 8) at every shard size: shards of 10, 12 and 3 split batches
    (the runner before this rule gave 22 of 43 records other last bits at shard size 10)."""
    torch.set_num_threads(1)
    stats = ["answer", "topk", "entropy", "sink", "pointing"]
    ref = bits(read_records(run("shapes:4", stats, tmp_path / "s64", batch_size=8, shard_size=64, progress=False).out))
    assert len(ref) == 43
    calls = []

    def counting(worker, batch):
        calls.append([i for i, _ in batch])
        return worker.records(batch)

    for size in (10, 12, 3):
        out = tmp_path / f"s{size}"
        run("shapes:4", stats, out, batch_size=8, shard_size=size, batch_fn=counting, progress=False)
        assert bits(read_records(out)) == ref, f"shard size {size}"
        # every batch is whole and aligned, and one that straddles two shards runs once
        assert calls == [list(range(j, min(j + 8, 43))) for j in range(0, 43, 8)], f"shard size {size}"
        calls.clear()
    # a resume that recomputes a shard whose batches straddle its neighbours' gives the same bits
    out = tmp_path / "s10"
    (out / "shards" / "shard-00002.parquet").unlink()
    m = read_manifest(out)
    del m["shards"]["2"]
    m["complete"] = False
    write_manifest(out, m)
    info = run("shapes:4", stats, out, batch_size=8, shard_size=10, batch_fn=counting, progress=False)
    assert (info.shards_written, info.examples_written) == (1, 10) and calls == [list(range(16, 24)), list(range(24, 32))]
    assert bits(read_records(out)) == ref
