"""TensorFlow checkpoints (``tf_model.h5``) load with h5py alone and give TensorFlow's outputs.

The fixtures under tests/fixtures/tf were written by scripts/make_tf_fixtures.sh in a side venv
(transformers 4.49, tensorflow 2.21, tf-keras; see versions.json there): tiny random
`TFLxmertModel` and `TFLxmertForPreTraining` checkpoints exactly as ``save_pretrained`` writes
them (``tf_model.h5``; the pre-training weights also as TF's ``model.safetensors``), and every
output TF returned on two fixed input sets. This test runs without TensorFlow.

Tolerance: 1e-5 absolute (rtol 0), as for `transformers`' PyTorch classes (test_parity.py). Both
sides compute in float32 with the same operations; what differs is summation order inside matmuls
and the erf/softmax kernels, a few float32 ulps per op on values of order 1-10 (the largest
difference measured over every output is about 3e-6).
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import lxmert_viz
from lxmert_viz.errors import CheckpointError
from lxmert_viz.model.checkpoint import find_weights
from lxmert_viz.model.tf_checkpoint import pt_name, read_tf_weights, tf_name_guess

pytestmark = pytest.mark.usefixtures("one_thread")

FIXTURES = Path(__file__).parent / "fixtures" / "tf"
CLASSES = ("TFLxmertModel", "TFLxmertForPreTraining")
HEADS = {"TFLxmertModel": (), "TFLxmertForPreTraining": ("qa", "pretraining")}
INPUT_SETS = ("padded", "ragged")
ATOL = 1e-5
QUERY = "lxmert/encoder/layer_._0/attention/self/query/kernel:0"  # without the model's scope
QUERY_KEY = "lxmert.encoder.layer.0.attention.self.query.weight"


def inputs(name: str) -> dict[str, torch.Tensor]:
    arrays = np.load(FIXTURES / f"inputs_{name}.npz")
    return {k: torch.from_numpy(v.astype(np.int64) if v.dtype.kind == "i" else v) for k, v in arrays.items()}


def ours_by_tf_name(model, out) -> dict[str, torch.Tensor]:
    """Our outputs under the fixture's keys: transformers' names, ``name.i`` for tuples."""
    flat = {}
    for key, value in out.as_transformers().items():
        if isinstance(value, tuple):
            flat.update({f"{key}.{i}": v for i, v in enumerate(value)})
        else:
            flat[key] = value
    if out.obj_predictions is not None:
        flat.update({f"obj_predictions.{k}": v for k, v in out.obj_predictions.items()})
    return flat


@pytest.mark.parametrize("input_set", INPUT_SETS)
@pytest.mark.parametrize("class_name", CLASSES)
def test_every_tensorflow_output_matches(class_name, input_set):
    model = lxmert_viz.from_pretrained(FIXTURES / class_name)
    assert model.output_heads == HEADS[class_name]
    with torch.no_grad():
        ours = ours_by_tf_name(model, model(**inputs(input_set)))
    theirs = np.load(FIXTURES / class_name / f"outputs_{input_set}.npz")
    assert sorted(ours) == sorted(theirs.files)  # every output TF returns, and no other
    for key in theirs.files:
        torch.testing.assert_close(ours[key], torch.from_numpy(theirs[key]), atol=ATOL, rtol=0,
                                   msg=lambda m, key=key: f"{class_name} {input_set} {key}: {m}")
    assert "tensorflow" not in sys.modules


@pytest.mark.parametrize("input_set", INPUT_SETS)
def test_tf_safetensors_gives_the_same_outputs(input_set):
    """save_pretrained(..., safe_serialization=True) of the same TF model: model.safetensors, format 'tf'."""
    folder = FIXTURES / "TFLxmertForPreTraining-safetensors"
    model = lxmert_viz.from_pretrained(folder)
    assert model.loading_report.weights == [str(folder / "model.safetensors")]
    assert "format 'tf'" in model.loading_report.renamed[0]
    with torch.no_grad():
        ours = ours_by_tf_name(model, model(**inputs(input_set)))
    theirs = np.load(FIXTURES / "TFLxmertForPreTraining" / f"outputs_{input_set}.npz")
    assert sorted(ours) == sorted(theirs.files)
    for key in theirs.files:
        torch.testing.assert_close(ours[key], torch.from_numpy(theirs[key]), atol=ATOL, rtol=0,
                                   msg=lambda m, key=key: f"safetensors {input_set} {key}: {m}")


def test_tf_safetensors_missing_tensor_is_named(tmp_path):
    from safetensors.numpy import load_file, save_file

    folder = shutil.copytree(FIXTURES / "TFLxmertForPreTraining-safetensors", tmp_path / "ckpt")
    arrays = load_file(str(folder / "model.safetensors"))
    del arrays[QUERY]
    save_file(arrays, str(folder / "model.safetensors"), metadata={"format": "tf"})
    with pytest.raises(CheckpointError, match=f"1 missing keys: {QUERY_KEY} \\(TF name .../{QUERY}\\)"):
        lxmert_viz.from_pretrained(folder)


def test_answer_head_alone_from_the_pretraining_file():
    with pytest.warns(UserWarning, match=r"output heads \['pretraining'\] not asked for"):
        model = lxmert_viz.from_pretrained(FIXTURES / "TFLxmertForPreTraining", output_heads="qa")
    assert model.output_heads == ("qa",) and any(k.startswith("cls.") for k in model.loading_report.dropped)
    with torch.no_grad():
        got = model(**inputs("padded")).question_answering_score
    want = np.load(FIXTURES / "TFLxmertForPreTraining" / "outputs_padded.npz")["question_answering_score"]
    torch.testing.assert_close(got, torch.from_numpy(want), atol=ATOL, rtol=0)


def test_without_h5py_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now raises ImportError
    with pytest.raises(ImportError, match=r"lxmert_viz\[tf\]"):
        lxmert_viz.from_pretrained(FIXTURES / "TFLxmertModel")


def test_pretraining_file_repeats_embeddings_and_ties_the_decoder():
    with h5py.File(FIXTURES / "TFLxmertForPreTraining" / "tf_model.h5", "r") as f:
        cls_names = [n.decode() if isinstance(n, bytes) else n for n in f["cls"].attrs["weight_names"]]
    assert sum("/lxmert/embeddings/" in n for n in cls_names) == 5  # the writer repeats them in 'cls'
    model = lxmert_viz.from_pretrained(FIXTURES / "TFLxmertForPreTraining")
    assert model.cls.predictions.decoder.weight is model.lxmert.embeddings.word_embeddings.weight
    assert any("5 in the 'cls' group" in note for note in model.loading_report.renamed)
    source = model.loading_report.sources[QUERY_KEY]
    assert QUERY in source and "transposed" in source


def test_reader_maps_every_stored_weight():
    tf = read_tf_weights(FIXTURES / "TFLxmertModel" / "tf_model.h5")
    with h5py.File(FIXTURES / "TFLxmertModel" / "tf_model.h5", "r") as f:
        stored = f["lxmert/tf_lxmert_model/" + QUERY][()]
    np.testing.assert_array_equal(tf.state[QUERY_KEY].numpy(), stored.T)
    assert len(tf.state) == 147 and set(tf.sources) == set(tf.state)


@pytest.mark.parametrize("tf_name, key, transposed", [
    ("m/lxmert/embeddings/word_embeddings/weight:0", "lxmert.embeddings.word_embeddings.weight", False),
    ("m/lxmert/embeddings/token_type_embeddings/embeddings:0", "lxmert.embeddings.token_type_embeddings.weight",
     False),
    ("m/lxmert/encoder/r_layers_._3/output/LayerNorm/beta:0", "lxmert.encoder.r_layers.3.output.LayerNorm.bias",
     False),
    ("m/lxmert/encoder/visn_fc/visn_layer_norm/gamma:0", "lxmert.encoder.visn_fc.visn_layer_norm.weight", False),
    ("m/obj_predict_head/decoder_dict.obj/kernel:0", "obj_predict_head.decoder_dict.obj.weight", True),
    ("m/a/dup___b/kernel:0", "a.b.weight", True),  # '$1___$2' -> $2
    ("m/a//b/bias:0", "a.b.bias", False),  # empty levels go
    ("bias:0", "bias", False),  # one level: nothing to strip
])
def test_name_rules(tf_name, key, transposed):
    assert pt_name(tf_name) == (key, transposed)


@pytest.mark.parametrize("class_name", CLASSES)
def test_name_guess_inverts_the_rules(class_name):
    model = lxmert_viz.from_pretrained(FIXTURES / class_name)
    for key, source in model.loading_report.sources.items():
        if key == "cls.predictions.decoder.weight":
            continue
        tf_name = source.split(": ", 1)[1].split(" ")[0]
        owner = model.get_submodule(key.rpartition(".")[0])
        assert tf_name.split("/", 1)[1] == tf_name_guess(key, owner)


# -- the lookup order --------------------------------------------------------------------------
def test_pytorch_files_come_before_tf_model_h5(tmp_path):
    folder = shutil.copytree(FIXTURES / "TFLxmertModel", tmp_path / "ckpt")
    assert find_weights(folder) == [folder / "tf_model.h5"]
    model = lxmert_viz.from_pretrained(folder)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    assert find_weights(folder) == [folder / "pytorch_model.bin"]
    model.save_pretrained(folder)  # model.safetensors (and config.json again)
    assert find_weights(folder) == [folder / "model.safetensors"]
    direct = lxmert_viz.from_pretrained(folder / "tf_model.h5")  # a weights file: config.json beside it
    assert direct.loading_report.weights == [str(folder / "tf_model.h5")]


def test_hub_repo_with_only_tf_weights(tmp_path, monkeypatch):
    """A hub repository holding config.json + tf_model.h5: asked for safetensors, then .bin, then it."""
    import fnmatch

    huggingface_hub = pytest.importorskip("huggingface_hub")
    asked = []

    def fake_download(repo_id, revision=None, cache_dir=None, allow_patterns=()):
        asked.append([p for p in allow_patterns if p not in ("*.json", "*.txt")])
        snapshot = tmp_path / "snapshot"
        snapshot.mkdir(exist_ok=True)
        for f in (FIXTURES / "TFLxmertModel").iterdir():
            if any(fnmatch.fnmatch(f.name, p) for p in allow_patterns):
                shutil.copy(f, snapshot / f.name)
        return str(snapshot)

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_download)
    model = lxmert_viz.from_pretrained("someone/tiny-tf-lxmert")
    assert asked == [["*.safetensors"], ["*.bin"], ["tf_model.h5"]]
    assert model.loading_report.weights == [str(tmp_path / "snapshot" / "tf_model.h5")]


def test_sharded_tf_checkpoint_is_refused_by_name(tmp_path):
    shutil.copy(FIXTURES / "TFLxmertModel" / "config.json", tmp_path)
    (tmp_path / "tf_model.h5.index.json").write_text(json.dumps({"weight_map": {}}))
    with pytest.raises(CheckpointError, match="sharded TensorFlow checkpoint"):
        lxmert_viz.from_pretrained(tmp_path)


# -- strictness: edited copies of the fixture --------------------------------------------------
def edited(tmp_path, class_name="TFLxmertModel") -> tuple[Path, Path]:
    folder = shutil.copytree(FIXTURES / class_name, tmp_path / class_name)
    return folder, folder / "tf_model.h5"


def names_of(group) -> list[str]:
    return [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["weight_names"]]


def set_names(group, names: list[str]) -> None:
    group.attrs["weight_names"] = np.array(names, dtype=h5py.string_dtype())


def test_missing_weight_is_named(tmp_path):
    folder, h5 = edited(tmp_path)
    with h5py.File(h5, "r+") as f:
        del f["lxmert/tf_lxmert_model/" + QUERY]
        set_names(f["lxmert"], [n for n in names_of(f["lxmert"]) if not n.endswith(QUERY)])
    with pytest.raises(CheckpointError, match=r"1 missing keys: " + QUERY_KEY) as err:
        lxmert_viz.from_pretrained(folder)
    assert QUERY in str(err.value)  # the TF name it would have had
    with pytest.warns(UserWarning, match="strict=False"):
        loose = lxmert_viz.from_pretrained(folder, strict=False)
    assert loose.loading_report.missing == [QUERY_KEY]


def test_extra_weight_is_named(tmp_path):
    folder, h5 = edited(tmp_path)
    extra = "tf_lxmert_model/lxmert/encoder/layer_._0/attention/self/extra/kernel:0"
    with h5py.File(h5, "r+") as f:
        f["lxmert"].create_dataset(extra, data=np.zeros((16, 16), np.float32))
        set_names(f["lxmert"], names_of(f["lxmert"]) + [extra])
    with pytest.raises(CheckpointError, match="1 unexpected keys") as err:
        lxmert_viz.from_pretrained(folder)
    assert "lxmert.encoder.layer.0.attention.self.extra.weight" in str(err.value) and extra in str(err.value)


def test_wrong_shape_is_named_with_both_shapes(tmp_path):
    folder, h5 = edited(tmp_path)
    with h5py.File(h5, "r+") as f:
        path = "lxmert/tf_lxmert_model/" + QUERY
        del f[path]
        f.create_dataset(path, data=np.zeros((16, 8), np.float32))
    with pytest.raises(CheckpointError, match="1 mis-shaped keys") as err:
        lxmert_viz.from_pretrained(folder)
    message = str(err.value)
    assert f"{QUERY_KEY} (from the 'lxmert' group: tf_lxmert_model/{QUERY} (16, 8), transposed)" in message
    assert "checkpoint (8, 16) vs model (16, 16)" in message


def test_stored_but_unlisted_weight_is_an_error(tmp_path):
    folder, h5 = edited(tmp_path)
    with h5py.File(h5, "r+") as f:
        f["lxmert"].create_dataset("tf_lxmert_model/lxmert/stray/bias:0", data=np.zeros(3, np.float32))
    with pytest.raises(CheckpointError, match="no layer lists.*lxmert/tf_lxmert_model/lxmert/stray/bias:0"):
        lxmert_viz.from_pretrained(folder)


def test_listed_but_unstored_weight_is_an_error(tmp_path):
    folder, h5 = edited(tmp_path)
    with h5py.File(h5, "r+") as f:
        del f["lxmert/tf_lxmert_model/" + QUERY]
    with pytest.raises(CheckpointError, match=f"{QUERY} is listed in 'weight_names' but not stored"):
        lxmert_viz.from_pretrained(folder)


def test_differing_repeated_embeddings_are_an_error(tmp_path):
    folder, h5 = edited(tmp_path, "TFLxmertForPreTraining")
    name = "tf_lxmert_for_pre_training/lxmert/embeddings/word_embeddings/weight:0"
    with h5py.File(h5, "r+") as f:
        f["cls"][name][0, 0] += 1.0
    with pytest.raises(CheckpointError, match="repeats the 'lxmert' group: .*word_embeddings.*different values"):
        lxmert_viz.from_pretrained(folder)


def test_not_hdf5_is_an_error(tmp_path):
    folder, h5 = edited(tmp_path)
    h5.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n")
    with pytest.raises(CheckpointError, match="not a readable HDF5 file"):
        lxmert_viz.from_pretrained(folder)


def test_layer_without_group_is_an_error(tmp_path):
    folder, h5 = edited(tmp_path)
    with h5py.File(h5, "r+") as f:
        f.attrs["layer_names"] = np.array([b"lxmert", b"answer_head"])
    with pytest.raises(CheckpointError, match="'answer_head' in 'layer_names' but has no such group"):
        lxmert_viz.from_pretrained(folder)


# -- how the names are stored: bytes or str, whole or in chunks --------------------------------
def rewrite_names(h5: Path, kind: str, chunks: int) -> None:
    """Rewrite 'layer_names' and every 'weight_names' as ``kind`` ('bytes': fixed-length, as Keras
    2.x wrote them; 'str': variable-length UTF-8), split into ``chunks`` attributes NAME0, NAME1, ...
    when ``chunks`` > 1 (as Keras does past its 64 KB header limit)."""
    def write(obj, attr, names):
        values = (np.array([n.encode() for n in names]) if kind == "bytes"
                  else np.array(names, dtype=h5py.string_dtype()))
        del obj.attrs[attr]
        if chunks == 1:
            obj.attrs[attr] = values
        else:
            for i, part in enumerate(np.array_split(values, chunks)):
                obj.attrs[f"{attr}{i}"] = part

    with h5py.File(h5, "r+") as f:
        layers = [n.decode() if isinstance(n, bytes) else n for n in f.attrs["layer_names"]]
        write(f, "layer_names", layers)
        for layer in layers:
            write(f[layer], "weight_names", names_of(f[layer]))


@pytest.mark.parametrize("chunks", [1, 3])
@pytest.mark.parametrize("kind", ["bytes", "str"])
def test_names_as_bytes_or_str_whole_or_chunked(tmp_path, kind, chunks):
    folder, h5 = edited(tmp_path, "TFLxmertForPreTraining")
    rewrite_names(h5, kind, chunks)
    with h5py.File(h5, "r") as f:
        stored = f["lxmert"].attrs["weight_names0" if chunks > 1 else "weight_names"]
        assert isinstance(stored[0], bytes if kind == "bytes" else str)
        assert ("layer_names" in f.attrs) == (chunks == 1)
    want = read_tf_weights(FIXTURES / "TFLxmertForPreTraining" / "tf_model.h5").state
    got = read_tf_weights(h5).state
    assert sorted(got) == sorted(want)
    assert all(torch.equal(got[k], want[k]) for k in want)
    assert lxmert_viz.from_pretrained(folder).output_heads == ("qa", "pretraining")


def test_whole_and_chunked_names_together_are_an_error(tmp_path):
    folder, h5 = edited(tmp_path)
    with h5py.File(h5, "r+") as f:
        f["lxmert"].attrs["weight_names0"] = np.array([b"x"])
    with pytest.raises(CheckpointError, match="both the attribute 'weight_names' and its chunks"):
        lxmert_viz.from_pretrained(folder)
