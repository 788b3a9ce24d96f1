#!/usr/bin/env bash
# Strip notebooks for committing with nbstripout: outputs, execution counts, saved widget state and
# the kernel's version numbers (which change from machine to machine); cell ids are kept.
# nbval never compares a cell whose stored execution count is empty, so stripped notebooks are only
# executed, and their assert cells are the checks.
# Usage: bash scripts/strip_notebooks.sh [--verify] [NOTEBOOK ...]   (default: notebooks/*.ipynb)
#   --verify changes nothing and exits non-zero when a notebook would change (the tests run it).
set -euo pipefail
cd "$(dirname "$0")/.."
NBSTRIPOUT=${NBSTRIPOUT:-$(command -v nbstripout || echo .venv/bin/nbstripout)}
verify=()
if [ "${1:-}" = "--verify" ]; then verify=(--verify); shift; fi
[ $# -gt 0 ] || set -- notebooks/*.ipynb
exec "$NBSTRIPOUT" "${verify[@]}" --keep-id --extra-keys "metadata.language_info metadata.varInspector metadata.toc" "$@"
