"""Answer vocabularies and top-k answers, scored the way the checkpoint's answer head was trained.

Shape letters: B batch, A answers.

An answer head's logits mean different things depending on its training objective, and so
`Answers.scoring` says how they become numbers:

* ``"softmax"``: the head was trained with a softmax cross entropy over the answers (one right
  answer per question), so ``softmax(logits)`` is a probability distribution over the answer
  vocabulary. The embedded shapes model (`lxmert_viz.shapes.train`) and LXMERT's pre-training
  answer head (``unc-nlp/lxmert-base-uncased``) are such heads.
* ``"sigmoid"``: the head was trained with a per-answer binary cross entropy over soft targets
  (VQA's 0..1 answer scores), as LXMERT's VQA and GQA fine-tuning did (``src/tasks/vqa.py`` and
  ``gqa.py`` of the original release: ``BCEWithLogitsLoss``), so ``sigmoid(logit)`` is each
  answer's own score; the scores do not sum to 1 and are not called probabilities.

Both give the same ranking; only the numbers and their name differ (`score_label`). Which one a
checkpoint uses is `lxmert_viz.model.config.LxmertConfig.answer_scoring`.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch

from ..errors import CheckpointError, InputError, InputTypeError, MissingFileError, UnknownNameError
from .files import read_utf8

SCORINGS = ("softmax", "sigmoid")
SCORE_LABELS = {"softmax": "probability", "sigmoid": "score"}


def score_label(scoring: str) -> str:
    """What to call one answer's number: ``"probability"`` (softmax) or ``"score"`` (sigmoid)."""
    return SCORE_LABELS[check_scoring(scoring)]


def check_scoring(scoring) -> str:
    if scoring not in SCORINGS:
        raise InputError(f"answer scoring must be one of {SCORINGS}, got {scoring!r}")
    return scoring


def check_top_k(k) -> int:
    """``k`` if it is a positive integer, else `InputError` / `InputTypeError`."""
    if isinstance(k, bool) or not isinstance(k, int):
        raise InputTypeError(f"top_k must be a positive integer, got {k!r} ({type(k).__name__})")
    if k < 1:
        raise InputError(f"top_k must be at least 1, got {k}")
    return k


class Answers:
    """Answer id <-> text, and how the answer head's logits become scores.

    Args:
        names: the answers, in the answer head's order; distinct, non-empty strings.
        scoring: ``"softmax"`` (probabilities) or ``"sigmoid"`` (per-answer scores); see the
            module docstring.

    Example:
        >>> ans = Answers(["yes", "no"])
        >>> ans.top_k(torch.tensor([0.1, 2.0]), k=1)
        [('no', 0.8698...)]
        >>> Answers(["yes", "no"], scoring="sigmoid").top_k(torch.tensor([0.1, 2.0]), k=1)
        [('no', 0.8807...)]
    """

    def __init__(self, names: Sequence[str], scoring: str = "softmax", source: str = "answers"):
        if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
            raise InputTypeError(f"{source}: answers must be a list of strings, got {type(names).__name__}")
        names = list(names)
        if not names:
            raise CheckpointError(f"{source}: an answer vocabulary needs at least one answer")
        first: dict[str, int] = {}
        for i, n in enumerate(names):
            if not isinstance(n, str):
                raise CheckpointError(f"{source}: answer {i} is {n!r} ({type(n).__name__}); answers must be strings")
            if not n.strip():
                raise CheckpointError(f"{source}: answer {i} is blank; every answer needs a name")
            if n in first:
                raise CheckpointError(f"{source}: answer {n!r} appears twice (ids {first[n]} and {i}); "
                                      f"each answer must be listed once")
            first[n] = i
        self.names = names
        self.scoring = check_scoring(scoring)
        self._index = first

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> str:
        return self.names[i]

    @property
    def score_label(self) -> str:
        """``"probability"`` (softmax) or ``"score"`` (sigmoid)."""
        return score_label(self.scoring)

    def with_scoring(self, scoring: str) -> Answers:
        """The same answers with another scoring (a new object; this one is left as it is)."""
        return Answers(self.names, scoring)

    def index(self, answer: str) -> int:
        try:
            return self._index[answer]
        except (KeyError, TypeError):
            raise UnknownNameError(f"{answer!r} is not in the answer vocabulary ({len(self)} answers)") from None

    @classmethod
    def from_file(cls, path: str | Path, scoring: str = "softmax") -> Answers:
        """From a JSON list ``["yes", ...]``, a dict ``{"yes": 0, ...}`` / ``{"0": "yes"}``, or a text file, one per line."""
        path = Path(path)
        if not path.is_file():
            raise MissingFileError(f"no answer file at {path}")
        text = read_utf8(path, "an answer list")
        if path.suffix != ".json":
            return cls([line.strip() for line in text.splitlines() if line.strip()], scoring, source=str(path))
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            raise CheckpointError(f"{path} is not valid JSON: {err}") from None
        return cls.from_obj(obj, source=str(path), scoring=scoring)

    @classmethod
    def from_obj(cls, data, source: str = "answers", scoring: str = "softmax") -> Answers:
        if isinstance(data, list):
            return cls(data, scoring, source)
        if isinstance(data, dict) and data:
            keys, vals = list(data.keys()), list(data.values())
            if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):  # answer -> id
                pairs: dict[int, object] = {}
                for k, v in data.items():
                    if v in pairs:
                        raise CheckpointError(f"{source}: answers {pairs[v]!r} and {k!r} share id {v}")
                    pairs[v] = k
            elif all(isinstance(k, str) and k.lstrip("-").isdigit() for k in keys):  # id -> answer
                pairs = {int(k): v for k, v in data.items()}
                if len(pairs) != len(data):
                    raise CheckpointError(f"{source}: two keys name the same id (e.g. '1' and '01')")
            else:
                raise CheckpointError(f"{source}: a dict must map answers to integer ids or id strings "
                                      f"('0', '1', ...) to answers")
            if sorted(pairs) != list(range(len(pairs))):
                raise CheckpointError(f"{source}: answer ids must be 0..{len(pairs) - 1} without gaps")
            return cls([pairs[i] for i in range(len(pairs))], scoring, source)
        raise CheckpointError(f"{source}: expected a JSON list or a non-empty dict of answers, "
                              f"got {type(data).__name__}")

    @classmethod
    def from_config(cls, id2label: dict[int, str] | None, scoring: str = "softmax") -> Answers | None:
        """From a config's ``id2label``; None when it is absent or only has generic LABEL_n names."""
        if not id2label:
            return None
        if all(v == f"LABEL_{k}" for k, v in id2label.items()):
            return None
        return cls.from_obj({str(k): v for k, v in id2label.items()}, source="config id2label", scoring=scoring)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.names, indent=1) + "\n", encoding="utf-8")

    def scores(self, logits: torch.Tensor) -> torch.Tensor:
        """(A,) or (B, A) logits to scores by `scoring` (softmax over answers, or sigmoid per answer)."""
        if not isinstance(logits, torch.Tensor):
            raise InputTypeError(f"logits must be a torch tensor, got {type(logits).__name__}")
        if logits.shape[-1:] != (len(self),):
            raise InputError(f"logits must end in ({len(self)},) for this vocabulary, got {tuple(logits.shape)}")
        x = logits.detach().float()
        if not torch.isfinite(x).all():
            raise InputError(f"the answer logits hold {int((~torch.isfinite(x)).sum())} NaN or infinite "
                             f"values: the model's inputs or weights are not finite")
        return torch.softmax(x, dim=-1) if self.scoring == "softmax" else torch.sigmoid(x)

    def top_k(self, logits: torch.Tensor, k: int = 5) -> list[tuple[str, float]]:
        """Best-first ``[(answer, score), ...]`` from one example's logits (A,): softmax
        probabilities or sigmoid scores, by `scoring`. ``k`` larger than the vocabulary gives all."""
        k = check_top_k(k)
        if not isinstance(logits, torch.Tensor) or logits.dim() != 1 or logits.shape[0] != len(self):
            shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
            raise InputError(f"logits must be ({len(self)},) for this vocabulary, got {shape}")
        p, i = self.scores(logits).topk(min(k, len(self)))
        return [(self.names[j], float(q)) for q, j in zip(p.tolist(), i.tolist())]
