"""Head ablation: ask with chosen attention heads removed.

Shape letters: B batch, N query positions, H heads, E head size.

Removing a head zeroes its slice of the context vector before the output projection (hook point
``{family}.{layer}.z``): the head contributes nothing to the sum that the projection makes of all
heads; the projection's bias and the residual stay. Heads are named ``(family, layer, head)`` (or
``"family.layer.head"``), with ``head="all"`` for every head of that layer; layers and heads count
from 0 and may be negative (from the end).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch

from ..errors import InputError, InputIndexError
from ..inputs.image import open_image
from ..inputs.item import Item
from ..inputs.words import check_known_words
from ..model.families import FAMILIES, family_layers
from ..model.hooks import HookFn, Intervention, run_with_hooks
from ..printing import Card, Printable, listing, scored
from ..result import Result
from ..run import Row, run

Head = tuple[str, int, int]


def all_heads(config, families: Iterable[str] = FAMILIES) -> list[Head]:
    """Every ``(family, layer, head)`` of ``families``, family by family."""
    return [(f, layer, h) for f in families for layer in range(family_layers(config, f))
            for h in range(config.num_attention_heads)]


def _index(value, n: int, name: str, context: str, spec, valid: str) -> int:
    """``value`` as an index in 0..n-1 (negative counts from the end); errors name ``spec``."""
    try:
        k = int(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} of {spec!r} must be {valid}") from None
    if not -n <= k < n:
        raise InputIndexError(f"{context}; {name} {k} in {spec!r} is out of range")
    return k % n


def parse_heads(heads: Iterable, config) -> list[Head]:
    """Heads as sorted, de-duplicated ``(family, layer, head)`` with non-negative indices.

    Example:
        >>> parse_heads([("l2v", -1, 0), "lang.0.all"], kit.model.config)
        [('lang', 0, 0), ('lang', 0, 1), ('lang', 0, 2), ('lang', 0, 3), ('l2v', 2, 0)]
    """
    if isinstance(heads, str) or (isinstance(heads, tuple) and heads and isinstance(heads[0], str)):
        heads = [heads]  # one head
    out: set[Head] = set()
    n_heads = config.num_attention_heads
    for spec in heads:
        parts = spec.split(".") if isinstance(spec, str) else list(spec)
        if len(parts) != 3:
            raise InputError(f"a head is (family, layer, head) or 'family.layer.head', got {spec!r}")
        fam, layer, head = parts
        n_layers = family_layers(config, fam)
        layer = _index(layer, n_layers, "layer", f"{fam} has {n_layers} layers", spec, "an integer")
        if head in ("all", "*"):
            out.update((fam, layer, h) for h in range(n_heads))
            continue
        out.add((fam, layer, _index(head, n_heads, "head", f"{fam} layer {layer} has {n_heads} heads", spec,
                                    "an integer or 'all'")))
    order = {f: i for i, f in enumerate(FAMILIES)}
    return sorted(out, key=lambda t: (order[t[0]], t[1], t[2]))


def ablation_hooks(heads: Iterable | Sequence[Iterable], config, per_row: bool = False) -> dict[str, HookFn]:
    """Hook functions that zero the given heads' context slices.

    Args:
        heads: heads to remove from every example; with ``per_row``, one list of heads per batch row.
        config: the model's config.
        per_row: row ``b`` of the batch loses ``heads[b]`` (the head ranking runs one head per row).

    Returns:
        hook name -> function, for `lxmert_viz.model.hooks.run_with_hooks`.
    """
    rows = [parse_heads(h, config) for h in heads] if per_row else [parse_heads(heads, config)]
    keep: dict[str, torch.Tensor] = {}
    for b, row in enumerate(rows):
        for fam, layer, head in row:
            name = f"{fam}.{layer}.z"
            if name not in keep:
                keep[name] = torch.ones(len(rows), config.num_attention_heads)
            keep[name][b, head] = 0.0

    def zero(z, name):  # z: (B, N, H, E); keep: (rows, H) with rows 1 or B
        return z * keep[name].to(z)[:, None, :, None]

    return {name: zero for name in keep}


def run_ablated(model, inputs, heads, per_row: bool = False):
    """``model(**inputs)`` (raw keyword arguments) with ``heads`` removed; returns the `LxmertOutput`."""
    return run_with_hooks(model, inputs, ablation_hooks(heads, model.config, per_row))


def ablation(heads: Iterable, config) -> Intervention:
    """The `Intervention` that removes ``heads`` from one row of a `lxmert_viz.run.run` batch (the
    hooks of `ablation_hooks`, run on that row's slice)."""
    heads = parse_heads(heads, config)
    fns = ablation_hooks(heads, config)
    return Intervention("ablation", tuple(fns), tuple(heads), "each head's context slice zeroed before the "
                        "output projection (its bias and the residual stay)", fns)


@dataclass(repr=False)
class Ablation(Printable):
    """What `ask_ablated` returns: the same question with and without the heads.

    Attributes:
        clean: the full model's `Result`; ablated: the `Result` with ``heads`` removed
            (``ablated.intervention.heads``).
        heads: the heads removed, as ``(family, layer, head)``.
        names: the answer of each logit.
    """

    clean: Result
    ablated: Result
    heads: list[Head]
    names: list[str] = field(default_factory=list)

    def _card(self) -> Card:
        rows = [("heads removed", listing(".".join(map(str, h)) for h in self.heads)),
                ("answer with every head", scored(self.clean.answers[:3])),
                ("answer with the heads removed", scored(self.ablated.answers[:3])),
                ("answer changed", self.answer_changed), ("probability drop", f"{self.prob_drop:.3f}")]
        return Card(f"Ablation {self.clean.question!r}: {len(self.heads)} head(s) removed", rows,
                    "ablation.compare() for both columns; .clean and .ablated are Results")

    def compare(self, k: int = 5) -> list[tuple[str, float, float]]:
        """``[(answer, probability with every head, with the heads removed), ...]`` for the full
        model's top ``k`` answers and the ablated run's top 2."""
        clean, cut = torch.softmax(self.clean.logits, -1), torch.softmax(self.ablated.logits, -1)
        idx = dict.fromkeys(clean.topk(min(k, len(clean))).indices.tolist() + cut.topk(min(2, len(cut))).indices.tolist())
        return [(self.names[i] if i < len(self.names) else f"#{i}", float(clean[i]), float(cut[i])) for i in idx]

    @property
    def answer_changed(self) -> bool:
        return self.clean.answer != self.ablated.answer

    @property
    def prob_drop(self) -> float:
        """How much the clean answer's probability falls when the heads are removed."""
        i = int(torch.argmax(self.clean.logits))
        return float(torch.softmax(self.clean.logits, -1)[i] - torch.softmax(self.ablated.logits, -1)[i])


def ask_ablated(kit, image, question: str, heads, top_k: int = 5, unknown: str = "error") -> Ablation:
    """Ask ``question`` about ``image`` with ``heads`` removed, beside the full model's answer.

    Args:
        kit: a `Kit`.
        image: a PIL image, a path, or an (H, W, 3) uint8 array.
        question: the question.
        heads: ``(family, layer, head)`` tuples or ``"family.layer.head"`` strings (``head="all"``).
        top_k: answers kept.
        unknown: the unknown-word rule of `Kit.ask`.

    Returns:
        `Ablation` (one forward pass of a batch of two: row 0 clean, row 1 ablated).

    Example:
        >>> ab = kit.ask_ablated(sample, "what color is the circle?", [("l2v", layer, "all") for layer in range(3)])
        >>> ab.clean.answer, ab.answer_changed       # no word hears any region: the colour is lost
        ('black', True)
    """
    img = open_image(image)
    regions, tokens = kit.extract(img), kit.tokenizer(question)
    check_known_words(tokens, question, unknown)
    cut = ablation(heads, kit.model.config)
    item = Item(tokens, regions, question=question, image=img)
    clean, ablated = run(kit.model, [Row(item), Row(item, intervention=cut)], kit.answers, top_k).results()
    return Ablation(clean, ablated, list(cut.heads), list(kit.answers.names))
