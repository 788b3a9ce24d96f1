"""Executes the tutorials two (or as many as there are CPUs) at a time before Sphinx reads them.

myst-nb's cache mode executes one notebook after another while it reads the pages. With
``nb_execution_mode = "cache"`` this extension first runs every tutorial whose code is not in the
cache through jupyter-cache's parallel executor (``local-parallel``: a process pool, each notebook
in its own folder as myst-nb runs it), into the same cache; myst-nb then finds each notebook's
outputs there by its code. A notebook that fails here is not cached, so myst-nb runs it again
itself and reports its error as the build's (``nb_execution_raise_on_error``).
"""
from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

from sphinx.util import logging as sphinx_logging

logger = sphinx_logging.getLogger(__name__)


def package_hash(root: Path) -> str:
    """A short hash of every file of ``lxmert_viz/`` and ``assets/`` (what a tutorial's outputs
    depend on besides its own code); docs/conf.py names the execution cache's folder by it."""
    digest = hashlib.sha256()
    for folder in ("lxmert_viz", "assets"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def prune_old_caches(cache_path: Path) -> None:
    """In the default cache root (``docs/_build/.jupyter_cache``), remove caches of other hashes."""
    if cache_path.parent.name != ".jupyter_cache":
        return
    for old in cache_path.parent.iterdir():
        if old.is_dir() and old != cache_path:
            shutil.rmtree(old, ignore_errors=True)
        elif old.is_file():
            old.unlink()


def pre_execute(app) -> None:
    if app.config.nb_execution_mode != "cache":
        return
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    prune_old_caches(Path(app.config.nb_execution_cache_path))
    notebooks = sorted(str(p) for p in (Path(app.srcdir) / "tutorials").glob("*.ipynb"))
    cache = get_cache(app.config.nb_execution_cache_path)
    for path in notebooks:
        cache.add_nb_to_project(path)
    if not cache.list_unexecuted(filter_uris=notebooks):
        return
    quiet = logging.getLogger("jupyter_cache.parallel")
    quiet.setLevel(logging.ERROR)
    executor = load_executor("local-parallel", cache, logger=quiet)
    result = executor.run_and_cache(filter_uris=notebooks, timeout=app.config.nb_execution_timeout,
                                    allow_errors=False)
    logger.info("tutorials executed in parallel: %d, left to myst-nb: %d",
                len(result.succeeded), len(result.excepted) + len(result.errored))

def setup(app):
    app.connect("builder-inited", pre_execute, priority=600)  # after generated_pages copies the notebooks
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
