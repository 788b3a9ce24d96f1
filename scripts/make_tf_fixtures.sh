#!/usr/bin/env bash
# Build the TensorFlow checkpoint fixtures of tests/test_tf_checkpoint.py: tiny random TFLxmertModel and
# TFLxmertForPreTraining checkpoints (config.json + tf_model.h5, as save_pretrained writes them) and
# TensorFlow's own outputs on fixed inputs (see scripts/make_tf_fixtures.py).
# It builds a side venv (~3 GB: transformers < 4.50, the last with TF classes; tensorflow CPU; tf-keras;
# h5py), outside the repository. Never run in CI; the kit's own venv never gets TensorFlow.
# Usage: bash scripts/make_tf_fixtures.sh [OUT_DIR]   (default tests/fixtures/tf; TFVENV=/tmp/tfvenv)
set -euo pipefail
cd "$(dirname "$0")/.."
TFVENV=${TFVENV:-/tmp/tfvenv}
OUT=${1:-tests/fixtures/tf}
PY=${PYTHON:-python3}
if [ ! -x "$TFVENV/bin/python" ]; then
  "$PY" -m venv "$TFVENV"
fi
"$TFVENV/bin/pip" install -q --disable-pip-version-check "transformers>=4.40,<4.50" tensorflow-cpu tf-keras "h5py>=3" numpy
rm -rf "$OUT"
TF_CPP_MIN_LOG_LEVEL=2 "$TFVENV/bin/python" scripts/make_tf_fixtures.py "$OUT"
du -sh "$OUT"
