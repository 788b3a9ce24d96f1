"""Pages made from the package and the repository at build time, so the site never restates them.

On ``builder-inited`` (before Sphinx reads any page) this writes, under ``docs/``:

* ``tutorials/NN_*.ipynb``: copies of ``notebooks/*.ipynb`` (a glob: a new notebook is a new page);
  myst-nb executes them (``nb_execution_mode``) and renders their outputs.
* ``_generated/architecture.svg`` and ``architecture_tiny.svg``: `lxmert_viz.viz.architecture_figure`
  for the published base model and for the embedded model's config.
* ``_generated/families.md``: the six attention families, from `lxmert_viz.model.FAMILIES`.
* ``_generated/cli.md``: ``lxmert-viz -h`` and every subcommand's ``-h``, from the argparse parser.
* ``_generated/readme_<section>.md``: README sections (checkpoints, file formats, command line).
* ``_generated/benchmarks/RESULTS*.md``: the benchmark results, one page each.

It also gives the notebooks' kernels an IPython profile of the build's own (`kernel_profile`).

A file is rewritten only when its content changed, so an incremental build rereads only what moved.
"""
from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

README_SECTIONS = {  # generated file stem: README heading
    "checkpoints": "Checkpoints",
    "files": "Feature files and data-set files",
    "command_line": "Command line",
    "features": "Region features from photos",
}


def _write(path: Path, content: str | bytes) -> None:
    """Write ``content`` unless the file already holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def copy_notebooks(root: Path, docs: Path) -> list[str]:
    """Copy ``notebooks/*.ipynb`` to ``docs/tutorials/`` (outputs dropped); remove stale copies."""
    target = docs / "tutorials"
    names = []
    for nb_path in sorted((root / "notebooks").glob("*.ipynb")):
        nb = json.loads(nb_path.read_text())
        for cell in nb["cells"]:  # the build executes them; a stored output never reaches the site
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
        _write(target / nb_path.name, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        names.append(nb_path.name)
    for old in target.glob("*.ipynb"):
        if old.name not in names:
            old.unlink()
    return names


def architecture_figures(out: Path) -> None:
    """The architecture figure as SVG: the published base model and the embedded tiny model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib as mpl

    from lxmert_viz.assets import assets_dir
    from lxmert_viz.model import LxmertConfig
    from lxmert_viz.viz import architecture_figure

    tiny = LxmertConfig.from_json_file(assets_dir() / "shapes" / "config.json")
    with mpl.rc_context({"svg.hashsalt": "lxmert_viz", "svg.fonttype": "path"}):
        for name, config in (("architecture.svg", None), ("architecture_tiny.svg", tiny)):
            buf = io.StringIO()
            architecture_figure(config).savefig(buf, format="svg", metadata={"Date": None})
            _write(out / name, buf.getvalue())


def families_table(out: Path) -> None:
    """The family table (name, query and key streams, the config field counting its layers, shape)."""
    from lxmert_viz.model import FAMILIES, family

    rows = ["| family | queries | keys | layers counted by | shape per example | what |", "|---|---|---|---|---|---|"]
    for name in FAMILIES:
        f = family(name)
        q, k = ("T" if f.query == "lang" else "R"), ("T" if f.key == "lang" else "R")
        rows.append(f"| `{f.name}` | {f.query} | {f.key} | `{f.layer_field}` | (layers, heads, {q}, {k}) | {f.what} |")
    _write(out / "families.md", "\n".join(rows) + "\n")


def cli_help(out: Path) -> None:
    """``lxmert-viz -h`` and each subcommand's ``-h``, as argparse prints them at 100 columns."""
    import argparse

    from lxmert_viz import cli

    parser = cli._parser()  # the parser `lxmert-viz` itself parses with
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parts = ["# `lxmert-viz`", "", "```text", _help(parser), "```", ""]
    for name, sub in subs.choices.items():
        parts += [f"# `lxmert-viz {name}`", "", "```text", _help(sub), "```", ""]
    _write(out / "cli.md", "\n".join(parts))


def _help(parser) -> str:
    """A parser's help as ``-h`` prints it, at a fixed width of 100 columns."""
    os.environ["COLUMNS"] = "100"
    try:
        text = parser.format_help()
    finally:
        os.environ.pop("COLUMNS", None)
    return text.rstrip()


def readme_sections(root: Path, out: Path) -> None:
    """README's sections on checkpoints, files and the command line, each as its own include."""
    text = (root / "README.md").read_text()
    for stem, heading in README_SECTIONS.items():
        m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
        if m is None:
            raise ValueError(f"README.md has no section '## {heading}' (docs/_ext/generated_pages.py)")
        body = _top_heading_level(_repo_links(m.group(1).strip()))
        _write(out / f"readme_{stem}.md", body + "\n")


def _top_heading_level(md: str) -> str:
    """Headings shifted so the highest is level 1 (a page includes it with ``:heading-offset:``)."""
    levels = [len(m.group(1)) for m in re.finditer(r"^(#+) ", md, flags=re.M)]
    if not levels:
        return md
    shift = min(levels) - 1
    return re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) - shift) + " ", md, flags=re.M)


def _repo_links(md: str) -> str:
    """A link to a repository file becomes its path in code (the site has no copy of the repo)."""
    return re.sub(r"(?<!!)\[([^\]]+)\]\((?!https?:|#)([^)]+)\)", r"\1 (`\2`)", md)


def benchmark_pages(root: Path, out: Path) -> list[str]:
    """``benchmarks/RESULTS*.md`` as pages of their own (a glob: a new results file is a new page)."""
    target = out / "benchmarks"
    names = []
    for path in sorted((root / "benchmarks").glob("RESULTS*.md")):
        _write(target / path.name, _repo_links(path.read_text()))
        names.append(path.name)
    for old in target.glob("*.md"):
        if old.name not in names:
            old.unlink()
    return names


KERNEL_STARTUP = """\
# Written by docs/_ext/generated_pages.py for the kernels of the documentation build only.
# A notebook progress bar is a widget with no static view (on a page it would stay at 0 %), so
# tqdm.auto gives the plain bar, which TQDM_DISABLE=1 (set by docs/conf.py) turns off.
import tqdm.auto
import tqdm.std

tqdm.auto.tqdm, tqdm.auto.trange = tqdm.std.tqdm, tqdm.std.trange
"""


def kernel_profile(app) -> None:
    """An IPython profile of the build's own (in the doctree folder) for the notebooks' kernels."""
    ipython = Path(app.doctreedir) / "ipython"
    _write(ipython / "profile_default" / "startup" / "00-lxmert-viz-docs.py", KERNEL_STARTUP)
    os.environ["IPYTHONDIR"] = str(ipython)


def generate(app) -> None:
    kernel_profile(app)
    docs = Path(app.srcdir)
    root = docs.parent
    out = docs / "_generated"
    copy_notebooks(root, docs)
    architecture_figures(out)
    families_table(out)
    cli_help(out)
    readme_sections(root, out)
    benchmark_pages(root, out)


def setup(app):
    app.connect("builder-inited", generate)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
