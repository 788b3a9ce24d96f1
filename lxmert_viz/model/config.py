"""The model's one configuration: `transformers`' `LxmertConfig` field names and defaults.

A checkpoint's ``config.json`` is read into it and written back from it; unknown keys survive the
round trip in ``extra`` so that nothing a user's checkpoint carries is lost.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

# Every LayerNorm in LXMERT uses this eps; the hub configs carry `layer_norm_eps`, which the
# reference implementation ignores, and so do we (it is kept in `extra` for the round trip).
LAYER_NORM_EPS = 1e-12


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
    # Keys of config.json that are not fields here (architectures, model_type, ...), kept verbatim.
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} is not a multiple of num_attention_heads={self.num_attention_heads}"
            )
        for name in ("l_layers", "x_layers", "r_layers"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.id2label is not None:
            object.__setattr__(self, "id2label", {int(k): str(v) for k, v in self.id2label.items()})

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def tiny(cls, **overrides) -> "LxmertConfig":
        """A small preset for tests: 2/2/2 layers, 32 hidden, 4 heads."""
        base = dict(
            vocab_size=99, hidden_size=32, num_attention_heads=4, intermediate_size=37,
            num_qa_labels=7, num_object_labels=11, num_attr_labels=5, l_layers=2, x_layers=2,
            r_layers=2, visual_feat_dim=16, max_position_embeddings=64,
        )
        base.update(overrides)
        return cls(**base)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LxmertConfig":
        """Build from a ``config.json`` dict; unknown keys go to ``extra``."""
        if not isinstance(data, dict):
            raise TypeError(f"config must be a JSON object, got {type(data).__name__}")
        names = {f.name for f in fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names}
        # Hub configs write num_hidden_layers as {"vision": r, "cross_encoder": x, "language": l}.
        nhl = extra.get("num_hidden_layers")
        if isinstance(nhl, dict):
            for key, name in (("vision", "r_layers"), ("cross_encoder", "x_layers"), ("language", "l_layers")):
                if key in nhl and name not in known:
                    known[name] = int(nhl[key])
        return cls(**known, extra=extra)

    @classmethod
    def from_json_file(cls, path: str | Path) -> "LxmertConfig":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"no config file at {path}") from None
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not valid JSON: {err}") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The ``config.json`` dict, in `transformers`' layout (``num_hidden_layers`` as a dict)."""
        data = {k: v for k, v in asdict(self).items() if k != "extra"}
        data = {**self.extra, **data}
        if data.get("id2label") is None:
            data.pop("id2label", None)
        else:
            data["id2label"] = {str(k): v for k, v in data["id2label"].items()}
        data["num_hidden_layers"] = {"vision": self.r_layers, "cross_encoder": self.x_layers, "language": self.l_layers}
        data.setdefault("model_type", "lxmert")
        return data

    def to_json_file(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def replace(self, **changes) -> "LxmertConfig":
        return replace(self, **changes)
