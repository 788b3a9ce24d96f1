"""Loading checkpoints: layouts, heads, safety and the errors a user sees."""
from __future__ import annotations

import json
import os
import pickle
import sys

import pytest
import torch
from helpers import make_inputs, tiny_tf_kwargs
from safetensors.torch import load_file, save_file

import lxmert_viz
from lxmert_viz.model.pretrained import CheckpointError, convert_state_dict, from_pretrained

transformers = pytest.importorskip("transformers")

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.exactness]  # exactness: scripts/test.sh reruns it on other kernels


def saved(class_name, directory, **config):
    ref = getattr(transformers, class_name)(transformers.LxmertConfig(**tiny_tf_kwargs(**config))).eval()
    ref.save_pretrained(directory)
    return ref


def scores(model, inputs):
    with torch.no_grad():
        out = model(**inputs)
    return out.question_answering_score if hasattr(out, "question_answering_score") else out["question_answering_score"]


@pytest.fixture
def qa(tmp_path, seed):
    """A transformers QA checkpoint in tmp_path/qa and the reference model."""
    return saved("LxmertForQuestionAnswering", tmp_path / "qa"), tmp_path / "qa"


def test_qa_checkpoint_gives_the_same_scores(qa):
    ref, path = qa
    model = from_pretrained(path)
    x = make_inputs(batch=2, padding=True)
    torch.testing.assert_close(scores(model, x), scores(ref, x), atol=1e-5, rtol=0)
    rep = model.loading_report
    assert rep.output_heads == ("qa",) and rep.weights == [str(path / "model.safetensors")]
    assert not rep.dropped and not rep.missing and not model.training
    assert model.config.num_qa_labels == 7 and lxmert_viz.from_pretrained(str(path)).output_heads == ("qa",)


def test_dtype_and_user_files_untouched(qa):
    _, path = qa
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    model = from_pretrained(path, dtype=torch.float64)
    assert {p.dtype for p in model.parameters()} == {torch.float64}
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before


def _original_release_layout(state):
    """What the original LXMERT VQA fine-tuning saved: DataParallel, lxrt_encoder.model.bert., logit_fc."""
    out = {}
    for k, v in state.items():
        if k.startswith("lxmert."):
            k = "lxrt_encoder.model.bert." + k[len("lxmert."):]
        elif k.startswith("answer_head."):
            k = k[len("answer_head."):]
        out["module." + k] = v.clone()
    return out


def test_original_release_and_prefixed_layouts(qa, tmp_path):
    ref, path = qa
    state = load_file(str(path / "model.safetensors"))
    x = make_inputs(batch=2)
    want = scores(ref, x)
    # Original VQA .pth (torch.save of a DataParallel state dict), with config= for the bare file.
    pth = tmp_path / "orig" / "BEST.pth"
    pth.parent.mkdir()
    original = _original_release_layout(state)
    torch.save(original, pth)
    keys_before = list(original)
    model = from_pretrained(pth, config=path / "config.json")
    torch.testing.assert_close(scores(model, x), want, atol=1e-5, rtol=0)
    assert any("module." in n for n in model.loading_report.renamed)
    # convert_state_dict leaves the user's dict as it was.
    assert list(original) == keys_before
    # `bert.` prefix with `module.` in a directory beside config.json.
    d = tmp_path / "bert"
    d.mkdir()
    (d / "config.json").write_text((path / "config.json").read_text())
    save_file({"module." + k.replace("lxmert.", "bert.", 1): v for k, v in state.items()}, str(d / "model.safetensors"))
    torch.testing.assert_close(scores(from_pretrained(d), x), want, atol=1e-5, rtol=0)


def test_lxmert_model_keys_get_the_prefix(tmp_path, seed):
    ref = saved("LxmertModel", tmp_path)
    model = from_pretrained(tmp_path)
    x = make_inputs(batch=2)
    with torch.no_grad():
        torch.testing.assert_close(model(**x).pooled_output, ref(**x).pooled_output, atol=1e-5, rtol=0)
    assert model.output_heads == () and any("lxmert." in n for n in model.loading_report.renamed)
    renamed, _ = convert_state_dict({"module.embeddings.word_embeddings.weight": torch.zeros(1)})
    assert list(renamed) == ["lxmert.embeddings.word_embeddings.weight"]


def test_conversion_of_original_names():
    t = torch.zeros(1)
    renamed, notes = convert_state_dict({
        "lxrt_encoder.model.module.bert.pooler.dense.bias": t,  # only the encoder wrapped in DataParallel
        "module.logit_fc.3.weight": t,
        "bert.encoder.layer.0.output.LayerNorm.gamma": t,
        "bert.embeddings.position_ids": t,
    })
    assert sorted(renamed) == ["answer_head.logit_fc.3.weight", "lxmert.encoder.layer.0.output.LayerNorm.weight",
                               "lxmert.pooler.dense.bias"]
    assert any("position_ids" in n for n in notes)
    with pytest.raises(CheckpointError, match="'bert.pooler.dense.bias' and 'lxmert.pooler.dense.bias' both map"):
        convert_state_dict({"bert.pooler.dense.bias": t, "lxmert.pooler.dense.bias": t})


def _rewrite(path, edit):
    state = load_file(str(path / "model.safetensors"))
    edit(state)
    save_file(state, str(path / "model.safetensors"))


def test_missing_unexpected_misshaped_keys_are_named(qa):
    _, path = qa
    good = load_file(str(path / "model.safetensors"))
    _rewrite(path, lambda s: s.pop("lxmert.pooler.dense.bias"))
    with pytest.raises(CheckpointError, match=r"1 missing keys: lxmert\.pooler\.dense\.bias"):
        from_pretrained(path)
    save_file({**good, "lxmert.encoder.extra.weight": torch.zeros(2)}, str(path / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"1 unexpected keys: lxmert\.encoder\.extra\.weight"):
        from_pretrained(path)
    save_file({**good, "lxmert.pooler.dense.weight": torch.zeros(32, 31)}, str(path / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"lxmert\.pooler\.dense\.weight: checkpoint \(32, 31\) vs model \(32, 32\)"):
        from_pretrained(path)
    many = {k: v for k, v in good.items() if ".x_layers." not in k}
    save_file(many, str(path / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"missing keys: .*\(and \d+ more\)"):
        from_pretrained(path)
    # strict=False loads what fits and reports the rest.
    save_file({**good, "lxmert.encoder.extra.weight": torch.zeros(2)}, str(path / "model.safetensors"))
    with pytest.warns(UserWarning, match="strict=False"):
        model = from_pretrained(path, strict=False)
    assert model.loading_report.unexpected == ["lxmert.encoder.extra.weight"]


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_malicious_pickle_is_refused(qa, tmp_path, how):
    _, path = qa
    marker = tmp_path / "pwned"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((path / "config.json").read_text())
    payload = {"lxmert.pooler.dense.bias": _Evil(marker)}
    if how == "torch.save":
        torch.save(payload, bad / "pytorch_model.bin")
    else:
        with open(bad / "pytorch_model.bin", "wb") as f:
            pickle.dump(payload, f)
    with pytest.raises(CheckpointError, match=r"refused to load .*pytorch_model\.bin.*could run code"):
        from_pretrained(bad)
    assert not marker.exists()


def test_dropped_heads_are_reported(tmp_path, seed):
    ref = saved("LxmertForPreTraining", tmp_path)
    with pytest.warns(UserWarning, match=r"heads \['pretraining'\] not asked for: dropped"):
        model = from_pretrained(tmp_path, output_heads=("qa",))
    assert model.output_heads == ("qa",) and not hasattr(model, "cls")
    dropped = model.loading_report.dropped
    assert "cls.seq_relationship.weight" in dropped and "obj_predict_head.transform.dense.weight" in dropped
    x = make_inputs(batch=2)
    torch.testing.assert_close(scores(model, x), scores(ref, x), atol=1e-5, rtol=0)
    with pytest.warns(UserWarning, match="dropped"):
        assert from_pretrained(tmp_path, output_heads=()).output_heads == ()


def test_asking_for_a_missing_head_names_it(qa):
    _, path = qa
    with pytest.raises(CheckpointError, match=r"no \['pretraining'\] head \(cls\.\* / obj_predict_head\.\*"):
        from_pretrained(path, output_heads=("pretraining",))
    with pytest.raises(ValueError, match="unknown output heads"):
        from_pretrained(path, output_heads=("vqa",))


def test_answer_count_must_match_config(qa):
    _, path = qa
    cfg = json.loads((path / "config.json").read_text())
    cfg["num_qa_labels"] = 9
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=r"answer head has 7 answers .*num_qa_labels=9"):
        from_pretrained(path)


def test_tied_decoder_saved_or_not(tmp_path, seed):
    ref = saved("LxmertForPreTraining", tmp_path)
    assert "cls.predictions.decoder.weight" not in load_file(str(tmp_path / "model.safetensors"))
    model = from_pretrained(tmp_path)
    assert model.cls.predictions.decoder.weight is model.lxmert.embeddings.word_embeddings.weight
    # Saved once more, equal: quiet. Saved different: reported.
    state = dict(ref.state_dict())
    _rewrite(tmp_path, lambda s: s.update({"cls.predictions.decoder.weight": state["cls.predictions.decoder.weight"].clone()}))
    assert not from_pretrained(tmp_path).loading_report.notes
    _rewrite(tmp_path, lambda s: s.update({"cls.predictions.decoder.weight": torch.zeros(99, 32)}))
    with pytest.warns(UserWarning, match="differs from lxmert.embeddings.word_embeddings.weight"):
        assert from_pretrained(tmp_path).loading_report.notes


def test_sharded_checkpoint(qa):
    ref, path = qa
    state = load_file(str(path / "model.safetensors"))
    keys = sorted(state)
    shards = {"model-00001-of-00002.safetensors": keys[: len(keys) // 2],
              "model-00002-of-00002.safetensors": keys[len(keys) // 2:]}
    for name, ks in shards.items():
        save_file({k: state[k] for k in ks}, str(path / name))
    (path / "model.safetensors").unlink()
    (path / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {k: n for n, ks in shards.items() for k in ks}}))
    x = make_inputs(batch=2)
    model = from_pretrained(path)
    assert len(model.loading_report.weights) == 2
    torch.testing.assert_close(scores(model, x), scores(ref, x), atol=1e-5, rtol=0)


def test_hub_id_offline_is_a_plain_error(monkeypatch):
    import huggingface_hub

    def no_network(*a, **k):
        raise AssertionError("the network was attempted")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_network)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OSError, match=r"'unc-nlp/lxmert-vqa-uncased' is not a local directory and the Hugging Face Hub is offline"):
        from_pretrained("unc-nlp/lxmert-vqa-uncased")
    # Without huggingface_hub installed.
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(OSError, match=r"needs the huggingface_hub package"):
        from_pretrained("unc-nlp/lxmert-vqa-uncased")


def test_hub_failure_is_a_plain_error(monkeypatch):
    import huggingface_hub

    def fails(*a, **k):
        raise ConnectionError("no route to host")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fails)
    with pytest.raises(OSError, match=r"could not fetch 'unc-nlp/lxmert-gqa-uncased' .*no route to host"):
        from_pretrained("unc-nlp/lxmert-gqa-uncased")


def test_bad_paths_name_the_file(qa, tmp_path):
    _, path = qa
    with pytest.raises(FileNotFoundError, match=r"no checkpoint directory at \./no/such/dir"):
        from_pretrained("./no/such/dir")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(NotADirectoryError, match="notes.txt is neither a checkpoint directory"):
        from_pretrained(text)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"no weights in .*empty: looked for model\.safetensors"):
        from_pretrained(empty)
    (empty / "model.safetensors").write_bytes((path / "model.safetensors").read_bytes())
    with pytest.raises(FileNotFoundError, match=r"no config\.json in .*empty"):
        from_pretrained(empty)
    (empty / "config.json").write_text('{"hidden_size": 32,')
    with pytest.raises(ValueError, match=r"empty/config\.json is not valid JSON"):
        from_pretrained(empty)
    (empty / "config.json").write_text((path / "config.json").read_text())
    (empty / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match=r"empty/model\.safetensors is not a readable safetensors file"):
        from_pretrained(empty)
