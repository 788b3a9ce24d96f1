"""Shared test fixtures: a seed, one torch thread, a tiny result. Plain helpers live in helpers.py."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture
def seed():
    """Seed torch's generator; returns the seed."""
    torch.manual_seed(0)
    return 0


@pytest.fixture
def one_thread():
    """Run torch on one thread: tiny models gain nothing from more, and on a shared, loaded
    machine intra-op threads contend (a 3x slower suite was measured with 2 threads)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def result():
    """A `Result` of a tiny random model on a drawn image (see `viz_fixtures.make_result`)."""
    from viz_fixtures import make_result

    return make_result()

