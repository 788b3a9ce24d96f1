"""The feed-forward activations a config's ``hidden_act`` may name (those `transformers` uses for BERT-style models)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import ConfigError

ACTIVATIONS = {
    "gelu": F.gelu,
    "relu": F.relu,
    "gelu_new": lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3)))),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "swish": F.silu,
    "tanh": torch.tanh,
}


def activation(name: str):
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ConfigError(f"hidden_act {name!r} is not supported; known: {sorted(ACTIVATIONS)}") from None
