"""Data sets: the VQA v2 / GQA / LXMERT layouts over TSV and .npz features (on a small data set
written here), questions files over image folders, the shapes world, and their errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lxmert_viz import Regions
from lxmert_viz.analysis.datasets import (
    FeatureStore,
    as_dataset,
    image_folder_dataset,
    open_dataset,
    questions_dataset,
    shapes_dataset,
    vqa_dataset,
)
from lxmert_viz.analysis.example import Example, FeatureRef, SceneImage, example_from_row
from lxmert_viz.analysis.stats import vqa_accuracy
from lxmert_viz.features.npz import save_npz
from lxmert_viz.features.tsv import write_tsv

IMAGES = {262148: 3, 393225: 5}  # COCO-style image id -> real regions


def _regions(image_id: int, n: int) -> Regions:
    rng = np.random.default_rng(image_id)
    boxes = np.sort(rng.uniform(0, 100, (n, 4)).astype("f4").reshape(n, 2, 2), axis=1).reshape(n, 4)
    return Regions(boxes, rng.standard_normal((n, 32)).astype("f4"), (120, 100),
                   scores=rng.uniform(size=n).astype("f4"), num_real=n,
                   extra={"obj_ids": np.arange(n, dtype=np.int64), "obj_conf": np.ones(n, "f4"),
                          "attr_ids": np.zeros(n, np.int64), "attr_conf": np.zeros(n, "f4")})


@pytest.fixture
def vqa_files(tmp_path):
    """A tiny VQA v2 val in its own layout: questions, annotations (ten answers), a TSV and .npz."""
    regions = {f"COCO_val2014_{i:012d}": _regions(i, n) for i, n in IMAGES.items()}
    write_tsv(tmp_path / "val2014_obj36.tsv", regions)
    for key, reg in regions.items():
        save_npz(tmp_path / "npz" / f"{key}.npz", reg)
    questions = {"info": {}, "task_type": "Open-Ended", "data_subtype": "val2014", "questions": [
        {"image_id": 262148, "question": "What is he holding?", "question_id": 262148000},
        {"image_id": 393225, "question": "How many dogs are there?", "question_id": 393225001},
        {"image_id": 262148, "question": "Is it sunny?", "question_id": 262148002}]}
    answers = {262148000: ["frisbee"] * 7 + ["disc"] * 3, 393225001: ["2"] * 2 + ["two"] * 1 + ["3"] * 7,
               262148002: ["yes"] * 10}
    types = {262148000: "other", 393225001: "number", 262148002: "yes/no"}
    annotations = {"annotations": [
        {"question_id": q, "image_id": q // 1000, "answer_type": types[q], "question_type": "what",
         "multiple_choice_answer": max(set(a), key=a.count),
         "answers": [{"answer": x, "answer_confidence": "yes", "answer_id": k + 1} for k, x in enumerate(a)]}
        for q, a in answers.items()]}
    (tmp_path / "questions.json").write_text(json.dumps(questions))
    (tmp_path / "annotations.json").write_text(json.dumps(annotations))
    return tmp_path, regions


@pytest.mark.parametrize("features", ["val2014_obj36.tsv", "npz"])
def test_vqa_layout_reads_questions_answers_and_features(vqa_files, features):
    root, regions = vqa_files
    ds = vqa_dataset(root / "questions.json", root / features, root / "annotations.json")
    exs = list(ds)
    assert len(ds) == 3 and [e.id for e in exs] == ["262148000", "393225001", "262148002"]
    assert exs[0].question == "What is he holding?" and exs[0].answer == "frisbee"
    assert len(exs[1].answers) == 10 and exs[1].answers.count("3") == 7 and exs[1].answer == "3"
    assert [e.qtype for e in exs] == ["other", "number", "yes/no"]
    assert exs[0].meta["image_id"] == 262148 and exs[0].meta["question_type"] == "what"
    for e in exs:  # features are found by the number in COCO_val2014_000000262148 and read lazily
        assert isinstance(e.regions, FeatureRef)
        want = regions[f"COCO_val2014_{e.meta['image_id']:012d}"]
        got = e.regions.load()
        assert got.num_real == want.num_real and got.image_size == want.image_size
        np.testing.assert_array_equal(got.feats, want.feats)
        np.testing.assert_array_equal(got.boxes, want.boxes)
        again = example_from_row(e.row())  # what the Ray backend ships and the records keep
        assert again == e


def test_vqa_layout_without_annotations_and_missing_features(vqa_files):
    root, _ = vqa_files
    exs = list(vqa_dataset(root / "questions.json", root / "npz"))
    assert all(e.answer is None and e.answers == () for e in exs)
    (root / "npz" / "COCO_val2014_000000393225.npz").unlink()
    with pytest.raises(KeyError, match="393225"):
        vqa_dataset(root / "questions.json", root / "npz")


def test_gqa_and_lxmert_formats(vqa_files):
    root, _ = vqa_files
    gqa = {"201307251": {"imageId": "COCO_val2014_000000262148", "question": "Is the man on the left?",
                         "answer": "yes", "types": {"structural": "verify", "semantic": "rel"}}}
    (root / "gqa.json").write_text(json.dumps(gqa))
    [g] = list(vqa_dataset(root / "gqa.json", root / "val2014_obj36.tsv"))
    assert (g.id, g.answer, g.qtype, g.answers) == ("201307251", "yes", "verify", ())
    lx = [{"img_id": "COCO_val2014_000000393225", "sent": "How many dogs?", "question_id": 7,
           "label": {"3": 1.0, "2": 0.6}, "answer_type": "number"}]
    (root / "minival.json").write_text(json.dumps(lx))
    [x] = list(open_dataset(str(root / "minival.json"), features=str(root / "npz")))
    assert x.answer == "3" and x.answer_scores == {"3": 1.0, "2": 0.6} and x.qtype == "number"
    (root / "bad.json").write_text(json.dumps({"nothing": 1}))
    with pytest.raises(ValueError, match="neither VQA"):
        vqa_dataset(root / "bad.json", root / "npz")


def test_feature_store_ids_and_errors(vqa_files):
    root, _ = vqa_files
    store = FeatureStore(root / "val2014_obj36.tsv", pad_to=8)
    assert len(store) == 2 and 262148 in store and "COCO_val2014_000000262148" in store and 5 not in store
    r = store.ref(393225).load()
    assert len(r) == 8 and r.num_real == 5  # TSV rows carry no padding: padded back
    with pytest.raises(KeyError, match="no region features for image 5"):
        store.ref(5)
    with pytest.raises(FileNotFoundError, match="neither a folder"):
        FeatureStore(root / "nothing")
    ref = store.ref(262148)
    assert FeatureRef.parse(ref.source) == FeatureRef(ref.path, ref.image_id, ref.offset)


def test_questions_file_over_an_image_folder(tmp_path):
    from PIL import Image

    Image.new("RGB", (32, 24), "white").save(tmp_path / "a.png")
    Image.new("RGB", (32, 24), "black").save(tmp_path / "b.jpg")
    rows = [{"image": "a.png", "question": "what color?", "answer": "white", "qtype": "color"},
            {"image_id": "b", "question": "what color?", "answers": ["black"] * 10, "id": "q2",
             "referent": {"word": "color", "box": [0, 0, 32, 24]}}]
    (tmp_path / "questions.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    exs = list(image_folder_dataset(tmp_path))
    assert [e.id for e in exs] == ["0", "q2"] and exs[0].image.endswith("a.png") and exs[1].image.endswith("b.jpg")
    assert exs[0].qtype == "color" and exs[1].referent.word == "color" and exs[1].referent.box == (0, 0, 32, 24)
    assert list(open_dataset(str(tmp_path)))[1].answers == ("black",) * 10
    (tmp_path / "q.json").write_text(json.dumps([{"image": "missing.png", "question": "q?"}]))
    with pytest.raises(FileNotFoundError, match="missing.png"):
        list(questions_dataset(tmp_path / "q.json"))
    (tmp_path / "q.json").write_text(json.dumps([{"question": "q?"}]))
    with pytest.raises(ValueError, match="neither 'image' nor 'image_id'"):
        questions_dataset(tmp_path / "q.json")


def test_shapes_dataset_is_reiterable_and_carries_referents():
    ds = shapes_dataset(3)
    a, b = list(ds), list(ds)
    assert a == b and len(ds) == len(a) > 10
    named = [e for e in a if e.referent is not None]
    assert named and all(e.meta["target"] >= 0 for e in named)
    assert all(isinstance(e.image, SceneImage) and e.image.seed == e.meta["scene_seed"] for e in a)
    for e in named:  # the offset points at the naming word
        assert e.question[e.referent.char:].startswith(e.referent.word)
    assert len(shapes_dataset(3, named_only=True).take(2)) == 2
    assert [e.id for e in ds.take(4)] == [e.id for e in a[:4]]


def test_open_dataset_and_as_dataset_errors(tmp_path):
    assert open_dataset("shapes:2").describe()["n_scenes"] == 2
    with pytest.raises(ValueError, match="number of scenes"):
        open_dataset("shapes:many")
    with pytest.raises(FileNotFoundError, match="no data set"):
        open_dataset(str(tmp_path / "nope"))
    with pytest.raises(TypeError, match="one-shot"):
        as_dataset(e for e in [])
    with pytest.raises(ValueError, match="neither an image nor regions"):
        Example("x", "q?")
    with pytest.raises(ValueError, match="in-memory"):
        Example("x", "q?", regions=_regions(1, 2)).row()


def test_easyvqa_dataset_reads_the_installed_test_split():
    from pathlib import Path

    from lxmert_viz.analysis.datasets import easyvqa_dataset

    ds = easyvqa_dataset("test")
    first = next(iter(ds))
    assert len(ds) == 9673 and first.question == "what is the red shape?" and first.answer == "triangle"
    assert Path(first.image).is_file() and first.qtype == "shape"
    assert {e.qtype for e in ds.take(60)} == {"shape", "color", "yes/no"}
    with pytest.raises(ValueError, match="split"):
        easyvqa_dataset("dev")


def test_a_checkpoint_runs_on_precomputed_features_without_a_detector(vqa_files, tmp_path):
    """VQA layout + TSV features + a checkpoint folder: the kit loads without the Faster R-CNN
    (which would need a download) and the records carry the VQA soft accuracy."""
    import torch

    from lxmert_viz import Answers, Lxmert, LxmertConfig
    from lxmert_viz.analysis import read_records, run

    root, _ = vqa_files
    ckpt = tmp_path / "ckpt"
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "what", "is", "he", "holding", "how", "many", "dogs",
             "are", "there", "it", "sunny", "?"]
    torch.manual_seed(0)
    Lxmert(LxmertConfig.tiny(vocab_size=len(words), visual_feat_dim=32, num_qa_labels=4)).save_pretrained(ckpt)
    (ckpt / "vocab.txt").write_text("\n".join(words) + "\n")
    Answers(["frisbee", "3", "yes", "no"]).save(ckpt / "answers.json")
    ds = vqa_dataset(root / "questions.json", root / "val2014_obj36.tsv", root / "annotations.json")
    run(ds, ["answer", "correct"], tmp_path / "run", model=str(ckpt), batch_size=2, progress=False)
    t = read_records(tmp_path / "run").to_pylist()
    assert [r["id"] for r in t] == ["262148000", "393225001", "262148002"]
    assert all(r["correct_rule"] == "vqa-soft" and len(r["answers"]) == 10 for r in t)
    for r in t:
        assert r["correct"] == pytest.approx(vqa_accuracy(r["answer"], r["answers"]))
        assert r["features"].startswith("tsv:") and r["image"] is None
