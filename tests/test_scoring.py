"""Answer scores: softmax probabilities or per-answer sigmoid scores, as the checkpoint's answer head
was trained; named accordingly (`Result.score_label`); documented defaults per known checkpoint."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from lxmert_viz import Answers, Lxmert, LxmertConfig
from lxmert_viz import errors as E
from lxmert_viz.assets import sample_paths, shapes_model_dir
from lxmert_viz.kit import Kit
from lxmert_viz.model.config import HIDDEN_ACTS, KNOWN_ANSWER_SCORING, default_answer_scoring
from lxmert_viz.model.pretrained import from_pretrained

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.exactness]  # exactness: scripts/test.sh reruns it on other kernels
NAMES = ["yes", "no", "red", "2"]


def test_sigmoid_scores_against_a_hand_computation():
    logits = torch.tensor([0.5, -1.0, 2.0, 1.5])
    got = Answers(NAMES, scoring="sigmoid").top_k(logits, k=4)
    want = sorted(((n, 1 / (1 + math.exp(-x))) for n, x in zip(NAMES, logits.tolist())), key=lambda t: -t[1])
    assert [n for n, _ in got] == [n for n, _ in want]
    assert np.allclose([s for _, s in got], [s for _, s in want], rtol=0, atol=1e-7)
    soft = Answers(NAMES).top_k(logits, k=4)
    assert [n for n, _ in soft] == [n for n, _ in got], "both scorings rank the answers alike"
    assert abs(sum(s for _, s in soft) - 1) < 1e-6 and sum(s for _, s in got) > 1.5
    assert Answers(NAMES).score_label == "probability" and Answers(NAMES, "sigmoid").score_label == "score"
    with pytest.raises(E.InputError, match="'softmax', 'sigmoid'"):
        Answers(NAMES, scoring="probability")


@pytest.mark.parametrize("source, heads, want", [
    ("unc-nlp/lxmert-vqa-uncased", ("qa",), "sigmoid"),
    ("unc-nlp/lxmert-gqa-uncased", ("qa",), "sigmoid"),
    ("unc-nlp/lxmert-base-uncased", ("qa", "pretraining"), "softmax"),
    ("/home/u/.cache/huggingface/hub/models--unc-nlp--lxmert-vqa-uncased/snapshots/0a1b", ("qa",), "sigmoid"),
    ("/data/checkpoints/lxmert-gqa-uncased", ("qa",), "sigmoid"),
    (str(shapes_model_dir()), ("qa", "pretraining"), "softmax"),
    ("/data/my-finetuned", ("qa",), "sigmoid"),
    ("/data/my-pretrained", ("qa", "pretraining"), "softmax"),
])
def test_default_scoring_per_checkpoint(source, heads, want):
    assert default_answer_scoring(source, heads)[0] == want
    assert set(KNOWN_ANSWER_SCORING.values()) <= {"softmax", "sigmoid"}


def test_the_original_release_files_are_sigmoid():
    assert default_answer_scoring("/x/BEST.pth", ("qa",), original_release=True)[0] == "sigmoid"


def test_embedded_model_gives_probabilities(tmp_path):
    import lxmert_viz

    kit = lxmert_viz.load()
    assert kit.model.config.answer_scoring == "softmax" and kit.scoring == "softmax"
    r = kit.ask(sample_paths()[0], "what color is the circle?", top_k=100)
    assert r.scoring == "softmax" and r.score_label == "probability"
    assert abs(sum(s for _, s in r.answers) - 1) < 1e-4
    assert kit.model.loading_report.answer_scoring.startswith("softmax: the embedded shapes model")


def _qa_checkpoint(tmp_path, **config):
    torch.manual_seed(0)
    d = tmp_path / "ckpt"
    Lxmert(LxmertConfig.tiny(**config), output_heads=("qa",)).save_pretrained(d)
    return d


def test_fine_tuned_checkpoint_defaults_to_sigmoid_and_its_config_can_say(tmp_path):
    model = from_pretrained(_qa_checkpoint(tmp_path))
    assert model.config.answer_scoring == "sigmoid"
    assert "binary cross entropy" in model.loading_report.answer_scoring
    stated = from_pretrained(_qa_checkpoint(tmp_path / "b", answer_scoring="softmax"))
    assert stated.config.answer_scoring == "softmax"
    saved = json.loads((tmp_path / "b" / "ckpt" / "config.json").read_text())
    assert saved["answer_scoring"] == "softmax"
    assert "answer_scoring" not in LxmertConfig.tiny().to_dict(), "not stated: not written"


def test_kit_names_sigmoid_scores_and_leaves_the_callers_answers_alone(tmp_path):
    from lxmert_viz.inputs.text import Tokenizer
    from lxmert_viz.shapes.visual_input import shapes_regions

    model = from_pretrained(_qa_checkpoint(tmp_path))
    tok = Tokenizer.from_pretrained(shapes_model_dir())
    cfg = model.config
    answers = Answers([f"a{i}" for i in range(cfg.num_qa_labels)])
    assert tok.vocab_size <= cfg.vocab_size

    def regions(img):
        r = shapes_regions(img)
        from lxmert_viz import Regions

        return Regions(r.boxes, np.zeros((len(r), cfg.visual_feat_dim), np.float32), r.image_size, num_real=r.num_real)

    kit = Kit(model, tok, answers, regions)
    r = kit.ask(sample_paths()[0], "what color is the circle?", top_k=3)
    assert r.scoring == "sigmoid" and r.score_label == "score"
    logits = r.logits
    assert np.allclose([s for _, s in r.answers], torch.sigmoid(logits).sort(descending=True).values[:3].tolist(),
                       atol=1e-6)
    assert answers.scoring == "softmax", "the caller's Answers object is not changed"
    forced = Kit(model, tok, answers, regions, scoring="softmax")
    assert forced.ask(sample_paths()[0], "what color is the circle?").score_label == "probability"


def test_config_activations_are_the_models():
    from lxmert_viz.model.activations import ACTIVATIONS

    assert set(HIDDEN_ACTS) == set(ACTIVATIONS)
