"""The published perturbation protocol, exactly, and its AOPC / Del@15 / Ins@15 mode.

Shape letters: S steps, N removable inputs of one modality, T tokens, R regions.

The protocol of Chefer, Gur & Wolf's LXMERT perturbation test (``lxmert/lxmert/perturbation.py``
of hila-chefer/Transformer-MM-Explainability, ICCV 2021), as the third-party evaluation
CRKninni/Architecture-Aware-UPSE-LXMERT ran it on ``unc-nlp/lxmert-vqa-uncased``:

- steps: removed fractions ``[0, .25, .5, .75, .8, .85, .9, .95, 1]`` (`STEPS`);
- relevance: the [CLS] row of the method's text relevance (``lang_lang[0]``) and of its image
  relevance (``lang_vis[0]``); the authors min-max normalise both, which leaves the order as it is;
- text: [CLS] and [SEP] always kept; of the other tokens ``int((1 - step) N)`` are kept: the most
  relevant (negative perturbation) or, with the relevance negated, the least relevant (positive);
  the kept tokens are put back in sentence order and the others deleted (positions close up);
- image: ``int((1 - step) R)`` boxes kept, chosen the same way; the others are dropped — their
  features and positions removed (an `Item` with fewer regions), not masked. At step 1 no box is
  left: the row runs with one region and `lxmert_viz.output_heads.masked_words.BLIND`, which is
  exactly what the authors' forward with zero boxes computes (an attention over no keys gives a
  zero context; the words read the image only through l2v);
- score: the VQA soft label (``label[answer]``, 0 if absent) of the model's argmax answer on the
  perturbed input (`Item.gold_scores`; with one gold answer, as in the shapes world: 1 if the answer
  is gold, else 0);
- curve: the mean score over the questions, in percent; AUC: the trapezoid over the steps (0..1)
  of the percent-scale curve, step 0 included (`auc`);
- sample: the VQA ``valid.json`` (LXMERT's format) shuffled by Python's ``random.seed(1234);
  random.shuffle(list(range(n)))``, first N (`published_sample`).

Ties: the authors use ``torch.topk``, whose order among equal values is not specified; here equal
relevance keeps the earlier position first (a stable sort). Kept boxes are passed in their
original order (the authors pass them in ``topk`` order; LXMERT's vision side has no position but
the box, so the order changes the last float bits only).

What could be checked here: the authors' perturbation script (read from a stored copy of
Transformer-MM-Explainability: steps, ``int((1 - step) * N)``, [CLS]/[SEP] kept and sorted, boxes
indexed away, ``item["label"].get(answer, 0)``, the percent curve, ``random.seed(1234)`` and
``shuffle``). What could not: the UPSE-LXMERT repository itself (no copy reachable from here), so
its AUC call and its AOPC / Del@15 / Ins@15 definitions are implemented as the issue states them:
the AOPC mode scores the softmax confidence of the argmax answer and removes the top k % of the
text and image inputs ranked together, k in `AOPC_KS` (`lxmert_viz.explain.faithfulness`: both
[CLS] rows min-max normalised, one joint ranking; AOPC = mean over k of (confidence with nothing
removed − with the top k % removed); Del@15 = that confidence at 15 %; Ins@15 = the confidence with
only the top 15 % kept).

The published row (`PUBLISHED`) is printed beside the user's numbers; reproductions drift by
about one AUC point (other boxes from the same detector, other hardware, other ties).
"""
from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..explain.explanation import Explanation
from ..explain.faithfulness import faithfulness, perturbed_row
from ..explain.methods import explained_items
from ..inputs.item import Item
from ..printing import Card, Printable, listing
from ..run import run

STEPS = (0.0, 0.25, 0.5, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)
MODALITIES = ("image", "text")
DIRECTIONS = ("positive", "negative")
AOPC_KS = (5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100)
SAMPLE_SEED = 1234

PUBLISHED = {
    "source": "CRKninni/Architecture-Aware-UPSE-LXMERT (protocol of Chefer, Gur & Wolf, ICCV 2021)",
    "model": "unc-nlp/lxmert-vqa-uncased", "boxes": 36, "questions": 3303, "method": "relevancy",
    "ends": {"nothing removed": 67.17, "no regions": 39.94, "only [CLS]/[SEP]": 5.07},
    "auc": {("image", "positive"): 51.53, ("image", "negative"): 62.73,
            ("text", "positive"): 21.53, ("text", "negative"): 48.12},
}


def auc(values_percent: Sequence[float], steps: Sequence[float] = STEPS) -> float:
    """Trapezoid over the steps (0..1) of a percent-scale curve, step 0 included.

    Example:
        >>> auc([100, 100, 100, 100, 100, 100, 100, 100, 100])
        100.0
    """
    s, v = np.asarray(steps, float), np.asarray(values_percent, float)
    return float(np.sum((v[1:] + v[:-1]) * np.diff(s)) / 2.0)


def kept(relevance: np.ndarray, step: float, direction: str) -> list[int]:
    """Indices kept at ``step``: ``int((1 - step) N)`` of them, the most relevant (negative) or the
    least relevant (positive: the relevance negated, as the authors do), in index order."""
    if direction not in DIRECTIONS:
        raise InputError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    cam = np.asarray(relevance, float) * (-1.0 if direction == "positive" else 1.0)
    n = int((1.0 - float(step)) * len(cam))
    return sorted(np.argsort(-cam, kind="stable")[:n].tolist())


def step_inputs(item: Item, explanation: Explanation, modality: str, direction: str,
                steps: Sequence[float] = STEPS) -> list[tuple[list[int], list[int]]]:
    """Per step, (token positions kept, region rows kept) of the protocol."""
    t, r = len(item.tokens), item.regions.real().num_real
    if explanation.num_tokens != t or explanation.num_regions != r:
        raise InputError("the explanation must cover every token and region of the item (nothing dropped)")
    out = []
    for s in steps:
        if modality == "text":
            inner = kept(explanation.cls_tokens()[1:-1], s, direction)
            out.append(([0] + [i + 1 for i in inner] + [t - 1], list(range(r))))
        elif modality == "image":
            out.append((list(range(t)), kept(explanation.cls_regions(), s, direction)))
        else:
            raise InputError(f"modality must be one of {MODALITIES}, got {modality!r}")
    return out


def soft_score(pred: int, item: Item) -> float:
    """The VQA soft label of ``pred`` (``gold_scores``, 0 if absent), else 1/0 against ``gold``."""
    if item.gold_scores:
        return float(item.gold_scores.get(int(pred), 0.0))
    return float(int(pred) == int(item.gold))


def curve(model, item: Item, explanation: Explanation, modality: str, direction: str,
          steps: Sequence[float] = STEPS, chunk: int = 64) -> np.ndarray:
    """(S,) soft score of the argmax answer at each step for one question (0..1, not percent)."""
    item = replace(item, regions=item.regions.real())
    rows = [perturbed_row(item, toks, regs) for toks, regs in step_inputs(item, explanation, modality, direction, steps)]
    logits = torch.cat([run(model, rows[lo:lo + chunk], maps=False).logits() for lo in range(0, len(rows), chunk)])
    return np.array([soft_score(int(p), item) for p in logits.argmax(-1)])


@dataclass(repr=False)
class PublishedReport(Printable):
    """Percent-scale curves and AUCs of the published protocol, beside the published row.

    Attributes:
        steps: (S,) removed fractions; curves: ``(method, modality, direction)`` -> (S,) percent.
        num_questions: questions counted; meta: settings.
    """

    steps: np.ndarray
    curves: dict[tuple[str, str, str], np.ndarray]
    num_questions: int
    meta: dict = field(default_factory=dict)

    def _card(self) -> Card:
        rows = [("questions", self.num_questions), ("steps", listing([f"{s:.2f}" for s in self.steps], 9)),
                *((f"{m} {mo} {d[:3]}. AUC", f"{self.auc(m, mo, d):.2f}") for m, mo, d in list(self.curves)[:8])]
        return Card("PublishedReport (percent-scale curves)", rows, "report.table() beside the published row")

    def auc(self, method: str, modality: str, direction: str) -> float:
        return auc(self.curves[(method, modality, direction)], self.steps)

    def ends(self, method: str) -> dict[str, float]:
        """Nothing removed, no regions (image step 1), only [CLS]/[SEP] (text step 1), in percent."""
        out = {}
        for key, (mod, i) in {"nothing removed": (None, 0), "no regions": ("image", -1),
                              "only [CLS]/[SEP]": ("text", -1)}.items():
            c = next((v for (m, mo, _), v in self.curves.items() if m == method and (mod is None or mo == mod)), None)
            out[key] = float("nan") if c is None else float(c[i])
        return out

    def table(self) -> str:
        """Markdown: the user's AUCs and curve ends per method, and the published row beside them."""
        cols = [(m, d) for m in MODALITIES for d in DIRECTIONS]
        head = ("| | questions | " + " | ".join(f"{m}{'+' if d == 'positive' else '−'} AUC" for m, d in cols)
                + " | nothing removed | no regions | only [CLS]/[SEP] |")
        lines = [head, "|---" * (len(cols) + 5) + "|"]
        for meth in dict.fromkeys(k[0] for k in self.curves):
            aucs = [f"{self.auc(meth, m, d):.2f}" if (meth, m, d) in self.curves else "–" for m, d in cols]
            ends = [f"{v:.2f}" for v in self.ends(meth).values()]
            lines.append(f"| {meth} (this run) | {self.num_questions} | " + " | ".join(aucs + ends) + " |")
        p = PUBLISHED
        lines.append(f"| published: {p['model']}, {p['boxes']} boxes, {p['method']} | {p['questions']} | "
                     + " | ".join(f"{p['auc'][c]:.2f}" for c in cols) + " | "
                     + " | ".join(f"{v:.2f}" for v in p["ends"].values()) + " |")
        return "\n".join(lines) + ("\n\nPublished: " + p["source"] + ". Reproductions drift by about one AUC point "
                                   "(boxes, hardware, ties); positive: most relevant removed first (lower is better), "
                                   "negative: least relevant first (higher is better).")


def published_benchmark(model, items: Iterable[Item], methods: Sequence[str] = ("relevancy",),
                        modalities: Sequence[str] = MODALITIES, directions: Sequence[str] = DIRECTIONS,
                        limit: int | None = None, seed: int = 0) -> PublishedReport:
    """Run the published protocol over ``items``.

    Example:
        >>> from lxmert_viz.analysis import shapes_examples
        >>> rep = published_benchmark(kit.model, shapes_examples(kit, 1), limit=2)
        >>> rep.steps.tolist()[-3:], sorted(rep.ends("relevancy"))
        ([0.9, 0.95, 1.0], ['no regions', 'nothing removed', 'only [CLS]/[SEP]'])
    """
    keys = [(m, mo, d) for m in methods for mo in modalities for d in directions]
    total = {k: np.zeros(len(STEPS)) for k in keys}
    n = 0
    for _, item, ex in explained_items(model, items, methods, limit, seed):
        for m, mo, d in keys:
            total[(m, mo, d)] += curve(model, item, ex[m], mo, d)
        n += 1
    if n == 0:
        raise InputError("no questions for the perturbation protocol")
    return PublishedReport(np.array(STEPS), {k: 100.0 * v / n for k, v in total.items()}, n,
                           {"protocol": "published", "methods": list(methods)})


@dataclass(repr=False)
class AopcReport(Printable):
    """AOPC, Del@15 and Ins@15 per method (softmax confidence of the argmax answer)."""

    aopc: dict[str, np.ndarray]
    del_at_15: dict[str, np.ndarray]
    ins_at_15: dict[str, np.ndarray]
    ks: tuple[int, ...] = AOPC_KS

    def _card(self) -> Card:
        rows = [(m, f"AOPC {self.aopc[m].mean():.4f}, Del@15 {self.del_at_15[m].mean():.4f}, "
                    f"Ins@15 {self.ins_at_15[m].mean():.4f} ({len(self.aopc[m])} questions)") for m in self.aopc]
        return Card("AopcReport (softmax confidence of the argmax answer)", rows, "report.table()")

    def table(self) -> str:
        lines = ["| method | AOPC ↑ | Del@15 ↓ | Ins@15 ↑ | questions |", "|---|---|---|---|---|"]
        for m in self.aopc:
            lines.append(f"| {m} | {self.aopc[m].mean():.4f} | {self.del_at_15[m].mean():.4f} | "
                         f"{self.ins_at_15[m].mean():.4f} | {len(self.aopc[m])} |")
        return "\n".join(lines) + f"\n\nk (% of text and image inputs, ranked together): {list(self.ks)}."


def aopc_benchmark(model, items: Iterable[Item], methods: Sequence[str] = ("relevancy",), ks: Sequence[int] = AOPC_KS,
                   limit: int | None = None, seed: int = 0) -> AopcReport:
    """The AOPC / Del@15 / Ins@15 mode (see the module docstring for the definitions).

    Example:
        >>> from lxmert_viz.analysis import shapes_examples
        >>> rep = aopc_benchmark(kit.model, shapes_examples(kit, 1), limit=1)
        >>> list(rep.aopc), rep.del_at_15["relevancy"].shape
        (['relevancy'], (1,))
    """
    fr = [k / 100.0 for k in ks]
    out = {m: ([], [], []) for m in methods}
    n = 0
    for _, item, ex in explained_items(model, items, methods, limit, seed):
        for m, e in ex.items():
            f = faithfulness(model, item, e, fr, k=0.15)
            aopc = float(np.mean(f.deletion[0] - f.deletion[np.isin(np.round(f.fractions * 100), ks)]))
            out[m][0].append(aopc)
            out[m][1].append(f.del_at_k)
            out[m][2].append(f.ins_at_k)
        n += 1
    if n == 0:
        raise InputError("no questions for the AOPC mode")
    return AopcReport({m: np.array(v[0]) for m, v in out.items()}, {m: np.array(v[1]) for m, v in out.items()},
                      {m: np.array(v[2]) for m, v in out.items()}, tuple(ks))


def published_sample(questions: str | Path, n: int, seed: int = SAMPLE_SEED) -> list[dict]:
    """The first ``n`` questions of LXMERT's ``valid.json`` after the authors' shuffle
    (``random.seed(seed); r = list(range(len(data))); random.shuffle(r)``), as its rows.

    Example:
        >>> import json
        >>> _ = (tmp / "valid.json").write_text(json.dumps([{"question_id": i} for i in range(5)]))
        >>> [r["question_id"] for r in published_sample(tmp / "valid.json", 3)]
        [1, 2, 4]
    """
    rows = json.loads(Path(questions).read_text(encoding="utf-8"))
    if not isinstance(rows, list):
        raise InputError(f"{questions}: expected LXMERT's valid.json, a list of question objects")
    state = random.getstate()
    try:
        random.seed(seed)
        r = list(range(len(rows)))
        random.shuffle(r)
    finally:
        random.setstate(state)
    return [rows[i] for i in r[:n]]


def write_sample(questions: str | Path, n: int, seed: int = SAMPLE_SEED) -> Path:
    """`published_sample` written to a temporary JSON file in the same format (for `vqa_dataset`)."""
    out = Path(tempfile.mkdtemp(prefix="lxmert-viz-sample-")) / Path(questions).name
    out.write_text(json.dumps(published_sample(questions, n, seed)), encoding="utf-8")
    return out

