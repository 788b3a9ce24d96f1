"""What the hook points cost, and how long the output-head and intervention tools take.

Part 1, hook points: the forward pass of this checkout's model (hook points in place, nothing
attached) against the model file of a git ref without them (default ``main``, loaded from
``git show`` into this process), same weights and inputs, interleaved runs, medians as ratios;
plus one forward with every hook point read (`run_with_cache`) against the plain forward.
Sizes: the embedded shapes model on a sample scene, and a base-size random model (20 tokens,
36 regions).

Part 2, tools on the embedded model (one sample scene), each as a ratio to one ``kit.ask`` measured
interleaved in the same run: fill, match (4 sentences), region labels, ask_ablated, patch_sweep
(all positions and per position), rank_heads (one question, every head).

Usage:
    python benchmarks/bench_interventions.py                  # prints, writes RESULTS_interventions.md
    python benchmarks/bench_interventions.py --rounds 5 --no-write --baseline-ref main
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

import torch

import lxmert_viz
from lxmert_viz import Lxmert, LxmertConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import interleaved  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS_interventions.md")
ROOT = Path(__file__).resolve().parent.parent


def baseline_class(ref: str):
    """The `Lxmert` class of ``ref``'s ``lxmert_viz/model/lxmert.py``, imported beside ours."""
    src = subprocess.run(["git", "show", f"{ref}:lxmert_viz/model/lxmert.py"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    if "HookPoint" in src:
        raise SystemExit(f"{ref}'s model file already has hook points: pick a ref from before them")
    path = ROOT / "benchmarks" / "_baseline_lxmert.py"
    path.write_text(src)
    try:
        spec = importlib.util.spec_from_file_location("lxmert_viz.model._baseline_lxmert", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        path.unlink()
    return mod.Lxmert


def pair(times: dict, a: str, b: str) -> tuple[float, float, float]:
    """Medians of ``a`` and ``b`` and the median of their per-round ratios."""
    ratio = statistics.median(x / y for x, y in zip(times[a], times[b]))
    return statistics.median(times[a]), statistics.median(times[b]), ratio


def hook_rows(ref: str, rounds: int) -> list[tuple[str, str, float, float]]:
    from lxmert_viz.model.hooks import run_with_cache

    Base = baseline_class(ref)
    kit = lxmert_viz.load()
    from lxmert_viz.assets import sample_paths

    sample = sample_paths()[0]
    res = kit.ask(sample, "what color is the circle?")
    cases = {"embedded (2/2/3 layers, 128 hidden)": (kit.model, res.model_inputs())}
    torch.manual_seed(0)
    cfg = LxmertConfig(num_qa_labels=3129)
    big = Lxmert(cfg, output_heads=("qa",)).eval()
    g = torch.Generator().manual_seed(1)
    cases["base (9/5/5 layers, 768 hidden)"] = (big, {
        "input_ids": torch.randint(1000, cfg.vocab_size, (1, 20), generator=g),
        "visual_feats": torch.rand(1, 36, cfg.visual_feat_dim, generator=g),
        "visual_pos": torch.rand(1, 36, 4, generator=g)})
    rows = []
    for name, (model, kw) in cases.items():
        base = Base(model.config, output_heads=model.output_heads).eval()
        base.load_state_dict(model.state_dict(), strict=True)
        with torch.inference_mode():
            a, b = model(**kw), base(**kw)
        assert torch.equal(a.question_answering_score, b.question_answering_score), "same weights, same numbers"

        def ours():
            with torch.inference_mode():
                model(**kw)

        def theirs():
            with torch.inference_mode():
                base(**kw)

        t = interleaved({"ours": ours, "base": theirs, "cache": lambda: run_with_cache(model, kw)}, rounds)
        rows.append((name, f"forward with hook points / {ref}'s model file (none)", *pair(t, "ours", "base")))
        rows.append((name, "forward reading every hook point (run_with_cache) / plain forward", *pair(t, "cache", "ours")))
    return rows


def tool_rows(rounds: int) -> list[tuple[str, str, float, float]]:
    import json

    from lxmert_viz.assets import assets_dir
    from lxmert_viz.shapes.world import SceneObject, render_objects

    kit = lxmert_viz.load()
    sc = json.loads((assets_dir() / "samples" / "samples.json").read_text())[0]
    objs = [SceneObject(o["shape"], o["color"], tuple(o["box"])) for o in sc["objects"]]
    red = [SceneObject(o.shape, "red" if o.shape == "circle" else o.color, o.box) for o in objs]
    img, other = render_objects(objs, sc["size"]), render_objects(red, sc["size"])
    q = "what color is the circle?"
    kit.ask(img, q), kit.ask(other, q)  # regions and vision cached, as in a notebook
    fns = {
        "ask": lambda: kit.ask(img, q),
        "fill": lambda: kit.fill(img, "is the [MASK] circle on the left?"),
        "match (4 sentences)": lambda: kit.match(img, ["a black circle", "a red circle", "a teal triangle",
                                                       "a yellow square"]),
        "region labels": lambda: kit.region_labels(img),
        "ask_ablated (12 heads)": lambda: kit.ask_ablated(img, q, ["l2v.0.all", "l2v.1.all", "l2v.2.all"]),
        "patch_sweep, all positions (12 patched rows)": lambda: kit.patch_sweep((other, q), (img, q)),
        "patch_sweep, per position (72 patched rows)": lambda: kit.patch_sweep((other, q), (img, q), per_position=True),
        "rank_heads, 1 question x 64 heads": lambda: kit.rank_heads([(img, q)]),
    }
    t = interleaved(fns, rounds)
    return [("embedded", f"{name} / kit.ask", *pair(t, name, "ask")) for name in fns if name != "ask"]


def table(rows, threads) -> list[str]:
    out = ["| model | measurement | time (ms) | baseline (ms) | ratio of medians | median per-round ratio |",
           "|---|---|---|---|---|---|"]
    for model, what, a, b, r in rows:
        out.append(f"| {model} | {what} | {1000 * a:.2f} | {1000 * b:.2f} | {a / b:.2f}x | {r:.2f}x |")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--baseline-ref", default="main", help="git ref whose model file has no hook points")
    p.add_argument("--no-write", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    rows = hook_rows(a.baseline_ref, a.rounds)
    tools = tool_rows(a.rounds)
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    cmd = "python benchmarks/bench_interventions.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = ["# Hook points and intervention tools", "", f"Command: `{cmd.strip()}`", "",
             f"torch {torch.__version__}, {a.threads} thread(s), {platform.machine()}, {a.rounds} interleaved rounds "
             f"after 2 warm-up, medians; load average at the end {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} on "
             f"{os.cpu_count()} CPUs.", "", "## Hook points", ""] + table(rows, a.threads) + [
             "", "## Tools on the embedded model (scene 0 and its red-circle twin)", ""] + table(tools, a.threads) + [""]
    text = "\n".join(lines)
    print(text)
    if not a.no_write:
        RESULTS.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
