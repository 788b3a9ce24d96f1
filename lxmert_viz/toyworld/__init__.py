"""Shapes world: easy-vqa data, scene generator, questions, pixel regions and a small vocabulary.

Shape letters: see each module. Computation only (numpy, PIL, tokenizers); no plotting imports.
"""
from .palette import COLORS, RGB, SHAPES
from .easyvqa import EasyVQAImage, easyvqa_data_dir, load_easyvqa, load_easyvqa_answers, load_easyvqa_questions
from .scenes import Scene, SceneObject, generate_easyvqa_like, generate_scene, layout_scene, render_objects, rescale_scene
from .components import connected_components, foreground_mask
from .regions import FEATURE_NAMES, extract_regions, find_regions

__all__ = [
    "COLORS", "RGB", "SHAPES",
    "EasyVQAImage", "easyvqa_data_dir", "load_easyvqa", "load_easyvqa_answers", "load_easyvqa_questions",
    "Scene", "SceneObject", "generate_easyvqa_like", "generate_scene", "layout_scene", "render_objects",
    "rescale_scene",
    "connected_components", "foreground_mask",
    "FEATURE_NAMES", "extract_regions", "find_regions",
]
