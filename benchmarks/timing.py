"""Timing shared by the benchmarks: functions timed in one process, in alternating order each round,
and scripts run in a fresh Python process that report one JSON line."""
from __future__ import annotations

import json
import subprocess
import sys
import time


def alternating(fns: dict, rounds: int) -> dict:
    """What each function returns in each round; even rounds call them in order, odd rounds reversed."""
    names = list(fns)
    got = {n: [] for n in names}
    for r in range(rounds):
        for n in (names if r % 2 == 0 else names[::-1]):
            got[n].append(fns[n]())
    return got


def interleaved(fns: dict, rounds: int, warmup: int = 2) -> dict[str, list[float]]:
    """Seconds per call of each function in each round (``alternating`` order), after ``warmup`` calls each."""
    for _ in range(warmup):
        for f in fns.values():
            f()

    def timed(f):
        t0 = time.perf_counter()
        f()
        return time.perf_counter() - t0

    return alternating({n: (lambda f=f: timed(f)) for n, f in fns.items()}, rounds)


def fresh_process(script: str, args=(), **run_kwargs) -> dict:
    """Run ``python -c script *args`` in a new process; the JSON object on its last stdout line.

    ``run_kwargs`` go to ``subprocess.run`` (``cwd``, ``env``). A failed script stops the benchmark
    with the end of its stderr.
    """
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True,
                          **run_kwargs)
    if done.returncode != 0:
        raise SystemExit(f"a benchmark process failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
