"""A data set: a re-iterable stream of `Example`s with a name, a length when known, and a
description that a run's manifest keeps (so a resumed run can check it is the same data)."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ...errors import InputError, InputTypeError
from ...printing import Card
from ..example import Example


class Dataset:
    """Examples, produced afresh on every iteration (nothing is held in memory between them).

    Args:
        name: what to call it (``"shapes held-out scenes"``, a file name, ...).
        make: a function that returns a new iterator of `Example`s each time it is called.
        length: how many examples it yields, when known without iterating.
        spec: a JSON-able description (how it was opened), kept in the run's manifest.

    Example:
        >>> ds = Dataset("two", lambda: iter([Example("a", "q?", image="x.png")] * 2), length=2)
        >>> len(ds), [e.id for e in ds]
        (2, ['a', 'a'])
    """

    def __init__(self, name: str, make: Callable[[], Iterator[Example]], length: int | None = None,
                 spec: dict | None = None):
        self.name = name
        self._make = make
        self.length = length
        self.spec = dict(spec or {"name": name})

    def __iter__(self) -> Iterator[Example]:
        return iter(self._make())

    def __len__(self) -> int:
        if self.length is None:
            raise InputTypeError(f"the data set {self.name!r} does not know its length before it is read")
        return self.length

    def __repr__(self) -> str:
        n = "?" if self.length is None else self.length
        return f"Dataset({self.name!r}, {n} examples)"

    def _repr_html_(self) -> str:
        return Card(repr(self), [(k, v) for k, v in self.spec.items()],
                    "iterate it for Examples; lxmert_viz.analysis.run(dataset, ...) for statistics").html()

    def describe(self) -> dict:
        """What the manifest records: the spec, the name and the length."""
        return {**self.spec, "name": self.name, "length": self.length}

    def take(self, n: int) -> Dataset:
        """The first ``n`` examples as a data set of their own."""
        from itertools import islice

        if n < 0:
            raise InputError(f"take needs n >= 0, got {n}")
        length = n if self.length is None else min(n, self.length)
        return Dataset(self.name, lambda: islice(iter(self), n), length, {**self.spec, "take": n})

    def filter(self, keep: Callable[[Example], bool], name: str) -> Dataset:
        """The examples ``keep`` accepts (length unknown until read); ``name`` says which ones."""
        return Dataset(f"{self.name}, {name}", lambda: (e for e in self if keep(e)), None,
                       {**self.spec, "filter": name})


def as_dataset(data: Dataset | Iterable[Example], name: str = "examples") -> Dataset:
    """A `Dataset` from a data set, a list or any re-iterable of `Example`s.

    A one-shot iterator (a generator) cannot be read twice: a resumed run needs to read the
    examples again, so it is refused with a message saying so.
    """
    if isinstance(data, Dataset):
        return data
    if isinstance(data, Iterator):
        raise InputTypeError("a run reads its data set again when it resumes: give a list, a Dataset or "
                        "another re-iterable, not a one-shot iterator or generator")
    length = len(data) if hasattr(data, "__len__") else None
    return Dataset(name, lambda: iter(data), length, {"name": name, "kind": type(data).__name__})
