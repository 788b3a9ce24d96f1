"""Faithfulness of one explanation: deletion and insertion curves, Del@k / Ins@k, AOPC.

Shape letters: S removed (or inserted) fractions, N removable inputs of one example (its tokens but
[CLS] and [SEP], and its regions), T tokens, R regions.

The explanation's [CLS] rows rank the removable inputs of both modalities together: the token
row (``cls_tokens``, [CLS] and [SEP] left out) and the region row (``cls_regions``) are each
min-max normalised to 0..1 (as Chefer et al.'s perturbation code normalises its maps), put in one
list and sorted, most relevant first (ties: tokens before regions, then by position). At fraction
f, ``n(f) = N - int((1 - f) N)`` inputs are taken (the count rule of the authors' code):

- deletion: the n(f) most relevant inputs removed, the rest kept;
- insertion: only the n(f) most relevant inputs kept (f = 0: [CLS], [SEP] and no region).

Removed tokens are deleted (the question closes up, [CLS] and [SEP] stay); removed regions are
dropped from the input (features and boxes gone, an `Item` with fewer regions), not masked. With
no region left the words hear nothing of the image: the row runs with one region and
`lxmert_viz.output_heads.masked_words.BLIND` (every l2v head's output zeroed), which is exactly
what a forward with zero regions computes (an attention over no keys gives a zero context) and
what `lxmert_viz.run.run` cannot be given directly (it refuses an image with no region).

The score is the softmax probability of the explained answer (the full model's top answer by
default). ``Del@k`` / ``Ins@k`` are the deletion / insertion scores at ``k`` (15 % by default; k
is added to the fractions when missing); the AUCs are trapezoids over the fraction 0..1 (lower
deletion AUC and higher insertion AUC mean a more faithful map); ``AOPC`` is the mean over the
fractions above 0 of (score with nothing removed − deletion score).

Every pass goes through `lxmert_viz.run.run` (no maps), ``chunk`` rows per forward.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..errors import InputError
from ..inputs.item import Item
from ..inputs.regions import Regions
from ..inputs.text import Tokens
from ..output_heads.masked_words import BLIND
from ..printing import Card, Printable
from ..result import Result
from ..run import Row, run
from .explanation import Explanation
from .methods import explain_all, explained_items

DEFAULT_FRACTIONS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def keep_tokens(tokens: Tokens, keep: Iterable[int]) -> Tokens:
    """``tokens`` with only the positions in ``keep`` (sorted; the rest deleted, positions close up)."""
    keep = sorted(set(int(i) for i in keep))
    return Tokens(tuple(tokens.ids[i] for i in keep), tuple(tokens.pieces[i] for i in keep),
                  tuple(tokens.word_index[i] for i in keep), tokens.words, unknown=tokens.unknown)


def keep_regions(regions: Regions, keep: Sequence[int]) -> Regions:
    """``regions`` (real rows) with only the rows in ``keep``, in that order: features, boxes,
    labels, scores and extras of the other rows are gone (not masked)."""
    regions = regions.real()
    idx = np.asarray(list(keep), dtype=int)
    if len(idx) == 0:
        raise InputError("keep_regions needs at least one region; a run with no region is BLIND (see the module)")
    return Regions(regions.boxes[idx], regions.feats[idx], regions.image_size,
                   None if regions.labels is None else tuple(regions.labels[i] for i in idx),
                   None if regions.scores is None else regions.scores[idx], len(idx),
                   {k: np.asarray(v)[idx] for k, v in regions.extra.items()}, regions.labels_absent)


def perturbed_row(item: Item, tokens_kept: Sequence[int], regions_kept: Sequence[int]) -> Row:
    """The `Row` that runs ``item`` with only those token positions and region rows; with no
    region, one region and `BLIND` (equal to a forward with zero regions)."""
    regions = item.regions.real()
    toks = keep_tokens(item.tokens, tokens_kept)
    if len(regions_kept) == 0:
        return Row(replace(item, tokens=toks, regions=keep_regions(regions, [0])), intervention=BLIND)
    return Row(replace(item, tokens=toks, regions=keep_regions(regions, regions_kept)))


def _normalised(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0:
        return x
    span = x.max() - x.min()
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)


def joint_order(explanation: Explanation) -> list[tuple[str, int]]:
    """Removable inputs, most relevant first: ``[("token", position) | ("region", row), ...]``."""
    tok_pos = np.asarray(explanation.token_index)[1:-1]
    tok_rel = _normalised(explanation.cls_tokens()[1:-1])
    reg_pos = np.asarray(explanation.region_index)
    reg_rel = _normalised(explanation.cls_regions())
    pool = [("token", int(p)) for p in tok_pos] + [("region", int(p)) for p in reg_pos]
    rel = np.concatenate([tok_rel, reg_rel])
    order = np.argsort(-rel, kind="stable")
    return [pool[i] for i in order]


def count_taken(n: int, fraction: float) -> int:
    """Inputs taken at ``fraction`` of ``n``: ``n - int((1 - fraction) n)`` (the authors' rule)."""
    return n - int((1.0 - float(fraction)) * n)


def _split(item: Item, chosen: list[tuple[str, int]], keep_chosen: bool,
           present: tuple[set, set] | None = None) -> tuple[list[int], list[int]]:
    """(token positions kept, region rows kept) when ``chosen`` are kept (insertion) or removed.

    ``present``: (token positions, region rows) the explanation saw (a masked run leaves its dropped
    inputs out of ``token_index`` / ``region_index``); the others stay removed at every fraction.
    """
    t, r = len(item.tokens), item.regions.real().num_real
    tok = {p for k, p in chosen if k == "token"}
    reg = {p for k, p in chosen if k == "region"}
    special = {0, t - 1}
    toks_in, regs_in = present if present is not None else (set(range(t)), set(range(r)))
    if keep_chosen:
        return sorted(special | tok), sorted(reg)
    return ([i for i in range(t) if i in special or (i in toks_in and i not in tok)],
            [i for i in range(r) if i in regs_in and i not in reg])


@dataclass
class Faithfulness:
    """Deletion and insertion curves of one explanation of one example.

    Attributes:
        method: the explanation method; answer: the explained answer index.
        fractions: (S,) fractions of the removable inputs taken.
        deletion, insertion: (S,) probability of ``answer`` with the most relevant inputs removed /
            with only them kept.
        k: the fraction of ``del_at_k`` / ``ins_at_k``.
        num_inputs: N, the removable tokens and regions.
        meta: what was measured and how.
    """

    method: str
    answer: int
    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray
    k: float = 0.15
    num_inputs: int = 0
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        s = len(self.fractions)
        if self.deletion.shape != (s,) or self.insertion.shape != (s,):
            raise InputError(f"Faithfulness curves must have {s} points (one per fraction), got "
                             f"{self.deletion.shape} and {self.insertion.shape}")

    def __repr__(self) -> str:
        return (f"Faithfulness({self.method}: Del@{self.k:.0%} {self.del_at_k:.3f}, Ins@{self.k:.0%} "
                f"{self.ins_at_k:.3f}, deletion AUC {self.deletion_auc:.3f}, insertion AUC {self.insertion_auc:.3f})")

    def _repr_html_(self) -> str:
        return Card(f"Faithfulness of {self.method} (answer {self.answer})",
                    [(f"Del@{self.k:.0%}", f"{self.del_at_k:.3f}"), (f"Ins@{self.k:.0%}", f"{self.ins_at_k:.3f}"),
                     ("deletion AUC", f"{self.deletion_auc:.3f}"), ("insertion AUC", f"{self.insertion_auc:.3f}"),
                     ("inputs", self.num_inputs)], "faithfulness.deletion / .insertion over .fractions").html()

    def _at(self, curve: np.ndarray, k: float) -> float:
        hit = np.flatnonzero(np.isclose(self.fractions, k))
        if not len(hit):
            raise InputError(f"fraction {k} was not measured; measured: {self.fractions.tolist()}")
        return float(curve[hit[0]])

    @property
    def del_at_k(self) -> float:
        return self._at(self.deletion, self.k)

    @property
    def ins_at_k(self) -> float:
        return self._at(self.insertion, self.k)

    @property
    def deletion_auc(self) -> float:
        return trapezoid(self.fractions, self.deletion)

    @property
    def insertion_auc(self) -> float:
        return trapezoid(self.fractions, self.insertion)

    @property
    def aopc(self) -> float:
        """Mean over the fractions above 0 of (score with nothing removed − deletion score)."""
        base = self._at(self.deletion, 0.0)
        return float(np.mean(base - self.deletion[self.fractions > 0]))

    def line(self) -> str:
        """One line for a picture's caption: ``"relevancy: Del@15% 0.12 (lower is better) · Ins@15% 0.80"``."""
        return (f"{self.method}: Del@{self.k:.0%} {self.del_at_k:.2f} (lower is better) · "
                f"Ins@{self.k:.0%} {self.ins_at_k:.2f} (higher is better)")


def trapezoid(x, y) -> float:
    """Trapezoid area under ``y`` over ``x``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)


def curve_rows(item: Item, explanation: Explanation, fractions: Sequence[float]) -> list[Row]:
    """The rows of `faithfulness`: deletion at each fraction, then insertion at each fraction."""
    order = joint_order(explanation)
    present = ({int(i) for i in explanation.token_index}, {int(i) for i in explanation.region_index})
    rows = []
    for keep_chosen in (False, True):
        for f in fractions:
            chosen = order[:count_taken(len(order), f)]
            rows.append(perturbed_row(item, *_split(item, chosen, keep_chosen, present)))
    return rows


def faithfulness(model, item: Item, explanation: Explanation, fractions: Sequence[float] = DEFAULT_FRACTIONS,
                 k: float = 0.15, chunk: int = 256) -> Faithfulness:
    """Deletion and insertion curves of ``explanation`` (of ``item``'s answer) and Del@k / Ins@k.

    Args:
        model: the `Lxmert` with the QA head that the explanation explains.
        item: the question (`Item`; a `Result`'s ``Item(result.tokens, result.regions)``).
        explanation: an `Explanation` of it (any method; `explain`).
        fractions: fractions of the removable inputs taken (``k`` and 0 are added when missing).
        k: the fraction of Del@k / Ins@k.
        chunk: rows per forward.

    Returns:
        `Faithfulness`.

    Example:
        >>> from lxmert_viz.explain import explain
        >>> item = Item(result.tokens, result.regions)
        >>> f = faithfulness(kit.model, item, explain(result, "raw"))
        >>> f.fractions[:4].tolist(), 0 <= f.del_at_k <= 1
        ([0.0, 0.05, 0.1, 0.15], True)
    """
    if "qa" not in model.output_heads:
        raise InputError("faithfulness scores the answer: it needs a model with the QA head")
    fr = np.array(sorted(set(float(f) for f in fractions) | {0.0, float(k)}))
    if fr.min() < 0 or fr.max() > 1:
        raise InputError(f"fractions must lie in 0..1, got {fr.tolist()}")
    item = replace(item, regions=item.regions.real())
    rows = curve_rows(item, explanation, fr)
    logits = torch.cat([run(model, rows[lo:lo + chunk], maps=False).logits() for lo in range(0, len(rows), chunk)])
    probs = torch.softmax(logits.double(), -1)[:, explanation.answer].numpy()
    s = len(fr)
    return Faithfulness(explanation.method, explanation.answer, fr, probs[:s], probs[s:], float(k),
                        len(joint_order(explanation)),
                        {"score": "softmax probability of the explained answer", "ranking": "joint, min-max per modality"})


def with_faithfulness(result: Result, model, methods: Sequence[str] = ("relevancy",),
                      explanations: dict[str, Explanation] | None = None, k: float = 0.15,
                      fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 0) -> Result:
    """``result`` with its ``faithfulness`` field filled: method -> `Faithfulness` of its answer.

    Args:
        result: a `Result` (``kit.ask(...)``; a masked run's dropped inputs stay removed in every row).
        model: the `Lxmert` that made it (with the QA head).
        methods: the explanation methods measured (`explain`), unless ``explanations`` gives them.
        explanations: method -> `Explanation` already computed (what a view has on screen).
        k, fractions, seed: as in `faithfulness` and `explain`.

    Returns:
        a new `Result` (`dataclasses.replace`; the maps are shared, not copied); earlier entries
        of other methods are kept.

    Example:
        >>> r = with_faithfulness(result, kit.model, ("raw",))
        >>> sorted(r.faithfulness), r.faithfulness["raw"].k
        (['raw'], 0.15)
    """
    exs = dict(explanations or {})
    missing = [m for m in methods if m not in exs]
    if missing:
        exs.update(explain_all(result, missing, model, seed=seed))
    item = Item(result.tokens, result.regions, question=result.question, image=result.image)
    found = {m: faithfulness(model, item, e, fractions, k) for m, e in exs.items()}
    return replace(result, faithfulness={**result.faithfulness, **found})


@dataclass(repr=False)
class MethodRanking(Printable):
    """What `rank_methods` returns: mean deletion / insertion AUC per method over a data set.

    Attributes:
        deletion_auc, insertion_auc: method -> (questions,) per-question AUCs.
        del_at_k, ins_at_k: method -> (questions,).
        k: the fraction of Del@k / Ins@k.
    """

    deletion_auc: dict[str, np.ndarray]
    insertion_auc: dict[str, np.ndarray]
    del_at_k: dict[str, np.ndarray]
    ins_at_k: dict[str, np.ndarray]
    k: float = 0.15

    def _card(self) -> Card:
        rows = [(m, f"deletion AUC {d:.3f}, insertion AUC {i:.3f}, rank {r}") for m, d, i, r in self.ranked()]
        n = len(next(iter(self.deletion_auc.values()))) if self.deletion_auc else 0
        return Card(f"MethodRanking over {n} question(s)", rows, "ranking.table(), ranking.rank(method)")

    def ranked(self) -> list[tuple[str, float, float, int]]:
        """``[(method, mean insertion AUC − mean deletion AUC, deletion AUC, rank), ...]``, best first."""
        score = {m: float(self.insertion_auc[m].mean() - self.deletion_auc[m].mean()) for m in self.deletion_auc}
        order = sorted(score, key=lambda m: -score[m])
        return [(m, score[m], float(self.deletion_auc[m].mean()), i + 1) for i, m in enumerate(order)]

    def rank(self, method: str) -> int:
        """The method's place (1 = most faithful: largest insertion − deletion AUC)."""
        for m, _, _, r in self.ranked():
            if m == method:
                return r
        raise InputError(f"method {method!r} was not ranked; ranked: {list(self.deletion_auc)}")

    def table(self) -> str:
        lines = [f"| rank | method | deletion AUC ↓ | insertion AUC ↑ | Del@{self.k:.0%} ↓ | Ins@{self.k:.0%} ↑ | n |",
                 "|---|---|---|---|---|---|---|"]
        for m, _, _, r in self.ranked():
            lines.append(f"| {r} | {m} | {self.deletion_auc[m].mean():.3f} | {self.insertion_auc[m].mean():.3f} | "
                         f"{self.del_at_k[m].mean():.3f} | {self.ins_at_k[m].mean():.3f} | {len(self.deletion_auc[m])} |")
        return "\n".join(lines)


def rank_methods(model, items: Iterable[Item], methods: Sequence[str] = ("raw", "rollout", "relevancy", "random"),
                 fractions: Sequence[float] = DEFAULT_FRACTIONS, k: float = 0.15, limit: int | None = None,
                 seed: int = 0) -> MethodRanking:
    """Each method's faithfulness over a data set: per question the curves of `faithfulness`.

    Example:
        >>> from lxmert_viz.analysis import shapes_examples
        >>> rank = rank_methods(kit.model, shapes_examples(kit, 1), ("raw", "random"), limit=2)
        >>> sorted(rank.deletion_auc), rank.rank("raw") in (1, 2)
        (['random', 'raw'], True)
    """
    out = {name: {m: [] for m in methods} for name in ("d", "i", "dk", "ik")}
    n = 0
    for _, item, ex in explained_items(model, items, methods, limit, seed):
        for m, e in ex.items():
            f = faithfulness(model, item, e, fractions, k)
            out["d"][m].append(f.deletion_auc)
            out["i"][m].append(f.insertion_auc)
            out["dk"][m].append(f.del_at_k)
            out["ik"][m].append(f.ins_at_k)
        n += 1
    if n == 0:
        raise InputError("no questions to rank the methods over")
    arr = {name: {m: np.array(v) for m, v in d.items()} for name, d in out.items()}
    return MethodRanking(arr["d"], arr["i"], arr["dk"], arr["ik"], float(k))
