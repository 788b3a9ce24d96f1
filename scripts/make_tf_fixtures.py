"""Write the TensorFlow checkpoint fixtures of tests/test_tf_checkpoint.py (run by make_tf_fixtures.sh).

Runs in a side venv with transformers < 4.50, tensorflow and tf-keras (never the kit's own venv, never
CI). transformers 4.x has two TF LXMERT classes, `TFLxmertModel` and `TFLxmertForPreTraining` (there is
no TF question-answering class); for each it writes, under ``OUT/<class>/``:

- ``config.json`` and ``tf_model.h5``: exactly what ``save_pretrained`` writes (Keras HDF5);
- ``outputs_<inputs>.npz``: every output TensorFlow returns on each input set, as float32, keyed
  ``name`` or ``name.i`` for tuples (``language_hidden_states.0``, ...); for the pre-training
  model also ``obj_predictions.<obj|attr|feat>``, the region heads run by TF on TF's last vision
  state (TF computes them only for its losses, so they are not in its output).

``OUT/TFLxmertForPreTraining-safetensors/``: the same pre-training weights saved with
``save_pretrained(..., safe_serialization=True)`` (config.json + model.safetensors, format "tf"),
whose outputs are those of ``OUT/TFLxmertForPreTraining``;

and ``OUT/inputs_<inputs>.npz``, the fixed input sets:
- ``padded``: 3 examples, 5 tokens and 5 regions, the second and third losing tokens and regions at
  the end (both masks), random token types. Equal counts because TF LXMERT 4.x reshapes the visual
  mask to the text's length before using it (``TFLxmertMainLayer.call``): with a visual mask, TF
  runs only when regions == tokens.
- ``ragged``: 2 examples, 7 tokens and 3 regions, a text mask with padding and no visual mask.
The weights are random and then redrawn away from transformers' initialisation (LayerNorm gammas
not 1, betas and biases not 0), so every weight changes the outputs and a mapping error shows.

Usage: python scripts/make_tf_fixtures.py OUT_DIR
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
import transformers

SEED = 2025
CONFIG = dict(vocab_size=50, hidden_size=16, num_attention_heads=2, intermediate_size=24, num_qa_labels=5,
              num_object_labels=7, num_attr_labels=3, l_layers=2, x_layers=2, r_layers=1, visual_feat_dim=8,
              max_position_embeddings=20, type_vocab_size=2)
CLASSES = ("TFLxmertModel", "TFLxmertForPreTraining")
INPUT_SETS = {"padded": (3, 5, 5, True), "ragged": (2, 7, 3, False)}  # batch, tokens, regions, visual mask


def fixed_inputs(rng: np.random.Generator, batch: int, tokens: int, regions: int, visual_mask: bool):
    """Example i loses i tokens (and, with ``visual_mask``, i regions) at the end."""
    lang = np.ones((batch, tokens), np.int32)
    vis = np.ones((batch, regions), np.float32)
    for i in range(1, batch):
        lang[i, tokens - i:] = 0
        vis[i, regions - i:] = 0
    ids = rng.integers(1, CONFIG["vocab_size"], (batch, tokens)).astype(np.int32) * lang
    corners = np.sort(rng.random((batch, regions, 2, 2)), axis=2)  # x1 <= x2, y1 <= y2
    boxes = np.stack([corners[..., 0, 0], corners[..., 0, 1], corners[..., 1, 0], corners[..., 1, 1]], -1)
    out = {
        "input_ids": ids,
        "token_type_ids": rng.integers(0, 2, (batch, tokens)).astype(np.int32),
        "attention_mask": lang,
        "visual_feats": rng.normal(size=(batch, regions, CONFIG["visual_feat_dim"])).astype(np.float32),
        "visual_pos": boxes.astype(np.float32),
    }
    if visual_mask:
        out["visual_attention_mask"] = vis
    return out


def redraw(model, rng: np.random.Generator) -> None:
    """New random values for every variable: kernels and embeddings ~ N(0, 1/sqrt(fan)), LayerNorm
    gammas 1 + N(0, 0.2), betas and biases N(0, 0.2)."""
    for var in model.weights:
        leaf = var.name.split("/")[-1].split(":")[0]
        shape = tuple(var.shape)
        if leaf in ("kernel", "weight", "embeddings"):
            value = rng.normal(0.0, 1.0 / np.sqrt(shape[-1] if leaf != "kernel" else shape[0]), shape)
        elif leaf == "gamma":
            value = 1.0 + rng.normal(0.0, 0.2, shape)
        else:
            value = rng.normal(0.0, 0.2, shape)
        var.assign(value.astype(np.float32))


def flat(outputs: dict) -> dict[str, np.ndarray]:
    out = {}
    for key, value in outputs.items():
        if value is None:
            continue
        if isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                out[f"{key}.{i}"] = np.asarray(v, np.float32)
        else:
            out[key] = np.asarray(value, np.float32)
    return out


def main(out_dir: Path) -> None:
    tf.random.set_seed(SEED)
    rng = np.random.default_rng(SEED)
    out_dir.mkdir(parents=True, exist_ok=True)
    feeds = {}
    for set_name, shape in INPUT_SETS.items():
        inputs = fixed_inputs(rng, *shape)
        np.savez_compressed(out_dir / f"inputs_{set_name}.npz", **inputs)
        feeds[set_name] = {k: tf.constant(v) for k, v in inputs.items()}
    versions = {"transformers": transformers.__version__, "tensorflow": tf.__version__,
                "numpy": np.__version__, "seed": SEED}
    for name in CLASSES:
        config = transformers.LxmertConfig(**CONFIG)
        model = getattr(transformers, name)(config)
        model(feeds["padded"], training=False)  # builds every variable
        redraw(model, rng)
        target = out_dir / name
        model.save_pretrained(target)  # config.json + tf_model.h5 (safe_serialization=False by default)
        if name == "TFLxmertForPreTraining":
            model.save_pretrained(out_dir / f"{name}-safetensors", safe_serialization=True)
        for set_name, feed in feeds.items():
            got = model(feed, training=False, output_attentions=True, output_hidden_states=True, return_dict=True)
            arrays = flat(dict(got))
            if hasattr(model, "obj_predict_head"):
                last_vision = got["vision_hidden_states"][-1]
                for key, value in model.obj_predict_head(last_vision).items():
                    arrays[f"obj_predictions.{key}"] = np.asarray(value, np.float32)
            np.savez_compressed(target / f"outputs_{set_name}.npz", **arrays)
            print(name, set_name, sorted(arrays))
    (out_dir / "versions.json").write_text(json.dumps(versions, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
