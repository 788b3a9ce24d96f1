"""Seconds per training step (and of the data build) of two shapes-model recipes, interleaved.

    python scripts/time_training_steps.py --old-src /tmp/old_checkout --reps 3 --steps 150
    python scripts/time_training_steps.py --old-src /tmp/old_checkout --reps 2 --data

``--old-src`` is a checkout (``git archive <commit> lxmert_viz | tar -x -C DIR``) whose
``lxmert_viz.shapes.train.train`` has the old keyword signature; the new recipe is this tree's
``TrainConfig()``. Each run trains on a few hundred scenes (the step's cost does not depend on how
many scenes there are) in its own process, alternately old and new, and reports
``(total - data) / steps``; with ``--data`` each run builds the full training data (10000 scenes,
easy-vqa, the vocabulary) and trains one step, and the data seconds are reported instead. The
medians and their ratio are printed as JSON. Used to estimate a recipe's time on a quiet machine
from the old recipe's quiet measurement.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

OLD = """
import json, sys
from lxmert_viz.shapes.train import train
info = train(sys.argv[1], n_scenes={scenes}, steps={steps}, side_steps={phase}, pair_steps={phase}, progress=False,
             vocab_scenes={vocab})
print(json.dumps({{"per_step": (info["total_seconds"] - info["data_seconds"]) / {steps}, "data": info["data_seconds"]}}))
"""
NEW = """
import json, sys
from lxmert_viz.shapes.train import train
from lxmert_viz.shapes.train_config import TrainConfig
cfg = TrainConfig(n_scenes={scenes}, steps={steps}, side_steps={phase}, pair_steps={phase}, vocab_scenes={vocab})
info = train(cfg, sys.argv[1], progress=False)
print(json.dumps({{"per_step": info["seconds_per_step"], "data": info["data_seconds"]}}))
"""


def run(code: str, src: str, key: str) -> float:
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "PYTHONPATH": src}
        res = subprocess.run([sys.executable, "-c", code, out], env=env, cwd=out, capture_output=True,
                             text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])[key]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--old-src", required=True)
    p.add_argument("--new-src", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--data", action="store_true", help="time the full data build instead of the steps")
    a = p.parse_args()
    if a.data:
        kw, key = dict(scenes=10000, steps=1, phase=0, vocab=2000), "data"
    else:
        kw, key = dict(scenes=300, steps=a.steps, phase=a.steps // 6, vocab=300), "per_step"
    times: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(a.reps):
        times["old"].append(run(OLD.format(**kw), a.old_src, key))
        times["new"].append(run(NEW.format(**kw), a.new_src, key))
        print(json.dumps(times), file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(json.dumps({"runs": times, "median": med, "new_over_old": med["new"] / med["old"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
