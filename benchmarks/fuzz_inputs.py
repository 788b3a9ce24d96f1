"""Fuzz the kit's input readers with many generated inputs and count the outcomes by exception type.

    python benchmarks/fuzz_inputs.py --n 100000 --seed 0

Targets (shares of --n): the tokenizer (questions: random text with surrogates, control and
zero-width characters, emoji, vocabulary words, non-strings), the feature TSV reader (valid lines
mutated: bit flips, cuts, insertions, truncation, duplicated lines, swapped fields), the npz reader
(valid files mutated; and random array dicts), config parsing (a valid config with random values in
random fields) and image opening (PNG/JPEG/GIF/BMP/TIFF/WebP/PPM files mutated; random arrays of
every dtype and shape).

Outcomes per target: ``accepted`` (the value satisfies its contract, `tests/fuzz_oracles.py`), the
kit's error types by name (clean refusals), ``UNHANDLED <type>`` (any other exception: a failure),
``ACCEPTED INVALID`` (accepted, but the contract does not hold: a failure) and ``HANG`` (one input
over 10 s: a failure). Exit status 1 when any failure was seen.
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fuzz_oracles import valid_config, valid_image, valid_regions, valid_tokens  # noqa: E402

from lxmert_viz import LxmertConfig, Regions  # noqa: E402
from lxmert_viz import errors as E  # noqa: E402
from lxmert_viz.assets import shapes_model_dir  # noqa: E402
from lxmert_viz.features import load_npz, read_tsv, save_npz  # noqa: E402
from lxmert_viz.features.npz import arrays_to_regions  # noqa: E402
from lxmert_viz.features.tsv import FIELDNAMES, format_row, regions_to_row  # noqa: E402
from lxmert_viz.inputs.image import open_image  # noqa: E402
from lxmert_viz.inputs.text import Tokenizer  # noqa: E402
from lxmert_viz.inputs.words import check_known_words  # noqa: E402

SHARES = {"tokenizer": 0.25, "tsv": 0.2, "npz": 0.15, "config": 0.2, "image": 0.2}
HANG = 10.0
MAX_PIXELS = 20_000
SPECIAL = list("\u200b\u200c\u200d\ufeff\u2060\x00\x07\x1b\t\n\r ?!.,'\"") + ["\ud800", "\udfff", "\U0001F600", "猫", "é"]


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        if not b:
            b = bytearray(rng.bytes(int(rng.integers(1, 8))))
            continue
        i = int(rng.integers(0, len(b)))
        op = rng.integers(0, 5)
        if op == 0:
            b[i] ^= 1 << int(rng.integers(0, 8))
        elif op == 1:
            del b[i: i + int(rng.integers(1, 16))]
        elif op == 2:
            b[i:i] = rng.bytes(int(rng.integers(1, 8)))
        elif op == 3:
            del b[i:]
        else:
            b[i] = int(rng.choice([0, 9, 10, 13, 255, 0x80]))
    return bytes(b)


# -- generators and contracts, one per target ----------------------------------------------------
class Targets:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.tok = Tokenizer.from_pretrained(shapes_model_dir())
        self.words = [w for w in self.tok._tok.get_vocab() if not w.startswith("##")]
        self.fields = sorted(LxmertConfig.tiny().to_dict())
        self.images = []
        for fmt, mode in [("PNG", "RGB"), ("PNG", "I;16"), ("PNG", "RGBA"), ("PNG", "P"), ("JPEG", "RGB"),
                          ("JPEG", "L"), ("GIF", "L"), ("BMP", "RGB"), ("TIFF", "F"), ("TIFF", "I;16"),
                          ("WEBP", "RGB"), ("PPM", "RGB")]:
            img = Image.new(mode, (11, 7), 120 if mode in ("L", "P", "I;16", "F") else (10, 200, 30, 90)[: len(mode)])
            b = io.BytesIO()
            img.save(b, fmt)
            self.images.append(b.getvalue())

    def tokenizer(self, rng):
        kind = rng.integers(0, 10)
        if kind == 0:
            q = [None, 5, 3.5, b"what", ["what"], ""][int(rng.integers(0, 6))]
        else:
            parts = []
            for _ in range(int(rng.integers(0, 25))):
                r = rng.random()
                if r < 0.5:
                    parts.append(str(rng.choice(self.words)))
                elif r < 0.75:
                    parts.append("".join(str(rng.choice(SPECIAL)) for _ in range(int(rng.integers(1, 4)))))
                else:
                    parts.append("".join(chr(int(c)) for c in rng.integers(1, 0x30000, int(rng.integers(1, 6)))))
            q = " ".join(parts) if rng.random() < 0.8 else "".join(parts)
        try:
            tokens = self.tok(q)
        except E.LxmertVizError:
            raise
        bad = valid_tokens(self.tok, tokens, q)
        if bad is None:
            try:
                check_known_words(tokens, q)
            except E.UnknownWordsError as err:
                if err.words != tokens.unknown:
                    return "unknown words misreported"
                raise
        return bad

    def _regions(self, rng, n=None, dim=None):
        n = int(rng.integers(0, 5)) if n is None else n
        dim = int(rng.integers(1, 7)) if dim is None else dim
        xy = rng.uniform(0, 30, (n, 2)).astype(np.float32)
        boxes = np.concatenate([xy, xy + rng.uniform(1, 20, (n, 2)).astype(np.float32)], 1)
        return Regions(boxes, rng.standard_normal((n, dim)).astype(np.float32), (64, 64))

    def tsv(self, rng):
        rows = [regions_to_row(f"img{i}", self._regions(rng, dim=3)) for i in range(int(rng.integers(1, 3)))]
        if rng.random() < 0.3:  # swap or replace a field
            row = rows[0]
            f = FIELDNAMES[int(rng.integers(0, len(FIELDNAMES)))]
            row[f] = [row[FIELDNAMES[int(rng.integers(0, 10))]], "", "-1", "nan", "AAAA", "x" * 9][int(rng.integers(0, 6))]
        data = "".join(format_row(r) for r in rows).encode()
        if rng.random() < 0.1:
            data = ("\t".join(FIELDNAMES) + "\n").encode() + data
        if rng.random() < 0.8:
            data = mutate(data, rng)
        path = self.tmp / "f.tsv"
        path.write_bytes(data)
        for r in read_tsv(path).values():
            bad = valid_regions(r)
            if bad:
                return bad
        return None

    def npz(self, rng):
        if rng.random() < 0.3:
            arrays = {}
            for key in rng.choice(["boxes", "feats", "image_size", "num_real", "scores", "labels", "extra.x", "z"],
                                  int(rng.integers(0, 7)), replace=False):
                shape = tuple(int(s) for s in rng.integers(0, 4, int(rng.integers(0, 3))))
                dtype = rng.choice(["f4", "f8", "i8", "u1", "?", "U3", "c8"])
                a = rng.standard_normal(shape) * 10 if dtype != "U3" else np.full(shape, "ab")
                arrays[str(key)] = np.asarray(a).astype(dtype)
            r = arrays_to_regions(arrays, "fuzzed arrays")
            return valid_regions(r, pixel_boxes=False)
        good = save_npz(self.tmp / "good.npz", self._regions(rng)).read_bytes()
        path = self.tmp / "f.npz"
        path.write_bytes(mutate(good, rng))
        return valid_regions(load_npz(path))

    def config(self, rng):
        data = LxmertConfig.tiny().to_dict()
        pool = [0, 1, -1, 2, 3, 7, 64, 10**9, 10**15, 0.5, 1.0, 1.5, float("nan"), float("inf"), True, False,
                None, "", "768", "gelu", "softmax", "sigmoid", [], [1], {}, {"language": 2}, {"0": "a"}, {"a": 1}]
        for key in rng.choice(self.fields + ["num_hidden_layers", "answer_scoring", "pad_token_id"],
                              int(rng.integers(1, 5)), replace=False):
            data[str(key)] = pool[int(rng.integers(0, len(pool)))]
        if rng.random() < 0.05:
            data = [data, None, "config"][int(rng.integers(0, 3))]
        return valid_config(LxmertConfig.from_dict(data))

    def image(self, rng):
        if rng.random() < 0.6:
            data = mutate(self.images[int(rng.integers(0, len(self.images)))], rng)
            return valid_image(open_image(data, max_pixels=MAX_PIXELS, timeout=HANG / 2), MAX_PIXELS)
        dtype = rng.choice(["u1", "u2", "i4", "i8", "i1", "f2", "f4", "f8", "?", "c8", "O"])
        shape = tuple(int(s) for s in rng.integers(0, 7, int(rng.integers(1, 5))))
        arr = rng.standard_normal(shape) * float(rng.choice([1, 100, 1e5]))
        if rng.random() < 0.3:
            arr = np.abs(arr) % 1
        if rng.random() < 0.1 and arr.size:
            arr.flat[0] = float(rng.choice([np.nan, np.inf, -np.inf]))
        arr = arr.astype(dtype) if dtype != "O" else arr.astype(object)
        before = arr.copy()
        try:
            img = open_image(arr, max_pixels=MAX_PIXELS)
        finally:
            if arr.dtype != object and not np.array_equal(arr, before, equal_nan=arr.dtype.kind in "fc"):
                return "the array was modified"
        return valid_image(img, MAX_PIXELS)


def run(n: int, seed: int) -> dict[str, Counter]:
    rng = np.random.default_rng(seed)
    counts: dict[str, Counter] = {}
    with tempfile.TemporaryDirectory(prefix="lxmert_viz_fuzz_") as tmp:
        targets = Targets(Path(tmp))
        for name, share in SHARES.items():
            c = counts.setdefault(name, Counter())
            fn = getattr(targets, name)
            for _ in range(int(round(n * share))):
                t0 = time.monotonic()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # PIL's "corrupt EXIF" and the like are not failures
                        bad = fn(rng)
                    c["accepted" if bad is None else f"ACCEPTED INVALID ({bad})"] += 1
                except E.LxmertVizError as err:
                    c[type(err).__name__] += 1
                except Exception as err:  # noqa: BLE001 - counting is the point
                    c[f"UNHANDLED {type(err).__name__}: {str(err)[:80]}"] += 1
                if time.monotonic() - t0 > HANG:
                    c["HANG"] += 1
    return counts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000, help="total inputs")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    counts = run(a.n, a.seed)
    seconds = time.perf_counter() - t0
    total = sum(sum(c.values()) for c in counts.values())
    failures = sum(v for c in counts.values() for k, v in c.items() if k.startswith(("UNHANDLED", "ACCEPTED INVALID", "HANG")))
    print(f"{total:,} inputs in {seconds:.0f} s (seed {a.seed}); failures: {failures}\n")
    print("| target | inputs | outcome | count |\n|---|---|---|---|")
    for name, c in counts.items():
        for i, (k, v) in enumerate(sorted(c.items(), key=lambda kv: -kv[1])):
            print(f"| {name if i == 0 else ''} | {sum(c.values()) if i == 0 else ''} | {k} | {v:,} |")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
