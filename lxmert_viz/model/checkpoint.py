"""Finding and reading checkpoint files: local folders, hub ids, weight files and their shards.

A directory's weights are looked up in this order: ``model.safetensors`` (or its shard index),
``pytorch_model.bin`` (or its index), ``tf_model.h5`` (TensorFlow, read by `tf_checkpoint`), else
its one weights file of any of `WEIGHT_SUFFIXES`.

Loading never unpickles code: ``.bin``/``.pth`` go through ``torch.load(weights_only=True)``, and
``.safetensors`` through `safetensors`. Every file that cannot be read is an error naming it.
"""
from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import torch

from ..errors import CheckpointError, MissingFileError
from ..inputs.files import read_json_file

SAFE_WEIGHTS = "model.safetensors"
SAFE_INDEX = "model.safetensors.index.json"
BIN_WEIGHTS = "pytorch_model.bin"
BIN_INDEX = "pytorch_model.bin.index.json"
TF_WEIGHTS = "tf_model.h5"
TF_INDEX = "tf_model.h5.index.json"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt", ".h5")
LIST_AT_MOST = 10


def listing(keys, at_most: int = LIST_AT_MOST) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:at_most])
    return shown + (f" (and {len(keys) - at_most} more)" if len(keys) > at_most else "")


def read_json(path: Path):
    return read_json_file(path, "a checkpoint's JSON file", CheckpointError)


# -- where the files are -----------------------------------------------------------------------
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def _offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def resolve(path_or_hub_id: str | os.PathLike, revision: str | None = None, cache_dir=None) -> Path:
    """A local directory or weights file for ``path_or_hub_id``, downloading a hub id if needed.

    Raises:
        FileNotFoundError: a path that does not exist and is not a hub id.
        OSError: a hub id while offline, without `huggingface_hub`, or that could not be fetched.
    """
    path = Path(path_or_hub_id).expanduser()
    if path.exists():
        return path
    text = str(path_or_hub_id)
    looks_local = text.startswith((".", "/", "~")) or "\\" in text or text.count("/") > 1
    if looks_local or not _HUB_ID.match(text):
        raise MissingFileError(f"no checkpoint directory at {text}")
    if _offline():
        raise OSError(f"{text!r} is not a local directory and the Hugging Face Hub is offline "
                      f"(HF_HUB_OFFLINE is set); download it when online or give a local directory")
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise OSError(f"{text!r} is not a local directory; loading hub ids needs the huggingface_hub "
                      f"package (pip install 'lxmert_viz[hub]')") from None
    # Config, tokenizer and answer files, and the weights: safetensors when the repo has them,
    # else PyTorch's .bin, else TensorFlow's tf_model.h5.
    small = ["*.json", "*.txt"]
    try:
        for weights in (["*.safetensors"], ["*.bin"], [TF_WEIGHTS]):
            local = Path(snapshot_download(text, revision=revision, cache_dir=cache_dir,
                                           allow_patterns=small + weights))
            if find_weights(local, required=False) is not None:
                break
    except Exception as err:  # the hub raises many kinds; the user needs one plain message
        raise OSError(f"could not fetch {text!r} from the Hugging Face Hub (offline, or no such "
                      f"repo?): {type(err).__name__}: {err}") from None
    return local


def find_weights(directory: Path, required: bool = True) -> list[Path] | None:
    """The weight files of a checkpoint directory: safetensors, then pytorch_model.bin, then
    tf_model.h5; shards from an index."""
    for index in (SAFE_INDEX, BIN_INDEX):
        if (directory / index).is_file():
            data = read_json(directory / index)
            weight_map = data.get("weight_map") if isinstance(data, dict) else None
            if not isinstance(weight_map, dict) or not weight_map:
                raise CheckpointError(f"{directory / index} has no 'weight_map'")
            files = [directory / f for f in dict.fromkeys(weight_map.values())]
            lost = [f.name for f in files if not f.is_file()]
            if lost:
                raise MissingFileError(f"{directory / index} names shard files that are missing: {listing(lost)}")
            if index == SAFE_INDEX or not (directory / SAFE_WEIGHTS).is_file():
                return files
    for name in (SAFE_WEIGHTS, BIN_WEIGHTS, TF_WEIGHTS):
        if (directory / name).is_file():
            return [directory / name]
    if (directory / TF_INDEX).is_file():
        raise CheckpointError(f"{directory} holds a sharded TensorFlow checkpoint ({TF_INDEX}); only a whole "
                              f"{TF_WEIGHTS} is read: load it with transformers 4.x and save it again unsharded")
    others = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    if len(others) == 1:
        return others
    if not required:
        return None
    if others:
        raise CheckpointError(f"{directory} holds several weight files ({listing(p.name for p in others)}) "
                              f"and no {SAFE_WEIGHTS} / {BIN_WEIGHTS} / {TF_WEIGHTS}; pass the one to load")
    raise MissingFileError(f"no weights in {directory}: looked for {SAFE_WEIGHTS}, {SAFE_INDEX}, "
                            f"{BIN_WEIGHTS}, {BIN_INDEX}, {TF_WEIGHTS}")


def read_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """One weights file to a state dict, on CPU, without running any pickled code.

    ``.safetensors`` through `safetensors`; anything else through ``torch.load(weights_only=True)``,
    which refuses pickles that hold code or non-tensor objects.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"no weights file at {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty (0 bytes): an interrupted download?")
    if path.suffix == ".h5":
        raise CheckpointError(f"{path} is a TensorFlow (Keras HDF5) file: read it with "
                              f"lxmert_viz.model.tf_checkpoint.read_tf_weights (from_pretrained does)")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as err:  # SafetensorError, or OSError/ValueError for a damaged header
            raise CheckpointError(f"{path} is not a readable safetensors file (truncated or damaged?): "
                                  f"{type(err).__name__}: {str(err)[:200]}") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # Keep torch's one line that names the offending global, not its advice to retry unsafely.
        if "weights only" not in str(err).lower():  # not a refusal: a damaged pickle
            raise CheckpointError(f"{path} is not a readable PyTorch weights file (a damaged pickle: "
                                  f"{str(err).splitlines()[0][:200] if str(err) else 'no detail'})") from None
        found = re.search(r"[^\n.]*(GLOBAL|global)[^\n]*", str(err))
        detail = f" ({found.group(0).strip()})" if found else ""
        raise CheckpointError(
            f"refused to load {path}: it is a pickle that holds more than tensors (it could run code "
            f"when unpickled), and only weights_only loading is allowed{detail}"
        ) from None
    except Exception as err:  # RuntimeError, EOFError, OSError, zipfile errors, ...: a damaged file
        raise CheckpointError(f"{path} is not a readable PyTorch weights file (truncated or damaged?): "
                              f"{type(err).__name__}: {str(err)[:200]}") from None
    # Some trainers wrap the state dict: {"state_dict": {...}} or {"model": {...}}.
    if isinstance(state, dict) and len(state) == 1:
        inner = next(iter(state.values()))
        if next(iter(state)) in ("state_dict", "model") and isinstance(inner, dict):
            state = inner
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    return dict(state)


def read_state_dict(files: list[Path]) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    for f in files:
        part = read_weights(f)
        dup = set(part) & set(state)
        if dup:
            raise CheckpointError(f"{f} repeats keys of another shard: {listing(dup)}")
        state.update(part)
    return state


def check_values(state: dict[str, torch.Tensor], where: str) -> None:
    """Every floating-point weight must be finite: a NaN weight gives NaN answers for every question.

    Raises:
        CheckpointError: naming the keys with NaN or infinite values and how many.
    """
    bad = []
    for key, t in state.items():
        if t.is_floating_point() or t.is_complex():
            n = int((~torch.isfinite(t)).sum())
            if n:
                bad.append(f"{key} ({n} of {t.numel()})")
    if bad:
        raise CheckpointError(f"the weights in {where} hold NaN or infinite values: {listing(bad)}; "
                              f"the checkpoint is damaged (or was saved after training diverged)")
