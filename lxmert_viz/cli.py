"""The ``lxmert-viz`` command.

    lxmert-viz ask IMAGE "QUESTION" [--png OUT.png] [--top 5] [--model DIR]
    lxmert-viz scene --seed N OUT.png [--size 128] [--objects 6]
    lxmert-viz train ...      (python -m lxmert_viz.shapes.train)
    lxmert-viz evaluate ...   (python -m lxmert_viz.shapes.evaluate)

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
    a = p.parse_args(argv)
    try:
        return _ask(a) if a.cmd == "ask" else _scene(a)
    except (UserError, FileNotFoundError, ValueError, KeyError) as err:
        msg = err.args[0] if err.args else str(err)
        print(f"lxmert-viz: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
