"""How long the shapes model's training data takes to build, against the code of an earlier commit.

The training tables (`shapes.training_data.build_data`: generated scenes drawn and read by the
pixel extractor, easy-vqa's train images read, questions and sentences tokenized) built by:

- ``baseline``: the ``lxmert_viz`` package of ``--baseline-ref`` (default ``dbd3297``, the last commit
  before the build ran over processes), exported with ``git archive``;
- ``this, 1 process``: this checkout with ``threads=1`` (one process, one torch thread);
- ``this, 2 processes``: this checkout as the recipe runs it (``threads=2``).

Each build runs in a fresh Python process (the variants are different packages; `timing.fresh_process`), in alternating
order each round; the table gives medians and their ratio to the baseline, and a digest of every
tensor so that the builds can be seen to be equal. The recipe's 10,000 scenes are cut to
``--scenes`` (easy-vqa's 4,000 train images stay) to keep the run short.

Usage:
    python benchmarks/bench_data_build.py                   # prints, updates RESULTS.md
    python benchmarks/bench_data_build.py --scenes 500 --rounds 1 --no-write
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from results_file import write_section  # noqa: E402
from timing import alternating, fresh_process  # noqa: E402

BUILD = r"""
import dataclasses, hashlib, json, sys, tempfile, time
from pathlib import Path
import torch
import lxmert_viz
from lxmert_viz.shapes import train as T
from lxmert_viz.shapes.train_config import TrainConfig

def main():
    cfg = dataclasses.replace(TrainConfig(), n_scenes=int(sys.argv[1]), threads=int(sys.argv[2]))
    torch.set_num_threads(cfg.threads)
    tok = T.build_tokenizer(cfg, Path(tempfile.mkdtemp()))
    t0 = time.perf_counter()
    data = T.build_data(tok, cfg)
    seconds = time.perf_counter() - t0
    h = hashlib.sha256()
    for k in sorted(data):
        h.update(k.encode() + str(data[k].dtype).encode() + str(tuple(data[k].shape)).encode())
        h.update(data[k].contiguous().numpy().tobytes())
    print(json.dumps({"seconds": seconds, "digest": h.hexdigest()[:12], "images": int(data["feats"].shape[0]),
                      "questions": int(data["ids"].shape[0]), "package": lxmert_viz.__file__}))

if __name__ == "__main__":
    main()
"""


def export_package(ref: str, into: Path) -> Path:
    """``ref``'s ``lxmert_viz`` folder, written under ``into``; returns ``into``."""
    tar = subprocess.run(["git", "archive", ref, "lxmert_viz"], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(tar)) as t:
        t.extractall(into, filter="data")
    return into


def build(package_root: Path, scenes: int, threads: int) -> dict:
    """``BUILD`` in a fresh process that imports the ``lxmert_viz`` under ``package_root``."""
    res = fresh_process(BUILD, [scenes, threads], cwd=package_root, env={**os.environ, "PYTHONPATH": str(package_root)})
    if not res["package"].startswith(str(package_root)):
        raise SystemExit(f"the build imported {res['package']}, not the package under {package_root}")
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--baseline-ref", default="dbd3297")
    p.add_argument("--scenes", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        base = export_package(a.baseline_ref, Path(tmp) / "baseline")
        variants = {"baseline": (base, 2), "this, 1 process": (ROOT, 1), "this, 2 processes": (ROOT, 2)}

        def run(name):
            root, threads = variants[name]
            res = build(root, a.scenes, threads)
            print(name, round(res["seconds"], 1), flush=True)
            return res

        load0 = os.getloadavg()
        runs: dict[str, list[dict]] = alternating({n: (lambda n=n: run(n)) for n in variants}, a.rounds)
    base_s = statistics.median(x["seconds"] for x in runs["baseline"])
    first = runs["baseline"][0]
    lines = ["## Training data build (`benchmarks/bench_data_build.py`)", "",
             f"Command: `python benchmarks/bench_data_build.py --scenes {a.scenes} --rounds {a.rounds}`", "",
             f"`shapes.training_data.build_data` of `TrainConfig()` with {a.scenes} generated scenes "
             f"({first['images']} images with easy-vqa's train split, {first['questions']} questions), each build "
             f"in a fresh process, alternating order, {a.rounds} rounds, medians; baseline = the package at "
             f"`{a.baseline_ref}`; {platform.machine()}, {os.cpu_count()} CPUs, load average "
             f"{load0[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.", "",
             "| build | seconds (median) | ratio to baseline | tensors' digest |", "|---|---|---|---|"]
    for name, rs in runs.items():
        s = statistics.median(x["seconds"] for x in rs)
        digests = sorted({x["digest"] for x in rs})
        lines.append(f"| {name} | {s:.1f} | {s / base_s:.2f}x | {', '.join(digests)} |")
    same = len({x["digest"] for rs in runs.values() for x in rs}) == 1
    lines += ["", "Every build gave the same tensors (one digest)." if same else
              "**The builds differ** (more than one digest): the change altered the training data."]
    text = "\n".join(lines)
    print(text)
    if not a.no_write:
        write_section("bench_data_build", text)
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
