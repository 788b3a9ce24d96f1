"""Write the sample scenes shipped in ``assets/samples`` (for the notebooks and the README).

    python -m lxmert_viz.shapes.samples --out assets/samples

Seeds are fixed; each sample has 3 to 6 objects and exactly one circle, so that
"what color is the circle?" has one right answer on every sample.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .world import generate_scene

SIZE = 128
COUNT = 6


def pick_seeds(count: int = COUNT, start: int = 9_000_000) -> list[int]:
    seeds, s = [], start
    while len(seeds) < count:
        scene = generate_scene(s, size=SIZE)
        shapes = [o.shape for o in scene.objects]
        if 3 <= len(shapes) and shapes.count("circle") == 1:
            seeds.append(s)
        s += 1
    return seeds


def write_samples(out: Path, count: int = COUNT) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for i, seed in enumerate(pick_seeds(count)):
        scene = generate_scene(seed, size=SIZE)
        name = f"scene_{i:02d}.png"
        scene.image.save(out / name)
        index.append({"file": name, "seed": seed, "size": SIZE,
                      "objects": [{"shape": o.shape, "color": o.color, "box": list(o.box)} for o in scene.objects]})
    (out / "samples.json").write_text(json.dumps(index, indent=1) + "\n")
    return index


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m lxmert_viz.shapes.samples")
    p.add_argument("--out", default="assets/samples")
    a = p.parse_args(argv)
    for item in write_samples(Path(a.out)):
        print(item["file"], ", ".join(f"{o['color']} {o['shape']}" for o in item["objects"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
