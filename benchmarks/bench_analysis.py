"""Data-set runs: examples per second of `lxmert_viz.analysis.run`, peak memory against the data
set's size, and the Ray backend beside the local one, each measured as ratios in one run.

Three parts (all by default):

- ``throughput``: the local backend at batch 1 and batch 32, (a) on the base-size model (9/5/5
  layers, 768 hidden, 3129 answers, random weights) with precomputed features (36 regions x 2048,
  ``.npz`` files written to a temporary folder; 5 questions per image as in VQA v2, questions of
  about 18 tokens), (b) on the embedded shapes model with images (each scene drawn and its regions
  extracted in the run). Runs of the two batch sizes are interleaved; medians are compared. The
  base-size run also splits a batch's time into the forward pass and cutting results + statistics.
- ``memory``: peak RSS (``VmHWM``) of a fresh process that runs 1,000 and one that runs 10,000
  held-out shapes questions (embedded model, default statistics, shards of 1,000).
- ``ray``: the same examples on the local backend and on a local Ray (Ray Data, actor pool of 1 and
  2 workers with 1 CPU each), interleaved; Ray's start-up is timed apart from the runs.

Usage:
    python benchmarks/bench_analysis.py                      # all parts; updates RESULTS.md
    python benchmarks/bench_analysis.py --parts memory --no-write
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import write_section  # noqa: E402
from timing import alternating, fresh_process  # noqa: E402

NOTES = """
Reading these figures: a load average well above 2 on 2 cores means each process got a fraction
of a core, so the milliseconds are several times those of an idle machine (`bench_model.py`
measured 161 ms for a base-size forward at batch 1 on one idle thread). At batch 1 the base
model streams all its weights (about 0.8 GB in float32) for 20 tokens, so it suffers most from
sharing the memory bus; batch 32 reuses them. The records' statistics cost a few ms per example
either way. The Ray rows include each run's fixed cost (actor start, one model load per worker);
on 2 shared cores a second Ray worker has no core of its own. The peak-memory rows run in fresh
processes (`VmHWM` of each), so they include torch, pyarrow and the model (about 340 MiB).
"""
STATS = ["answer", "topk", "correct", "entropy", "max", "sink", "pointing"]


def base_kit():
    """Base-size LXMERT with random weights, the shapes tokenizer (ids fit any vocabulary) and
    3129 placeholder answers; no extractor (the examples come with features)."""
    import lxmert_viz
    from lxmert_viz import Answers, Lxmert, LxmertConfig
    from lxmert_viz.kit import Kit

    torch.manual_seed(0)
    shapes = lxmert_viz.load()
    model = Lxmert(LxmertConfig(num_qa_labels=3129), output_heads=("qa",)).eval()
    return Kit(model, shapes.tokenizer, Answers([f"answer {i}" for i in range(3129)]), extractor=None, name="base")


def feature_dataset(folder: Path, n_questions: int, per_image: int = 5):
    """``n_questions`` questions of ~18 tokens over n / per_image images of 36 random 2048-d regions."""
    from lxmert_viz import Regions
    from lxmert_viz.analysis.datasets import questions_dataset
    from lxmert_viz.features.npz import save_npz
    from lxmert_viz.shapes.world.dataset import make_dataset

    rng = np.random.default_rng(0)
    texts = [s.question.text for s in make_dataset(200, 3)]
    rows = []
    for k in range(n_questions):
        img = f"img{k // per_image:05d}"
        if k % per_image == 0:
            boxes = np.sort(rng.uniform(0, 600, (36, 2, 2)), axis=1).reshape(36, 4)[:, [0, 2, 1, 3]]
            save_npz(folder / "feats" / f"{img}.npz",
                     Regions(boxes.astype("f4"), rng.random((36, 2048), dtype=np.float32), (640, 480)))
        q = f"{texts[(2 * k) % len(texts)][:-1]} and {texts[(2 * k + 1) % len(texts)]}"
        rows.append({"image_id": img, "question": q, "answer": "answer 7"})
    (folder / "questions.json").write_text(json.dumps(rows))
    return questions_dataset(folder / "questions.json", features=folder / "feats")


def timed_run(ds, kit, batch, work: Path, **kw) -> float:
    from lxmert_viz.analysis import run

    out = Path(tempfile.mkdtemp(dir=work))
    shutil.rmtree(out)
    info = run(ds, STATS, out, model=kit, batch_size=batch, progress=False, **kw)
    shutil.rmtree(out)
    return info.examples / info.seconds


def split_batch(kit, ds, batch: int) -> tuple[float, float]:
    """Seconds per example of the forward pass and of cutting results + statistics, batch ``batch``."""
    from lxmert_viz.analysis import BatchWorker

    worker = BatchWorker(kit, STATS)
    exs = list(ds.take(batch))
    enc = worker.encode(exs)
    worker.forward(enc)  # warm-up
    fw, st = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        out = worker.forward(enc)
        t1 = time.perf_counter()
        for r, e in zip(worker.results(out), enc):
            worker.statistics(r, e)
        t2 = time.perf_counter()
        fw.append((t1 - t0) / batch)
        st.append((t2 - t1) / batch)
    return statistics.median(fw), statistics.median(st)


def part_throughput(args, work: Path) -> list[str]:
    import lxmert_viz
    from lxmert_viz.analysis.datasets import shapes_dataset

    lines = ["| model, input | batch 1 (examples/s) | batch 32 (examples/s) | batch 32 / batch 1 |", "|---|---|---|---|"]
    kit = base_kit()
    ds = feature_dataset(work / "base", args.base_examples)
    timed_run(ds.take(32), kit, 32, work)  # warm-up
    t = alternating({1: lambda: timed_run(ds, kit, 1, work), 32: lambda: timed_run(ds, kit, 32, work)}, args.rounds)
    b1, b32 = statistics.median(t[1]), statistics.median(t[32])
    lines.append(f"| base size (9/5/5, 768), random weights, precomputed features (36 x 2048), "
                 f"{args.base_examples} questions, 5 per image | {b1:.2f} | {b32:.2f} | {b32 / b1:.2f}x |")
    fw1, st1 = split_batch(kit, ds, 1)
    fw32, st32 = split_batch(kit, ds, 32)
    shapes = lxmert_viz.load()
    sds = shapes_dataset(args.shapes_scenes)
    timed_run(sds.take(64), shapes, 32, work)
    t = alternating({1: lambda: timed_run(sds, shapes, 1, work), 32: lambda: timed_run(sds, shapes, 32, work)},
                    args.rounds)
    s1, s32 = statistics.median(t[1]), statistics.median(t[32])
    lines.append(f"| embedded shapes model, images (scene drawn + regions extracted in the run), "
                 f"{len(sds)} questions | {s1:.1f} | {s32:.1f} | {s32 / s1:.2f}x |")
    lines += ["", "Where a base-size example's time goes (one worker, median of 3 batches, ms per example):", "",
              "| batch | forward pass (all maps) | cut results + default statistics |", "|---|---|---|",
              f"| 1 | {fw1 * 1e3:.1f} | {st1 * 1e3:.1f} |", f"| 32 | {fw32 * 1e3:.1f} | {st32 * 1e3:.1f} |"]
    return lines


MEMORY_SCRIPT = r"""
import json, sys, tempfile, time
import torch
torch.set_num_threads(1)
from lxmert_viz.analysis import run
from lxmert_viz.analysis.datasets import shapes_dataset
n = int(sys.argv[1])
ds = shapes_dataset(n // 9 + 10).take(n)  # about 10 questions per scene
out = tempfile.mkdtemp() + "/run"
t0 = time.perf_counter()
info = run(ds, None, out, batch_size=32, shard_size=1000, progress=False)
# VmHWM: this process's own peak (ru_maxrss would count the parent's size at the fork before exec)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"examples": info.examples, "seconds": time.perf_counter() - t0, "peak_rss_mb": hwm / 1024}))
"""


def part_memory(args, work: Path) -> list[str]:
    rows = alternating({n: (lambda n=n: fresh_process(MEMORY_SCRIPT, [n], cwd=work)) for n in (1000, 10000)},
                       args.memory_rounds)
    med = {n: statistics.median(x["peak_rss_mb"] for x in v) for n, v in rows.items()}
    lines = ["| examples | peak RSS (MiB, median of fresh processes) | seconds | examples/s |", "|---|---|---|---|"]
    for n, v in rows.items():
        secs = statistics.median(x["seconds"] for x in v)
        lines.append(f"| {v[0]['examples']} | {med[n]:.0f} | {secs:.1f} | {v[0]['examples'] / secs:.0f} |")
    lines += ["", f"10,000 / 1,000 examples: peak RSS ratio **{med[10000] / med[1000]:.3f}** "
              f"({args.memory_rounds} interleaved rounds)."]
    return lines


def part_ray(args, work: Path) -> list[str]:
    import ray

    import lxmert_viz
    from lxmert_viz.analysis.datasets import shapes_dataset

    kit = lxmert_viz.load()
    ds = shapes_dataset(args.ray_scenes)
    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    start = time.perf_counter() - t0
    small = ds.take(32)
    secs = lambda rate, n: n / rate  # noqa: E731
    settings = {"local": dict(model=kit), "ray, 1 worker": dict(backend="ray", concurrency=1, num_cpus=1),
                "ray, 2 workers": dict(backend="ray", concurrency=2, num_cpus=1)}
    try:
        fns = {}
        for name, kw in settings.items():
            kw = dict(kw)
            model = kw.pop("model", None)
            fns[name] = (lambda model=model, kw=kw: (secs(timed_run(ds, model, 32, work, **kw), len(ds)),
                                                      secs(timed_run(small, model, 32, work, **kw), 32)))
        t = alternating(fns, args.rounds)
    finally:
        ray.shutdown()
    lines = [f"| backend ({len(ds)} held-out shapes questions, embedded model, images, batch 32) | examples/s, whole "
             "run | ratio to local | fixed cost (a 32-question run), s | examples/s after it | ratio to local |",
             "|---|---|---|---|---|---|"]
    whole = {k: len(ds) / statistics.median(a for a, _ in v) for k, v in t.items()}
    fixed = {k: statistics.median(b for _, b in v) for k, v in t.items()}
    steady = {k: (len(ds) - 32) / statistics.median(a - b for a, b in v) for k, v in t.items()}
    for k in t:
        lines.append(f"| {k} | {whole[k]:.1f} | {whole[k] / whole['local']:.2f}x | {fixed[k]:.1f} | {steady[k]:.1f} | "
                     f"{steady[k] / steady['local']:.2f}x |")
    lines += ["", f"`ray.init` (local instance, 2 CPUs, no dashboard) took {start:.1f} s, outside the runs. A Ray run's "
              "fixed cost is starting its actor pool and loading the model in each worker; \"after it\" is "
              "(examples - 32) / (time of the run - time of the 32-question run)."]
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--parts", default="throughput,memory,ray")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--memory-rounds", type=int, default=2)
    p.add_argument("--base-examples", type=int, default=96)
    p.add_argument("--shapes-scenes", type=int, default=100)
    p.add_argument("--ray-scenes", type=int, default=300)
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    parts = args.parts.split(",")
    sections = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, fn, title in (("throughput", part_throughput, "Local backend: the gain from batching"),
                                ("memory", part_memory, "Memory against the data set's size"),
                                ("ray", part_ray, "Ray backend beside the local one")):
            if name in parts:
                t0 = time.perf_counter()
                body = fn(args, work)
                load = os.getloadavg()
                sections += [f"### {title}", "", *body, "",
                             f"({time.perf_counter() - t0:.0f} s; load average at the end {load[0]:.1f}/{load[1]:.1f}/"
                             f"{load[2]:.1f} on {os.cpu_count()} CPUs)", ""]
                print("\n".join(sections[-len(body) - 4:]), flush=True)
    text = "\n".join(["## Data-set runs (`benchmarks/bench_analysis.py`)", "",
                      "Command: `" + " ".join(["python benchmarks/bench_analysis.py", *sys.argv[1:]]) + "`", "",
                      f"torch {torch.__version__}, 1 torch thread per process (worker), statistics "
                      f"{', '.join(STATS)}; {args.rounds} interleaved rounds, medians. Measured on this shared "
                      "2-core machine: compare the ratios within a table, not milliseconds across runs.", "",
                      *sections, NOTES.strip()])
    if not args.no_write:
        write_section("bench_analysis", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
