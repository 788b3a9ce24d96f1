"""The ``lxmert-viz`` command.

    lxmert-viz ask IMAGE "QUESTION" [--png OUT.png] [--top 5] [--model DIR]
    lxmert-viz scene --seed N OUT.png [--size 128] [--objects 6]
    lxmert-viz train ...      (python -m lxmert_viz.shapes.train)
    lxmert-viz evaluate ...   (python -m lxmert_viz.shapes.evaluate)
    lxmert-viz analyze DATASET --out DIR [--stats a,b] [--backend ray] [--model M] [--batch-size 32]
    lxmert-viz summarize DIR [--out SUMMARY.md]

Bad input gets one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _ask(a) -> int:
    from PIL import Image, UnidentifiedImageError

    path = Path(a.image)
    if not path.is_file():
        raise UserError(f"no image file at {path}")
    try:
        with Image.open(path) as im:
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise UserError(f"{path} is not an image") from None
    if not a.question.strip():
        raise UserError("the question is empty")
    import torch

    torch.set_num_threads(2)
    from .kit import load

    kit = load(a.model)
    result = kit.ask(path, a.question, top_k=a.top)
    for ans, prob in result.answers:
        print(f"{prob:6.3f}  {ans}")
    png = Path(a.png) if a.png else path.with_name(path.stem + "_attention.png")
    from .viz.png import result_png

    result_png(result, png)
    print(f"attention overlay: {png}")
    return 0


def _scene(a) -> int:
    from .shapes.world import generate_scene

    if a.size < 32:
        raise UserError(f"--size must be at least 32, got {a.size}")
    if not 1 <= a.objects <= 6:
        raise UserError(f"--objects must be 1..6, got {a.objects}")
    out = Path(a.out)
    if out.suffix.lower() != ".png":
        raise UserError(f"the output must be a .png file, got {out}")
    if not out.parent.exists():
        raise UserError(f"folder {out.parent} does not exist")
    scene = generate_scene(a.seed, size=a.size, max_objects=a.objects)
    scene.image.save(out)
    print(f"{out}: " + ", ".join(o.name for o in scene.objects))
    return 0


def _analyze(a) -> int:
    import torch

    from .analysis import run
    from .analysis.datasets import open_dataset

    if a.threads is not None:
        torch.set_num_threads(a.threads)
    ds = open_dataset(a.dataset, annotations=a.annotations, features=a.features, images=a.images)
    info = run(ds, a.stats, a.out, backend=a.backend, batch_size=a.batch_size, model=a.model,
               shard_size=a.shard_size, top_k=a.top_k, methods=tuple(a.methods.split(",")) if a.methods else (),
               maps=a.maps, limit=a.limit, progress=not a.quiet, address=a.address, concurrency=a.concurrency,
               num_gpus=a.num_gpus, num_cpus=a.num_cpus)
    print(f"{info.examples} examples in {a.out}: {info.shards_written} shards written "
          f"({info.examples_written} examples, {info.examples_per_second:.1f}/s), {info.shards_skipped} already done")
    print(f"next: lxmert-viz summarize {a.out}")
    return 0


def _summarize(a) -> int:
    from .analysis import summarize

    text = summarize(a.dir).to_markdown(a.columns.split(",") if a.columns else None)
    print(text)
    if a.out:
        out = Path(a.out)
        if not out.parent.exists():
            raise UserError(f"folder {out.parent} does not exist")
        out.write_text(text + "\n", encoding="utf-8")
    return 0


def _analyze_parser(sub) -> None:
    from .analysis.datasets import SPECS
    from .analysis.stats import DEFAULT_STATS, STATS

    an = sub.add_parser("analyze", help="statistics of every example of a data set, as Parquet shards")
    an.add_argument("dataset", help="; ".join(SPECS))
    an.add_argument("--out", required=True, help="run folder (a killed run started again resumes there)")
    an.add_argument("--stats", default=",".join(DEFAULT_STATS), help=f"comma-separated, of {sorted(STATS)}")
    an.add_argument("--backend", choices=("local", "ray"), default="local")
    an.add_argument("--model", default=None, help="checkpoint folder or name (default: the embedded shapes model)")
    an.add_argument("--batch-size", type=int, default=32)
    an.add_argument("--shard-size", type=int, default=None, help="examples per shard (default 1000; Ray 20000)")
    an.add_argument("--limit", type=int, default=None, help="only the first N examples")
    an.add_argument("--top-k", type=int, default=5)
    an.add_argument("--methods", default=None, help="explanation methods of --stats explain (default: all)")
    an.add_argument("--maps", type=int, default=None, help="keep the full float16 maps of the first N examples")
    an.add_argument("--features", default=None, help="feature folder (.npz) or .tsv for a questions file")
    an.add_argument("--annotations", default=None, help="VQA annotations JSON (ten answers per question)")
    an.add_argument("--images", default=None, help="image folder for a questions file")
    an.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    an.add_argument("--concurrency", type=int, default=1, help="Ray workers")
    an.add_argument("--num-gpus", type=float, default=0, help="GPUs per Ray worker")
    an.add_argument("--num-cpus", type=float, default=None, help="CPUs per Ray worker")
    an.add_argument("--threads", type=int, default=None, help="torch threads in this process")
    an.add_argument("--quiet", action="store_true", help="no progress bar")
    sm = sub.add_parser("summarize", help="tables of an analyze run: by question type, and per head")
    sm.add_argument("dir")
    sm.add_argument("--columns", default=None, help="scalar columns of the question-type table (default: all)")
    sm.add_argument("--out", default=None, help="also write the tables to this markdown file")


class UserError(Exception):
    """An error in what the user asked: reported in one line."""


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("train", "evaluate"):
        from .shapes import evaluate, train

        return (train if argv[0] == "train" else evaluate).main(argv[1:])
    p = argparse.ArgumentParser(prog="lxmert-viz", description="Look inside LXMERT from the command line.")
    sub = p.add_subparsers(dest="cmd", required=True)
    ask = sub.add_parser("ask", help="answer a question about an image; write the attention overlay PNG")
    ask.add_argument("image")
    ask.add_argument("question")
    ask.add_argument("--png", help="overlay file (default: IMAGE_attention.png beside the image)")
    ask.add_argument("--top", type=int, default=5, help="how many answers to print")
    ask.add_argument("--model", default=None, help="checkpoint folder (default: the embedded shapes model)")
    sc = sub.add_parser("scene", help="write a generated shapes scene")
    sc.add_argument("--seed", type=int, default=0)
    sc.add_argument("--size", type=int, default=128)
    sc.add_argument("--objects", type=int, default=6, help="at most this many objects")
    sc.add_argument("out")
    sub.add_parser("train", help="train the embedded model (see python -m lxmert_viz.shapes.train -h)")
    sub.add_parser("evaluate", help="evaluate it (see python -m lxmert_viz.shapes.evaluate -h)")
    _analyze_parser(sub)
    a = p.parse_args(argv)
    commands = {"ask": _ask, "scene": _scene, "analyze": _analyze, "summarize": _summarize}
    try:
        return commands[a.cmd](a)
    except (UserError, FileNotFoundError, FileExistsError, ValueError, KeyError, ImportError) as err:
        msg = err.args[0] if err.args else str(err)
        print(f"lxmert-viz: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
