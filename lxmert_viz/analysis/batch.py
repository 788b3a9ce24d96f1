"""The per-batch function both backends run: examples in, records out.

Shape letters: B questions, U distinct images in the batch, T tokens (padded), R regions (padded),
F region features.

A `BatchWorker` is what one worker holds: the kit (its model is loaded once per worker), an
`Encoder` with its per-image region cache, and the statistics. For a batch it encodes the
examples, pads the questions to one length and the images' regions to one count (masks mark the
padding), runs each distinct image's vision side once and shares it with that image's questions,
runs the language and cross layers for the batch, cuts one `Result` per question and computes
every statistic from it. The local runner calls it in-process; the Ray backend calls the same
code inside `map_batches`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ..model.output import FAMILIES, VisionState
from ..result import Result
from .encode import EncodedExample, Encoder
from .example import Example
from .schema import base_record, map_bytes
from .stats import ModelShape, Stat, StatContext, resolve


@dataclass(frozen=True)
class MapsRequest:
    """Which examples keep their full attention maps (float16) in the records, and which families.

    Attributes:
        first: the first this many examples of the data set; or
        ids: these example ids (both may be given: either selects).
        families: the families kept.
    """

    first: int | None = None
    ids: frozenset[str] | None = None
    families: tuple[str, ...] = FAMILIES

    def __post_init__(self):
        bad = [f for f in self.families if f not in FAMILIES]
        if bad:
            raise ValueError(f"unknown attention families {bad}; families are {list(FAMILIES)}")
        if self.first is None and self.ids is None:
            raise ValueError("MapsRequest needs first= (a count) or ids= (example ids)")

    def wants(self, index: int, example_id: str) -> bool:
        return (self.first is not None and index < self.first) or (self.ids is not None and example_id in self.ids)

    @classmethod
    def of(cls, maps) -> "MapsRequest | None":
        """None, a count (the first n examples, every family), ids, or a `MapsRequest`."""
        if maps is None or isinstance(maps, MapsRequest):
            return maps
        if isinstance(maps, int):
            return cls(first=maps)
        return cls(ids=frozenset(str(i) for i in maps))

    def to_dict(self) -> dict:
        return {"first": self.first, "ids": None if self.ids is None else sorted(self.ids),
                "families": list(self.families)}


class NoDetector:
    """Stands in for the region detector when every example comes with its features, so a
    checkpoint's kit loads without the Faster R-CNN (no download of its weights)."""

    def extract(self, images, num_regions=36):
        raise ValueError("this run was set up for precomputed features, so no region detector was loaded; "
                         "an example that is an image needs a kit with a detector (model=lxmert_viz.load(...))")


def make_kit(model, detector: bool = True):
    """A kit from ``model``: None (the embedded shapes model), a name or folder for
    `lxmert_viz.load`, a ready `Kit`, or a function of no arguments that returns one.
    ``detector=False``: a checkpoint is loaded without its region detector (features given)."""
    if model is None or isinstance(model, str) or hasattr(model, "__fspath__"):
        from ..kit import load

        name = None if model is None else str(model)
        if name is not None and not name.startswith("shapes") and not detector:
            return load(name, frcnn=NoDetector())
        return load(name)
    if hasattr(model, "model") and hasattr(model, "tokenizer"):
        return model
    if callable(model):
        return model()
    raise TypeError(f"model must be a name, a folder, a Kit or a function returning one, got {type(model).__name__}")


def _on_cpu(out):
    """The batch's output with every tensor on the CPU (itself when it is there already)."""
    if out.pooled_output.device.type == "cpu":
        return out
    from dataclasses import replace

    from ..model.output import AttentionMaps

    cpu = lambda t: None if t is None else t.detach().cpu()  # noqa: E731
    maps = AttentionMaps({f: tuple(cpu(a) for a in out.attentions.layers(f)) for f in out.attentions})
    return replace(out, lang_hidden=tuple(cpu(h) for h in out.lang_hidden), vis_hidden=tuple(cpu(h) for h in out.vis_hidden),
                   attentions=maps, pooled_output=cpu(out.pooled_output),
                   question_answering_score=cpu(out.question_answering_score))


def _share_vision(vision: VisionState, index: torch.Tensor) -> VisionState:
    """Each question's copy of its image's vision side: (U, ...) -> (B, ...)."""
    pick = lambda t: None if t is None else t.index_select(0, index)  # noqa: E731
    atts = None if vision.attentions is None else tuple(pick(a) for a in vision.attentions)
    return VisionState(tuple(pick(h) for h in vision.hidden), atts, pick(vision.visual_attention_mask))


class BatchWorker:
    """One worker's state and its per-batch function.

    Args:
        kit: a `Kit` (or anything `make_kit` takes).
        device: move the kit's model there (``"cuda"``); records are always computed on the CPU copy
            of each batch's output.
        detector: False when every example has precomputed features (see `make_kit`).
        stats: statistics (names, `Stat`s or functions; see `lxmert_viz.analysis.stats`).
        top_k: answers kept by ``topk`` (and in each result).
        methods: explanation methods of the ``explain`` statistic (default: all).
        maps: which examples keep their full maps (`MapsRequest.of`).

    Example:
        >>> from lxmert_viz.analysis.datasets import shapes_dataset
        >>> worker = BatchWorker(kit, ["answer", "pointing"])
        >>> recs = worker.records(list(enumerate(shapes_dataset(1).take(3))))
        >>> [r["answer"] for r in recs], len(recs[0]["ref_top1.l2v"])       # 3 cross layers x 4 heads
        (['black', 'circle', 'circle'], 12)
    """

    def __init__(self, kit, stats: Sequence[str | Stat | Callable] | str | None = None, top_k: int = 5,
                 methods: Sequence[str] = (), maps=None, device=None, detector: bool = True):
        self.kit = make_kit(kit, detector)
        if device is not None:
            self.kit.model.to(device)
        self.stats = resolve(stats)
        self.top_k = int(top_k)
        self.methods = tuple(methods)
        self.maps = MapsRequest.of(maps)
        self.encoder = Encoder.from_kit(self.kit)
        self.shape = ModelShape.of(self.kit.model)

    # -- the steps, each usable on its own by a custom batch function -----------------------------
    def encode(self, examples: Sequence[Example]) -> list[EncodedExample]:
        """Tokens, regions (cached per image), gold index and referent of each example."""
        out = []
        for ex in examples:
            try:
                out.append(self.encoder(ex))
            except (OSError, ValueError, KeyError) as err:
                raise type(err)(f"example {ex.id!r}: {err}") from err
        return out

    @torch.inference_mode()
    def forward(self, encoded: Sequence[EncodedExample], output_attentions: bool = True):
        """One padded forward pass for the batch; each distinct image's vision side runs once.

        Returns:
            The `LxmertOutput` (batch B, padded); row ``i`` is ``encoded[i]``.
        """
        model, tok = self.kit.model, self.kit.tokenizer
        dev, dt = model.device, model.dtype
        b, t = len(encoded), max(len(e.tokens) for e in encoded)
        ids = torch.full((b, t), tok.pad_id, dtype=torch.long)
        lmask = torch.zeros((b, t), dtype=torch.long)
        for i, e in enumerate(encoded):
            ids[i, : len(e.tokens)] = torch.tensor(e.tokens.ids)
            lmask[i, : len(e.tokens)] = 1
        slot: dict[int, int] = {}
        images = []
        for e in encoded:  # the encoder's cache hands out one Regions object per image
            if id(e.regions) not in slot:
                slot[id(e.regions)] = len(images)
                images.append(e.regions)
        rows = [r.num_real if r.num_real > 0 else len(r) for r in images]
        r_max, f = max(rows), images[0].feats.shape[1]
        feats = torch.zeros((len(images), r_max, f), dtype=dt)  # (U, R, F)
        pos = torch.zeros((len(images), r_max, 4), dtype=dt)
        vmask = torch.zeros((len(images), r_max), dtype=dt)
        for u, (reg, n) in enumerate(zip(images, rows)):
            if reg.feats.shape[1] != f:
                raise ValueError(f"images in one batch have {f}- and {reg.feats.shape[1]}-d region features")
            feats[u, :n] = torch.as_tensor(reg.feats[:n])
            pos[u, :n] = torch.as_tensor(reg.boxes_norm[:n])
            vmask[u, : reg.num_real] = 1.0
        vision = model.encode_image(feats.to(dev), pos.to(dev), vmask.to(dev), output_attentions=output_attentions)
        index = torch.tensor([slot[id(e.regions)] for e in encoded], device=dev)
        return model(input_ids=ids.to(dev), attention_mask=lmask.to(dev), vision=_share_vision(vision, index),
                     output_attentions=output_attentions)

    def results(self, encoded: Sequence[EncodedExample], out) -> list[Result]:
        """One `Result` per question of a batch (padding cut, detached, on CPU)."""
        out = _on_cpu(out)  # one transfer per batch, not one per example and tensor
        scores = out.question_answering_score
        return [Result.from_output(out, i, e.question, e.tokens, e.regions,
                                   answers=self.kit.answers.top_k(scores[i], max(self.top_k, 1)),
                                   meta={"kit": self.kit.name})
                for i, e in enumerate(encoded)]

    def statistics(self, result: Result, encoded: EncodedExample) -> dict:
        """Every statistic's columns for one result."""
        ctx = StatContext(self.kit, self.top_k, self.methods)
        cols: dict = {}
        for s in self.stats:
            cols.update(s.compute(result, encoded, ctx))
        return cols

    # -- the default per-batch function ----------------------------------------------------------
    def records(self, batch: Sequence[tuple[int, Example]]) -> list[dict]:
        """Records of ``(index, example)`` pairs: what both backends write."""
        if not batch:
            return []
        indices = [i for i, _ in batch]
        encoded = self.encode([ex for _, ex in batch])
        out = self.forward(encoded)
        recs = []
        for i, e, res in zip(indices, encoded, self.results(encoded, out)):
            rec = base_record(i, e)
            rec.update(self.statistics(res, e))
            if self.maps is not None and self.maps.wants(i, rec["id"]):
                rec.update({f"maps.{f}": map_bytes(res, f) for f in self.maps.families})
            recs.append(rec)
        return recs

    def columns(self) -> dict:
        """Declared column types of the statistics (and the maps, when asked for)."""
        from .schema import MAP_COLUMNS

        cols: dict = {}
        for s in self.stats:
            if s.columns is not None:
                cols.update(s.columns(self.shape))
        if self.maps is not None:
            cols.update({k: v for k, v in MAP_COLUMNS.items() if k.split(".", 1)[1] in self.maps.families})
        return cols
