"""The losses that train the shapes-world model, each through one of LXMERT's own output heads.

Shape letters: B rows, T tokens, R regions, F region features, V vocabulary, L region labels.

* answer: cross entropy of the QA head (``answer_head``) on [CLS]'s pooled state;
* region labels: the ``obj`` head on each region's final state must give its object's colour x
  shape label (generated scenes; LXMERT's masked-object label objective without the masking);
* masked words: BERT masking of true sentences about the image, colour and shape words masked
  more often (``object_mask``), predicted by ``cls.predictions`` (tied to the word embeddings);
* image-text matching: ``cls.seq_relationship`` on the pooled state says whether a sentence is
  true of the image (index 1: it matches; ``world/statements.py`` defines it);
* word referent (the default model only; off in ``shapes-plain``): the final state of the word that
  names a question's one object ("circle" in "what color is the circle?"), read by the region
  heads, must give that object's label (``obj``) and its region's feature vector (``feat``,
  squared error). No loss reads an attention map: this one asks for the object in the word's
  state, and leaves to the model where the word attends to find it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..inputs.text import Tokenizer


def mask_tokens(ids: torch.Tensor, attn: torch.Tensor, tok: Tokenizer, gen: torch.Generator, p: float = 0.15,
                object_ids: torch.Tensor | None = None, object_p: float = 0.15):
    """BERT masking of real, non-special tokens: returns (masked ids, labels with -100 elsewhere).

    Words in ``object_ids`` (colours, shapes) are masked with probability ``object_p`` instead of
    ``p``: predicting a masked colour or shape from the rest of a sentence needs the image.

    Example:
        >>> from lxmert_viz.assets import shapes_model_dir
        >>> from lxmert_viz.shapes.training_data import object_word_ids
        >>> tok = Tokenizer.from_pretrained(shapes_model_dir())
        >>> _, b = tok.batch(["the red circle is left of the blue triangle"])
        >>> ids, labels = mask_tokens(b["input_ids"], b["attention_mask"], tok, torch.Generator().manual_seed(0),
        ...                           p=0.0, object_ids=object_word_ids(tok), object_p=1.0)
        >>> [tok.id_to_token(int(i)) for i in ids[0]][1:-1]
        ['the', '[MASK]', '[MASK]', 'is', 'left', 'of', 'the', '[MASK]', '[MASK]']
    """
    special = (ids == tok.cls_id) | (ids == tok.sep_id) | (attn == 0)
    rate = torch.full(ids.shape, p)
    if object_ids is not None:
        rate = torch.where(torch.isin(ids, object_ids), torch.tensor(object_p), rate)
    pick = (torch.rand(ids.shape, generator=gen) < rate) & ~special
    labels = torch.where(pick, ids, torch.full_like(ids, -100))
    masked = torch.where(pick, torch.full_like(ids, tok.mask_id), ids)
    return masked, labels


def region_label_loss(obj_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(B, R, L) logits against (B, R) labels (-1: no label); 0 when no region has one."""
    loss = F.cross_entropy(obj_logits.reshape(-1, obj_logits.shape[-1]), labels.reshape(-1), ignore_index=-1)
    return torch.nan_to_num(loss)  # a batch of easy-vqa images only has no region labels


def masked_word_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(B, T, V) logits against (B, T) labels (-100: not masked); 0 when nothing was masked."""
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
    return torch.nan_to_num(loss)


def matching_loss(scores: torch.Tensor, match: torch.Tensor) -> torch.Tensor:
    """(B, 2) ``cross_relationship_score`` against (B,) 1 = the sentence matches the image."""
    return F.cross_entropy(scores, match)


def referent_loss(obj_predict_head, lang_last: torch.Tensor, word_pos: torch.Tensor, obj_label: torch.Tensor,
                  region_feats: torch.Tensor) -> torch.Tensor:
    """The word-referent objective on rows whose question names one object.

    Args:
        obj_predict_head: the model's region heads (``obj`` and ``feat``).
        lang_last: (B, T, D) final language states.
        word_pos: (B,) token index of the naming word.
        obj_label: (B,) its object's region label.
        region_feats: (B, F) its object's region features.
    """
    pred = obj_predict_head(lang_last[torch.arange(len(word_pos)), word_pos])
    loss = F.cross_entropy(pred["obj"], obj_label)
    if "feat" in pred:  # where it is and how big: what the text never says
        loss = loss + F.mse_loss(pred["feat"], region_feats, reduction="none").sum(-1).mean()
    return loss
