"""lxmert_viz: look inside LXMERT — every hidden state, all six attention families, on the image.

Public API (computation side; rendering lives in `lxmert_viz.viz`):
    from_pretrained(path_or_hub_id) -> Lxmert
    load(name=None) -> Kit            (no argument: the embedded shapes-world model)
    Lxmert, LxmertConfig, LxmertOutput, VisionState, Result, Regions, Tokenizer, Tokens, Answers
"""
from .inputs import Answers, Regions, Tokenizer, Tokens
from .model import FAMILIES, Lxmert, LxmertConfig, LxmertOutput, VisionState
from .result import Result

__version__ = "0.1.0"


def from_pretrained(path_or_hub_id, **kwargs):
    """Load a `transformers` LXMERT checkpoint; see `lxmert_viz.model.pretrained.from_pretrained`."""
    from .model.pretrained import from_pretrained as _from_pretrained

    return _from_pretrained(path_or_hub_id, **kwargs)


def load(name=None, **kwargs):
    """The kit (model, tokenizer, answers, region extractor); see `lxmert_viz.kit.load`."""
    from .kit import load as _load

    return _load(name, **kwargs)


__all__ = [
    "Answers", "FAMILIES", "Lxmert", "LxmertConfig", "LxmertOutput", "Regions", "Result", "Tokenizer",
    "Tokens", "VisionState", "from_pretrained", "load",
]
