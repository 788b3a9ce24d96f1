"""The notebooks' shared set-up: seeds, threads, the kit, the sample scenes."""
import random

import numpy as np
import torch

from lxmert_viz.viz import notebook_setup, sample_scenes


def test_setup_seeds_every_generator_and_sets_threads():
    before = torch.get_num_threads()
    try:
        assert notebook_setup(model=False, seed=3, threads=1) is None
        first = (random.random(), np.random.rand(), torch.rand(1).item())
        notebook_setup(model=False, seed=3, threads=1)
        assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_setup_returns_the_embedded_kit_and_the_samples_say_what_they_hold():
    before = torch.get_num_threads()
    try:
        kit = notebook_setup()
        scene = sample_scenes()[0]
        assert scene["path"].is_file() and {"shape", "color", "box"} <= set(scene["objects"][0])
        truth = next(o["color"] for o in scene["objects"] if o["shape"] == "circle")
        assert kit.ask(scene["path"], "what color is the circle?").answer == truth
    finally:
        torch.set_num_threads(before)
