"""The ``lxmert-viz`` command.

    lxmert-viz ask IMAGE "QUESTION" [--png OUT.png] [--force] [--word WORD] [--top 5] [--model DIR] [--allow-unknown]
    lxmert-viz scene --seed N OUT.png [--size 128] [--objects 6] [--force]
    lxmert-viz lab [NOTEBOOK] [--copy-to DIR] [--force] [--dry-run] [-- JUPYTER ARGS]   (JupyterLab on the notebooks)
    lxmert-viz train --out DIR [--force] [recipe flags]      (shapes/train.py; needs the [train] extra)
    lxmert-viz evaluate [--model DIR] [--out RESULTS.md]     (shapes/evaluate.py; needs the [train] extra)
    lxmert-viz analyze DATASET --out DIR [--stats a,b] [--backend ray] [--model M] [--batch-size 32]
    lxmert-viz summarize DIR [--out SUMMARY.md]
    lxmert-viz perturbation --shapes N | --features F (--questions Q | --vqa-valid V) [--protocol kit|paper|published]
    lxmert-viz atlas DATASET --out DIR [--model M] [--families l2v,...] [--backend ray]

Bad input (the kit's own errors, `lxmert_viz.errors`, and OSError) gets one line on stderr and exit
status 2; any other exception is a bug in the kit and shows its traceback. ``ask`` writes its overlay
PNG into the current folder (``IMAGE_attention.png``) or to ``--png``; never beside the input
image unless that is where it was asked to go, never over an existing file without ``--force``,
never over the input image itself, and through a temporary file renamed into place (a failed run
leaves nothing). The answers are printed with what their numbers are: softmax probabilities or
per-answer sigmoid scores, as the checkpoint's answer head was trained. On the embedded models a
question in none of the shapes world's question forms gets a notice naming the nearest ones
(`lxmert_viz.shapes.question_forms`).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import torch

from .analysis import atlas as atlas_command
from .analysis import perturbation as perturbation_command
from .analysis import run as run_analysis
from .analysis import summarize
from .analysis.datasets import SPECS, open_dataset
from .analysis.stats import DEFAULT_STATS, STATS
from .errors import InputError, LxmertVizError, MissingFileError, UnknownWordsError
from .explain import explain, faithfulness
from .inputs.image import open_image
from .inputs.item import Item
from .kit import load
from .shapes import evaluate as evaluate_command
from .shapes import train as train_command
from .shapes.question_forms import check_question_form
from .shapes.world import generate_scene
from .viz.png import result_png

SHAPES_MODELS = (None, "shapes", "shapes-plain")

SCORING_LINES = {
    "softmax": "answers (softmax probability over the answer vocabulary):",
    "sigmoid": "answers (per-answer sigmoid score; trained with binary cross entropy, scores do not sum to 1):",
}


def output_path(out: Path, force: bool, inputs: tuple[Path, ...] = ()) -> Path:
    """``out`` if a PNG may be written there; otherwise `UserError` saying why and what to do."""
    if out.is_dir():
        raise UserError(f"{out} is a folder; name a .png file")
    if out.suffix.lower() != ".png":
        raise UserError(f"the output must be a .png file, got {out}")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.exists():
        raise UserError(f"folder {parent} does not exist")
    if not parent.is_dir():
        raise UserError(f"{parent} is a file, not a folder: {out} cannot be written")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"folder {parent} is not writable; pass --png with a path in a folder you can write")
    for given in inputs:
        if given.exists() and out.exists() and out.resolve() == given.resolve():
            raise UserError(f"{out} is the input image itself; choose another --png")
    if out.exists() and not force:
        raise UserError(f"{out} already exists; pass --force to overwrite it, or give another file name")
    return out


def write_png(out: Path, write) -> None:
    """Call ``write(path)`` on a temporary .png beside ``out``, then rename it into place."""
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp.png")
    try:
        write(tmp)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


def shown_map_faithfulness(model, result) -> str:
    """One line on how faithful the PNG's map is: raw attention's Del@15 / Ins@15 for the top answer
    (computed here; the renderer only prints it). Empty without a QA head."""
    if "qa" not in model.output_heads or not result.answers:
        return ""
    item = Item(result.tokens, result.regions)
    return faithfulness(model, item, explain(result, "raw"), fractions=(0.0, 0.15)).line()


def _ask(a) -> int:
    path = Path(a.image)
    if not path.exists():
        raise UserError(f"no image file at {path}")
    if a.top < 1:
        raise UserError(f"--top must be at least 1, got {a.top}")
    png = output_path(Path(a.png) if a.png else Path.cwd() / f"{path.stem}_attention.png", a.force, (path,))
    image = open_image(path)  # the one opener: limits, deadline, EXIF; errors are one line
    torch.set_num_threads(2)
    kit = load(a.model)
    try:
        result = kit.ask(image, a.question, top_k=a.top, unknown="warn" if a.allow_unknown else "error")
    except UnknownWordsError as err:
        raise UserError(str(err).replace('pass unknown="warn"', "pass --allow-unknown")) from None
    print(SCORING_LINES[result.scoring])
    for ans, score in result.answers:
        print(f"{score:6.3f}  {ans}")
    if result.unknown_words:
        print(f"note: the model's vocabulary does not know {', '.join(repr(w) for w in result.unknown_words)}; "
              "it read them as [UNK] or single letters")
    form = check_question_form(a.question)
    if a.model in SHAPES_MODELS and not form.known:
        print(f"note: {form.notice()}")
    if a.word is not None:
        try:
            result.token_index(a.word)
        except KeyError:
            raise UserError(f"--word {a.word!r} is not in the question; its tokens are "
                            f"{result.tokens.labels()}") from None
    drawn = {}
    faith = shown_map_faithfulness(kit.model, result)
    write_png(png, lambda tmp: drawn.update(result_png(result, tmp, token=a.word, faithfulness=faith)))
    print(f"attention overlay: {png} ({drawn['title']})")
    return 0


def _copy_notebooks(folder: Path, dest: Path, force: bool, dry_run: bool) -> Path:
    """Copy the notebooks into ``dest`` (``dry_run``: only say so); refuse to overwrite without ``force``."""
    if dest.exists() and not dest.is_dir():
        raise UserError(f"--copy-to {dest} is a file; name a folder")
    if not dest.parent.is_dir():
        raise MissingFileError(f"folder {dest.parent} does not exist; create it or choose another --copy-to")
    notebooks = sorted(folder.glob("*.ipynb"))
    clash = [p.name for p in notebooks if (dest / p.name).exists()]
    if clash and not force:
        raise UserError(f"{dest} already holds the notebooks ({', '.join(clash)}); open them there with "
                        f"lxmert-viz lab --copy-to {dest} --force to overwrite them with fresh copies, "
                        "or pick another folder")
    if dry_run:
        print(f"would copy {len(notebooks)} notebooks into {dest}" + (" (overwriting)" if clash else ""))
        return dest
    dest.mkdir(exist_ok=True)
    for p in notebooks:
        shutil.copy2(p, dest / p.name)
    print(f"copied {len(notebooks)} notebooks into {dest}")
    return dest


def _lab(a, extra: list[str]) -> int:
    if importlib.util.find_spec("jupyterlab") is None:
        raise UserError("JupyterLab is not installed: pip install 'lxmert_viz[notebooks]'")
    folder = _notebooks_dir()
    name = a.notebook or "01_quickstart.ipynb"
    if not name.endswith(".ipynb"):
        name += ".ipynb"
    if not (folder / name).is_file():  # checked before anything is copied
        names = ", ".join(p.name for p in sorted(folder.glob("*.ipynb")))
        raise UserError(f"no notebook {name} in {folder}; there are {names}")
    if a.copy_to:
        folder = _copy_notebooks(folder, Path(a.copy_to), a.force, a.dry_run)
    elif not os.access(folder, os.W_OK):
        raise UserError(f"the notebooks in {folder} are read-only; copy them first: "
                        "lxmert-viz lab --copy-to DIR")
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
    if a.size < 32:
        raise UserError(f"--size must be at least 32, got {a.size}")
    if not 1 <= a.objects <= 6:
        raise UserError(f"--objects must be 1..6, got {a.objects}")
    out = output_path(Path(a.out), a.force)
    scene = generate_scene(a.seed, size=a.size, max_objects=a.objects)
    write_png(out, scene.image.save)
    print(f"{out}: " + ", ".join(o.name for o in scene.objects))
    return 0


def _analyze(a) -> int:
    unknown = [s for s in a.stats.split(",") if s.strip() and s.strip() not in STATS]
    if unknown:
        raise UserError(f"unknown statistic {unknown[0]!r}; choose from {sorted(STATS)}")
    for flag, value in (("--batch-size", a.batch_size), ("--shard-size", a.shard_size), ("--top-k", a.top_k),
                        ("--concurrency", a.concurrency), ("--threads", a.threads)):
        if value is not None and value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    if a.threads is not None:
        torch.set_num_threads(a.threads)
    ds = open_dataset(a.dataset, annotations=a.annotations, features=a.features, images=a.images)
    info = run_analysis(ds, a.stats, a.out, backend=a.backend, batch_size=a.batch_size, model=a.model,
                        shard_size=a.shard_size, top_k=a.top_k,
                        methods=tuple(a.methods.split(",")) if a.methods else (), maps=a.maps, limit=a.limit,
                        progress=not a.quiet, address=a.address, concurrency=a.concurrency, num_gpus=a.num_gpus,
                        num_cpus=a.num_cpus)
    print(f"{info.examples} examples in {a.out}: {info.shards_written} shards written "
          f"({info.examples_written} examples, {info.examples_per_second:.1f}/s), {info.shards_skipped} already done")
    print(f"next: lxmert-viz summarize {a.out}")
    return 0


def _summarize(a) -> int:
    out = Path(a.out) if a.out else None
    if out is not None and not out.parent.is_dir():  # checked before the tables are computed
        raise UserError(f"folder {out.parent} does not exist")
    text = summarize(a.dir).to_markdown(a.columns.split(",") if a.columns else None)
    print(text)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    return 0


def _analyze_parser(sub) -> None:
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


class UserError(InputError):
    """An error in what the user asked on the command line: reported in one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors in one line (exit status 2) instead of usage + error."""

    def error(self, message: str):
        print(f"{self.prog}: error: {message} (see {self.prog} -h)", file=sys.stderr)
        raise SystemExit(2)


def _one_line(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror}: {err.filename}" if err.filename else err.strerror
    msg = err.args[0] if err.args else type(err).__name__
    return " ".join(str(msg).split())  # one line, whatever the message held


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="lxmert-viz", description="Look inside LXMERT from the command line.")
    sub = p.add_subparsers(dest="cmd", required=True)
    ask = sub.add_parser("ask", help="answer a question about an image; write the attention overlay PNG")
    ask.add_argument("image")
    ask.add_argument("question")
    ask.add_argument("--png", help="overlay file (default: IMAGE_attention.png in the current folder)")
    ask.add_argument("--force", action="store_true", help="overwrite an existing overlay file")
    ask.add_argument("--word", default=None,
                     help="the word whose attention the PNG shows (default: the question's content word)")
    ask.add_argument("--top", type=int, default=5, help="how many answers to print")
    ask.add_argument("--model", default=None, help="checkpoint folder (default: the embedded shapes model)")
    ask.add_argument("--allow-unknown", action="store_true",
                     help="answer even when the model knows no content word of the question (a warning)")
    sc = sub.add_parser("scene", help="write a generated shapes scene")
    sc.add_argument("--seed", type=int, default=0)
    sc.add_argument("--size", type=int, default=128)
    sc.add_argument("--objects", type=int, default=6, help="at most this many objects")
    sc.add_argument("--force", action="store_true", help="overwrite an existing file")
    sc.add_argument("out")
    lab = sub.add_parser("lab", help="open the notebooks in JupyterLab (passes --allow-root as root)")
    lab.add_argument("notebook", nargs="?", default=None, help="default: 01_quickstart.ipynb")
    lab.add_argument("--copy-to", default=None, help="copy the notebooks into this folder first and open them there")
    lab.add_argument("--force", action="store_true", help="with --copy-to: overwrite notebooks already there")
    lab.add_argument("--dry-run", action="store_true", help="print what it would copy and run; write and run nothing")
    tr = sub.add_parser("train", help="train the embedded model's recipe into a folder (needs the [train] extra)",
                        description=train_command.__doc__.split("\n")[0])
    train_command.add_arguments(tr)
    ev = sub.add_parser("evaluate", help="figures of a shapes-world model (needs the [train] extra)",
                        description=evaluate_command.__doc__.split("\n")[0])
    evaluate_command.add_arguments(ev)
    _analyze_parser(sub)
    pe = sub.add_parser("perturbation", help="the perturbation benchmark of explanation methods (kit, paper or "
                        "the published protocol)", description=perturbation_command.__doc__.split("\n")[0])
    perturbation_command.add_arguments(pe)
    at = sub.add_parser("atlas", help="every head's statistics and causal effect over a data set (Parquet)",
                        description=atlas_command.DESCRIPTION)
    atlas_command.add_arguments(at)
    return p


def _done(_result) -> int:
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if argv and argv[0] == "lab" and "--" in argv:  # everything after -- goes to jupyter lab
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    a = _parser().parse_args(argv)
    command = shlex.join(["lxmert-viz", *argv])  # recorded by train and evaluate in what they write
    commands = {"ask": _ask, "scene": _scene, "analyze": _analyze, "summarize": _summarize,
                "lab": lambda args: _lab(args, extra),
                "train": lambda args: train_command.run(args, command),
                "evaluate": lambda args: evaluate_command.run(args, command),
                "perturbation": lambda args: _done(perturbation_command.run_command(args, command)),
                "atlas": lambda args: _done(atlas_command.run_command(args))}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code = commands[a.cmd](a)
        for w in caught:  # each warning in one line, not Python's two; deprecations are for developers
            if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)):
                continue
            print(f"lxmert-viz: warning: {_one_line(w.message)}", file=sys.stderr)
        return code
    except (LxmertVizError, OSError) as err:  # the kit's refusals; anything else is a bug: its traceback
        print(f"lxmert-viz: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lxmert-viz: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
