"""Perturbation benchmark of Chefer, Gur & Wolf (2021): remove inputs by relevance, watch accuracy.

Shape letters: S steps (removed fractions), N removable items of one example.

For each example and each method, the [CLS] row ranks the removable items: regions by
``lang_vis[cls]``, tokens by ``lang_lang[cls]`` (every real token but [CLS] and [SEP]). A share of
them is removed, most relevant first (``positive``: a good map makes accuracy fall fast, lower AUC
is better) or least relevant first (``negative``: a good map keeps it up, higher AUC is better).
Two protocols (`protocols`): ``kit`` removes 0 %, 10 %, …, 100 % through the attention masks and
scores 1 for the gold answer; ``paper`` follows the authors' code (0, 25, 50, 75, 80, 85, 90, 95,
100 %; words deleted; VQA soft accuracy), so that its AUCs can stand beside the paper's.
``agreement`` (the share that keeps the unperturbed prediction) is kept too. AUC is the trapezoid
over the removed fraction 0..1. Ties in relevance break at random (seeded), so a constant map
scores like the random one.

With 100 % of the regions masked, every l2v row is masked entirely and its softmax is uniform over
all (masked) positions, as in `transformers`: the model then sees the mean of the region values.
That last point is the same for every method, so it does not change their order.

Every pass goes through the one door (`lxmert_viz.run.run`): the masked copies of an example are
rows of one batch (``chunk`` rows at a time), each with its dropped positions.

Command line (writes a markdown table; a progress bar on stderr):
    lxmert-viz perturbation --shapes 200 --out benchmarks/RESULTS_perturbation.md
    lxmert-viz perturbation --shapes 200 --protocol paper
    lxmert-viz perturbation --checkpoint DIR --features FEATS --questions Q.jsonl
    lxmert-viz perturbation --shapes 20 --protocol published            (`lxmert_viz.analysis.published`)
    lxmert-viz perturbation --checkpoint unc-nlp/lxmert-vqa-uncased --features FEATS --vqa-valid valid.json \
        --limit 3303 --protocol published          (the published sample: shuffled with seed 1234, first N)
    lxmert-viz perturbation --shapes 20 --protocol published --mode aopc     (AOPC / Del@15 / Ins@15)
(``python -m lxmert_viz.analysis.perturbation`` is the same command.)
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..explain.explanation import ALL_METHODS, METHODS
from ..explain.methods import explain_all
from ..inputs.item import Item
from ..inputs.text import Tokens
from ..kit import load
from ..printing import Card, Printable, listing
from ..run import Row, run
from . import protocols, published
from .datasets import vqa_dataset
from .encode import Encoder
from .items import examples_from_files, shapes_examples

MODALITIES = ("regions", "tokens")
DIRECTIONS = ("positive", "negative")


def auc(fractions: np.ndarray, values: np.ndarray) -> float:
    """Trapezoid area under ``values`` over ``fractions``."""
    f, v = np.asarray(fractions, float), np.asarray(values, float)
    return float(np.sum((v[1:] + v[:-1]) * np.diff(f)) / 2.0)


def removal_order(relevance: np.ndarray, direction: str, rng: np.random.Generator) -> np.ndarray:
    """Item indices in removal order: most relevant first (positive) or least (negative); ties random."""
    rel = np.asarray(relevance, float)
    if direction not in DIRECTIONS:
        raise InputError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    key = -rel if direction == "positive" else rel
    return np.lexsort((rng.random(len(rel)), key))  # last key sorts first


def removal_counts(n: int, fractions: np.ndarray, protocol: str = "kit") -> list[int]:
    """How many of ``n`` items go at each fraction (``kit``: rounded half up; see `protocols`)."""
    return protocols.removal_counts(n, fractions, protocol)


@dataclass(repr=False)
class PerturbationReport(Printable):
    """Curves and AUCs over all examples.

    Attributes:
        fractions: (S,) removed fractions.
        accuracy: ``(method, modality, direction)`` -> (S,) accuracy against gold.
        agreement: same keys -> (S,) share keeping the unperturbed prediction.
        num_examples: examples counted.
        base_accuracy: accuracy with nothing removed.
        meta: settings and timing.
    """

    fractions: np.ndarray
    accuracy: dict[tuple[str, str, str], np.ndarray]
    agreement: dict[tuple[str, str, str], np.ndarray]
    num_examples: int
    base_accuracy: float
    meta: dict = field(default_factory=dict)

    def _card(self) -> Card:
        rows = [("examples", self.num_examples), ("unperturbed accuracy", f"{self.base_accuracy:.3f}"),
                ("removed fractions", listing(f"{f:.2f}" for f in self.fractions)),
                ("methods", listing(self.methods())), ("protocol", self.meta.get("protocol", "kit"))]
        return Card("PerturbationReport", rows, "report.table() for the AUCs, report.curves_table(modality, direction)")

    def auc(self, method: str, modality: str, direction: str, of: str = "accuracy") -> float:
        curves = self.accuracy if of == "accuracy" else self.agreement
        return auc(self.fractions, curves[(method, modality, direction)])

    def methods(self) -> list[str]:
        return list(dict.fromkeys(k[0] for k in self.accuracy))

    def modalities(self) -> list[str]:
        return list(dict.fromkeys(k[1] for k in self.accuracy))

    def table(self, of: str = "accuracy") -> str:
        """Markdown table: one row per method, AUC per modality and direction."""
        cols = [(m, d) for m in self.modalities() for d in DIRECTIONS]
        names = [f"{m} {d[:3]}. AUC {'↓' if d == 'positive' else '↑'}" for m, d in cols]
        head = "| method | " + " | ".join(names) + " |"
        lines = [head, "|---" * (len(cols) + 1) + "|"]
        for meth in self.methods():
            lines.append(f"| {meth} | " + " | ".join(f"{self.auc(meth, m, d, of):.3f}" for m, d in cols) + " |")
        return "\n".join(lines)

    def curves_table(self, modality: str, direction: str) -> str:
        """Markdown table of the accuracy curve itself, one row per method."""
        head = "| method | " + " | ".join(f"{f:.0%}" for f in self.fractions) + " |"
        lines = [head, "|---" * (len(self.fractions) + 1) + "|"]
        for meth in self.methods():
            vals = self.accuracy[(meth, modality, direction)]
            lines.append(f"| {meth} | " + " | ".join(f"{v:.2f}" for v in vals) + " |")
        return "\n".join(lines)


def _variants(n_tokens: int, n_regions: int, explanations: dict, modalities, counts_of, rng) -> tuple[list, list]:
    """All masked copies of one example: (list of (vis mask, text mask) 1/0 tensors, list of keys)."""
    masks, keys = [], []
    for meth, e in explanations.items():
        for mod in modalities:
            if mod == "regions":
                pos, rel = e.region_index, e.cls_regions()
            else:  # every real token except [CLS] (first) and [SEP] (last)
                pos, rel = e.token_index[1:-1], e.cls_tokens()[1:-1]
            for d in DIRECTIONS:
                order = pos[removal_order(rel, d, rng)]
                for s, k in enumerate(counts_of(len(pos))):
                    vm, tm = torch.ones(n_regions), torch.ones(n_tokens, dtype=torch.long)
                    (vm if mod == "regions" else tm)[torch.as_tensor(order[:k], dtype=torch.long)] = 0
                    masks.append((vm, tm))
                    keys.append((meth, mod, d, s))
    return masks, keys


def _predict(model, ex: Item, masks: list, chunk: int, delete_tokens: bool = False) -> list[int]:
    """The top answer of every masked copy (see `_scores`)."""
    return _scores(model, ex, masks, chunk, delete_tokens).argmax(-1).tolist()


def _scores(model, ex: Item, masks: list, chunk: int, delete_tokens: bool = False) -> torch.Tensor:
    """(copies, answers) answer logits of every masked copy, ``chunk`` copies per batch.

    ``delete_tokens``: a removed word is deleted (the kept tokens close up, padding after them)
    instead of masked in place, as the authors' perturbation code does.
    """
    item = Item(ex.tokens, ex.regions.real(), question=ex.question)
    rows = []
    for vm, tm in masks:
        regions = tuple(int(i) for i in torch.nonzero(vm == 0).flatten())
        gone = tuple(int(i) for i in torch.nonzero(tm == 0).flatten())
        if delete_tokens and gone:
            rows.append(Row(replace(item, tokens=_deleted(ex.tokens, gone)), drop_regions=regions))
        else:
            rows.append(Row(item, drop_tokens=gone, drop_regions=regions))
    return torch.cat([run(model, rows[lo:lo + chunk], maps=False).output.question_answering_score
                      for lo in range(0, len(rows), chunk)])


def _deleted(tokens: Tokens, gone: tuple[int, ...]) -> Tokens:
    """``tokens`` with the positions in ``gone`` deleted (the model sees the shorter question)."""
    keep = [i for i in range(len(tokens)) if i not in set(gone)]
    return Tokens(tuple(tokens.ids[i] for i in keep), tuple(tokens.pieces[i] for i in keep),
                  tuple(tokens.word_index[i] for i in keep), tokens.words, unknown=tokens.unknown)


def _progress(examples, limit, enabled: bool, desc: str):
    """``examples`` wrapped in a tqdm bar (a notebook bar in Jupyter, plain text in a terminal)."""
    if not enabled:
        return examples
    from tqdm.auto import tqdm

    total = limit if limit is not None else (len(examples) if hasattr(examples, "__len__") else None)
    return tqdm(examples, total=total, desc=desc, unit="question", leave=True)


def perturbation_benchmark(model, examples: Iterable[Item], methods: Sequence[str] = METHODS,
                           modalities: Sequence[str] = MODALITIES, steps: int = 10, seed: int = 0,
                           chunk: int = 256, limit: int | None = None, protocol: str = "kit",
                           progress: bool = True) -> PerturbationReport:
    """Run the positive/negative perturbation test for each method on each modality.

    Args:
        model: an `Lxmert` with the QA head.
        examples: `Item`s (any iterable; consumed once).
        methods: explanation methods to compare (any of `explain.ALL_METHODS`).
        modalities: ``"regions"`` and/or ``"tokens"``.
        steps: ``kit`` protocol: the fractions are ``0, 1/steps, …, 1`` (``paper`` has its own).
        seed: for the random baseline (example ``k`` uses ``seed + k``) and tie-breaking.
        chunk: most masked copies run in one no-grad forward.
        limit: stop after this many examples.
        protocol: ``"kit"`` or ``"paper"`` (see `lxmert_viz.analysis.protocols`).
        progress: show a progress bar (tqdm: a notebook bar in Jupyter, plain text in a terminal).

    Returns:
        A `PerturbationReport`.

    Example:
        >>> rep = perturbation_benchmark(kit.model, shapes_examples(kit, 2), steps=2, limit=3, progress=False)
        >>> rep.num_examples, rep.fractions.tolist()
        (3, [0.0, 0.5, 1.0])
        >>> rep = perturbation_benchmark(kit.model, shapes_examples(kit, 2), limit=2, protocol="paper",
        ...                              progress=False)
        >>> rep.fractions.tolist()
        [0.0, 0.25, 0.5, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]
    """
    for m in modalities:
        if m not in MODALITIES:
            raise InputError(f"modality must be one of {MODALITIES}, got {m!r}")
    for m in methods:
        if m not in ALL_METHODS:
            raise InputError(f"unknown method {m!r}; choose from {ALL_METHODS}")
    fractions = protocols.fractions(protocol, steps)
    steps = len(fractions) - 1
    keys_all = [(m, mod, d) for m in methods for mod in modalities for d in DIRECTIONS]
    correct = {k: np.zeros(steps + 1) for k in keys_all}
    agree = {k: np.zeros(steps + 1) for k in keys_all}
    rng = np.random.default_rng(seed)
    n, base_ok, t0 = 0, 0, time.perf_counter()
    for k, ex in enumerate(_progress(examples, limit, progress, f"perturbation ({protocol})")):
        if limit is not None and k >= limit:
            break
        item = Item(ex.tokens, ex.regions.real(), question=ex.question)
        res = run(model, [item], grads="relevancy" in methods).result(0)
        explanations = explain_all(res, methods, seed=seed + k)
        original = next(iter(explanations.values())).answer
        masks, keys = _variants(len(ex.tokens), res.regions.num_real, explanations, modalities,
                                lambda m: removal_counts(m, fractions, protocol), rng)
        preds = _predict(model, ex, masks, chunk, protocols.deletes_tokens(protocol))
        for (meth, mod, d, s), p in zip(keys, preds):
            correct[(meth, mod, d)][s] += protocols.score(p, ex.gold, ex.gold_scores, protocol)
            agree[(meth, mod, d)][s] += p == original
        base_ok += protocols.score(original, ex.gold, ex.gold_scores, protocol)
        n += 1
    if n == 0:
        raise InputError("no examples to benchmark")
    acc = {k: v / n for k, v in correct.items()}
    agr = {k: v / n for k, v in agree.items()}
    meta = {"seconds": time.perf_counter() - t0, "steps": steps, "seed": seed, "protocol": protocol}
    return PerturbationReport(fractions, acc, agr, n, base_ok / n, meta)


def write_markdown(report: PerturbationReport, path, command: str, title: str, notes: str = "") -> None:
    """Write the AUC tables, the curves and the command that made them."""
    parts = [f"# {title}", "", "Command:", "", "```", command, "```", "",
             f"Protocol: {report.meta.get('protocol', 'kit')} (see `lxmert_viz/analysis/protocols.py`). "
             f"{report.num_examples} examples, unperturbed accuracy {report.base_accuracy:.3f}, "
             f"{report.meta.get('seconds', 0):.0f} s. Positive perturbation: most relevant removed first "
             "(lower AUC is a better explanation); negative: least relevant first (higher is better).", "",
             "## AUC of accuracy against the gold answer", "", report.table("accuracy"), "",
             "## AUC of agreement with the unperturbed prediction", "", report.table("agreement"), ""]
    for mod in report.modalities():
        for d in DIRECTIONS:
            parts += [f"### Accuracy curve: {mod}, {d}", "", report.curves_table(mod, d), ""]
    if notes:
        parts += ["## Notes", "", notes.strip(), ""]
    Path(path).write_text("\n".join(parts), encoding="utf-8")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``lxmert-viz perturbation`` flags."""
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--shapes", type=int, metavar="N_SCENES", help="embedded kit on N generated held-out scenes")
    src.add_argument("--features", help="folder of <image_id>.npz or a .tsv feature file (with --questions)")
    p.add_argument("--questions", help="JSON / JSON-lines of {image_id, question, answer}")
    p.add_argument("--checkpoint", help="checkpoint dir or hub id for --features (default: embedded model)")
    p.add_argument("--data-seed", type=int, default=2,
                   help="make_dataset seed of the shapes scenes (2: held out, as lxmert_viz.shapes.evaluate)")
    p.add_argument("--limit", type=int, default=None, help="at most this many questions")
    p.add_argument("--steps", type=int, default=10, help="kit protocol: 0, 1/steps, ..., 1 removed")
    p.add_argument("--protocol", choices=(*protocols.PROTOCOLS, "published"), default="kit",
                   help="kit: even steps, masks, exact accuracy; paper: the authors' steps, deletion, soft accuracy; "
                        "published: the published protocol exactly (boxes dropped), beside the published row")
    p.add_argument("--mode", choices=("curves", "aopc"), default="curves",
                   help="published protocol: the perturbation curves, or AOPC / Del@15 / Ins@15")
    p.add_argument("--vqa-valid", help="LXMERT's valid.json (with --features): the published sample, shuffled with "
                                       "seed 1234, the first --limit questions")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--out", default=None, help="write the markdown report here")


def main(argv: Sequence[str] | None = None, prog: str = "lxmert-viz perturbation") -> PerturbationReport:
    """The command line (``lxmert-viz perturbation``); ``argv`` None reads ``sys.argv``."""
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    add_arguments(p)
    given = list(sys.argv[1:] if argv is None else argv)
    return run_command(p.parse_args(given), f"{prog} {' '.join(given)}")


def run_command(args: argparse.Namespace, command: str) -> PerturbationReport:
    """Run the benchmark ``args`` describe; ``command`` (the line that asked) is written into ``--out``."""
    if args.features is not None and not (args.questions or args.vqa_valid):
        raise InputError("--features needs --questions (or --vqa-valid): the questions to ask about those features")
    torch.manual_seed(args.seed)
    if args.shapes is not None:
        kit = load()
        examples = shapes_examples(kit, args.shapes, args.data_seed)
        title = f"Perturbation benchmark: embedded shapes model, held-out scenes (data seed {args.data_seed})"
    elif args.vqa_valid:
        kit = load(args.checkpoint) if args.checkpoint else load()
        sample = published.write_sample(args.vqa_valid, args.limit if args.limit is not None else 3303)
        encode = Encoder.from_kit(kit)
        examples = (encode(ex) for ex in vqa_dataset(sample, args.features))
        title = f"Perturbation benchmark: {args.vqa_valid} (shuffled with seed 1234) over {args.features}"
    else:
        kit = load(args.checkpoint) if args.checkpoint else load()
        examples = examples_from_files(args.features, args.questions, kit.tokenizer, kit.answers)
        title = f"Perturbation benchmark: {args.features}"
    if args.protocol == "published":
        return _published_main(args, kit, examples, title, command)
    report = perturbation_benchmark(kit.model, examples, tuple(args.methods.split(",")), steps=args.steps,
                                    seed=args.seed, limit=args.limit, protocol=args.protocol,
                                    progress=not args.no_progress)
    print(report.table())
    if args.out:
        write_markdown(report, args.out, command, title)
    return report


def _published_main(args, kit, examples, title: str, command: str):
    """``--protocol published``: the curves beside the published row, or the AOPC mode."""
    methods = tuple(args.methods.split(",")) if args.methods != ",".join(METHODS) else ("relevancy",)
    if args.mode == "aopc":
        report = published.aopc_benchmark(kit.model, examples, methods, limit=args.limit, seed=args.seed)
    else:
        report = published.published_benchmark(kit.model, examples, methods, limit=args.limit, seed=args.seed)
    print(report.table())
    if args.out:
        Path(args.out).write_text(f"# {title}\n\nCommand:\n\n```\n{command}\n```\n\n{report.table()}\n",
                                  encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
