"""One pass of the model for explaining: every attention map and, when asked, its gradient.

Shape letters: B batch, H heads, T tokens, R regions, A answers.

The maps in `LxmertOutput.attentions` are the softmax outputs themselves, still in the autograd
graph, so one ``torch.autograd.grad(answer logits, all maps)`` gives every dA at once: one forward
and one backward pass per batch, no hooks. The logits of different examples do not interact (eval
mode, no batch statistics), so the gradient of their sum gives each example its own dA.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..model.output import FAMILIES

INPUT_KEYS = ("input_ids", "attention_mask", "visual_feats", "visual_pos", "visual_attention_mask",
              "token_type_ids", "inputs_embeds")


@dataclass
class Trace:
    """One example's maps, cropped to its real tokens and regions, in float64 on CPU.

    Attributes:
        maps: family -> per layer (H, Q, K) attention probabilities.
        grads: family -> per layer (H, Q, K) d(answer logit)/dA, or None when not asked.
        answer: the explained answer index.
        logit: its logit.
        token_index: (T,) input positions of the real tokens.
        region_index: (R,) input positions of the real regions.
    """

    maps: dict[str, list[torch.Tensor]]
    grads: dict[str, list[torch.Tensor]] | None
    answer: int
    logit: float
    token_index: np.ndarray
    region_index: np.ndarray


def model_inputs(inputs: Mapping) -> dict:
    """The model keyword arguments out of ``inputs`` (unknown keys such as ``gold`` are dropped)."""
    if not isinstance(inputs, Mapping):
        raise TypeError(f"inputs must be a mapping of model keyword arguments, got {type(inputs).__name__}")
    return {k: inputs[k] for k in INPUT_KEYS if k in inputs and inputs[k] is not None}


def keep_masks(kwargs: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) and (B, R) bool: which tokens and regions are real (mask 1, or no mask given)."""
    text = kwargs["input_ids"] if "input_ids" in kwargs else kwargs["inputs_embeds"][..., 0]
    vis = kwargs["visual_feats"][..., 0]
    tm = kwargs.get("attention_mask")
    vm = kwargs.get("visual_attention_mask")
    tm = torch.ones(text.shape[:2], dtype=torch.bool) if tm is None else tm.detach().cpu() > 0
    vm = torch.ones(vis.shape[:2], dtype=torch.bool) if vm is None else vm.detach().cpu() > 0
    return tm, vm


def _answers(answer, logits: torch.Tensor) -> torch.Tensor:
    bsz = logits.shape[0]
    if answer is None:
        return logits.detach().argmax(-1)
    if isinstance(answer, (int, np.integer)):
        return torch.full((bsz,), int(answer), dtype=torch.long, device=logits.device)
    ans = torch.as_tensor(np.asarray(answer), dtype=torch.long, device=logits.device).view(-1)
    if ans.shape[0] != bsz:
        raise ValueError(f"got {ans.shape[0]} answers for a batch of {bsz}")
    return ans


def _graph_ready(model, kwargs: dict) -> dict:
    """Make sure every map is in the graph even when the caller froze the parameters."""
    if any(p.requires_grad for p in model.parameters()):
        return kwargs
    kwargs = dict(kwargs)
    if "input_ids" in kwargs:
        ids = kwargs.pop("input_ids")
        kwargs["inputs_embeds"] = model.lxmert.embeddings.word_embeddings(ids)
    kwargs["inputs_embeds"] = kwargs["inputs_embeds"].detach().requires_grad_(True)
    kwargs["visual_feats"] = kwargs["visual_feats"].detach().requires_grad_(True)
    return kwargs


def run_trace(model, inputs: Mapping, answer: int | Sequence[int] | None = None,
              need_grads: bool = True) -> list[Trace]:
    """Run ``model`` once (and backward once when ``need_grads``) and cut out each example.

    Args:
        model: an `Lxmert` with the QA head.
        inputs: model keyword arguments, batched: ``input_ids`` (B, T), ``visual_feats`` (B, R, F),
            ``visual_pos`` (B, R, 4) and optionally ``attention_mask``, ``visual_attention_mask``.
        answer: the answer to explain: None (each example's top answer), one index, or one per example.
        need_grads: compute dA (needed by gradient relevancy only).

    Returns:
        One `Trace` per example.
    """
    if "qa" not in getattr(model, "output_heads", ()):
        raise ValueError("explanations need a model with the QA head (output_heads=('qa',))")
    kwargs = model_inputs(inputs)
    tmask, vmask = keep_masks(kwargs)
    was_training = model.training
    model.eval()
    try:
        with torch.set_grad_enabled(need_grads):
            if need_grads:
                kwargs = _graph_ready(model, kwargs)
            out = model(**kwargs, output_attentions=True)
            logits = out.question_answering_score  # (B, A)
            ans = _answers(answer, logits)
            if int(ans.min()) < 0 or int(ans.max()) >= logits.shape[1]:
                raise ValueError(f"answer index out of range 0..{logits.shape[1] - 1}")
            chosen = logits.gather(1, ans[:, None])[:, 0]  # (B,)
            fams = [f for f in FAMILIES if f in out.attentions]
            flat = [a for f in fams for a in out.attentions.layers(f)]
            grads = None
            if need_grads:
                got = torch.autograd.grad(chosen.sum(), flat, allow_unused=True)
                # A map with no path to the answer (the last layer's vision side) has dA = 0.
                grads = [torch.zeros_like(a) if g is None else g for a, g in zip(flat, got)]
    finally:
        model.train(was_training)
    traces = []
    for b in range(logits.shape[0]):
        ti = torch.nonzero(tmask[b]).view(-1)
        ri = torch.nonzero(vmask[b]).view(-1)
        maps, gmaps, k = {}, ({} if need_grads else None), 0
        for f in fams:
            qi = ti if f in ("lang", "l2v", "cross_lang") else ri
            ki = ti if f in ("lang", "v2l", "cross_lang") else ri
            maps[f], layers_g = [], []
            for a in out.attentions.layers(f):
                maps[f].append(_crop(a[b], qi, ki))
                if need_grads:
                    layers_g.append(_crop(grads[k][b], qi, ki))
                k += 1
            if need_grads:
                gmaps[f] = layers_g
        traces.append(Trace(maps, gmaps, int(ans[b]), float(chosen[b].detach()), ti.numpy(), ri.numpy()))
    return traces


def _crop(a: torch.Tensor, qi: torch.Tensor, ki: torch.Tensor) -> torch.Tensor:
    a = a.detach().to("cpu", torch.float64)  # (H, Q, K)
    return a.index_select(1, qi.to(a.device)).index_select(2, ki.to(a.device))
