"""The per-batch function both backends run: examples in, records out.

Shape letters: B questions, U distinct images in the batch, T tokens (padded), R regions (padded).

A `BatchWorker` is what one worker holds: the kit (its model is loaded once per worker), an
`Encoder` with its per-image region cache, and the statistics. For a batch it encodes the
examples into `Item`s, runs them through the one door (`lxmert_viz.run.run`: padding, each distinct
image's vision side once, the language and cross layers for the batch), takes one `Result` per
question and computes every statistic from it. The local runner calls it in-process; the Ray
backend calls the same code inside `map_batches`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import InputError, InputTypeError
from ..inputs.item import Item
from ..kit import load
from ..model.families import FAMILIES, family
from ..result import Result
from ..run import Batch, run
from .encode import Encoder
from .example import Example
from .schema import MAP_COLUMNS, base_record, map_bytes
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
        for f in self.families:
            family(f)
        if self.first is None and self.ids is None:
            raise InputError("MapsRequest needs first= (a count) or ids= (example ids)")

    def wants(self, index: int, example_id: str) -> bool:
        return (self.first is not None and index < self.first) or (self.ids is not None and example_id in self.ids)

    @classmethod
    def of(cls, maps) -> MapsRequest | None:
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
        raise InputError("this run was set up for precomputed features, so no region detector was loaded; "
                         "an example that is an image needs a kit with a detector (model=lxmert_viz.load(...))")


def make_kit(model, detector: bool = True):
    """A kit from ``model``: None (the embedded shapes model), a name or folder for
    `lxmert_viz.load`, a ready `Kit`, or a function of no arguments that returns one.
    ``detector=False``: a checkpoint is loaded without its region detector (features given)."""
    if model is None or isinstance(model, str) or hasattr(model, "__fspath__"):
        name = None if model is None else str(model)
        if name is not None and not name.startswith("shapes") and not detector:
            return load(name, frcnn=NoDetector())
        return load(name)
    if hasattr(model, "model") and hasattr(model, "tokenizer"):
        return model
    if callable(model):
        return model()
    raise InputTypeError(f"model must be a name, a folder, a Kit or a function returning one, got {type(model).__name__}")


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
    def encode(self, examples: Sequence[Example]) -> list[Item]:
        """Tokens, regions (cached per image), gold index and referent of each example. The questions
        of one image share one `Regions` object, so the one door runs that image's side once, whatever
        the encoder's cache evicted in between (the batch's shape, and so its numbers, stay the same)."""
        out, same = [], {}
        for ex in examples:
            try:
                item = self.encoder(ex)
            except (OSError, ValueError, KeyError) as err:
                raise type(err)(f"example {ex.id!r}: {err}") from err
            key = self.encoder.image_key(ex)
            if key is not None:
                item.regions = same.setdefault(key, item.regions)
            out.append(item)
        return out

    def forward(self, items: Sequence[Item], maps: bool = True) -> Batch:
        """One padded pass for the batch through `lxmert_viz.run.run` (each distinct image's vision
        side once); row ``i`` of the returned `Batch` is ``items[i]``."""
        return run(self.kit.model, items, self.kit.answers, max(self.top_k, 1), maps=maps, meta={"kit": self.kit.name},
                   pad_id=self.kit.tokenizer.pad_id)

    def results(self, batch: Batch) -> list[Result]:
        """One `Result` per question of a batch (padding cut, detached, on CPU)."""
        return batch.results()

    def statistics(self, result: Result, encoded: Item) -> dict:
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
        recs = []
        for i, e, res in zip(indices, encoded, self.results(self.forward(encoded))):
            rec = base_record(i, e)
            rec.update(self.statistics(res, e))
            if self.maps is not None and self.maps.wants(i, rec["id"]):
                rec.update({f"maps.{f}": map_bytes(res, f) for f in self.maps.families})
            recs.append(rec)
        return recs

    def columns(self) -> dict:
        """Declared column types of the statistics (and the maps, when asked for)."""
        cols: dict = {}
        for s in self.stats:
            if s.columns is not None:
                cols.update(s.columns(self.shape))
        if self.maps is not None:
            cols.update({k: v for k, v in MAP_COLUMNS.items() if k.split(".", 1)[1] in self.maps.families})
        return cols
