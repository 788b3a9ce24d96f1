#!/usr/bin/env bash
# Set up a fresh machine and run every test: unit tests, notebooks under nbval, the browser test, then
# the exactness tests again on other CPU kernels.
# Usage: bash scripts/test.sh [extra pytest args]      (the args go to both pytest runs)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
step() { printf '\n==> %s\n' "$*"; }
# pip: no progress bars, no "already satisfied" lines, but every download and install is shown
pip_install() {  # pipefail: pip's own failure still stops the script
  .venv/bin/pip install --disable-pip-version-check --progress-bar off "$@" \
    | { grep -v '^Requirement already satisfied' || true; }
}
if [ ! -x .venv/bin/python ]; then
  step "creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi
# torch alone first: where pip is configured with a CPU wheel (a local wheel or the CPU index,
# https://download.pytorch.org/whl/cpu) that is what it installs; on PyPI alone it is the CUDA
# build (about 2.7 GB of wheels). README, "Install", says how to choose.
step "installing torch==2.13.0 (pip shows where it comes from)"
pip_install torch==2.13.0
step "installing lxmert_viz with its [test] extra (notebooks, train, ray, transformers, playwright, ...)"
pip_install -e ".[test]"
# Debian's Chromium for the browser test (Playwright drives the system browser; it downloads none).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing Debian's chromium for the browser test (apt-get)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; the browser test will be skipped"
  else
    echo "note: no chromium and not root: the browser test will be skipped"
  fi
fi
export MPLBACKEND=Agg HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
step "ruff check (lint and import order, configured in pyproject.toml)"
.venv/bin/ruff check .
# -rfEs: one line per failure, error and skip at the end; count style: "[123/600]" per line of dots
SUMMARY=(-o console_output_style=count -rfEs --durations=15)
# Two workers (pytest-xdist), each on one torch thread (two threads each on two cores spin-wait on
# each other: training tests ran 10-30x slower); a file's tests stay on one worker; the browser test
# and the docs build start first and the files that start Ray share a worker (tests/conftest.py).
# One process alone takes ~11 minutes.
WORKERS=(-n "${LXMERT_VIZ_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder)
step "pytest: doctests, tests/, notebooks (nbval), the browser test; ${LXMERT_VIZ_TEST_WORKERS:-2} workers, OMP_NUM_THREADS=1"
OMP_NUM_THREADS=1 .venv/bin/python -m pytest "${SUMMARY[@]}" "${WORKERS[@]}" --doctest-modules lxmert_viz \
  --nbval-lax tests notebooks "$@"
# Exactness tests compare numbers computed two ways; float32 results differ between CPUs' kernels and
# thread counts, so they run again on the portable kernels with torch's default threads (one per core)
# (pytest exit 5: none selected by "$@").
step "pytest -m exactness again with ATEN_CPU_CAPABILITY=default and the default threads"
rc=0
ATEN_CPU_CAPABILITY=default .venv/bin/python -m pytest -o console_output_style=count -rfEs \
  -m exactness tests "$@" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 5 ] || exit "$rc"
