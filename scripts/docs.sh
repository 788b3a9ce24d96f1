#!/usr/bin/env bash
# Build the documentation site: static HTML in docs/_build/html (open docs/_build/html/index.html from
# disk; it needs no network). The tutorials are executed by myst-nb, cached in docs/_build/.jupyter_cache.
# Usage: bash scripts/docs.sh [extra sphinx-build args]   (LXMERT_VIZ_DOCS_OUT moves the output folder)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check torch==2.13.0  # the CPU build, before anything pulls CUDA
fi
if ! .venv/bin/python -c "import sphinx, myst_nb, furo, lxmert_viz, matplotlib" 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check -e ".[docs]"
fi
OUT=${LXMERT_VIZ_DOCS_OUT:-docs/_build/html}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m sphinx -b html -W --keep-going -q docs "$OUT" "$@"
