"""The network: config, the model in one file (`lxmert.py`), what it returns, checkpoint loading.

    LxmertConfig            the one configuration (`transformers`' field names and defaults)
    Lxmert                  LXMERT with every hidden state and all six attention families
    LxmertOutput, VisionState, FAMILIES
    from_pretrained         `transformers` checkpoint folders, hub ids, the original release's files
"""
from .config import LxmertConfig
from .families import CROSS_FAMILIES, FAMILIES, Family, family
from .lxmert import OUTPUT_HEADS, Lxmert
from .output import AttentionMaps, LxmertOutput, VisionState
from .pretrained import CheckpointError, LoadingReport, from_pretrained

__all__ = ["AttentionMaps", "CROSS_FAMILIES", "CheckpointError", "FAMILIES", "Family", "LoadingReport", "Lxmert",
           "LxmertConfig", "LxmertOutput", "OUTPUT_HEADS", "VisionState", "family", "from_pretrained"]
