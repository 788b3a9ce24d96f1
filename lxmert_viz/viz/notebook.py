"""The set-up every notebook shares: seeds, one thread, inline figures, the kit, the sample scenes.

    from lxmert_viz.viz import notebook_setup, sample_scenes
    kit = notebook_setup()                     # the embedded shapes-world kit, seeded
    scenes = sample_scenes()                   # [{"file", "path", "objects": [...]}, ...]

`notebook_setup` replaces the set-up cell the notebooks used to copy: it seeds Python's `random`,
numpy's global generator and torch, runs torch on ``threads`` threads (a tiny model gains nothing
from more, and a shared machine loses), turns on inline matplotlib figures when it runs inside
IPython, and loads the kit (``lxmert_viz.load(model)``; None is the embedded model, offline).
"""
from __future__ import annotations

import json
import random

from ..assets import assets_dir
from ..kit import load


def seed_everything(seed: int = 0) -> None:
    """Seed `random`, numpy's global generator and torch (CPU and, when present, CUDA)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def notebook_setup(model=None, *, seed: int = 0, threads: int | None = 1, inline: bool = True, **load_kwargs):
    """Seed, set the thread count, switch on inline figures and return a kit.

    Args:
        model: what to load: None for the embedded shapes-world model (offline), or any name
            `lxmert_viz.load` takes (a checkpoint directory, a hub id when online, a bundled
            model name such as ``"shapes-plain"`` where it exists).
        seed: the seed of `random`, numpy and torch.
        threads: torch's intra-op threads (None: leave as it is).
        inline: inside IPython, show matplotlib figures inline (``%matplotlib inline``).
        load_kwargs: passed to `lxmert_viz.load` (``frcnn=``, ``answers=`` ...).

    Returns:
        the `Kit`, or None with ``model=False`` (seeds and threads only).

    Example:
        >>> kit = notebook_setup()
        >>> import torch; torch.get_num_threads()
        1
    """
    import torch

    seed_everything(seed)
    if threads is not None:
        torch.set_num_threads(int(threads))
    if inline:
        try:
            from IPython import get_ipython
        except ImportError:  # plain Python: nothing to switch on
            ip = None
        else:
            ip = get_ipython()
        if ip is not None and getattr(ip, "kernel", None) is not None:
            ip.run_line_magic("matplotlib", "inline")
    if model is False:
        return None
    return load(model, **load_kwargs)


def sample_scenes() -> list[dict]:
    """The shipped sample scenes with what is in them: ``samples.json`` plus each file's ``path``.

    Example:
        >>> [o["shape"] for o in sample_scenes()[0]["objects"]]
        ['circle', 'rectangle', 'triangle']
    """
    folder = assets_dir() / "samples"
    scenes = json.loads((folder / "samples.json").read_text(encoding="utf-8"))
    for s in scenes:
        s["path"] = folder / s["file"]
    return scenes
