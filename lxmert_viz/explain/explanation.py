"""The explanation of one answer: four relevance matrices over the real tokens and regions.

Shape letters: T real tokens, R real regions.

| matrix | shape  | row (query)       | column (what it is relevant from) |
|--------|--------|-------------------|-----------------------------------|
| `R_tt` | (T, T) | token             | token                             |
| `R_ii` | (R, R) | region            | region                            |
| `R_ti` | (T, R) | token             | region                            |
| `R_it` | (R, T) | region            | token                             |

Row 0 of `R_tt` / `R_ti` belongs to [CLS], whose final state is what the answer head reads, so
`cls_words()` and `cls_regions()` are the usual "what mattered for the answer" maps.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

METHODS = ("raw", "rollout", "relevancy", "random")


@dataclass(frozen=True)
class Explanation:
    """Relevance maps of one method for one answer of one example, cropped to real tokens/regions.

    Attributes:
        method: one of ``METHODS``.
        answer: the explained answer index.
        R_tt, R_ii, R_ti, R_it: float64 arrays, see the module table.
        token_index: (T,) positions of the kept tokens in the model's input (padding removed).
        region_index: (R,) positions of the kept regions in the model's input.
        logit: the explained answer's logit in the explained pass.
        meta: extras (seed of the random baseline, ...).

    Example:
        >>> ex = explain(model, inputs, method="relevancy")      # doctest: +SKIP
        >>> ex.cls_regions().argmax()                            # doctest: +SKIP
    """

    method: str
    answer: int
    R_tt: np.ndarray
    R_ii: np.ndarray
    R_ti: np.ndarray
    R_it: np.ndarray
    token_index: np.ndarray
    region_index: np.ndarray
    logit: float = float("nan")
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        t, r = len(self.token_index), len(self.region_index)
        want = {"R_tt": (t, t), "R_ii": (r, r), "R_ti": (t, r), "R_it": (r, t)}
        for name, shape in want.items():
            a = getattr(self, name)
            if tuple(a.shape) != shape:
                raise ValueError(f"Explanation.{name} is {tuple(a.shape)}; {t} tokens and {r} regions need {shape}")

    @property
    def num_tokens(self) -> int:
        return len(self.token_index)

    @property
    def num_regions(self) -> int:
        return len(self.region_index)

    def word_to_regions(self, token: int) -> np.ndarray:
        """(R,) relevance of each region for token ``token`` (row of `R_ti`; negative counts from the end)."""
        return self.R_ti[self._row(token, self.num_tokens, "token")]

    def region_to_words(self, region: int) -> np.ndarray:
        """(T,) relevance of each token for region ``region`` (row of `R_it`)."""
        return self.R_it[self._row(region, self.num_regions, "region")]

    def cls_regions(self) -> np.ndarray:
        """(R,) relevance of each region for the answer: row [CLS] of `R_ti`."""
        return self.R_ti[0]

    def cls_words(self) -> np.ndarray:
        """(T,) relevance of each token for the answer: row [CLS] of `R_tt` ([CLS] itself included)."""
        return self.R_tt[0]

    @staticmethod
    def _row(i: int, n: int, what: str) -> int:
        if not -n <= int(i) < n:
            raise IndexError(f"{what} {i} is out of range for {n} {what}s")
        return int(i) % n
