"""Every ``>>>`` example in lxmert_viz.shapes runs, on the embedded model where it needs one."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import lxmert_viz.shapes

MODULES = sorted(m.name for m in pkgutil.walk_packages(lxmert_viz.shapes.__path__, "lxmert_viz.shapes."))


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_there_are_examples():
    counts = [doctest.testmod(importlib.import_module(n), verbose=False, report=False).attempted for n in MODULES]
    assert sum(counts) >= 40
