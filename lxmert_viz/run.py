"""The one door to the model: prepared questions in, `Result`s out.

Shape letters: B rows of the batch, U image sides computed, T tokens (padded), R regions (padded),
F region features, A answers, D hidden.

Every capability that runs the model for a question — `Kit.ask`, masking, gradients, explanations,
head ablation and ranking, patching, masked words, matching, region labels, the data-set worker,
replay and the perturbation benchmark — builds `Row`s and calls `run`. Here, and only here:
- the questions are padded to one length and the images' regions to one count (masks mark padding);
- the image side (visual embedding + relationship encoder) runs once per distinct image in the
  batch and is shared by that image's rows (a row whose region drops or intervention change the
  image side gets its own);
- the model is put in eval mode for the pass and its mode restored after;
- gradients of chosen answers with respect to every attention map are taken (one backward pass);
- per-row interventions (`lxmert_viz.model.hooks.Intervention`) and dropped positions are applied,
  and recorded as typed fields of each `Result`;
- `Result`s are cut from the batched output (padding dropped, detached, on the CPU).

Numbers depend on the batch's padded shape in the last bits of float32 (the same question alone and
in a batch of three differ by ~1e-7), so a caller that wants reproducible numbers keeps its batches
the same; `run` itself is deterministic for a given batch.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import torch

from .errors import InputError, InputIndexError, InputTypeError, ModelInputError
from .inputs.answers import Answers
from .inputs.item import Item
from .inputs.regions import Regions
from .model.hooks import HookFn, Intervention, hooks, select_names
from .model.hooks import image_side as image_side_point
from .model.output import AttentionMaps, LxmertOutput, VisionState
from .printing import Card, Printable
from .result import Result


@dataclass(frozen=True)
class Row:
    """One row of a batch: an item, what is taken away from it, and what is done to its pass.

    Attributes:
        item: the prepared question.
        drop_tokens, drop_regions: positions masked out through the attention masks (sorted).
        intervention: hook functions run on this row only, or None.
        answer: with gradients, the answer index whose logit is differentiated (None: the top one).
    """

    item: Item
    drop_tokens: tuple[int, ...] = ()
    drop_regions: tuple[int, ...] = ()
    intervention: Intervention | None = None
    answer: int | None = None

    def __post_init__(self):
        if not isinstance(self.item, Item):
            raise InputTypeError(f"run takes Items (lxmert_viz.inputs.item.Item) or Rows, got {type(self.item).__name__}")
        for what, given, n in (("token", self.drop_tokens, len(self.item.tokens)),
                               ("region", self.drop_regions, _real_rows(self.item.regions))):
            bad = [i for i in given if not 0 <= int(i) < n]
            if bad:
                raise InputIndexError(f"dropped {what} positions {bad} are out of range 0..{n - 1}")
            object.__setattr__(self, f"drop_{what}s", tuple(sorted({int(i) for i in given})))


@contextmanager
def eval_mode(model):
    """The model in eval mode inside the block; after it, each module's mode as it was. A model already
    in eval mode is not touched (``model.eval()`` walks every module: a tenth of a small batch's time)."""
    training = [m for m in model.modules() if m.training]
    if training:
        model.eval()
    try:
        yield model
    finally:
        for m in training:
            m.training = True


def _real_rows(regions: Regions) -> int:
    return regions.num_real if regions.num_real > 0 else len(regions)


def image_tensors(regions: Sequence[Regions], dtype, device, drops: Sequence[Iterable[int]] = ()):
    """``visual_feats`` (U, R, F), ``visual_pos`` (U, R, 4) and ``visual_attention_mask`` (U, R) of
    several images, each cut to its real rows and padded to the longest (``drops[u]``: rows masked out)."""
    rows = [_real_rows(r) for r in regions]
    if min(rows) == 0:
        raise ModelInputError("the extractor found no regions and gave no padding rows to attend to")
    r_max, f = max(rows), regions[0].feats.shape[1]
    feats = torch.zeros((len(regions), r_max, f), dtype=dtype)  # (U, R, F)
    pos = torch.zeros((len(regions), r_max, 4), dtype=dtype)
    vmask = torch.zeros((len(regions), r_max), dtype=dtype)
    for u, (reg, n) in enumerate(zip(regions, rows)):
        if reg.feats.shape[1] != f:
            raise ModelInputError(f"images in one batch have {f}- and {reg.feats.shape[1]}-d region features")
        feats[u, :n] = torch.as_tensor(reg.feats[:n])
        pos[u, :n] = torch.as_tensor(reg.boxes_norm[:n])
        vmask[u, : reg.num_real] = 1.0
    for u, gone in enumerate(drops):
        vmask[u, list(gone)] = 0.0
    return feats.to(device), pos.to(device), vmask.to(device)


def image_side(model, regions: Sequence[Regions], maps: bool = True) -> VisionState:
    """The image side of several images at once (batch U), for sharing (`Kit` caches it per image)."""
    feats, pos, vmask = image_tensors(regions, model.dtype, model.device)
    return model.encode_image(feats, pos, vmask, output_attentions=maps)


def _text_tensors(rows: Sequence[Row], pad_id: int):
    """``input_ids`` and ``attention_mask`` (B, T): each row's tokens, padded, its drops masked out."""
    t = max(len(r.item.tokens) for r in rows)
    ids = torch.full((len(rows), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), t), dtype=torch.long)
    for b, r in enumerate(rows):
        n = len(r.item.tokens)
        ids[b, :n] = torch.tensor(r.item.tokens.ids)
        mask[b, :n] = 1
        mask[b, list(r.drop_tokens)] = 0
    return ids, mask


def _select(t, index):
    return None if t is None else t.index_select(0, index)


def share(vision: VisionState, index: torch.Tensor) -> VisionState:
    """Each row's copy of its image side: (U, ...) -> (B, ...) by ``index`` (the state itself when
    every row has its own, so that gradients reach the maps the pass used)."""
    if vision.batch_size == len(index) and bool((index == torch.arange(len(index), device=index.device)).all()):
        return vision
    atts = None if vision.attentions is None else tuple(_select(a, index) for a in vision.attentions)
    return VisionState(tuple(_select(h, index) for h in vision.hidden), atts, _select(vision.visual_attention_mask, index))


def _units(rows: Sequence[Row], config, grads: bool) -> tuple[list[int], list[int]]:
    """Which rows share an image side: (first row of each unit, unit of each row). With gradients
    every row has its own (a shared map's gradient would mix the rows)."""
    key_of: dict[tuple, int] = {}
    first, unit = [], []
    for b, r in enumerate(rows):
        own = grads or (r.intervention is not None and r.intervention.touches_image_side(config))
        key = (id(r.item.regions), r.drop_regions, b if own else None)
        if key not in key_of:
            key_of[key] = len(first)
            first.append(b)
        unit.append(key_of[key])
    return first, unit


def _row_hooks(model, rows: Sequence[Row], unit: Sequence[int]) -> dict[str, HookFn]:
    """One hook function per hook name that runs each row's intervention on that row's slice (on the
    image side the slice is the row's own image unit, see `_units`)."""
    by_name: dict[str, list[tuple[int, HookFn]]] = {}
    for b, r in enumerate(rows):
        if r.intervention is None:
            continue
        for key, fn in r.intervention.fns.items():
            for name in select_names(model, key):
                at = unit[b] if image_side_point(name, model.config) else b
                by_name.setdefault(name, []).append((at, fn))

    def apply(value, name):
        out = value.clone()
        for b, fn in by_name[name]:
            new = fn(out[b:b + 1], name)
            if new is not None:
                out[b:b + 1] = new
        return out

    return {name: apply for name in by_name}


def _check_rows(rows) -> list[Row]:
    rows = [r if isinstance(r, Row) else Row(r) for r in rows]
    if not rows:
        raise InputError("run got no rows: give at least one Item")
    return rows


def _graph_inputs(model, ids, feats):
    """Inputs that put every map in the autograd graph even when the parameters are frozen."""
    if any(p.requires_grad for p in model.parameters()):
        return {"input_ids": ids}, feats
    emb = model.lxmert.embeddings.word_embeddings(ids).detach().requires_grad_(True)
    return {"inputs_embeds": emb}, feats.detach().requires_grad_(True)


def _attention_grads(out: LxmertOutput, rows: Sequence[Row]):
    """d(sum over rows of the chosen answer's logit)/dA for every map, and the answers chosen."""
    logits = out.question_answering_score  # (B, A)
    chosen = []
    for b, r in enumerate(rows):
        a = int(logits[b].detach().argmax()) if r.answer is None else int(r.answer)
        if not 0 <= a < logits.shape[1]:
            raise InputError(f"answer index {a} is out of range 0..{logits.shape[1] - 1}")
        chosen.append(a)
    target = logits[0, chosen[0]] if len(rows) == 1 else logits[torch.arange(len(rows)), chosen].sum()
    fams = list(out.attentions)
    flat = [a for f in fams for a in out.attentions.layers(f)]
    got = torch.autograd.grad(target, flat, allow_unused=True)
    # A map with no path to the answer (the last layer's vision side) has dA = 0.
    got = [torch.zeros_like(a) if g is None else g for a, g in zip(flat, got)]
    grads, k = {}, 0
    for f in fams:
        n = len(out.attentions.layers(f))
        grads[f], k = tuple(got[k:k + n]), k + n
    return grads, chosen


def run(model, rows: Sequence[Row | Item], answers: Answers | None = None, top_k: int = 5, maps: bool = True,
        grads: bool = False, cache: str | Iterable[str] | None = None, vision: VisionState | None = None,
        meta: Mapping | None = None, pad_id: int = 0) -> Batch:
    """Run prepared questions through ``model`` in one padded batch.

    Args:
        model: an `Lxmert`.
        rows: `Row`s (or `Item`s, each a row with nothing dropped or changed).
        answers: the model's `Answers`, for each result's top answers and scoring.
        top_k: answers kept in each `Result`.
        maps: keep the attention maps (False: the fused attention kernel, no maps).
        grads: also take d(answer logit)/dA for every map (one backward pass; needs the QA head).
        cache: hook names (or globs) whose values to keep, detached (`Batch.cache`).
        vision: a precomputed image side (`image_side`) for rows that all share one image with
            nothing dropped from it (the kit's per-image cache).
        meta: free-form notes copied into every `Result`.
        pad_id: the token id under padding positions (masked out: it never reaches a kept state).

    Returns:
        A `Batch`: the padded output, and a `Result` per row on demand.

    Example:
        >>> item = Item(result.tokens, result.regions, question=result.question)
        >>> batch = run(kit.model, [item, Row(item, drop_regions=(1,))], kit.answers)  # region 1: the circle
        >>> [r.answer for r in batch.results()], batch.result(1).dropped_regions
        (['black', '0'], (1,))
    """
    rows = _check_rows(rows)
    if grads and "qa" not in model.output_heads:
        raise InputError("gradients of an answer need a model with the QA head (output_heads=('qa',))")
    dev = model.device
    ids, tmask = _text_tensors(rows, pad_id)
    first, unit = _units(rows, model.config, grads)
    if vision is not None and (len(first) != 1 or rows[0].drop_regions):
        raise InputError("a precomputed vision state serves rows of one image with no region dropped")
    row_fns = _row_hooks(model, rows, unit)
    keep: dict[str, torch.Tensor] = {}
    read = {} if cache is None else {n: (lambda v, name: keep.__setitem__(name, v.detach()))
                                     for n in select_names(model, cache)}
    grad_ctx = torch.enable_grad() if grads else torch.inference_mode()
    with eval_mode(model), grad_ctx, hooks(model, row_fns), hooks(model, read, strict=cache is not None):
        text = {"input_ids": ids.to(dev)}
        if vision is None:
            feats, pos, vmask = image_tensors([rows[b].item.regions for b in first], model.dtype, dev,
                                              [rows[b].drop_regions for b in first])
            if grads:
                text, feats = _graph_inputs(model, text["input_ids"], feats)
            vision = model.encode_image(feats, pos, vmask, output_attentions=maps)
        elif grads:
            raise InputError("gradients need the image side computed in the same pass: leave vision out")
        index = torch.tensor(unit, device=dev)
        out = model(**text, attention_mask=tmask.to(dev), vision=share(vision, index), output_attentions=maps)
        grad_maps, chosen = _attention_grads(out, rows) if grads else (None, None)
    return Batch(out, rows, answers, top_k, keep, grad_maps, chosen, dict(meta or {}))


def _on_cpu(out: LxmertOutput) -> LxmertOutput:
    """The output with every tensor detached on the CPU (itself when it is there already)."""
    if out.pooled_output.device.type == "cpu":
        return out
    cpu = lambda t: None if t is None else t.detach().cpu()  # noqa: E731
    maps = AttentionMaps({f: tuple(cpu(a) for a in out.attentions.layers(f)) for f in out.attentions})
    return replace(out, lang_hidden=tuple(cpu(h) for h in out.lang_hidden),
                   vis_hidden=tuple(cpu(h) for h in out.vis_hidden), attentions=maps,
                   pooled_output=cpu(out.pooled_output), question_answering_score=cpu(out.question_answering_score))


@dataclass(repr=False)
class Batch(Printable):
    """What `run` returns: the padded output of one pass and a `Result` per row on demand.

    Attributes:
        output: the `LxmertOutput` (batch B, padded; row ``b`` is ``rows[b]``).
        rows: the rows run.
        answers, top_k: for the results' answer lists.
        cache: hook name -> value kept (``cache=`` of `run`).
        grads: family -> per layer (B, H, Q, K) gradients, or None.
        explained: per row, the answer index the gradients are of, or None.
        meta: notes copied into every result.
    """

    output: LxmertOutput
    rows: list[Row]
    answers: Answers | None = None
    top_k: int = 5
    cache: dict = field(default_factory=dict)
    grads: dict | None = None
    explained: list[int] | None = None
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def _card(self) -> Card:
        rows = [(f"row {b}", f"{r.item.question or ' '.join(r.item.tokens.words)!r}"
                 + (f", dropped {list(r.drop_tokens)} / {list(r.drop_regions)}" if r.drop_tokens or r.drop_regions else "")
                 + (f", {r.intervention.kind}" if r.intervention is not None else ""))
                for b, r in enumerate(self.rows[:8])]
        return Card(f"Batch: {len(self.rows)} rows{', with gradients' if self.grads is not None else ''}", rows,
                    "batch.results() for Results, batch.logits() for the answer logits, batch.output")

    def logits(self) -> torch.Tensor | None:
        """(B, A) answer logits as float32 on the CPU, or None without the QA head."""
        s = self.output.question_answering_score
        return None if s is None else s.detach().float().cpu()

    def result(self, b: int) -> Result:
        """Row ``b`` as a `Result`."""
        return self._results(_on_cpu(self.output), [b])[0]

    def results(self) -> list[Result]:
        """A `Result` per row (one transfer of the output to the CPU)."""
        return self._results(_on_cpu(self.output), range(len(self.rows)))

    def _results(self, out: LxmertOutput, which) -> list[Result]:
        scores = out.question_answering_score
        res = []
        for b in which:
            r = self.rows[b]
            top = []
            if self.answers is not None and scores is not None:
                top = self.answers.top_k(scores[b], self.top_k)
            res.append(Result.from_output(
                out, b, r.item.question, r.item.tokens, r.item.regions, image=r.item.image, answers=top,
                meta=self.meta, grads=self.grads, explained_answer=None if self.explained is None else self.explained[b],
                scoring=self.answers.scoring if self.answers is not None else "softmax",
                dropped_tokens=r.drop_tokens, dropped_regions=r.drop_regions, intervention=r.intervention))
        return res
