"""Shapes world: easy-vqa data, scene generator, questions, pixel regions and a small vocabulary.

Shape letters: see each module. Computation only (numpy, PIL, tokenizers); no plotting imports.

Example:
    >>> from lxmert_viz.shapes.world import generate_scene, make_questions, extract_regions
    >>> import numpy as np
    >>> scene = generate_scene(0)
    >>> regions = extract_regions(scene.image)
    >>> questions = make_questions(scene, np.random.default_rng(0))
"""
from .checker import answer_question
from .components import connected_components, foreground_mask
from .dataset import (
    ANSWERS,
    EASYVQA_ANSWERS,
    Sample,
    answer_stats,
    make_dataset,
    question_only_baseline,
    question_only_predictor,
)
from .easyvqa import EasyVQAImage, easyvqa_data_dir, load_easyvqa, load_easyvqa_answers, load_easyvqa_questions
from .extract import FEATURE_NAMES, extract_regions, find_regions
from .palette import COLORS, RGB, SHAPES
from .questions import Question, make_questions, referring_phrases
from .scenes import (
    Scene,
    SceneObject,
    generate_easyvqa_like,
    generate_scene,
    layout_scene,
    render_objects,
    rescale_scene,
)
from .templates import QTYPES, TEMPLATES, match_template, question_template
from .vocab import SPECIAL_TOKENS, load_wordpiece, question_corpus, save_wordpiece, train_wordpiece

__all__ = [
    "COLORS", "RGB", "SHAPES",
    "EasyVQAImage", "easyvqa_data_dir", "load_easyvqa", "load_easyvqa_answers", "load_easyvqa_questions",
    "Scene", "SceneObject", "generate_easyvqa_like", "generate_scene", "layout_scene", "render_objects",
    "rescale_scene",
    "connected_components", "foreground_mask",
    "FEATURE_NAMES", "extract_regions", "find_regions",
    "QTYPES", "TEMPLATES", "match_template", "question_template",
    "answer_question",
    "Question", "make_questions", "referring_phrases",
    "ANSWERS", "EASYVQA_ANSWERS", "Sample", "answer_stats", "make_dataset", "question_only_baseline",
    "question_only_predictor",
    "SPECIAL_TOKENS", "load_wordpiece", "question_corpus", "save_wordpiece", "train_wordpiece",
]
