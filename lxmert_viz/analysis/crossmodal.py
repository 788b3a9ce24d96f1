"""Cross-modal input ablation (Frank, Bugliarello & Elliott, EMNLP 2021, "Vision-and-Language or
Vision-for-Language? On Cross-Modal Influence in Multimodal Transformers"): does each stream use
the other one?

Shape letters: Q questions, M masked copies (one per masked token), C conditions, R regions,
V vocabulary, K object labels.

Two measurements over a data set, each with the other modality present and absent:

- **words from regions**: every token of every question that is not special ([CLS], [SEP], ...)
  or punctuation is masked on its own (``[MASK]``), and the pretraining head predicts it:
  masked-word accuracy (argmax over the whole vocabulary == the original token) and loss
  (-log p(original token), nats), with all regions and with none;
- **regions from words**: the object head labels every region whose label is known (the
  shapes world's colour x shape labels; a detector's ``obj_ids`` or label names for Visual Genome
  checkpoints; the shapes world's scene row is left out, it never had a label): region-label
  accuracy and loss, with all words and with none.

How "none" is made (the same rule both ways, exact, and cheap):

- no region for the words = `lxmert_viz.output_heads.masked_words.BLIND`: every ``l2v`` head's
  output is zeroed in every cross layer (``l2v.*.z``; the output projection's bias stays). The
  language stream reads the image nowhere else, so the masked-word logits are then a function of
  the text alone. (Masking every region in ``visual_attention_mask`` would not do it: a fully
  masked row attends uniformly to the masked keys, so the words would hear the mean region. It is
  also what a forward with zero regions computes: an empty attention gives a zero context.)
- no word for the regions = `DEAF`: every ``v2l`` head's output is zeroed in every cross layer
  (``v2l.*.z``): the vision stream reads the text nowhere else, so the object logits are a
  function of the image alone (`tests/test_crossmodal.py` checks that two different questions
  then give the same labels). Frank et al. ablate text by masking every token; that leaves
  [CLS]/[SEP], the positions and the sentence length audible, and changes the input the
  language stream sees, so the kit's rule is the cleaner "nothing flows", symmetric with BLIND.

Per cross layer (by patching): the other modality removed at cross layer k alone: the site
``l2v.k.z`` (or ``v2l.k.z``) is patched (`lxmert_viz.interventions.patching.patching`) with the
value it has in the BLIND (DEAF) run, which is zero at every position and head; all other layers
hear the other modality as usual.

Intervals: Wilson (95 %) for accuracies, mean ± 1.96 s / sqrt(n) for losses, over masked tokens
(or labelled regions); tokens of one question are not independent, so the intervals are a little
narrow. Every pass goes through `lxmert_viz.run.run`: the masked copies of one question and the
conditions are rows of one batch (``chunk`` rows per forward, no maps).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..errors import InputError
from ..inputs.item import Item
from ..inputs.text import Tokens
from ..interventions.patching import patching
from ..model.hooks import Intervention
from ..output_heads.masked_words import BLIND, require_pretraining
from ..output_heads.region_labels import LabelNames, label_names
from ..printing import Card
from ..run import Row, run
from ..shapes.world.scenes import layout_scene
from ..shapes.world.statements import true_statements
from .atlas import mean_interval, wilson
from .datasets import open_dataset
from .encode import Encoder
from .example import Example, SceneImage
from .stats.attention import SPECIAL, is_punctuation_token

DEAF = Intervention("deaf", ("v2l.*.z",), note="every v2l head's output zeroed in every cross layer (the regions "
                    "hear no word)", fns={"v2l.*.z": lambda z, _name: z * 0.0})
WORDS, REGIONS = "words", "regions"


@dataclass(frozen=True)
class Measure:
    """Accuracy and loss of one condition, with 95 % intervals."""

    accuracy: float
    accuracy_lo: float
    accuracy_hi: float
    loss: float
    loss_lo: float
    loss_hi: float
    n: int

    @classmethod
    def of(cls, correct: np.ndarray, loss: np.ndarray) -> Measure:
        n = len(correct)
        if n == 0:
            nan = float("nan")
            return cls(nan, nan, nan, nan, nan, nan, 0)
        acc = float(np.mean(correct))
        lo, hi = wilson(float(np.sum(correct)), n)
        m = float(np.mean(loss))
        llo, lhi = mean_interval(m, float(np.std(loss, ddof=1)) if n > 1 else float("nan"), n)
        return cls(acc, lo, hi, m, max(llo, 0.0), lhi, n)  # a loss is never negative


@dataclass
class CrossModal:
    """What `crossmodal_ablation` returns.

    Attributes:
        conditions: side (``"words"`` / ``"regions"``) -> condition names, in column order:
            ``"all"``, ``"none"``, then ``"none at cross layer k"`` for each k.
        correct, loss: side -> (n, C) per masked token (words) or labelled region (regions).
        where: side -> (n, 2) ``(question index, token or region position)`` of each row.
        meta: model, questions, rows, forwards, how "none" was made.
    """

    conditions: dict[str, list[str]]
    correct: dict[str, np.ndarray]
    loss: dict[str, np.ndarray]
    where: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        w, r = self.measure(WORDS, "all"), self.measure(REGIONS, "all")
        return (f"CrossModal(masked words: {self.measure(WORDS, 'none').accuracy:.2f} without regions vs "
                f"{w.accuracy:.2f} with (n={w.n}); region labels: {self.measure(REGIONS, 'none').accuracy:.2f} "
                f"without words vs {r.accuracy:.2f} with (n={r.n}); .table(), .measure(side, condition))")

    def _repr_html_(self) -> str:
        rows = []
        for side in self.conditions:
            for cond in self.conditions[side][:2]:
                m = self.measure(side, cond)
                rows.append((f"{side}, {cond}", f"accuracy {m.accuracy:.3f} (n={m.n})"))
        return Card("CrossModal: the other modality present vs absent", rows,
                    "crossmodal.table(), crossmodal.measure(side, condition)").html()

    def measure(self, side: str, condition: str) -> Measure:
        """Accuracy and loss of one side under one condition (see ``conditions``)."""
        if side not in self.conditions:
            raise InputError(f"side must be {WORDS!r} or {REGIONS!r}, got {side!r}")
        if condition not in self.conditions[side]:
            raise InputError(f"condition must be one of {self.conditions[side]}, got {condition!r}")
        c = self.conditions[side].index(condition)
        return Measure.of(self.correct[side][:, c], self.loss[side][:, c])

    def drop(self, side: str, condition: str = "none") -> tuple[float, float, float]:
        """Accuracy lost when the other modality goes: the paired mean of (all − condition) over
        the side's rows, with its normal 95 % interval."""
        c0, c = 0, self.conditions[side].index(condition)
        d = self.correct[side][:, c0].astype(float) - self.correct[side][:, c].astype(float)
        if len(d) == 0:
            return float("nan"), float("nan"), float("nan")
        m = float(d.mean())
        lo, hi = mean_interval(m, float(d.std(ddof=1)) if len(d) > 1 else float("nan"), len(d))
        return m, lo, hi

    def table(self) -> str:
        """Markdown: one row per side and condition."""
        lines = ["| side | condition | accuracy [95 %] | loss [95 %] | n |", "|---|---|---|---|---|"]
        what = {WORDS: "masked words (regions removed)", REGIONS: "region labels (words removed)"}
        for side in (WORDS, REGIONS):
            for cond in self.conditions[side]:
                m = self.measure(side, cond)
                lines.append(f"| {what[side]} | {cond} | {m.accuracy:.3f} [{m.accuracy_lo:.3f}, {m.accuracy_hi:.3f}] | "
                             f"{m.loss:.3f} [{m.loss_lo:.3f}, {m.loss_hi:.3f}] | {m.n} |")
        return "\n".join(lines)


def masked_copy(tokens: Tokens, position: int, mask_id: int) -> Tokens:
    """``tokens`` with the token at ``position`` replaced by ``[MASK]``."""
    ids = list(tokens.ids)
    ids[position] = mask_id
    pieces = list(tokens.pieces)
    pieces[position] = "[MASK]"
    return replace(tokens, ids=tuple(ids), pieces=tuple(pieces))


def maskable_positions(tokens: Tokens) -> list[int]:
    """Positions of the tokens that are masked one at a time: not special, not punctuation."""
    return [i for i, p in enumerate(tokens.pieces) if p not in SPECIAL and not is_punctuation_token(p)]


def region_gold(regions, names: LabelNames) -> list[tuple[int, int]]:
    """``[(region, label id), ...]`` for the real regions whose object label is known: the
    detector's ``obj_ids`` when the regions carry them, else the label names looked up in
    ``names`` (the shapes world's scene row, ``names.scene_row``, is left out)."""
    regions = regions.real()
    ids = regions.extra.get("obj_ids")
    out = []
    for i in range(regions.num_real):
        if names.scene_row == i:
            continue
        if ids is not None and int(ids[i]) >= 0:
            out.append((i, int(ids[i])))
        elif ids is None and regions.labels is not None and regions.labels[i] in names.objects:
            out.append((i, names.objects.index(regions.labels[i])))
    return out


def layer_patch(fam: str, layer: int, n: int, config) -> Intervention:
    """Site ``{fam}.{layer}.z`` patched with its value in the BLIND / DEAF run (zero: (n, H, E))."""
    h = config.num_attention_heads
    zero = torch.zeros(n, h, config.hidden_size // h)
    return patching(f"{fam}.{layer}.z", list(range(n)), None, zero)


def shapes_statements(kit, n_scenes: int = 10, seed: int = 2, size: int = 128) -> list[Item]:
    """True sentences about held-out shapes scenes (the kind the embedded model's masked-word head
    was trained on: ``"the circle is black."``), as `Item`s with the scene's regions.

    Scene ``i`` is ``layout_scene(seed * 1_000_000 + i)`` (the held-out scenes of
    `lxmert_viz.analysis.datasets.shapes_dataset` for the default seed); its sentences are
    `lxmert_viz.shapes.world.statements.true_statements` drawn with ``numpy.random.default_rng([seed, i])``.

    Example:
        >>> items = shapes_statements(kit, 1)
        >>> items[0].question
        'the circle is black.'
    """
    encode = Encoder.from_kit(kit)
    out = []
    for i in range(n_scenes):
        scene_seed = seed * 1_000_000 + i
        objects = layout_scene(scene_seed, size)[0]
        rng = np.random.default_rng([seed, i])
        for kind, texts in sorted(true_statements(objects, rng).items()):
            for k, text in enumerate(texts):
                ex = Example(f"{scene_seed}-{kind}-{k}", text, image=SceneImage(scene_seed, size), meta={"qtype": kind})
                out.append(encode(ex))
    return out


def _conditions(config) -> list[str]:
    return ["all", "none"] + [f"none at cross layer {k}" for k in range(config.x_layers)]


def _batched(model, rows: list[Row], chunk: int, read) -> list:
    out = []
    for lo in range(0, len(rows), chunk):
        out.append(read(run(model, rows[lo:lo + chunk], maps=False).output))
    return out


def _words(model, item: Item, mask_id: int, chunk: int):
    """(copies, C) correct and loss of every masked copy of one question, and their positions."""
    cfg = model.config
    where = maskable_positions(item.tokens)
    rows = []
    for p in where:
        masked = replace(item, tokens=masked_copy(item.tokens, p, mask_id))
        n = len(masked.tokens)
        rows += [Row(masked), Row(masked, intervention=BLIND)]
        rows += [Row(masked, intervention=layer_patch("l2v", k, n, cfg)) for k in range(cfg.x_layers)]
    if not rows:
        return np.zeros((0, 2 + cfg.x_layers)), np.zeros((0, 2 + cfg.x_layers)), []
    per = 2 + cfg.x_layers
    logits = torch.cat(_batched(model, rows, chunk, lambda o: o.prediction_logits.float().cpu()))  # (B, T, V)
    target = torch.tensor([item.tokens.ids[p] for p in where]).repeat_interleave(per)
    pos = torch.tensor(where).repeat_interleave(per)
    at = logits[torch.arange(len(rows)), pos]  # (B, V)
    logp = torch.log_softmax(at, -1)
    correct = (at.argmax(-1) == target).numpy().reshape(len(where), per)
    loss = (-logp[torch.arange(len(rows)), target]).numpy().reshape(len(where), per)
    return correct, loss, where


def _regions(model, item: Item, gold: list[tuple[int, int]]):
    """(labelled regions, C) correct and loss of one question's regions under every condition."""
    cfg = model.config
    per = 2 + cfg.x_layers
    if not gold:
        return np.zeros((0, per)), np.zeros((0, per))
    n = item.regions.num_real
    rows = [Row(item), Row(item, intervention=DEAF)]
    rows += [Row(item, intervention=layer_patch("v2l", k, n, cfg)) for k in range(cfg.x_layers)]
    obj = run(model, rows, maps=False).output.obj_predictions["obj"].float().cpu()  # (C, R, K)
    idx, lab = torch.tensor([g[0] for g in gold]), torch.tensor([g[1] for g in gold])
    logp = torch.log_softmax(obj[:, idx], -1)  # (C, n, K)
    correct = (obj[:, idx].argmax(-1) == lab[None]).T.numpy()
    loss = (-logp[:, torch.arange(len(gold)), lab]).T.numpy()
    return correct, loss


def _items(kit, data, limit):
    if isinstance(data, str):
        encode = Encoder.from_kit(kit)
        data = (encode(ex) for ex in open_dataset(data))
    for k, item in enumerate(data):
        if limit is not None and k >= limit:
            return
        if not isinstance(item, Item):
            raise InputError(f"crossmodal_ablation takes Items or a data-set spec ('shapes:5'), got {type(item).__name__}")
        yield replace(item, regions=item.regions.real())


def crossmodal_ablation(kit, data: Iterable[Item] | str, limit: int | None = None, chunk: int = 256,
                        names: LabelNames | None = None) -> CrossModal:
    """Masked words with all regions vs none, region labels with all words vs none, and per cross layer.

    Args:
        kit: a `Kit` whose model has the pretraining output head (the embedded model has it).
        data: `Item`s, or a data-set spec for `lxmert_viz.analysis.open_dataset` (``"shapes:5"``).
        limit: at most this many questions.
        chunk: rows per forward.
        names: the object label names (default `label_names(kit)`).

    Returns:
        `CrossModal`.

    Example:
        >>> cm = crossmodal_ablation(kit, "shapes:1", limit=3)
        >>> cm.conditions["words"][:2], cm.correct["regions"].shape[1]
        (['all', 'none'], 5)
    """
    model = kit.model
    require_pretraining(model)
    mask_id = kit.tokenizer.mask_id
    if mask_id is None:
        raise InputError("this tokenizer's vocabulary has no [MASK] token")
    names = label_names(kit) if names is None else names
    conds = _conditions(model.config)
    wc, wl, ww, rc, rl, rw = [], [], [], [], [], []
    q = 0
    for q, item in enumerate(_items(kit, data, limit)):
        c, loss, where = _words(model, item, mask_id, chunk)
        wc.append(c)
        wl.append(loss)
        ww += [(q, p) for p in where]
        gold = region_gold(item.regions, names)
        c, loss = _regions(model, item, gold)
        rc.append(c)
        rl.append(loss)
        rw += [(q, g[0]) for g in gold]
    if not wc:
        raise InputError("no questions to measure (the data was empty)")
    per = len(conds)
    cat = lambda xs: np.concatenate(xs) if xs else np.zeros((0, per))  # noqa: E731
    meta = {"questions": q + 1, "none_words": BLIND.note, "none_regions": DEAF.note,
            "per_layer": "site l2v.k.z / v2l.k.z patched with its (zero) value in the BLIND / DEAF run",
            "labels": names.source}
    return CrossModal({WORDS: conds, REGIONS: conds}, {WORDS: cat(wc).astype(bool), REGIONS: cat(rc).astype(bool)},
                      {WORDS: cat(wl), REGIONS: cat(rl)},
                      {WORDS: np.array(ww, dtype=int).reshape(-1, 2), REGIONS: np.array(rw, dtype=int).reshape(-1, 2)},
                      meta)
