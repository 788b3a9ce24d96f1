"""The explanation of one answer: four relevance matrices over the kept tokens and regions.

Shape letters: T kept tokens, R kept regions.

Matrices are keyed by stream, query stream first, as the rest of the kit names them:

| matrix      | shape  | row (query) | column (what it is relevant from) |
|-------------|--------|-------------|-----------------------------------|
| `lang_lang` | (T, T) | token       | token                             |
| `vis_vis`   | (R, R) | region      | region                            |
| `lang_vis`  | (T, R) | token       | region                            |
| `vis_lang`  | (R, T) | region      | token                             |

Row 0 of `lang_lang` / `lang_vis` belongs to [CLS], whose final state is all the answer head reads,
so `cls_tokens()` and `cls_regions()` are the usual "what mattered for the answer" maps.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, InputIndexError, UnknownNameError
from ..printing import Card, Printable, listing

METHODS = ("raw", "rollout", "relevancy", "random")  # the kit's four, compared side by side
EXTRA_METHODS = ("chefer_rollout",)  # the authors' rollout baseline, on request
ALL_METHODS = METHODS + EXTRA_METHODS
STREAM_PAIRS = (("lang", "lang"), ("vis", "vis"), ("lang", "vis"), ("vis", "lang"))


@dataclass(frozen=True, repr=False)
class Explanation(Printable):
    """Relevance maps of one method for one answer of one example, over its kept tokens and regions.

    Attributes:
        method: one of ``ALL_METHODS``.
        answer: the explained answer index.
        lang_lang, vis_vis, lang_vis, vis_lang: float64 arrays, see the module table.
        token_index: (T,) positions of the kept tokens among the result's tokens (dropped ones left out).
        region_index: (R,) positions of the kept regions among the result's regions.
        logit: the explained answer's logit.
        meta: extras (seed of the random baseline, ...).

    Example:
        >>> from lxmert_viz.explain import explain
        >>> ex = explain(result, "rollout")
        >>> ex.cls_regions().shape == (result.regions.num_real,)
        True
    """

    method: str
    answer: int
    lang_lang: np.ndarray
    vis_vis: np.ndarray
    lang_vis: np.ndarray
    vis_lang: np.ndarray
    token_index: np.ndarray
    region_index: np.ndarray
    logit: float = float("nan")
    meta: dict = field(default_factory=dict)

    def _card(self) -> Card:
        return Card(f"Explanation ({self.method}) of answer {self.answer}",
                    [("tokens x regions", f"{self.num_tokens} x {self.num_regions}"),
                     ("[CLS] row over the regions", listing(f"{v:.2f}" for v in self.cls_regions()))],
                    "explanation.lang_vis / lang_lang / vis_vis / vis_lang; relevance_rows(explanation, result)")

    def __post_init__(self):
        n = {"lang": len(self.token_index), "vis": len(self.region_index)}
        for q, k in STREAM_PAIRS:
            a = self.matrix(q, k)
            if tuple(a.shape) != (n[q], n[k]):
                raise InputError(f"Explanation.{q}_{k} is {tuple(a.shape)}; {n['lang']} tokens and "
                                 f"{n['vis']} regions need {(n[q], n[k])}")

    def matrix(self, query: str, key: str) -> np.ndarray:
        """The (query stream, key stream) matrix, e.g. ``matrix("lang", "vis")``."""
        if (query, key) not in STREAM_PAIRS:
            raise UnknownNameError(f"streams are 'lang' and 'vis'; got {(query, key)}")
        return getattr(self, f"{query}_{key}")

    @property
    def num_tokens(self) -> int:
        return len(self.token_index)

    @property
    def num_regions(self) -> int:
        return len(self.region_index)

    def token_to_regions(self, token: int) -> np.ndarray:
        """(R,) relevance of each region for kept token ``token`` (a row of `lang_vis`)."""
        return self.lang_vis[self._row(token, self.num_tokens, "token")]

    def region_to_tokens(self, region: int) -> np.ndarray:
        """(T,) relevance of each token for kept region ``region`` (a row of `vis_lang`)."""
        return self.vis_lang[self._row(region, self.num_regions, "region")]

    def cls_regions(self) -> np.ndarray:
        """(R,) relevance of each region for the answer: row [CLS] of `lang_vis`."""
        return self.lang_vis[0]

    def cls_tokens(self) -> np.ndarray:
        """(T,) relevance of each token for the answer: row [CLS] of `lang_lang`, [CLS] itself
        included (rollout and relevancy start from the identity, so that entry is ≥ 1 there and
        dominates a min-max normalised row; `relevance_rows` leaves it out for display)."""
        return self.lang_lang[0]

    @staticmethod
    def _row(i: int, n: int, what: str) -> int:
        if not -n <= int(i) < n:
            raise InputIndexError(f"{what} {i} is out of range for {n} {what}s")
        return int(i) % n


def relevance_rows(explanation: Explanation, result=None, token: int | str | None = None,
                   keep_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One explanation's region row and token row, laid out on the result's positions.

    Args:
        explanation: an `Explanation`.
        result: the `Result` it explains (its tokens resolve a word given as text and give the
            lengths); None: the explanation's own kept tokens and regions.
        token: None for the answer ([CLS] row: `cls_regions` / `cls_tokens`); a word or token index
            for that token's row.
        keep_self: keep the query token's relevance to itself in the token row; by default it is
            set to 0, since rollout and relevancy start from the identity (≈1 there) and it would
            drown every other token in a colour scale.

    Returns:
        ``(regions (R,), tokens (T,))`` float64; positions the explanation leaves out get 0.

    Example:
        >>> from lxmert_viz.explain import explain
        >>> regions, tokens = relevance_rows(explain(result, "raw"), result, token="circle")
        >>> regions.shape, tokens.shape == (len(result.tokens),)
        ((4,), True)
    """
    tok_pos = np.asarray(explanation.token_index, dtype=int)
    reg_pos = np.asarray(explanation.region_index, dtype=int)
    if result is None:
        t, r = len(tok_pos), len(reg_pos)
        tok_pos, reg_pos = np.arange(t), np.arange(r)
    else:
        t, r = len(result.tokens), result.regions.num_real
    if token is None:
        row = 0  # [CLS]: what the answer head reads
    else:
        q = result.token_index(token) if result is not None else int(token) % t
        hits = np.flatnonzero(tok_pos == q)
        if not len(hits):
            raise InputError(f"token {token!r} (position {q}) is not in the explanation (masked?)")
        row = int(hits[0])
    regions, tokens = np.zeros(r), np.zeros(t)
    keep_r, keep_t = reg_pos < r, tok_pos < t
    regions[reg_pos[keep_r]] = np.asarray(explanation.lang_vis[row], dtype=np.float64)[keep_r]
    tokens[tok_pos[keep_t]] = np.asarray(explanation.lang_lang[row], dtype=np.float64)[keep_t]
    if not keep_self and tok_pos[row] < t:
        tokens[tok_pos[row]] = 0.0
    return regions, tokens
