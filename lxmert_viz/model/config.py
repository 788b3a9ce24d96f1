"""The model's one configuration: `transformers`' `LxmertConfig` field names and defaults.

A checkpoint's ``config.json`` is read into it and written back from it; unknown keys survive the
round trip in ``extra`` so that nothing a user's checkpoint carries is lost.

Every field is checked by type and range when the config is built (`FIELD_RULES`), and the size
of the model it describes is bounded (`MAX_PARAMETERS`), so a bad ``config.json`` is a
`~lxmert_viz.errors.ConfigError` naming the field before any tensor is allocated.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..assets import shapes_model_dir
from ..errors import ConfigError, ConfigTypeError, MissingFileError
from ..inputs.files import read_json_file
from .activations import ACTIVATIONS

# Every LayerNorm in LXMERT uses this eps; the hub configs carry `layer_norm_eps`, which the
# reference implementation ignores, and so do we (it is kept in `extra` for the round trip).
LAYER_NORM_EPS = 1e-12

HIDDEN_ACTS = tuple(ACTIVATIONS)
"""The activations the model implements (`lxmert_viz.model.activations`)."""
ANSWER_SCORINGS = ("softmax", "sigmoid")
MAX_PARAMETERS = 4_000_000_000
"""Largest model a config may describe (16 GB of float32 weights); LXMERT base has about 210 M."""
KNOWN_ANSWER_SCORING = {
    # LXMERT's VQA and GQA fine-tuning trained the answer head with BCEWithLogitsLoss over soft
    # targets (original release, src/tasks/vqa.py and src/tasks/gqa.py).
    "unc-nlp/lxmert-vqa-uncased": "sigmoid",
    "unc-nlp/lxmert-gqa-uncased": "sigmoid",
    # Pre-training's answer head: CrossEntropyLoss over 9500 answers (src/lxrt/modeling.py).
    "unc-nlp/lxmert-base-uncased": "softmax",
}
"""Answer scoring of the public checkpoints whose ``config.json`` does not say. The embedded shapes
model is trained with a softmax cross entropy (`lxmert_viz.shapes.train`): ``"softmax"``."""
_BIG = 10_000_000
# field -> (kind, low, high): ints and floats inclusive of low; floats marked "[)" exclude high.
FIELD_RULES: dict[str, tuple] = {
    "vocab_size": ("int", 1, _BIG), "hidden_size": ("int", 1, 65536), "num_attention_heads": ("int", 1, 4096),
    "num_qa_labels": ("int", 1, _BIG), "num_object_labels": ("int", 1, _BIG), "num_attr_labels": ("int", 1, _BIG),
    "intermediate_size": ("int", 1, 1_048_576), "max_position_embeddings": ("int", 1, 1_048_576),
    "type_vocab_size": ("int", 1, 1024), "l_layers": ("int", 0, 256), "x_layers": ("int", 0, 256),
    "r_layers": ("int", 0, 256), "visual_feat_dim": ("int", 1, 1_048_576), "visual_pos_dim": ("int", 1, 1024),
    "hidden_dropout_prob": ("float[)", 0.0, 1.0), "attention_probs_dropout_prob": ("float[)", 0.0, 1.0),
    "initializer_range": ("float", 0.0, 10.0), "visual_loss_normalizer": ("float", 0.0, 1e6),
    **{name: ("bool", None, None) for name in (
        "task_matched", "task_mask_lm", "task_obj_predict", "task_qa", "visual_obj_loss", "visual_attr_loss",
        "visual_feat_loss", "tie_word_embeddings")},
}


@dataclass(frozen=True)
class LxmertConfig:
    """LXMERT hyper-parameters, with the defaults of `transformers.LxmertConfig`.

    Example:
        >>> cfg = LxmertConfig.tiny()
        >>> cfg.hidden_size % cfg.num_attention_heads
        0
    """

    vocab_size: int = 30522
    hidden_size: int = 768
    num_attention_heads: int = 12
    num_qa_labels: int = 9500
    num_object_labels: int = 1600
    num_attr_labels: int = 400
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    l_layers: int = 9
    x_layers: int = 5
    r_layers: int = 5
    visual_feat_dim: int = 2048
    visual_pos_dim: int = 4
    visual_loss_normalizer: float = 6.67
    task_matched: bool = True
    task_mask_lm: bool = True
    task_obj_predict: bool = True
    task_qa: bool = True
    visual_obj_loss: bool = True
    visual_attr_loss: bool = True
    visual_feat_loss: bool = True
    pad_token_id: int | None = None
    tie_word_embeddings: bool = True
    id2label: dict[int, str] | None = None
    # How the answer head's logits become scores: "softmax" (trained with softmax cross entropy) or
    # "sigmoid" (per-answer binary cross entropy, LXMERT's VQA/GQA fine-tuning). None: not stated;
    # `from_pretrained` then fills in `default_answer_scoring` (see KNOWN_ANSWER_SCORING).
    answer_scoring: str | None = None
    # Keys of config.json that are not fields here (architectures, model_type, ...), kept verbatim.
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self):
        for name, rule in FIELD_RULES.items():
            _check_field(name, getattr(self, name), rule)
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"hidden_size={self.hidden_size} is not a multiple of num_attention_heads={self.num_attention_heads}",
                field="num_attention_heads")
        if not isinstance(self.hidden_act, str) or self.hidden_act not in HIDDEN_ACTS:
            raise _bad("hidden_act", self.hidden_act, f"one of {HIDDEN_ACTS}", isinstance(self.hidden_act, str))
        if self.pad_token_id is not None:
            _check_field("pad_token_id", self.pad_token_id, ("int", 0, self.vocab_size - 1))
        if self.answer_scoring is not None and self.answer_scoring not in ANSWER_SCORINGS:
            raise _bad("answer_scoring", self.answer_scoring, f"one of {ANSWER_SCORINGS} (or absent)",
                       isinstance(self.answer_scoring, str))
        if not isinstance(self.extra, dict):
            raise ConfigTypeError(f"extra must be a dict, got {type(self.extra).__name__}", field="extra")
        if self.id2label is not None:
            object.__setattr__(self, "id2label", _check_id2label(self.id2label))
        n = self.parameter_estimate()
        if n > MAX_PARAMETERS:
            raise ConfigError(f"this config describes a model of about {n:.3g} parameters ({4 * n / 2**30:.0f} GiB "
                              f"in float32), more than the {MAX_PARAMETERS:.0e} the kit builds: check the sizes "
                              f"(hidden_size={self.hidden_size}, layers {self.l_layers}/{self.r_layers}/"
                              f"{self.x_layers}, vocab_size={self.vocab_size})")

    def parameter_estimate(self) -> int:
        """About how many parameters a model with every output head has (no tensor is made)."""
        h, i = self.hidden_size, self.intermediate_size
        layer = 4 * h * h + 2 * h * i
        cross = 12 * h * h + 4 * h * i
        emb = (self.vocab_size + self.max_position_embeddings + self.type_vocab_size) * h
        vis = (self.visual_feat_dim + self.visual_pos_dim) * h
        heads = 2 * h * h + 2 * h * self.num_qa_labels + h * h + self.vocab_size + h * (
            self.num_object_labels + self.num_attr_labels + self.visual_feat_dim)
        return int(emb + vis + (self.l_layers + self.r_layers) * layer + self.x_layers * cross + h * h + heads)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def tiny(cls, **overrides) -> LxmertConfig:
        """A small preset for tests: 2/2/2 layers, 32 hidden, 4 heads."""
        base = dict(
            vocab_size=99, hidden_size=32, num_attention_heads=4, intermediate_size=37,
            num_qa_labels=7, num_object_labels=11, num_attr_labels=5, l_layers=2, x_layers=2,
            r_layers=2, visual_feat_dim=16, max_position_embeddings=64,
        )
        base.update(overrides)
        return cls(**base)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LxmertConfig:
        """Build from a ``config.json`` dict; unknown keys go to ``extra``."""
        if not isinstance(data, dict):
            raise ConfigTypeError(f"config must be a JSON object, got {type(data).__name__}")
        bad_keys = [k for k in data if not isinstance(k, str)]
        if bad_keys:
            raise ConfigTypeError(f"config keys must be strings, got {bad_keys[:3]!r}")
        names = {f.name for f in fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names}
        # Hub configs write num_hidden_layers as {"vision": r, "cross_encoder": x, "language": l}.
        nhl = extra.get("num_hidden_layers")
        if isinstance(nhl, dict):
            for key, name in (("vision", "r_layers"), ("cross_encoder", "x_layers"), ("language", "l_layers")):
                if key in nhl and name not in known:
                    _check_field(f"num_hidden_layers.{key}", nhl[key], FIELD_RULES[name])
                    known[name] = nhl[key]
        elif nhl is not None and not isinstance(nhl, int):
            raise ConfigTypeError(f"num_hidden_layers must be a dict {{'language', 'vision', 'cross_encoder'}} "
                                  f"or an integer, got {nhl!r}", field="num_hidden_layers")
        return cls(**known, extra=extra)

    @classmethod
    def from_json_file(cls, path: str | Path) -> LxmertConfig:
        path = Path(path)
        try:
            data = read_json_file(path, "a config.json", ConfigError)
        except FileNotFoundError:
            raise MissingFileError(f"no config file at {path}") from None
        try:
            return cls.from_dict(data)
        except ConfigError as err:
            raise type(err)(f"{path}: {err}", field=err.field) from None

    def to_dict(self) -> dict[str, Any]:
        """The ``config.json`` dict, in `transformers`' layout (``num_hidden_layers`` as a dict)."""
        data = {k: v for k, v in asdict(self).items() if k != "extra"}
        data = {**self.extra, **data}
        if data.get("answer_scoring") is None:
            data.pop("answer_scoring", None)
        if data.get("id2label") is None:
            data.pop("id2label", None)
        else:
            data["id2label"] = {str(k): v for k, v in data["id2label"].items()}
        data["num_hidden_layers"] = {"vision": self.r_layers, "cross_encoder": self.x_layers, "language": self.l_layers}
        data.setdefault("model_type", "lxmert")
        return data

    def to_json_file(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def replace(self, **changes) -> LxmertConfig:
        return replace(self, **changes)


def _bad(name: str, value, want: str, right_type: bool) -> ConfigError:
    cls = ConfigError if right_type else ConfigTypeError
    return cls(f"{name} must be {want}, got {value!r} ({type(value).__name__})", field=name.split(".")[0])


def _check_field(name: str, value, rule: tuple) -> None:
    kind, low, high = rule
    if kind == "bool":
        if not isinstance(value, bool):
            raise _bad(name, value, "true or false", False)
        return
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(name, value, f"an integer in {low}..{high}", False)
        if not low <= value <= high:
            raise _bad(name, value, f"an integer in {low}..{high}", True)
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(name, value, f"a number in {low}..{high}", False)
    upper_ok = value < high if kind == "float[)" else value <= high
    if not (math.isfinite(value) and value >= low and upper_ok):
        bracket = ")" if kind == "float[)" else "]"
        raise _bad(name, value, f"a finite number in [{low}, {high}{bracket}", True)


def _check_id2label(id2label) -> dict[int, str]:
    if not isinstance(id2label, dict):
        raise ConfigTypeError(f"id2label must be a dict of id -> answer, got {type(id2label).__name__}",
                              field="id2label")
    out: dict[int, str] = {}
    for k, v in id2label.items():
        if isinstance(k, bool) or not (isinstance(k, int) or (isinstance(k, str) and k.strip().isdigit()
                                                              and k.strip().isascii())):
            raise ConfigError(f"id2label key {k!r} is not an answer id (an integer or a string of digits)",
                              field="id2label")
        if not isinstance(v, str):
            raise ConfigTypeError(f"id2label[{k!r}] is {v!r} ({type(v).__name__}); labels must be strings",
                                  field="id2label")
        i = int(k)
        if i in out:
            raise ConfigError(f"id2label names id {i} twice", field="id2label")
        out[i] = v
    return out


def default_answer_scoring(sources, output_heads: tuple[str, ...], original_release: bool = False) -> tuple[str, str]:
    """(scoring, why) for a checkpoint whose config does not state ``answer_scoring``.

    ``sources``: the names the checkpoint goes by (the hub id or path given, the folder read), one
    string or several.

    The rule, in order:
    1. a known checkpoint (`KNOWN_ANSWER_SCORING`; hub ids, also as the name of a local folder or
       of the hub's cache folder ``models--unc-nlp--lxmert-vqa-uncased``): its entry;
    2. the embedded shapes model's folder: ``"softmax"``;
    3. the original release's fine-tuned files (``logit_fc`` keys): ``"sigmoid"`` (vqa.py / gqa.py);
    4. a checkpoint with the pre-training heads beside the answer head: ``"softmax"`` (the
       answer loss of LXMERT's pre-training is a cross entropy);
    5. any other checkpoint with an answer head only (a fine-tuned QA model): ``"sigmoid"``,
       LXMERT's own fine-tuning objective; state ``answer_scoring`` in its config.json otherwise.

    Example:
        >>> default_answer_scoring("unc-nlp/lxmert-vqa-uncased", ("qa",))[0]
        'sigmoid'
    """
    names = [str(x).replace("\\", "/").rstrip("/") for x in ([sources] if isinstance(sources, (str, Path)) else sources)]
    for text in names:
        for hub_id, scoring in KNOWN_ANSWER_SCORING.items():
            name = hub_id.split("/")[1]
            if text in (hub_id, name) or text.endswith("/" + name) or ("models--" + hub_id.replace("/", "--")) in text:
                return scoring, f"known checkpoint {hub_id}"

    for text in names:
        try:
            if Path(text).resolve() == Path(shapes_model_dir()).resolve():
                return "softmax", "the embedded shapes model (trained with softmax cross entropy)"
        except (OSError, RuntimeError, ValueError):
            continue
    if original_release:
        return "sigmoid", "the original release's fine-tuned answer head (binary cross entropy)"
    if "pretraining" in output_heads:
        return "softmax", "pre-training heads present (pre-training's answer loss is a cross entropy)"
    return "sigmoid", "a fine-tuned answer head (LXMERT's fine-tuning uses binary cross entropy)"
