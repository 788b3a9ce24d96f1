"""QA widget round trip: a new question on the same image, answered AND redrawn in place.

Drives `QAWidget.ask` headlessly (what the ask button does) and reports the median and p90 time of
the whole round trip (kit.ask + answer table + overlay update), split into its two halves. Target:
under 300 ms with the embedded model.

Uses the embedded shapes-world kit (`lxmert_viz.load()`) when it is installed; otherwise a stand-in
`Kit` with the same code path (tokenizer, pixel region extractor, image-side cache) around a small
RANDOM model, and says so.

The redraw is the one shading code path (`lxmert_viz.viz.shading`: the whole-image row reported,
an RGBA shading layer sent as a PNG) plus the answer table, the unknown-word notice and the word,
layer and head controls.

Run: ``python benchmarks/bench_qa_widget.py [--repeats 30] [--threads 1]``.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

QUESTIONS = [
    "what color is the circle?", "is there a red triangle?", "how many shapes are there?",
    "what shape is left of the blue rectangle?", "is the circle bigger than the triangle?",
    "what color is the shape on the right?", "is there a gray circle?", "what shape is teal?",
]


def stand_in_kit():
    """A `Kit` around a random tiny model (shapes-world vocabulary, real region extractor)."""
    import torch

    from lxmert_viz import Answers, Lxmert, LxmertConfig, Tokenizer
    from lxmert_viz.kit import Kit
    from lxmert_viz.shapes.world import FEATURE_NAMES, extract_regions

    words = sorted({w.strip("?").lower() for q in QUESTIONS for w in q.split()} | {"?"})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
    d = Path(tempfile.mkdtemp(prefix="lxmert-bench-"))
    (d / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    answers = Answers(["yes", "no", "red", "green", "blue", "black", "gray", "teal", "brown", "yellow",
                       "circle", "rectangle", "triangle", "0", "1", "2", "3", "4", "5", "6"])
    torch.manual_seed(0)
    cfg = LxmertConfig.tiny(vocab_size=len(vocab), hidden_size=64, intermediate_size=128,
                            visual_feat_dim=len(FEATURE_NAMES), num_qa_labels=len(answers))
    model = Lxmert(cfg, output_heads=("qa",)).eval()
    return Kit(model, Tokenizer.from_vocab(d / "vocab.txt"), answers, extract_regions, name="random stand-in")


def get_kit():
    import lxmert_viz

    try:
        return lxmert_viz.load(), "embedded shapes-world kit (lxmert_viz.load())"
    except (FileNotFoundError, ImportError, OSError) as err:
        return stand_in_kit(), f"STAND-IN: random tiny model (embedded kit unavailable: {type(err).__name__})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30, help="questions timed (after 3 warm-up ones)")
    ap.add_argument("--size", type=int, default=128, help="scene size in pixels")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from lxmert_viz.shapes.world import generate_scene
    from lxmert_viz.viz import QAWidget

    kit, what = get_kit()
    scenes = [(f"scene {s}", generate_scene(s, size=args.size, min_objects=3, max_objects=6).image) for s in range(3)]
    t0 = time.perf_counter()
    qa = QAWidget(kit, scenes, question=QUESTIONS[0])
    first = 1e3 * (time.perf_counter() - t0)
    fig_id = id(qa.overlay)
    for q in QUESTIONS[1:4]:  # warm-up
        qa.ask(q)
    qa.ask(QUESTIONS[-1])
    totals, asks, draws = [], [], []
    for i in range(args.repeats):
        q = QUESTIONS[i % len(QUESTIONS)]  # differs from the last one, so the widget really asks
        t = time.perf_counter()
        res = qa.ask(q)
        totals.append(1e3 * (time.perf_counter() - t))
        if res is None:
            raise RuntimeError(f"the widget failed on {q!r}: {qa.error}")
        asks.append(qa.timings["ask_ms"])
        draws.append(qa.timings["draw_ms"])
    assert id(qa.overlay) == fig_id, "the overlay figure was replaced instead of updated"
    t = time.perf_counter()
    qa.select_sample(1)
    new_image = 1e3 * (time.perf_counter() - t)

    def p90(xs):
        return sorted(xs)[int(0.9 * (len(xs) - 1))]

    print(f"kit: {what}: {kit!r}")
    print(f"torch threads: {torch.get_num_threads()}, scene {args.size}px, regions {qa.result.regions.num_real}, "
          f"questions timed: {args.repeats}")
    print(f"widget construction + first question (incl. FigureWidget): {first:.1f} ms")
    print(f"new question, same image  median {statistics.median(totals):.1f} ms  p90 {p90(totals):.1f} ms  "
          f"(kit.ask median {statistics.median(asks):.1f} ms, answers+overlay redraw median "
          f"{statistics.median(draws):.1f} ms)  target < 300 ms: "
          f"{'OK' if statistics.median(totals) < 300 else 'OVER'}")
    print(f"new image (region extraction + image encode + rebuild traces): {new_image:.1f} ms")
    import os

    print("load average at the end: " + "/".join(f"{v:.1f}" for v in os.getloadavg()) + f" on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
