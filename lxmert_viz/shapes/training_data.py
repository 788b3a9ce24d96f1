"""The training tables of the shapes-world model: one image table, questions, sentences.

Shape letters: N images, Q questions, S sentences, R regions, F region features, T tokens.

`build_data` concatenates the generated training scenes (seed ``TRAIN_SEED``, with their side
questions and their matched and mismatched sentences) and easy-vqa's train split into flat
tensors that the trainer indexes by row.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..inputs.text import Tokenizer
from .data import QATable, easyvqa_split, encode_questions, referent_regions, scenes_split, statements_split
from .sides import side_questions
from .train_config import TrainConfig
from .world import COLORS, SHAPES

TRAIN_SEED = 1
"""Data seed of the training scenes; the evaluation uses others (``evaluate.HELD_OUT_SEED``)."""
TWO_OBJECT_QTYPES = ("relation", "size")
"""Questions comparing two named objects."""
LOG_QTYPES = ("color", "shape", "exist", "count", "relation", "size", "side", "easyvqa")
"""Question types, in the order of the ``qtype`` column (training accuracy is logged per type)."""


def concat_qa(a: QATable, b: QATable, pad_id: int) -> QATable:
    """Questions of ``a`` then ``b`` (same image table), token tensors padded to the longer."""
    t = max(a.ids.shape[1], b.ids.shape[1])
    ids = torch.cat([F.pad(x.ids, (0, t - x.ids.shape[1]), value=pad_id) for x in (a, b)])
    attn = torch.cat([F.pad(x.attn, (0, t - x.attn.shape[1])) for x in (a, b)])
    return QATable(ids, attn, torch.cat([a.answer, b.answer]), torch.cat([a.image, b.image]), a.text + b.text,
                   a.qtype + b.qtype, a.target + b.target, a.target_token + b.target_token)


def _with_side_questions(tok: Tokenizer, qa: QATable, scenes, kinds) -> QATable:
    rng = np.random.default_rng(TRAIN_SEED)
    extra = [(i, q) for i, sc in enumerate(scenes) for q in side_questions(sc, rng, kinds=kinds)]
    side_qa = encode_questions(tok, [q.text for _, q in extra], [q.answer for _, q in extra],
                               [i for i, _ in extra], [q.qtype for _, q in extra],
                               [q.target for _, q in extra], [q.target_char for _, q in extra])
    return concat_qa(qa, side_qa, tok.pad_id)


def build_data(tok: Tokenizer, cfg: TrainConfig, progress: bool = False) -> dict[str, torch.Tensor]:
    """Image, question and sentence tensors of the whole training set.

    Returns:
        ``feats`` (N, R, F), ``pos`` (N, R, 4), ``mask`` (N, R), ``obj`` (N, R) region labels or -1;
        per question ``ids``/``attn`` (Q, T), ``answer``, ``image``, ``source`` (0 scenes, 1 easy-vqa),
        ``qtype`` (index into ``LOG_QTYPES``), ``word_pos``/``word_region`` (the naming word and its
        object's region, -1 when none); per sentence ``st_ids``/``st_attn`` (S, T), ``st_image``,
        ``st_match`` (1 matched). The images are drawn and read over ``cfg.threads`` processes
        (``pool.ordered_map``: the same tensors as one process gives); ``progress`` shows bars meanwhile.
    """
    table, qa, scenes = scenes_split(tok, cfg.n_scenes, TRAIN_SEED, style=cfg.style, workers=cfg.threads,
                                     progress=progress)
    if cfg.sides:
        qa = _with_side_questions(tok, qa, scenes, cfg.side_kinds)
    st = statements_split(tok, scenes, TRAIN_SEED)
    parts = [(table, qa)]
    if cfg.easyvqa:
        parts.append(easyvqa_split(tok, "train", workers=cfg.threads, progress=progress))
    t = max(p[1].ids.shape[1] for p in parts)
    cat = torch.cat
    offsets = np.cumsum([0] + [tb.feats.shape[0] for tb, _ in parts])[:-1]
    words = [referent_regions(tb, q) for tb, q in parts]  # easy-vqa names no object: all -1
    return dict(
        feats=cat([tb.feats for tb, _ in parts]), pos=cat([tb.pos for tb, _ in parts]),
        mask=cat([tb.mask for tb, _ in parts]), obj=cat([tb.obj for tb, _ in parts]),
        ids=cat([F.pad(q.ids, (0, t - q.ids.shape[1]), value=tok.pad_id) for _, q in parts]),
        attn=cat([F.pad(q.attn, (0, t - q.attn.shape[1])) for _, q in parts]),
        answer=cat([q.answer for _, q in parts]), image=cat([q.image + int(o) for (_, q), o in zip(parts, offsets)]),
        source=cat([torch.full((len(q.answer),), k) for k, (_, q) in enumerate(parts)]),
        qtype=cat([torch.tensor([LOG_QTYPES.index(x) for x in q.qtype]) for _, q in parts]),
        word_pos=cat([w[0] for w in words]), word_region=cat([w[1] for w in words]),
        st_ids=st.ids, st_attn=st.attn, st_image=st.image, st_match=st.match,
    )


def of_types(data: dict, names) -> torch.Tensor:
    """(Q,) bool: which questions of ``build_data``'s table are of the named types."""
    return torch.isin(data["qtype"], torch.tensor([LOG_QTYPES.index(t) for t in names]))


def object_word_ids(tok: Tokenizer) -> torch.Tensor:
    """Token ids of the words that describe objects (colours and shapes, singular and plural).

    Example:
        >>> from lxmert_viz.assets import shapes_model_dir
        >>> len(object_word_ids(Tokenizer.from_pretrained(shapes_model_dir())))  # 8 colours, 3 shapes, 3 plurals
        14
    """
    words = [*COLORS, *SHAPES, *(s + "s" for s in SHAPES)]
    vocab = tok.vocab()
    return torch.tensor(sorted({vocab[w] for w in words if w in vocab}), dtype=torch.long)
