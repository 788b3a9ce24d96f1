"""The test command (scripts/test.sh, run by .ci/run) says what it does: each install step announced,
pip's downloads shown (only "already satisfied" lines dropped), ruff, pytest reporting by count with the
slowest tests, run on two pytest-xdist workers of one thread each, then the exactness tests again on
ATEN_CPU_CAPABILITY=default with torch's default threads.
Checked with a stand-in venv whose pip and python only echo (nothing is installed or run)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAKE_PIP = """#!/bin/bash
echo "Requirement already satisfied: numpy"
echo "Collecting torch==2.13.0"
exit ${FAKE_PIP_RC:-0}
"""
FAKE_RUFF = """#!/bin/bash
echo "RAN ruff $*"
exit ${FAKE_RUFF_RC:-0}
"""
FAKE_PYTHON = """#!/bin/bash
echo "RAN python $* ATEN=${ATEN_CPU_CAPABILITY:-} OMP=${OMP_NUM_THREADS:-}"
exit ${FAKE_PY_RC:-0}
"""


def run_script(tmp_path: Path, **env) -> subprocess.CompletedProcess:
    (tmp_path / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "test.sh", tmp_path / "scripts" / "test.sh")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, text in (("pip", FAKE_PIP), ("python", FAKE_PYTHON), ("ruff", FAKE_RUFF)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    path = f"{tmp_path}:{os.environ['PATH']}"  # a chromium stand-in keeps apt-get out of it
    (tmp_path / "chromium").write_text("#!/bin/sh\n")
    (tmp_path / "chromium").chmod(0o755)
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "ATEN_CPU_CAPABILITY", "LXMERT_VIZ_TEST_WORKERS")}
    return subprocess.run(["bash", "scripts/test.sh", "-k", "x"], cwd=tmp_path, capture_output=True, text=True,
                          env={**base, "PATH": path, **env}, timeout=60)


def test_the_test_command_announces_its_steps_and_reruns_the_exactness_tests(tmp_path):
    p = run_script(tmp_path)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    steps = [line for line in out.splitlines() if line.startswith("==> ")]
    assert [s.split()[1] for s in steps] == ["installing", "installing", "ruff", "pytest:", "pytest"]
    assert "RAN ruff check ." in out
    assert "Collecting torch==2.13.0" in out and "already satisfied" not in out
    runs = [line for line in out.splitlines() if line.startswith("RAN python -m pytest")]
    assert len(runs) == 2
    assert "console_output_style=count" in runs[0] and "--durations=15" in runs[0] and " -q" not in runs[0]
    assert runs[0].endswith("-k x ATEN= OMP=1") and "--nbval-lax tests notebooks" in runs[0]
    assert "-n 2 --dist loadfile --no-loadscope-reorder" in runs[0] and " -n " not in runs[1]  # two workers
    assert "-m exactness tests -k x" in runs[1] and runs[1].endswith("ATEN=default OMP=")  # other kernels, threads


def test_a_failing_install_or_test_run_fails_the_command(tmp_path):
    assert run_script(tmp_path / "a", FAKE_PIP_RC="1").returncode == 1
    assert run_script(tmp_path / "b", FAKE_PY_RC="1").returncode == 1
    assert run_script(tmp_path / "c", FAKE_RUFF_RC="1").returncode == 1


def test_ci_runs_the_test_command():
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
