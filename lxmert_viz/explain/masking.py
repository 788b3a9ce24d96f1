"""Live masking: ask the model again with some regions or words taken away.

Shape letters: B batch, T tokens, R regions.

Removal goes through the attention masks only (``visual_attention_mask`` / ``attention_mask`` set
to 0 at the dropped positions): every other input is unchanged and no position moves, so a dropped
region is invisible as a key to every word and region, exactly as if its row were deleted from
``visual_feats``/``visual_pos`` (the tests check this to 1e-5), and all other indices keep their
meaning for the renderers.

How a dropped position shows up in the `Result`: it stays (regions are cropped to
``regions.num_real`` only, tokens to ``len(tokens)``), with ~0 attention as a key in every map,
while its own query row is still computed (it attends as usual but nobody reads it). The dropped
positions are the typed fields ``result.dropped_regions`` / ``dropped_tokens`` so a renderer can
grey them out.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch

from ..errors import InputError, InputIndexError, InputTypeError
from ..inputs.item import Item
from ..model.output import LxmertOutput
from ..printing import Card, Printable, listing, scored
from ..result import Result
from ..run import Row, run

INPUT_KEYS = ("input_ids", "attention_mask", "visual_feats", "visual_pos", "visual_attention_mask",
              "token_type_ids", "inputs_embeds")


def model_kwargs(inputs: Mapping) -> dict:
    """The model keyword arguments out of ``inputs`` (unknown keys such as ``gold`` are dropped)."""
    if not isinstance(inputs, Mapping):
        raise InputTypeError(f"inputs must be a mapping of model keyword arguments, got {type(inputs).__name__}")
    return {k: inputs[k] for k in INPUT_KEYS if k in inputs and inputs[k] is not None}


@dataclass(repr=False)
class MaskedRun(Printable):
    """What `ask_masked` returns.

    Attributes:
        output: the model's `LxmertOutput` with the masks applied.
        inputs: the keyword arguments that were run (masks included).
        dropped_regions, dropped_tokens: the sorted positions taken away.
        result: example 0 as a `Result` when ``tokens`` and ``regions`` were given, else None.
    """

    output: LxmertOutput
    inputs: dict
    dropped_regions: list[int]
    dropped_tokens: list[int]
    result: Result | None = None

    def _card(self) -> Card:
        rows = [("dropped regions", listing(self.dropped_regions)), ("dropped tokens", listing(self.dropped_tokens))]
        if self.result is not None:
            rows.append(("answers", scored(self.result.answers)))
        return Card("MaskedRun", rows, "run.result (a Result, when tokens and regions were given), run.output")

def _positions(items: Iterable, n: int, what: str, tokens=None) -> list[int]:
    out = set()
    for it in items:
        if isinstance(it, str):
            if tokens is None:
                raise InputTypeError(f"{what} {it!r} given by name: pass tokens= to look words up")
            it = tokens.find(it)
        i = int(it)
        if not -n <= i < n:
            raise InputIndexError(f"{what} {i} is out of range for {n} {what}s")
        out.add(i % n)
    return sorted(out)


def masked_inputs(inputs: Mapping, drop_regions: Iterable[int] = (), drop_tokens: Iterable[int] = (),
                  tokens=None) -> tuple[dict, list[int], list[int]]:
    """Copy of the model keyword arguments with the given positions masked out (all examples).

    Returns:
        (inputs, dropped region positions, dropped token positions).
    """
    kw = model_kwargs(inputs)
    feats = kw["visual_feats"]
    text = kw["input_ids"] if "input_ids" in kw else kw["inputs_embeds"][..., 0]
    regs = _positions(drop_regions, feats.shape[1], "region")
    toks = _positions(drop_tokens, text.shape[1], "token", tokens)
    vm = kw.get("visual_attention_mask")
    vm = torch.ones(feats.shape[:2], dtype=feats.dtype, device=feats.device) if vm is None else vm.clone()
    tm = kw.get("attention_mask")
    tm = torch.ones(text.shape[:2], dtype=torch.long, device=text.device) if tm is None else tm.clone()
    vm[:, regs] = 0
    tm[:, toks] = 0
    kw["visual_attention_mask"], kw["attention_mask"] = vm, tm
    return kw, regs, toks


def ask_masked(model, inputs: Mapping, drop_regions: Iterable[int] = (), drop_tokens: Iterable[int | str] = (),
               tokens=None, regions=None, question: str = "", answers=None, image=None,
               top_k: int = 5) -> MaskedRun:
    """Run the model with chosen regions and/or words removed through the attention masks.

    Args:
        model: an `Lxmert`.
        inputs: batched model keyword arguments (as for the model's forward).
        drop_regions: region positions to remove.
        drop_tokens: token positions (or words, with ``tokens``) to remove; [CLS] can be dropped as a
            key, but the pooler still reads its state.
        tokens, regions: the example's `Tokens` and `Regions`; with both, a `Result` is built.
        question, answers, image: for the `Result` (``answers`` an `Answers` for the top-k list).
        top_k: answers listed in the `Result`.

    Returns:
        A `MaskedRun`.

    Example:
        >>> run = ask_masked(kit.model, result.model_inputs(), drop_regions=[1])   # region 1: the circle
        >>> run.dropped_regions, run.output.question_answering_score.shape
        ([1], torch.Size([1, 20]))
    """
    kw, regs, toks = masked_inputs(inputs, drop_regions, drop_tokens, tokens)
    if tokens is None or regions is None:  # plain keyword arguments: no Result to build
        with torch.no_grad():
            return MaskedRun(model(**kw), kw, regs, toks, None)
    if kw["visual_feats"].shape[0] != 1:
        raise InputError("ask_masked with tokens= and regions= runs one example: give batch-of-one inputs")
    item = Item(tokens, regions, question=question, image=image)
    batch = run(model, [Row(item, tuple(toks), tuple(regs))], answers, top_k)
    return MaskedRun(batch.output, kw, regs, toks, batch.result(0))
