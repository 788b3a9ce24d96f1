"""Shared test fixtures: a seed, and tiny random inputs for LXMERT."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture
def seed():
    """Seed torch's generator; returns the seed."""
    torch.manual_seed(0)
    return 0


@pytest.fixture
def one_thread():
    """Run torch on one thread: tiny models gain nothing from more, and on a shared, loaded
    machine intra-op threads contend (a 3x slower suite was measured with 2 threads)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
