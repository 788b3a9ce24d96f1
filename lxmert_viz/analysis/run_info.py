"""What one call to `lxmert_viz.analysis.run` did."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..printing import Card, Printable


@dataclass(repr=False)
class RunInfo(Printable):
    """What a call to `run` did.

    Attributes:
        out: the run folder.
        examples: examples in the finished run.
        shards_skipped: shards found done on disk (a resumed run).
        shards_written: shards this call computed and wrote.
        examples_written: examples in those.
        seconds: wall time of this call.
    """

    out: Path
    examples: int
    shards_skipped: int
    shards_written: int
    examples_written: int
    seconds: float

    def _card(self) -> Card:
        return Card(f"RunInfo {self.out}", [("examples", self.examples), ("shards written", self.shards_written),
                                            ("shards already done", self.shards_skipped),
                                            ("seconds", f"{self.seconds:.1f}")],
                    "read_records(out) or summarize(out) for the numbers")

    @property
    def examples_per_second(self) -> float:
        return self.examples_written / self.seconds if self.seconds > 0 else float("nan")
