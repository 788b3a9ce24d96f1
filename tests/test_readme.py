"""README runs as written: its Python blocks on the embedded model, its command lines from the venv.

The rules (README states the markers where it uses them):

* Everything runs in a temporary folder holding a link to the checkout's ``assets/`` (README's paths
  are relative to the checkout), so nothing is written into the checkout.
* ```` ```python ```` blocks run in README's order in one namespace; a line ending in ``# hub`` (it
  needs the network) is left out.
* ```` ```bash ```` blocks: each command (``\\``-continued lines joined) runs with the venv's ``bin``
  first on ``PATH``, which is what README's ``source .venv/bin/activate`` does. Not run again: that
  line itself and the set-up commands (making the venv and ``bash scripts/test.sh``: this test runs
  inside them; ``bash scripts/docs.sh``: ``tests/test_docs.py`` builds the site). A command marked
  ``# your files`` or ``# hub`` needs data or a network the checkout does not have and is left out;
  one marked ``# minutes`` (train, evaluate) runs as ``lxmert-viz SUBCOMMAND -h``; ``lxmert-viz lab``
  runs with ``--dry-run`` (it would start JupyterLab and wait). The Ray recipe (the block with
  ``ray start``) is run by ``tests/test_ray_cluster.py``.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lxmert_viz.model.output import TransformersOutput
from lxmert_viz.shapes.question_forms import FORMS

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
README = (ROOT / "README.md").read_text()
SETUP = ("python3 -m venv", "bash scripts/test.sh", "bash scripts/docs.sh", "source .venv/bin/activate")
SKIP = ("# your files", "# hub")


def blocks() -> list[tuple[str, str]]:
    """(language, text) of every fenced block, in order."""
    return re.findall(r"```(\w*)\n(.*?)```", README, re.S)


def python_code(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.rstrip().endswith("# hub"))


def commands(text: str) -> list[str]:
    """The block's commands, continued lines joined."""
    return [c.strip() for c in text.replace("\\\n", " ").splitlines() if c.strip()]


def as_run(command: str) -> list[str] | None:
    """The argv the rules run for a README command, or None when it is left out."""
    if command.startswith(SETUP) or any(m in command for m in SKIP):
        return None
    argv = shlex.split(command, comments=True)
    if argv[0] != "lxmert-viz":
        raise AssertionError(f"no rule for README command {command!r}")
    if "# minutes" in command:
        return argv[:2] + ["-h"]
    return argv + ["--dry-run"] if argv[1] == "lab" else argv


def test_readme_runs_as_written(tmp_path, monkeypatch):
    (tmp_path / "assets").symlink_to(ROOT / "assets")
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "MPLBACKEND": "Agg"}
    namespace: dict = {}
    ran = {"python": 0, "bash": 0}
    torch.set_num_threads(1)
    for lang, text in blocks():
        if lang == "python":
            exec(compile(python_code(text), "README.md", "exec"), namespace)  # noqa: S102 (README's own code)
            ran["python"] += 1
        elif lang == "bash" and "ray start" not in text:
            for command in commands(text):
                argv = as_run(command)
                if argv is None:
                    continue
                p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
                assert p.returncode == 0, f"{command}\n{p.stderr[-3000:]}"
                assert "Traceback" not in p.stderr, command
                ran["bash"] += 1
    assert ran == {"python": 4, "bash": 11}, ran
    assert (tmp_path / "scene_00_attention.png").is_file() and (tmp_path / "scene.png").is_file()
    assert not (tmp_path / "runs" / "my-shapes").exists(), "the # minutes lines ran only -h"


def test_readme_python_defines_every_name_it_uses():
    code = "\n".join(python_code(t) for lang, t in blocks() if lang == "python")
    import ast
    import builtins

    tree = ast.parse(code)
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound |= {a.asname or a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
              for a in n.names}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    assert used - bound - set(dir(builtins)) == set()


def test_readme_cli_section_activates_the_venv_first():
    block = next(t for lang, t in blocks() if lang == "bash" and "lxmert-viz ask" in t)
    assert block.splitlines()[0] == "source .venv/bin/activate"


def test_readme_lists_every_question_form():
    section = README.split("### Question forms", 1)[1].split("\n## ", 1)[0]
    missing = [f.pattern for f in FORMS if f"`{f.pattern}`" not in section]
    assert missing == []


def test_as_transformers_reads_like_transformers_output_classes():
    from lxmert_viz import Lxmert, LxmertConfig

    model = Lxmert(LxmertConfig.tiny(), output_heads=("qa",)).eval()
    ids, feats, pos = torch.tensor([[2, 7, 8, 3]]), torch.randn(1, 3, 16), torch.rand(1, 3, 4)
    with torch.no_grad():
        hf = model(input_ids=ids, visual_feats=feats, visual_pos=pos).as_transformers()
    assert isinstance(hf, TransformersOutput) and isinstance(hf, dict)
    assert hf.question_answering_score is hf["question_answering_score"] is hf[0] is hf.to_tuple()[0]
    assert list(hf)[:3] == ["question_answering_score", "language_hidden_states", "vision_hidden_states"]
    assert hf.cross_encoder_attentions is hf["cross_encoder_attentions"]
    with pytest.raises(AttributeError, match="no field 'pooled_output'"):
        hf.pooled_output
