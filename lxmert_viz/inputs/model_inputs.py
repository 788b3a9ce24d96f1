"""One question and one image's regions as the model's keyword arguments (batch of one).

Shape letters: T tokens, R regions, F region feature size.
"""
from __future__ import annotations

from collections.abc import Iterable

import torch

from .regions import Regions, region_tensors
from .text import Tokens


def model_inputs(tokens: Tokens, regions: Regions, dtype: torch.dtype = torch.float32, device=None,
                 dropped_tokens: Iterable[int] = (), dropped_regions: Iterable[int] = ()) -> dict:
    """``input_ids`` (1, T), ``visual_feats`` (1, R, F), ``visual_pos`` (1, R, 4) and the masks.

    Positions in ``dropped_tokens`` / ``dropped_regions`` are masked out (0 in ``attention_mask`` /
    ``visual_attention_mask``); a mask is left out when it would be all ones.

    Example:
        >>> kw = model_inputs(result.tokens, result.regions, dropped_regions=[1])
        >>> sorted(kw), kw["visual_attention_mask"].tolist()
        (['input_ids', 'visual_attention_mask', 'visual_feats', 'visual_pos'], [[1.0, 0.0, 1.0, 1.0]])
    """
    feats, pos, vmask = region_tensors(regions, dtype, device)
    ids = torch.tensor([list(tokens.ids)], dtype=torch.long, device=device)
    kw = {"input_ids": ids, "visual_feats": feats, "visual_pos": pos}
    dropped_tokens, dropped_regions = list(dropped_tokens), list(dropped_regions)
    if dropped_tokens:
        kw["attention_mask"] = torch.ones_like(ids)
        kw["attention_mask"][0, dropped_tokens] = 0
    if dropped_regions:
        vmask = torch.ones(feats.shape[:2], dtype=dtype, device=device) if vmask is None else vmask.clone()
        vmask[0, dropped_regions] = 0
    if vmask is not None:
        kw["visual_attention_mask"] = vmask
    return kw
