"""TensorFlow LXMERT weights (``tf_model.h5``; TF's ``model.safetensors``) read without TensorFlow.

The writer: ``save_pretrained`` of transformers 4.x's ``TFLxmertModel`` and ``TFLxmertForPreTraining``
(transformers 4.x has no TF question-answering class; transformers 5 has no TensorFlow at all). It
calls Keras' ``save_weights``, whose HDF5 layout is:

- the file's attribute ``layer_names``: the model's top layers (``lxmert``, and for pre-training
  ``cls``, ``obj_predict_head``, ``answer_head``); Keras 2.13+ also writes an empty
  ``top_level_model_weights`` group, not listed there;
- one group per layer, whose attribute ``weight_names`` lists the layer's variables by their full
  TF names (``tf_lxmert_model/lxmert/encoder/layer_._0/attention/self/query/kernel:0``), each a
  dataset at that path inside the group;
- an attribute too large for an HDF5 object header is split into chunks ``NAME0``, ``NAME1``, ...
  (Keras' ``save_attributes_to_hdf5_group``); names are stored as bytes or as str, depending on
  the Keras and h5py versions.

A layer group lists every variable the layer tracks, so the pre-training file's ``cls`` group
repeats the five embedding weights of ``lxmert`` (its masked-word decoder is the word-embedding
matrix, a sublayer of both): the copies must be equal and are read once. The decoder itself is not
stored (TF always uses the word embeddings), so ``cls.predictions.decoder.weight`` is set to them.

Names follow transformers' ``convert_tf_weight_name_to_pt_weight_name``: the ``:0`` suffix goes, a
level ``A___B`` becomes ``B``, ``_._`` separates levels (``layer_._0`` -> ``layer.0``), empty levels
go, the first level (the model's own scope, e.g. ``tf_lxmert_for_pre_training``) goes, and the last
one is renamed: ``kernel`` -> ``weight`` (transposed: Keras' Dense kernel is (in, out), torch's
Linear weight (out, in)), ``embeddings`` and ``gamma`` -> ``weight``, ``beta`` -> ``bias``.

With ``safe_serialization=True`` the same classes write ``model.safetensors`` instead, marked
``{"format": "tf"}``: one tensor per variable (no repeats), named without the model's scope
(`read_tf_safetensors`).

Strict: every dataset in the file must be listed by a layer and map to a name; any that does not,
a repeated name whose values differ, a kernel that is not 2-D, is an error naming the TF weight.
Whether each name and shape fits the model is checked by `lxmert_viz.model.pretrained`, whose
errors name the TF weight beside the parameter (`TfWeights.sources`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

from ..errors import CheckpointError, MissingFileError
from .checkpoint import listing

WORD_EMB_KEY = "lxmert.embeddings.word_embeddings.weight"
DECODER_KEY = "cls.predictions.decoder.weight"
# Keras 2.13+ writes this group for weights the model holds outside its layers; LXMERT has none.
TOP_LEVEL_GROUP = "top_level_model_weights"
_LEAF_NAMES = {"kernel": "weight", "embeddings": "weight", "gamma": "weight", "beta": "bias"}


@dataclass
class TfWeights:
    """A TF checkpoint as a PyTorch-named state dict.

    Attributes:
        state: parameter name -> tensor (kernels transposed), in this model's (transformers') names.
        sources: parameter name -> the TF weight it came from, as ``'layer' group: TF name (shape)``.
        notes: what was done beyond renaming (repeated weights read once, the tied decoder).
    """

    state: dict[str, torch.Tensor]
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def pt_name(tf_name: str, scoped: bool = True) -> tuple[str, bool]:
    """The PyTorch parameter name of a TF variable name, and whether its value is transposed.
    ``scoped``: the name starts with the model's own scope (as in ``tf_model.h5``; TF safetensors
    files leave it out).

    Example:
        >>> pt_name("tf_lxmert_model/lxmert/encoder/x_layers_._1/visual_attention/att/query/kernel:0")
        ('lxmert.encoder.x_layers.1.visual_attention.att.query.weight', True)
        >>> pt_name("tf_lxmert_for_pre_training/answer_head/logit_fc_._2/gamma:0")
        ('answer_head.logit_fc.2.weight', False)
    """
    levels = re.sub(r":\d+$", "", tf_name).split("/")
    levels = [lv.split("___")[-1] if 0 < i < len(levels) - 1 else lv for i, lv in enumerate(levels)]
    levels = [part for lv in levels for part in lv.split("_._") if part]
    if scoped and len(levels) > 1:
        levels = levels[1:]  # the model's own scope
    leaf = levels[-1]
    levels[-1] = _LEAF_NAMES.get(leaf, leaf)
    return ".".join(levels), leaf == "kernel"


def tf_name_guess(key: str, owner: torch.nn.Module | None) -> str:
    """The TF name (without the model's scope) that maps to the parameter ``key`` of the module
    ``owner`` (a Linear, LayerNorm or Embedding; None for a bare parameter): for errors about
    weights a file lacks.

    Example:
        >>> tf_name_guess("lxmert.encoder.layer.0.attention.self.query.weight", torch.nn.Linear(2, 2))
        'lxmert/encoder/layer_._0/attention/self/query/kernel:0'
        >>> tf_name_guess("answer_head.logit_fc.2.bias", torch.nn.LayerNorm(2))
        'answer_head/logit_fc_._2/beta:0'
    """
    levels = key.split(".")
    out: list[str] = []
    for lv in levels[:-1]:
        if lv.isdigit() and out:
            out[-1] += f"_._{lv}"  # a Keras list layer: 'layer_._0'
        elif out and out[-1].endswith("_dict"):
            out[-1] += f".{lv}"  # a Keras dict layer: 'decoder_dict.obj'
        else:
            out.append(lv)
    leaf = levels[-1]
    if isinstance(owner, torch.nn.Linear) and leaf == "weight":
        leaf = "kernel"
    elif isinstance(owner, torch.nn.LayerNorm):
        leaf = {"weight": "gamma", "bias": "beta"}.get(leaf, leaf)
    elif isinstance(owner, torch.nn.Embedding) and key != WORD_EMB_KEY:
        leaf = "embeddings"  # the word embeddings are TF's 'weight'; the others 'embeddings'
    return "/".join(out + [leaf]) + ":0"


def _as_text(value, where: str) -> str:
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return bytes(value).decode("utf8")
        except UnicodeDecodeError:
            raise CheckpointError(f"{where} holds a name that is not UTF-8: {bytes(value)[:60]!r}") from None
    if isinstance(value, str):
        return value
    raise CheckpointError(f"{where} holds a {type(value).__name__} where Keras writes names (bytes or str)")


def attribute_list(obj, name: str, where: str) -> list[str]:
    """A list-of-names attribute as Keras writes it: ``name``, or chunks ``name0``, ``name1``, ...;
    bytes or str. Absent: an empty list (as Keras reads it)."""
    attrs = obj.attrs
    chunked = f"{name}0" in attrs
    if name in attrs and chunked:
        raise CheckpointError(f"{where} has both the attribute {name!r} and its chunks {name + '0'!r}, ...; "
                              f"Keras writes one or the other")
    if name in attrs:
        parts = [attrs[name]]
    else:
        parts, i = [], 0
        while f"{name}{i}" in attrs:
            parts.append(attrs[f"{name}{i}"])
            i += 1
    label = f"{where} attribute {name!r}"
    return [_as_text(v, label) for part in parts for v in np.atleast_1d(np.asarray(part, dtype=object))]


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("reading a TensorFlow checkpoint (tf_model.h5) needs h5py: "
                          "pip install 'lxmert_viz[tf]' (TensorFlow itself is not needed)") from None
    return h5py


def read_tf_weights(path: str | Path) -> TfWeights:
    """A ``tf_model.h5`` written by transformers 4.x's TF LXMERT classes, as a PyTorch-named state dict.

    Raises:
        MissingFileError: no file at ``path``.
        CheckpointError: not an HDF5 file, not Keras' weights layout, a dataset no layer lists, a
            listed weight that is missing, two TF weights for one parameter (or two differing copies
            of one), a kernel that is not 2-D; each naming the weight.
        ImportError: h5py is not installed.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"no TensorFlow weights file at {path}")
    h5py = _h5py()
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise CheckpointError(f"{path} is not a readable HDF5 file (truncated, a git-lfs pointer, or not "
                              f"HDF5?): {str(err)[:200]}") from None
    with handle as f:
        return _read(f, path, h5py)


def _read(f, path: Path, h5py) -> TfWeights:
    layers = attribute_list(f, "layer_names", str(path))
    if not layers:
        raise CheckpointError(f"{path} has no 'layer_names' attribute: not a Keras weights file as TF "
                              f"LXMERT's save_pretrained writes it")
    if any(":" in name for name in layers):
        raise CheckpointError(f"{path} lists weights, not layers, in 'layer_names' (a shard of a sharded "
                              f"TF checkpoint?); only a whole tf_model.h5 is read")
    datasets: dict[str, object] = {}
    f.visititems(lambda name, obj: datasets.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)
    out, seen = TfWeights(state={}), {}
    listed: set[str] = set()
    repeats: list[str] = []
    for layer in layers:
        if layer not in f or not isinstance(f[layer], h5py.Group):
            raise CheckpointError(f"{path} lists the layer {layer!r} in 'layer_names' but has no such group")
        for tf_name in attribute_list(f[layer], "weight_names", f"{path} group {layer!r}"):
            full = f"{layer}/{tf_name}"
            if full not in datasets:
                raise CheckpointError(f"{path}: the {layer!r} group: {tf_name} is listed in 'weight_names' "
                                      f"but not stored")
            listed.add(full)
            if not _add(out, seen, path, f"{layer!r} group: {tf_name}", tf_name, datasets[full][()], scoped=True):
                repeats.append(layer)
    unlisted = sorted(set(datasets) - listed)
    if unlisted:
        raise CheckpointError(f"{path} stores {len(unlisted)} weights no layer lists in 'weight_names' (so "
                              f"TensorFlow would not load them either): {listing(unlisted)}")
    extra_groups = sorted(k for k in f if k not in layers and k != TOP_LEVEL_GROUP)
    if extra_groups:
        out.notes.append(f"groups not in 'layer_names' (empty, ignored): {extra_groups}")
    if repeats:
        counts = {g: repeats.count(g) for g in dict.fromkeys(repeats)}
        out.notes.append("repeated TF weights read once (equal copies): " +
                         ", ".join(f"{n} in the {g!r} group" for g, n in counts.items()))
    keras = _as_text(f.attrs.get("keras_version", b"?"), str(path))
    out.notes.insert(0, f"TensorFlow weights: {len(out.state)} weights from {len(listed)} datasets (Keras {keras})")
    _tie_decoder(out, path)
    return out


def is_tf_safetensors(path: str | Path) -> bool:
    """Whether a ``.safetensors`` file holds TF names: transformers 4.x's TF ``save_pretrained(...,
    safe_serialization=True)`` marks it ``{"format": "tf"}`` (PyTorch's are ``"pt"``)."""
    try:
        with safe_open(str(path), framework="np") as f:
            return (f.metadata() or {}).get("format") == "tf"
    except Exception:  # unreadable: the ordinary safetensors reader says why
        return False


def read_tf_safetensors(paths: list[Path]) -> TfWeights:
    """``model.safetensors`` (or its shards) written by transformers 4.x's TF LXMERT classes with
    ``safe_serialization=True``: tensors named as TF names without the model's scope
    (``lxmert/encoder/layer_._0/attention/self/query/kernel:0``), each variable once.

    Raises:
        CheckpointError: an unreadable file, two tensors for one parameter, a kernel that is not 2-D.
    """
    out, seen = TfWeights(state={}), {}
    count = 0
    for path in paths:
        try:
            with safe_open(str(path), framework="np") as f:
                arrays = {name: f.get_tensor(name) for name in f.keys()}
        except Exception as err:
            raise CheckpointError(f"{path} is not a readable safetensors file (truncated or damaged?): "
                                  f"{type(err).__name__}: {str(err)[:200]}") from None
        for tf_name, value in arrays.items():
            _add(out, seen, path, f"{path.name} tensor: {tf_name}", tf_name, value, scoped=False)
        count += len(arrays)
    out.notes.insert(0, f"TensorFlow weights (safetensors, format 'tf'): {len(out.state)} weights from "
                        f"{count} tensors")
    _tie_decoder(out, ", ".join(map(str, paths)))
    return out


def _add(out: TfWeights, seen: dict, path, where: str, tf_name: str, value, scoped: bool) -> bool:
    """Put one TF weight into ``out`` under its PyTorch name; False for an equal repeat (skipped)."""
    value = np.asarray(value)
    key, transposed = pt_name(tf_name, scoped=scoped)
    if key in seen:
        seen_where, seen_name, seen_value = seen[key]
        if seen_name != tf_name:
            raise CheckpointError(f"{path}: the {seen_where} and the {where} both map to {key!r}")
        if seen_value.shape != value.shape or not np.array_equal(seen_value, value):
            raise CheckpointError(f"{path}: the {where} repeats the {seen_where} with different values "
                                  f"({value.shape} vs {seen_value.shape}); a damaged or edited file")
        return False
    seen[key] = (where, tf_name, value)
    shape = value.shape
    if transposed:
        if value.ndim != 2:
            raise CheckpointError(f"{path}: the {where} is a kernel of shape {shape}; LXMERT's Dense kernels "
                                  f"are 2-D (in, out)")
        value = value.T
    out.state[key] = torch.from_numpy(np.ascontiguousarray(value))
    out.sources[key] = f"{where} {shape}" + (", transposed" if transposed else "")
    return True


def _tie_decoder(out: TfWeights, where) -> None:
    """TF LXMERT's masked-word decoder is the word-embedding matrix: never stored, set here."""
    if not (any(k.startswith("cls.predictions.") for k in out.state) and WORD_EMB_KEY in out.state):
        return
    if DECODER_KEY in out.state:
        raise CheckpointError(f"{where} stores a masked-word decoder ({out.sources[DECODER_KEY]}); TF "
                              f"LXMERT's decoder is the word-embedding matrix and is never stored")
    out.state[DECODER_KEY] = out.state[WORD_EMB_KEY]
    out.sources[DECODER_KEY] = f"the word embeddings ({out.sources[WORD_EMB_KEY]}): TF LXMERT's tied decoder"
    out.notes.append(f"{DECODER_KEY}: the word embeddings (TF LXMERT ties them; not stored)")
