"""What the package's docstring examples may use when pytest runs them (``--doctest-modules``).

The examples follow the README: ``kit = lxmert_viz.load()`` (the embedded shapes-world model) and
``result = kit.ask(sample, "what color is the circle?")`` on the first sample scene; ``tmp`` is a
fresh folder for examples that write files. Not imported by the package itself.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import lxmert_viz
from lxmert_viz.assets import sample_paths


@pytest.fixture(scope="session")
def _doctest_kit():
    return lxmert_viz.load()


@pytest.fixture(autouse=True)
def _doctest_names(request, doctest_namespace, _doctest_kit, tmp_path):
    if not isinstance(request.node, pytest.DoctestItem):
        return
    torch.manual_seed(0)
    sample = sample_paths()[0]
    doctest_namespace.update(np=np, torch=torch, lxmert_viz=lxmert_viz, kit=_doctest_kit, sample=sample,
                             result=_doctest_kit.ask(sample, "what color is the circle?"), tmp=tmp_path)
