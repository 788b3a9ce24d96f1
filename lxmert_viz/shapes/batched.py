"""Run the model over a table of texts about images, in batches, with or without the image's objects.

Shape letters: Q texts, B batch, T tokens, R regions.
"""
from __future__ import annotations

from collections.abc import Iterator

import torch


def object_free(mask: torch.Tensor) -> torch.Tensor:
    """A region mask that keeps only the scene row: the text-only view of the same model.

    The scene row's features are the same for every image, so what the model then says depends on
    the text alone.

    Example:
        >>> object_free(torch.tensor([[1, 1, 1, 0]])).tolist()
        [[1, 0, 0, 0]]
    """
    out = torch.zeros_like(mask)
    out[:, 0] = 1
    return out


@torch.inference_mode()
def forward_batches(model, table, ids: torch.Tensor, attn: torch.Tensor, image: torch.Tensor, batch: int = 256,
                    attentions: bool = False, regions: bool = True) -> Iterator[tuple[slice, object]]:
    """``(rows, output)`` for consecutive slices of the Q texts, each with its image's regions.

    Args:
        model: an `Lxmert`.
        table: the ``ImageTable`` the ``image`` indices point into.
        ids, attn: (Q, T) token ids and mask.
        image: (Q,) image index of each text.
        batch: rows per forward.
        attentions: keep the attention maps (``output_attentions``).
        regions: False masks every object region out (``object_free``).
    """
    for s in range(0, ids.shape[0], batch):
        rows = slice(s, s + batch)
        img = image[rows]
        mask = table.mask[img] if regions else object_free(table.mask[img])
        out = model(input_ids=ids[rows], attention_mask=attn[rows], visual_feats=table.feats[img],
                    visual_pos=table.pos[img], visual_attention_mask=mask, output_attentions=attentions)
        yield rows, out
