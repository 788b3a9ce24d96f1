"""The ``lxmert-viz`` command.

    lxmert-viz ask IMAGE "QUESTION" [--png OUT.png] [--word WORD] [--top 5] [--model DIR]
    lxmert-viz scene --seed N OUT.png [--size 128] [--objects 6]
    lxmert-viz lab [NOTEBOOK] [--copy-to DIR] [--dry-run] [-- JUPYTER ARGS]   (JupyterLab on the notebooks)
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
    unknown = getattr(result, "unknown_words", ())
    if unknown:
        print(f"note: the model's vocabulary does not know {', '.join(repr(w) for w in unknown)}; "
              "it read them as [UNK] or single letters")
    if a.word is not None:
        try:
            result.token_index(a.word)
        except KeyError:
            raise UserError(f"--word {a.word!r} is not in the question; its tokens are "
                            f"{result.tokens.labels()}") from None
    png = Path(a.png) if a.png else path.with_name(path.stem + "_attention.png")
    from .viz.png import result_png

    drawn = result_png(result, png, token=a.word)
    print(f"attention overlay: {png} ({drawn['title']})")
    return 0


def _lab(a, extra: list[str]) -> int:
    import importlib.util
    import os
    import shutil
    import subprocess

    if importlib.util.find_spec("jupyterlab") is None:
        raise UserError("JupyterLab is not installed: pip install 'lxmert_viz[notebooks]'")
    folder = _notebooks_dir()
    if a.copy_to:
        dest = Path(a.copy_to)
        clash = [p.name for p in folder.glob("*.ipynb") if (dest / p.name).exists()]
        if clash:
            raise UserError(f"{dest} already holds {', '.join(clash)}; pick an empty folder")
        dest.mkdir(parents=True, exist_ok=True)
        for p in sorted(folder.glob("*.ipynb")):
            shutil.copy2(p, dest / p.name)
        folder = dest
    elif not os.access(folder, os.W_OK):
        raise UserError(f"the notebooks in {folder} are read-only; copy them first: "
                        "lxmert-viz lab --copy-to DIR")
    name = a.notebook or "01_quickstart.ipynb"
    if not name.endswith(".ipynb"):
        name += ".ipynb"
    if not (folder / name).is_file():
        names = ", ".join(p.name for p in sorted(folder.glob("*.ipynb")))
        raise UserError(f"no notebook {name} in {folder}; there are {names}")
    cmd = [sys.executable, "-m", "jupyterlab", str(folder / name), f"--ServerApp.root_dir={folder}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        cmd.append("--allow-root")  # JupyterLab refuses to start as root without it
    cmd += extra
    print(" ".join(cmd))
    if a.dry_run:
        return 0
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 130


def _notebooks_dir() -> Path:
    """The notebooks: the source tree's notebooks/ (a checkout), else <prefix>/share/lxmert_viz/notebooks."""
    for folder in (Path(__file__).resolve().parent.parent / "notebooks",
                   Path(sys.prefix) / "share" / "lxmert_viz" / "notebooks"):
        if any(folder.glob("*.ipynb")):
            return folder
    raise UserError("the lxmert_viz notebooks were not found (neither a checkout's notebooks/ nor "
                    f"{Path(sys.prefix) / 'share' / 'lxmert_viz' / 'notebooks'})")


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
    ask.add_argument("--word", default=None,
                     help="the word whose attention the PNG shows (default: the question's content word)")
    ask.add_argument("--top", type=int, default=5, help="how many answers to print")
    ask.add_argument("--model", default=None, help="checkpoint folder (default: the embedded shapes model)")
    sc = sub.add_parser("scene", help="write a generated shapes scene")
    sc.add_argument("--seed", type=int, default=0)
    sc.add_argument("--size", type=int, default=128)
    sc.add_argument("--objects", type=int, default=6, help="at most this many objects")
    sc.add_argument("out")
    lab = sub.add_parser("lab", help="open the notebooks in JupyterLab (passes --allow-root as root)")
    lab.add_argument("notebook", nargs="?", default=None, help="default: 01_quickstart.ipynb")
    lab.add_argument("--copy-to", default=None, help="copy the notebooks into this folder first and open them there")
    lab.add_argument("--dry-run", action="store_true", help="print the JupyterLab command, do not run it")
    sub.add_parser("train", help="train the embedded model (see python -m lxmert_viz.shapes.train -h)")
    sub.add_parser("evaluate", help="evaluate it (see python -m lxmert_viz.shapes.evaluate -h)")
    extra: list[str] = []
    if argv and argv[0] == "lab" and "--" in argv:  # everything after -- goes to jupyter lab
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    a = p.parse_args(argv)
    try:
        if a.cmd == "lab":
            return _lab(a, extra)
        return _ask(a) if a.cmd == "ask" else _scene(a)
    except (UserError, FileNotFoundError, ValueError, KeyError) as err:
        msg = err.args[0] if err.args else str(err)
        print(f"lxmert-viz: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
