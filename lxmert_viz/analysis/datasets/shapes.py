"""The shapes world as data sets: generated held-out scenes (with referents) and easy-vqa.

Generated scenes come from `lxmert_viz.shapes.world.dataset.make_dataset` (data-set seed 2 is the
held-out seed of `lxmert_viz.shapes.evaluate`; training uses 1). A question that names one object
(``Question.target``) carries a `Referent`: the naming word's character offset and the object's
pixel box, which the encoder matches to a region exactly as `lxmert_viz.shapes.data` does for the
pointing game (the region whose box overlaps the object's most, IoU > 0.5).
"""
from __future__ import annotations

from ...shapes.world.dataset import make_dataset
from ...shapes.world.easyvqa import easyvqa_data_dir, load_easyvqa_questions
from ...shapes.world.palette import SHAPES
from ...shapes.world.scenes import layout_scene
from ..example import Example, Referent, SceneImage
from .base import Dataset

HELD_OUT_SEED = 2


def shapes_dataset(n_scenes: int = 500, seed: int = HELD_OUT_SEED, size: int = 128,
                   named_only: bool = False) -> Dataset:
    """Balanced questions about ``n_scenes`` generated scenes.

    Args:
        n_scenes: scenes to generate (each gives several questions; 500 give about 5,100).
        seed: data-set seed (2: held out from training; scene ``i`` has seed ``seed * 1e6 + i``).
        size: scene side in pixels.
        named_only: keep only the questions that name one object (those with a referent).

    Returns:
        A `Dataset`; ids are ``"<scene seed>-<question k of the data set>"``, ``meta`` has
        ``qtype``, ``scene_seed``, ``target`` (object index or -1) and ``template``.

    Example:
        >>> ds = shapes_dataset(3)
        >>> ex = next(e for e in ds if e.referent is not None)
        >>> ex.question[ex.referent.char:].split()[0].strip("?") == ex.referent.word
        True
    """
    def make():
        objects_of: dict[int, tuple] = {}
        for k, sample in enumerate(make_dataset(n_scenes, seed, size=size)):
            q = sample.question
            if named_only and q.target is None:
                continue
            if sample.scene_seed not in objects_of:
                objects_of.clear()  # samples are ordered by scene: keep one scene's layout
                objects_of[sample.scene_seed] = layout_scene(sample.scene_seed, size)[0]
            ref = None
            if q.target is not None and q.target_char is not None:
                box = objects_of[sample.scene_seed][q.target].box
                ref = Referent(char=q.target_char, word=q.target_word, box=tuple(float(v) for v in box))
            yield Example(f"{sample.scene_seed}-{k}", q.text, image=SceneImage(sample.scene_seed, size),
                          answer=q.answer, referent=ref,
                          meta={"qtype": q.qtype, "scene_seed": sample.scene_seed,
                                "target": -1 if q.target is None else q.target, "template": q.template})

    length = None
    if not named_only:
        length = len(make_dataset(n_scenes, seed, size=size))
    name = f"shapes held-out scenes (seed {seed}, {n_scenes} scenes)" + (", named objects" if named_only else "")
    return Dataset(name, make, length, {"kind": "shapes", "n_scenes": n_scenes, "seed": seed, "size": size,
                                        "named_only": named_only})


def easyvqa_dataset(split: str = "test") -> Dataset:
    """easy-vqa's questions (`pip install easy-vqa==1.0`): one shape per 64x64 image, no referents.

    Returns:
        A `Dataset`; ids are ``"easyvqa-<split>-<k>"``, ``meta`` has ``qtype`` (easy-vqa's three
        kinds: ``shape``, ``color``, ``yes/no``) and ``image_id``.
    """
    rows = load_easyvqa_questions(split)  # checks the split and that the package is installed
    images = easyvqa_data_dir() / split / "images"

    def qtype(answer: str) -> str:
        if answer in ("yes", "no"):
            return "yes/no"
        return "shape" if answer in SHAPES else "color"

    def make():
        for k, (q, a, i) in enumerate(load_easyvqa_questions(split)):
            yield Example(f"easyvqa-{split}-{k}", q, image=str(images / f"{i}.png"), answer=a,
                          meta={"qtype": qtype(a), "image_id": i})

    return Dataset(f"easy-vqa {split}", make, len(rows), {"kind": "easy-vqa", "split": split})
