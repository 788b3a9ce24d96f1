"""Timing shared by the benchmarks: functions timed in one process, in alternating order each round."""
from __future__ import annotations

import time


def interleaved(fns: dict, rounds: int, warmup: int = 2) -> dict[str, list[float]]:
    """Seconds per call of each function in each round; even rounds run them in order, odd rounds reversed."""
    names = list(fns)
    for _ in range(warmup):
        for n in names:
            fns[n]()
    times = {n: [] for n in names}
    for r in range(rounds):
        for n in (names if r % 2 == 0 else names[::-1]):
            t0 = time.perf_counter()
            fns[n]()
            times[n].append(time.perf_counter() - t0)
    return times
