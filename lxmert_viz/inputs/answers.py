"""Answer vocabularies and top-k answers.

Shape letters: B batch, A answers.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import torch


class Answers:
    """Answer id <-> text.

    Example:
        >>> ans = Answers(["yes", "no"])
        >>> ans.top_k(torch.tensor([0.1, 2.0]), k=1)
        [('no', 0.8698...)]
    """

    def __init__(self, names: Sequence[str]):
        names = [str(n) for n in names]
        if not names:
            raise ValueError("an answer vocabulary needs at least one answer")
        self.names = names
        self._index = {n: i for i, n in enumerate(names)}

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> str:
        return self.names[i]

    def index(self, answer: str) -> int:
        try:
            return self._index[answer]
        except KeyError:
            raise KeyError(f"{answer!r} is not in the answer vocabulary ({len(self)} answers)") from None

    @classmethod
    def from_file(cls, path: str | Path) -> "Answers":
        """From a JSON list ``["yes", ...]``, a dict ``{"yes": 0, ...}`` / ``{"0": "yes"}``, or a text file, one per line."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no answer file at {path}")
        text = path.read_text(encoding="utf-8")
        if path.suffix != ".json":
            return cls([line.strip() for line in text.splitlines() if line.strip()])
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not valid JSON: {err}") from None
        return cls.from_obj(data, source=str(path))

    @classmethod
    def from_obj(cls, data, source: str = "answers") -> "Answers":
        if isinstance(data, list):
            return cls(data)
        if isinstance(data, dict) and data:
            keys, vals = list(data.keys()), list(data.values())
            if all(isinstance(v, int) for v in vals):  # answer -> id
                pairs = {v: k for k, v in data.items()}
            elif all(str(k).lstrip("-").isdigit() for k in keys):  # id -> answer
                pairs = {int(k): v for k, v in data.items()}
            else:
                raise ValueError(f"{source}: a dict must map answers to ids or ids to answers")
            if sorted(pairs) != list(range(len(pairs))):
                raise ValueError(f"{source}: answer ids must be 0..{len(pairs) - 1} without gaps")
            return cls([pairs[i] for i in range(len(pairs))])
        raise ValueError(f"{source}: expected a JSON list or dict of answers")

    @classmethod
    def from_config(cls, id2label: dict[int, str] | None) -> "Answers | None":
        """From a config's ``id2label``; None when it is absent or only has generic LABEL_n names."""
        if not id2label:
            return None
        if all(v == f"LABEL_{k}" for k, v in id2label.items()):
            return None
        return cls.from_obj({str(k): v for k, v in id2label.items()}, source="config id2label")

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.names, indent=1) + "\n", encoding="utf-8")

    def top_k(self, logits: torch.Tensor, k: int = 5) -> list[tuple[str, float]]:
        """Best-first ``[(answer, probability), ...]`` from one example's logits (A,)."""
        if logits.dim() != 1 or logits.shape[0] != len(self):
            raise ValueError(f"logits must be ({len(self)},) for this vocabulary, got {tuple(logits.shape)}")
        probs = torch.softmax(logits.detach().float(), dim=-1)
        p, i = probs.topk(min(k, len(self)))
        return [(self.names[j], float(q)) for q, j in zip(p.tolist(), i.tolist())]
