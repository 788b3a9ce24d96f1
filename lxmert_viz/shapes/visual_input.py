"""The shapes-world model's visual input: one whole-image "scene" region, then the objects.

Shape letters: R regions (1 + ``MAX_OBJECTS`` slots), F features (``shapes.world.FEATURE_NAMES``).

Row 0 is always the scene: box = the whole image, features zero except its geometry
(centre 0.5/0.5, width, height and area 1) and ``real`` = 1. Rows 1.. are the objects that
`shapes.world.extract_regions` finds from the pixels, then zero padding (masked). The scene row gives
attention somewhere to go when a word names nothing in the image, and a fixed reference against
which the share of matching objects can be read: it is what lets the model count and deny.
"""
from __future__ import annotations

import numpy as np

from ..inputs.regions import Regions
from .world import FEATURE_NAMES, extract_regions

MAX_OBJECTS = 8
SCENE_LABEL = "scene"
_SCENE_FEATURES = {"center_x": 0.5, "center_y": 0.5, "width": 1.0, "height": 1.0, "area": 1.0, "real": 1.0}


def scene_features() -> np.ndarray:
    f = np.zeros(len(FEATURE_NAMES), np.float32)
    for name, value in _SCENE_FEATURES.items():
        f[FEATURE_NAMES.index(name)] = value
    return f


def shapes_regions(image, max_objects: int = MAX_OBJECTS) -> Regions:
    """Scene row + object regions (padded to ``1 + max_objects`` rows) of a shapes image.

    Example:
        >>> from lxmert_viz.shapes.world import generate_scene
        >>> r = shapes_regions(generate_scene(0).image)
        >>> r.labels[0], len(r), r.num_real
        ('scene', 9, 7)
    """
    obj = extract_regions(image, max_regions=max_objects)
    w, h = obj.image_size
    boxes = np.concatenate([np.array([[0, 0, w, h]], np.float32), obj.boxes])
    feats = np.concatenate([scene_features()[None], obj.feats])
    scores = np.concatenate([np.ones(1, np.float32), obj.scores])
    extra = {k: np.concatenate([np.array([-1 if v.dtype.kind == "i" and k != "pixels" else w * h],
                                         v.dtype), v]) for k, v in obj.extra.items()}
    return Regions(boxes, feats, (w, h), (SCENE_LABEL, *obj.labels), scores, obj.num_real + 1, extra)
