"""What the findings of issue 26 cost on the embedded model: the head atlas (forwards and seconds,
and one row per ablated head against one forward per head), top-k relevancy in one backward pass
against k separate runs, and the cross-modal ablation.

Part 1, head atlas: `head_atlas` over ``shapes:N`` (every head of every family): its forwards
(statistics pass and causal column) and wall time; then, interleaved on a few questions, the
causal column as `rank_heads` computes it (``1 + heads`` rows per forward) against the same heads
one row per forward (``batch_size=1``): medians and the median per-round ratio.

Part 2, top-k relevancy (k = 5): `relevancy_top_k` (one forward of k rows, one backward) against k
runs of one row each with their own backward, interleaved rounds, medians and the median ratio.

Part 3, cross-modal ablation over ``shapes_statements``: rows, forwards and seconds.

Usage:
    python benchmarks/bench_findings.py                 # prints and writes its RESULTS.md section
    python benchmarks/bench_findings.py --rounds 5 --scenes 2 --no-write
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

import lxmert_viz
from lxmert_viz.analysis import shapes_examples
from lxmert_viz.analysis.atlas import head_atlas
from lxmert_viz.analysis.crossmodal import crossmodal_ablation, shapes_statements
from lxmert_viz.explain import explain
from lxmert_viz.explain.top_answers import relevancy_top_k, top_answers
from lxmert_viz.interventions.ranking import rank_heads
from lxmert_viz.run import Row, run

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import write_section  # noqa: E402
from timing import interleaved  # noqa: E402


def pair(times: dict, a: str, b: str) -> tuple[float, float, float]:
    """Medians of ``a`` and ``b`` and the median of their per-round ratios ``b / a``."""
    return (statistics.median(times[a]), statistics.median(times[b]),
            statistics.median(y / x for x, y in zip(times[a], times[b])))


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scenes", type=int, default=2, help="shapes scenes of the atlas run (about 12 questions each)")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    kit = lxmert_viz.load()
    lines = ["## Findings (issue 26): atlas, top-k relevancy, cross-modal ablation",
             "", f"Command: `python benchmarks/bench_findings.py --scenes {args.scenes} --rounds {args.rounds}`; "
             f"{platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread, embedded model, CPU.", ""]

    # Part 1: the head atlas.
    with tempfile.TemporaryDirectory() as tmp:
        atlas = head_atlas(f"shapes:{args.scenes}", Path(tmp) / "atlas", batch_size=32)
    m = atlas.meta
    lines += ["### Head atlas", "",
              f"`head_atlas(\"shapes:{args.scenes}\")`: {m['examples']} questions, {m['heads']} heads (all six families); "
              f"{m['forwards_statistics']} forward(s) for the statistics, {m['forwards_causal']} forwards of up to "
              f"{m['chunk']} rows for the causal column ({m['rows_causal']} rows: one per ablated head plus the full "
              f"model, per question); {m['seconds']:.1f} s in all. Dormant share per family: "
              + ", ".join(f"{f} {v:.0%}" for f, v in atlas.dormant_share.items()) + ".", ""]
    items = list(shapes_examples(kit, 1))[:2]
    times = interleaved({"batched": lambda: rank_heads(kit, items, batch_size=128),
                         "one row per forward": lambda: rank_heads(kit, items, batch_size=1)},
                        max(3, args.rounds // 2), warmup=1)
    a, b, ratio = pair(times, "batched", "one row per forward")
    lines += [f"Causal column for {len(items)} questions x {m['heads']} heads, interleaved "
              f"({max(3, args.rounds // 2)} rounds, medians): batched (1 + heads rows per forward) {a * 1000:.0f} ms, "
              f"one row per forward {b * 1000:.0f} ms: batching is {ratio:.1f}x faster.", ""]

    # Part 2: top-k relevancy.
    item = next(i for i in shapes_examples(kit, 2) if i.regions.num_real >= 3)
    k = 5
    answers = top_answers(kit.model, item, k)

    def separate():
        return [explain(run(kit.model, [Row(item, answer=a_)], grads=True).result(0), "relevancy") for a_ in answers]

    times = interleaved({"one backward": lambda: relevancy_top_k(kit.model, item, answers=answers),
                         "k runs": separate}, args.rounds)
    a, b, ratio = pair(times, "one backward", "k runs")
    lines += ["### Relevancy for the top-k answers", "",
              f"k = {k} answers of one question ({len(item.tokens)} tokens, {item.regions.num_real} regions), "
              f"{args.rounds} interleaved rounds, medians: one forward of k rows + one backward {a * 1000:.1f} ms, "
              f"k separate runs {b * 1000:.1f} ms; ratio (k runs / one backward) {ratio:.2f}x.", ""]

    # Part 3: cross-modal ablation.
    statements = shapes_statements(kit, 4)
    t0 = time.perf_counter()
    cm = crossmodal_ablation(kit, statements)
    sec = time.perf_counter() - t0
    per = len(cm.conditions["words"])
    rows = per * (len(cm.correct["words"]) + len(statements))
    lines += ["### Cross-modal ablation", "",
              f"{len(statements)} true sentences about 4 held-out scenes: {len(cm.correct['words'])} masked tokens "
              f"and {len(cm.correct['regions'])} labelled regions, {per} conditions each ({rows} rows, one forward per "
              f"sentence and side), {sec:.1f} s.", "", cm.table(), ""]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("bench_findings", body)
    return body


if __name__ == "__main__":
    main()
