"""LXMERT's pre-training json (``data/lxmert/mscoco_minival.json`` ...), written in the authors' layout
(``json.dump`` of ``[{img_id, sentf: {source: [sentences]}, labelf: {source: [{answer: score}]}}]``),
read as ``src/pretrain/lxmert_data.py`` reads it: labelled sentences as questions, answers mapped by
its ``AnswerTable`` (``all_ans.json``: ``[{"ans", "dsets"}]``), uids ``{img_id}_{source}_{i:03d}``."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lxmert_viz import Regions
from lxmert_viz import errors as E
from lxmert_viz.analysis.datasets import open_dataset, questions_dataset, vqa_dataset
from lxmert_viz.analysis.datasets.lxmert_pretrain import convert_answer, convert_label
from lxmert_viz.analysis.stats.answers import correctness
from lxmert_viz.features.tsv import write_tsv

IMG_A, IMG_B = "COCO_val2014_000000000042", "COCO_val2014_000000000073"
MINIVAL = [
    {"img_id": IMG_A,
     "labelf": {"vqa": [{"The Two.": 1.0, "three": 0.3}, {"grey": 0.9, "white": 0.3}],
                "visual7w": [{"a man.": 1.0}]},
     "sentf": {"mscoco": ["Two dogs on a grey sofa.", "A living room."],
               "vqa": ["How many dogs?", "What color is the sofa?"],
               "visual7w": ["Who is sitting?"]}},
    {"img_id": IMG_B,
     "labelf": {"gqa": [{"two": 0.3, "2": 1.0, "zebra crossing": 0.6}]},
     "sentf": {"vg": ["A street."], "gqa": ["How many cars are there?"]}},
]
ALL_ANS = [{"ans": "2", "dsets": ["vqa", "visual7w", "gqa"]}, {"ans": "3", "dsets": ["vqa"]},
           {"ans": "gray", "dsets": ["vqa", "gqa"]}, {"ans": "man", "dsets": ["visual7w"]}]


def _regions(seed: int) -> Regions:
    rng = np.random.default_rng(seed)
    boxes = np.array([[1, 2, 30, 40], [5, 5, 60, 45]], np.float32)
    return Regions(boxes, rng.standard_normal((2, 16)).astype(np.float32), (64, 48), scores=np.ones(2, np.float32),
                   extra={"obj_ids": np.arange(2), "obj_conf": np.ones(2, np.float32), "attr_ids": np.zeros(2, np.int64),
                          "attr_conf": np.zeros(2, np.float32)})


@pytest.fixture
def files(tmp_path):
    minival = tmp_path / "mscoco_minival.json"
    with open(minival, "w") as f:
        json.dump(MINIVAL, f)  # the authors' files are plain json.dump output
    with open(tmp_path / "all_ans.json", "w") as f:
        json.dump(ALL_ANS, f, indent=4)  # their all_ans.json is indented by 4
    write_tsv(tmp_path / "val2014_obj36.tsv", {IMG_A: _regions(1), IMG_B: _regions(2)})
    return tmp_path


def test_labelled_sentences_are_questions_with_the_authors_answers(files):
    before = (files / "mscoco_minival.json").read_bytes()
    ds = vqa_dataset(files / "mscoco_minival.json", files / "val2014_obj36.tsv")
    got = [(e.id, e.question, e.answer, e.answer_scores, e.meta["qtype"]) for e in ds]
    assert got == [
        (f"{IMG_A}_vqa_000", "How many dogs?", "2", {"2": 1.0, "3": 0.3}, "vqa"),
        (f"{IMG_A}_vqa_001", "What color is the sofa?", "gray", {"gray": 0.9, "white": 0.3}, "vqa"),
        (f"{IMG_A}_visual7w_000", "Who is sitting?", "man", {"man": 1.0}, "visual7w"),
        # "two" -> "2" replaces the written "2" (the authors' loop: label[new] = label.pop(ans))
        (f"{IMG_B}_gqa_000", "How many cars are there?", "zebra crossing", {"2": 0.3, "zebra crossing": 0.6}, "gqa"),
    ]
    assert len(ds) == 4 and (files / "mscoco_minival.json").read_bytes() == before
    first = next(iter(ds))
    assert first.regions.load().feats.tobytes() == _regions(1).feats.tobytes()
    # scored as LXMERTEvaluator scores: label[ans] if ans in label else 0
    assert correctness("2", first) == (1.0, "score") and correctness("two", first) == (0.0, "score")


def test_the_answer_table_drops_answers_outside_it(files):
    ds = vqa_dataset(files / "mscoco_minival.json", files / "val2014_obj36.tsv", answer_table=files / "all_ans.json")
    assert [e.answer_scores for e in ds] == [{"2": 1.0, "3": 0.3}, {"gray": 0.9}, {"man": 1.0}, {"2": 0.3}]
    ds = vqa_dataset(files / "mscoco_minival.json", files / "val2014_obj36.tsv", answer_table=files / "all_ans.json",
                     qa_sets=["VQA "])  # --qaSets vqa: lower-cased and stripped as lxmert_pretrain.py does
    assert [e.answer_scores for e in ds] == [{"2": 1.0, "3": 0.3}, {"gray": 0.9}, {}, {"2": 0.3}]
    assert [e.answer for e in ds][2] is None


def test_captions_on_request_are_unlabelled_items(files):
    ds = vqa_dataset(files / "mscoco_minival.json", files / "val2014_obj36.tsv", captions=True)
    rows = [(e.id, e.answer, e.answer_scores) for e in ds]
    assert [r[0] for r in rows] == [f"{IMG_A}_mscoco_000", f"{IMG_A}_mscoco_001", f"{IMG_A}_vqa_000", f"{IMG_A}_vqa_001",
                                    f"{IMG_A}_visual7w_000", f"{IMG_B}_vg_000", f"{IMG_B}_gqa_000"]
    assert rows[0][1:] == (None, None) and rows[5][1:] == (None, None) and rows[2][2] == {"2": 1.0, "3": 0.3}
    assert ds.describe()["captions"] is True


def test_open_dataset_routes_it_and_questions_dataset_names_the_reader(files):
    ds = open_dataset(str(files / "mscoco_minival.json"), features=str(files / "val2014_obj36.tsv"))
    assert len(ds) == 4 and ds.describe()["kind"] == "vqa"
    with pytest.raises(ValueError, match=r"question 0 is in LXMERT's pre-training format .* vqa_dataset"):
        questions_dataset(files / "mscoco_minival.json", images=files)


def test_the_authors_conversion():
    assert [convert_answer(a) for a in ["", "The Two.", "a the dog", "an apple", "Grey", "the man", "10.", "a man."]] == \
        ["", "2", "dog", "apple", "gray", "man", "10", "man"]
    label = {"two": 0.3, "2": 1.0}
    assert convert_label(label, None) == {"2": 0.3} and label == {"two": 0.3, "2": 1.0}  # a copy is mapped
    assert convert_label({"2": 1.0, "two": 0.3}, None) == {"2": 0.3}
    assert convert_label({"one": 1.0, "cat": 0.3}, frozenset({"1"})) == {"1": 1.0}


@pytest.mark.parametrize("change, message", [
    (lambda d: d[1].pop("labelf"), r"object 1 has no 'labelf'"),
    (lambda d: d[0]["labelf"]["vqa"].pop(), r"object 0 \('COCO_val2014_000000000042'\): labelf\['vqa'\] must be one .* \(2\), got 1"),
    (lambda d: d[0]["sentf"].update(vqa="How many?"), r"sentf\['vqa'\] must be a list of sentences"),
    (lambda d: d[0]["labelf"]["vqa"][0].update(two="lots"), r"labelf\['vqa'\]\[0\] holds a score that is not a number"),
])
def test_malformed_files_name_the_object_and_the_key(files, change, message):
    data = json.loads(json.dumps(MINIVAL))
    change(data)
    (files / "bad.json").write_text(json.dumps(data))
    with pytest.raises(E.InputError, match=message) as err:
        vqa_dataset(files / "bad.json", files / "val2014_obj36.tsv")
    assert str(files / "bad.json") in str(err.value)


def test_an_answer_table_that_is_not_the_authors_is_refused(files):
    (files / "table.json").write_text(json.dumps({"2": 0}))
    with pytest.raises(E.InputError, match=r"table.json: an answer table is a list"):
        vqa_dataset(files / "mscoco_minival.json", files / "val2014_obj36.tsv", answer_table=files / "table.json")
    with pytest.raises(E.MissingFileError, match="all_ans.json"):
        vqa_dataset(files / "mscoco_minival.json", files / "val2014_obj36.tsv", answer_table=files / "none.json")


def test_a_run_over_bottom_up_features_scores_as_the_authors(files, tmp_path):
    """The pre-training json over a bottom-up-attention TSV (integer ids, found by number): the
    records carry the authors' uids and LXMERTEvaluator's score of each answer."""
    import base64
    import csv

    import torch

    from lxmert_viz import Answers, Lxmert, LxmertConfig
    from lxmert_viz.analysis import read_records, run
    from lxmert_viz.features.tsv import BOTTOM_UP_FIELDNAMES

    with open(tmp_path / "trainval_36.tsv", "w", newline="") as f:  # as generate_tsv.py writes it
        writer = csv.DictWriter(f, delimiter="\t", fieldnames=BOTTOM_UP_FIELDNAMES)
        for image_id, seed in ((42, 1), (73, 2)):
            r = _regions(seed)
            writer.writerow({"image_id": image_id, "image_w": 64, "image_h": 48, "num_boxes": 2,
                             "boxes": base64.b64encode(r.boxes).decode(), "features": base64.b64encode(r.feats).decode()})
    ckpt = tmp_path / "ckpt"
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "how", "many", "dogs", "?", "what", "color", "is", "the",
             "sofa", "who", "sitting", "cars", "are", "there"]
    torch.manual_seed(0)
    Lxmert(LxmertConfig.tiny(vocab_size=len(words), visual_feat_dim=16, num_qa_labels=4)).save_pretrained(ckpt)
    (ckpt / "vocab.txt").write_text("\n".join(words) + "\n")
    Answers(["2", "gray", "man", "zebra crossing"]).save(ckpt / "answers.json")
    ds = vqa_dataset(files / "mscoco_minival.json", tmp_path / "trainval_36.tsv")
    run(ds, ["answer", "correct"], tmp_path / "run", model=str(ckpt), batch_size=3, progress=False)
    records = read_records(tmp_path / "run").to_pylist()
    assert [r["id"] for r in records] == [e.id for e in ds] and len(records) == 4
    for r, e in zip(records, ds):
        assert r["correct_rule"] == "score" and r["features"].startswith("tsv:")
        assert r["correct"] == float(np.float32(e.answer_scores.get(r["answer"], 0.0)))  # a float32 column, exactly
