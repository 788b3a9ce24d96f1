"""LxmertConfig reads `transformers`/hub config.json files and writes them back unchanged."""
from __future__ import annotations

import json

import pytest

from lxmert_viz import LxmertConfig

pytestmark = pytest.mark.usefixtures("one_thread")

# The shape of unc-nlp/lxmert-vqa-uncased's config.json (as published; values shortened).
HUB_STYLE = {
    "architectures": ["LxmertForQuestionAnswering"],
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512,
    "model_type": "lxmert",
    "num_attention_heads": 12,
    "num_attr_labels": 400,
    "num_hidden_layers": {"cross_encoder": 5, "language": 9, "vision": 5},
    "num_object_labels": 1600,
    "num_qa_labels": 3129,
    "pad_token_id": 0,
    "type_vocab_size": 2,
    "visual_feat_dim": 2048,
    "visual_pos_dim": 4,
    "vocab_size": 30522,
}


def test_hub_style_config_reads_and_round_trips(tmp_path):
    cfg = LxmertConfig.from_dict(HUB_STYLE)
    assert (cfg.l_layers, cfg.x_layers, cfg.r_layers) == (9, 5, 5)
    assert cfg.num_qa_labels == 3129 and cfg.pad_token_id == 0
    assert cfg.extra["layer_norm_eps"] == 1e-12 and cfg.extra["architectures"] == ["LxmertForQuestionAnswering"]
    out = cfg.to_dict()
    for key, value in HUB_STYLE.items():
        assert out[key] == value, key
    cfg.to_json_file(tmp_path / "config.json")
    back = LxmertConfig.from_json_file(tmp_path / "config.json")
    assert back == cfg and back.extra == cfg.extra


def test_layer_counts_from_dict_or_fields():
    # Explicit fields win over num_hidden_layers, as in transformers (which writes both the same).
    cfg = LxmertConfig.from_dict({**HUB_STYLE, "l_layers": 2, "num_hidden_layers": {"language": 9}})
    assert cfg.l_layers == 2 and cfg.x_layers == 5
    assert cfg.to_dict()["num_hidden_layers"] == {"vision": 5, "cross_encoder": 5, "language": 2}


def test_transformers_config_round_trips(tmp_path):
    transformers = pytest.importorskip("transformers")
    theirs = transformers.LxmertConfig(l_layers=3, x_layers=2, r_layers=1, num_qa_labels=11,
                                       id2label={i: f"a{i}" for i in range(11)})
    theirs.save_pretrained(tmp_path)
    cfg = LxmertConfig.from_json_file(tmp_path / "config.json")
    assert (cfg.l_layers, cfg.x_layers, cfg.r_layers, cfg.num_qa_labels) == (3, 2, 1, 11)
    assert cfg.id2label[10] == "a10"
    ours = cfg.to_dict()
    saved = json.loads((tmp_path / "config.json").read_text())
    assert ours == saved
    back = transformers.LxmertConfig.from_dict(ours)
    assert back.l_layers == 3 and back.num_hidden_layers == theirs.num_hidden_layers


def test_tiny_preset_and_bad_values(tmp_path):
    tiny = LxmertConfig.tiny(num_qa_labels=3)
    assert tiny.hidden_size == 32 and tiny.head_dim == 8 and tiny.num_qa_labels == 3
    with pytest.raises(ValueError, match="hidden_size=30 is not a multiple of num_attention_heads=4"):
        LxmertConfig.tiny(hidden_size=30)
    with pytest.raises(ValueError, match=r"x_layers must be an integer in 0\.\.256, got -1"):
        LxmertConfig.tiny(x_layers=-1)
    with pytest.raises(TypeError, match="config must be a JSON object, got list"):
        LxmertConfig.from_dict([1, 2])
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        LxmertConfig.from_json_file(bad)
    with pytest.raises(FileNotFoundError, match="no config file at"):
        LxmertConfig.from_json_file(tmp_path / "missing.json")
