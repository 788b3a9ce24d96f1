"""The shapes-world model: a short training run learns; the shipped model meets its bar."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import lxmert_viz
from lxmert_viz.assets import shapes_model_dir

ROOT = Path(__file__).resolve().parent.parent


def test_short_training_run_lowers_the_loss(tmp_path):
    from lxmert_viz.shapes.train import train

    info = train(tmp_path, n_scenes=80, steps=60, batch=32, lr=2e-3, easyvqa=False, log_every=15, vocab_scenes=100,
                 progress=False, sides=False, side_steps=0, pair_steps=0)
    losses = [h["qa_loss"] for h in info["history"]]
    assert len(losses) == 4
    assert losses[-1] < 0.85 * losses[0], losses
    for name in ("config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "answers.json"):
        assert (tmp_path / name).is_file(), name
    model = lxmert_viz.from_pretrained(tmp_path)
    assert model.output_heads == ("qa", "pretraining")
    by_type = info["history"][-1]["train_acc_by_type"]
    assert set(by_type) <= {"color", "shape", "exist", "count", "relation", "size"} and "count" in by_type
    assert all(0.0 <= a <= 1.0 for a in by_type.values())


def test_curriculum_phases_draw_their_question_types(tmp_path):
    from lxmert_viz.shapes.train import train

    info = train(tmp_path, n_scenes=60, steps=30, batch=16, easyvqa=False, log_every=10, vocab_scenes=60,
                 progress=False, side_steps=10, pair_steps=10)
    seen = [set(h["train_acc_by_type"]) for h in info["history"]]
    assert seen[0] == {"side"}
    assert seen[1] <= {"side", "relation", "size"} and "relation" in seen[1]
    assert {"color", "count", "side"} <= seen[2]
    assert (info["side_steps"], info["pair_steps"], info["sides"]) == (10, 10, True)


def test_masked_words_can_target_colour_and_shape_words():
    from lxmert_viz.shapes.train import mask_tokens, object_word_ids
    from lxmert_viz.inputs.text import Tokenizer

    tok = Tokenizer.from_pretrained(shapes_model_dir())
    _, batch = tok.batch(["is the red circle left of the blue square?", "how many triangles are there?"])
    ids, attn = batch["input_ids"], batch["attention_mask"]
    obj = object_word_ids(tok)
    assert len(obj) == 14  # 8 colours, 3 shapes, 3 plurals
    gen = torch.Generator().manual_seed(0)
    masked, labels = mask_tokens(ids, attn, tok, gen, p=0.0, object_ids=obj, object_p=1.0)
    words = [[tok._tok.id_to_token(int(i)) for i, keep in zip(row, lab) if keep >= 0] for row, lab in zip(ids, labels)]
    assert words == [["red", "circle", "blue"], ["triangles"]]  # "square" is no shape of this world
    assert (masked[labels >= 0] == tok.mask_id).all() and (masked[labels < 0] == ids[labels < 0]).all()
    same, _ = mask_tokens(ids, attn, tok, torch.Generator().manual_seed(3))
    again, _ = mask_tokens(ids, attn, tok, torch.Generator().manual_seed(3), object_ids=obj, object_p=0.15)
    assert torch.equal(same, again)  # the default rate for every word reproduces plain BERT masking


def test_shipped_assets_are_small_and_complete():
    d = shapes_model_dir()
    files = {p.name: p.stat().st_size for p in d.iterdir()}
    for name in ("config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "answers.json"):
        assert name in files, name
    assert sum(files.values()) <= 20 * 2**20


@pytest.fixture(scope="module")
def held_out():
    pytest.importorskip("easy_vqa")
    from lxmert_viz.shapes.evaluate import evaluate

    torch.set_num_threads(2)
    return evaluate(shapes_model_dir(), n_scenes=300, easyvqa=True)


def test_easyvqa_test_accuracy(held_out):
    assert held_out["easyvqa_test"]["questions"] == 9673
    assert held_out["easyvqa_test"]["accuracy"] >= 0.99


@pytest.mark.parametrize("qtype,bar", [("color", 0.97), ("shape", 0.97), ("exist", 0.97), ("count", 0.90),
                                       ("relation", 0.90),
                                       ("size", 0.90)])
def test_held_out_accuracy_per_type(held_out, qtype, bar):
    assert held_out["held_out"]["by_type"][qtype]["accuracy"] >= bar


def test_pointing_game_is_measured(held_out):
    p = held_out["pointing_game"]
    assert p["questions"] > 100
    assert 0.0 <= p["accuracy"] <= 1.0
    assert 0.1 < p["chance"] < 0.5  # 1 / real regions (the scene row and 1-6 objects)
    assert set(p["by_aggregate"]) == {"layer 0", "layer 1", "layer 2", *(f"last, head {h}" for h in range(4))}
    assert p["by_aggregate"]["layer 2"] == p["accuracy"]  # the documented rule is the last layer's mean
    assert sum(v["n"] for v in p["by_phrase"].values()) == p["questions"]


def test_pointing_game_bar(held_out):
    p = held_out["pointing_game"]
    assert p["accuracy"] >= 0.90
    assert p["accuracy"] > 2 * p["chance"]
    assert all(v["accuracy"] >= 0.90 for v in p["by_phrase"].values()), p["by_phrase"]


def test_shipped_model_loads_in_transformers_with_the_same_outputs():
    transformers = pytest.importorskip("transformers")
    d = shapes_model_dir()
    ref, info = transformers.LxmertForPreTraining.from_pretrained(d, output_loading_info=True)
    assert not any(info.values()), info  # no missing, unexpected or mismatched keys
    ours = lxmert_viz.from_pretrained(d).eval()
    ref.eval()
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, ours.config.vocab_size, (2, 9), generator=gen)
    feats, pos = torch.rand(2, 7, ours.config.visual_feat_dim, generator=gen), torch.rand(2, 7, 4, generator=gen)
    with torch.no_grad():
        a = ref(input_ids=ids, visual_feats=feats, visual_pos=pos, token_type_ids=torch.zeros_like(ids))
        b = ours(input_ids=ids, visual_feats=feats, visual_pos=pos, output_attentions=False)
    for name in ("prediction_logits", "question_answering_score"):
        assert torch.allclose(getattr(a, name), getattr(b, name), atol=1e-5), name
