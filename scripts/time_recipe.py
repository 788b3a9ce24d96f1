"""Quiet-machine time of the shipped shapes recipe without training it whole.

    python scripts/time_recipe.py

Times the full data build of `TrainConfig()`, then 100, 100 and 200 steps of its side, two-object and
main phases, and prints the estimate data + steps x seconds per step (with the load average before
and after: run it on a quiet machine). Writes the tokenizer into a temporary folder only.
"""
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from lxmert_viz.shapes import train as T
from lxmert_viz.shapes.train_config import TrainConfig


def main() -> None:
    cfg = TrainConfig()
    torch.set_num_threads(cfg.threads)
    T.seed_all(cfg.seed)
    print("load", os.getloadavg())
    t0 = time.perf_counter()
    tok = T.build_tokenizer(cfg, Path(tempfile.mkdtemp()))
    data = T.build_data(tok, cfg)
    t_data = time.perf_counter() - t0
    model, opt, sched, s, oid = T.start(cfg, tok, data)
    def step(i):
        loss, _ = T.train_step(model, data, cfg, s, i, tok, oid)
        T.update(model, opt, sched, loss)
    per = {}
    for name, start, n in (("side", 0, 100), ("pairs", 400, 100), ("main", 1200, 200)):
        for i in range(start, start + 3):
            step(i)
        t = time.perf_counter()
        for i in range(start, start + n):
            step(i)
        per[name] = (time.perf_counter() - t) / n
    main_steps = cfg.steps - cfg.side_steps - cfg.pair_steps
    est = t_data + cfg.side_steps * per["side"] + cfg.pair_steps * per["pairs"] + main_steps * per["main"]
    print(json.dumps({"data_seconds": round(t_data, 1), "seconds_per_step": {k: round(v, 4) for k, v in per.items()},
                      "estimated_total_seconds": round(est), "load_after": os.getloadavg()}))


if __name__ == "__main__":  # the data build's worker processes import this file
    main()
