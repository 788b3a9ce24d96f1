"""README's Ray cluster recipe, as written, on a one-node cluster at 127.0.0.1: the head started with
``ray start``, ``lxmert-viz analyze --backend ray --address`` run against it from the command line,
and its records equal the local backend's bit for bit.

The head runs in a session of its own (``ray start --block``) and is stopped by signalling that
session: ``ray stop`` would stop every Ray process on the machine, a local Ray of another test run
included. Its files live in a temporary folder and a temporary HOME (``~/.ray/auth_token``), so the
test writes nothing outside them.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
from front_ends import free_port
from test_analysis_runner import bits

from lxmert_viz.analysis import read_records, run

pytestmark = pytest.mark.ray_cluster
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STATS = "answer,topk,entropy,pointing"


def readme_ray_block() -> str:
    text = (ROOT / "README.md").read_text()
    blocks = [b for b in re.findall(r"```bash\n(.*?)```", text, re.S) if "ray start --head" in b]
    assert len(blocks) == 1, "README has one Ray cluster recipe"
    return blocks[0]


def stop_session(head: subprocess.Popen) -> None:
    """SIGTERM to the head's session (ray start --block stops what it started), SIGKILL after 10 s."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(head.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if subprocess.run(["pgrep", "-g", str(head.pid)], capture_output=True).returncode:
                return  # no process left in the session's group
            time.sleep(0.5)


def test_readme_recipe_names_the_token_authentication_ray_needs():
    block = readme_ray_block()
    assert "export RAY_AUTH_MODE=token" in block  # without it Ray 2.60's client fails: "Failed to connect"
    assert "ray get-auth-token --generate" in block and "~/.ray/auth_token" in block
    assert block.index("export RAY_AUTH_MODE=token") < block.index("ray start --head")


def test_analyze_on_a_ray_cluster_started_as_readme_says(tmp_path):
    if not (BIN / "ray").exists():
        pytest.skip("ray is not installed (pip install 'lxmert_viz[ray]')")
    work = Path(tempfile.mkdtemp(prefix="rc", dir="/tmp"))  # short: Ray's socket paths must stay < 108 chars
    env = {**os.environ, "HOME": str(work / "home"), "RAY_AUTH_MODE": "token", "PATH": f"{BIN}:{os.environ['PATH']}",
           "RAY_USAGE_STATS_ENABLED": "0"}
    (work / "home").mkdir()
    port = free_port()
    head = None
    try:
        gen = subprocess.run(["ray", "get-auth-token", "--generate"], env=env, capture_output=True, text=True,
                             timeout=120)
        assert gen.returncode == 0 and (work / "home/.ray/auth_token").is_file(), gen.stderr[-2000:]
        log = open(work / "head.log", "w")
        head = subprocess.Popen(["ray", "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
                                 "--num-cpus=1", "--include-dashboard=false", f"--temp-dir={work / 'ray'}", "--block"],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 180
        while "Ray runtime started" not in (work / "head.log").read_text():
            assert head.poll() is None and time.monotonic() < deadline, (work / "head.log").read_text()[-3000:]
            time.sleep(0.5)
        p = subprocess.run([str(BIN / "lxmert-viz"), "analyze", "shapes:2", "--out", str(tmp_path / "ray"),
                            "--stats", STATS, "--backend", "ray", "--address", f"127.0.0.1:{port}", "--quiet"],
                           env=env, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]
        assert "examples in" in p.stdout and "Traceback" not in p.stderr
    finally:
        if head is not None:
            stop_session(head)
        shutil.rmtree(work, ignore_errors=True)
    torch.set_num_threads(1)  # the Ray worker (num_cpus=1) runs torch on one thread too
    local = run("shapes:2", STATS.split(","), tmp_path / "local", progress=False)
    assert bits(read_records(tmp_path / "ray")) == bits(read_records(local.out))
