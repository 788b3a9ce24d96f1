"""Plain helpers for the tests: tiny LXMERT configs, random inputs, a `Result` from tensors."""
from __future__ import annotations

import torch


def tiny_tf_kwargs(**overrides) -> dict:
    """Keyword arguments of a tiny LXMERT config, valid for `transformers` and `lxmert_viz`."""
    kw = dict(
        vocab_size=99, hidden_size=32, num_attention_heads=4, intermediate_size=37, num_qa_labels=7,
        num_object_labels=11, num_attr_labels=5, l_layers=2, x_layers=2, r_layers=2,
        visual_feat_dim=16, max_position_embeddings=64,
    )
    kw.update(overrides)
    return kw


def make_inputs(batch: int = 3, tokens: int = 7, regions: int = 5, feat_dim: int = 16, vocab: int = 99,
                padding: bool = False) -> dict[str, torch.Tensor]:
    """Random ids, region features and boxes; with ``padding``, ragged 1/0 masks for both streams."""
    out = {
        "input_ids": torch.randint(1, vocab, (batch, tokens)),
        "visual_feats": torch.randn(batch, regions, feat_dim),
        "visual_pos": torch.rand(batch, regions, 4),
    }
    if padding:
        lang = torch.ones(batch, tokens, dtype=torch.long)
        vis = torch.ones(batch, regions)
        for i in range(1, batch):  # example i loses i tokens and i regions at the end
            lang[i, tokens - min(i, tokens - 2):] = 0
            vis[i, regions - min(i, regions - 1):] = 0
        out["input_ids"] = out["input_ids"] * lang
        out["attention_mask"] = lang
        out["visual_attention_mask"] = vis
    return out


def result_for(model, ids, feats, pos, dropped_tokens=(), dropped_regions=(), need_grads=False, answer=None):
    """A `Result` of ``model`` on one example given as plain tensors: ``ids`` (T,) or (1, T),
    ``feats`` (R, F) and ``pos`` (R, 4) normalised boxes (the image is 1 x 1 px, so boxes = pos);
    positions in ``dropped_*`` are masked out of the run, as `ask_masked` does."""
    import numpy as np

    from lxmert_viz import Regions, Tokens
    from lxmert_viz.explain import run_result

    ids = [int(i) for i in torch.as_tensor(ids).reshape(-1)]
    tokens = Tokens(tuple(ids), tuple(f"t{i}" for i in range(len(ids))), (None,) * len(ids), ())
    feats = torch.as_tensor(feats)
    regions = Regions(np.asarray(torch.as_tensor(pos).reshape(-1, 4)), np.asarray(feats.reshape(-1, feats.shape[-1])), (1, 1))
    return run_result(model, tokens, regions, need_grads=need_grads, answer=answer, drop_tokens=dropped_tokens,
                      drop_regions=dropped_regions)
