"""Behaviour digest: sha256 of every output of every capability on a fixed set of questions.

What it proves: two checkouts whose digests are equal (same names, same hashes) give bitwise the
same outputs on the embedded offline models — answers and their scores, logits, every hidden
state, all six attention families, their gradients, masking, every explanation method's matrices,
the data-set statistics records, ablation, head ranking, patching, masked words, matching, region
labels and the perturbation benchmark. So a refactor of how the model is called can be shown to
change nothing.

Each output is split into named leaves (dataclass fields and mapping keys, recursively); a leaf
is hashed from a canonical byte form: tensors and arrays as dtype + shape + raw bytes, floats as
``float.hex``, mappings with sorted keys. Wall-clock fields (``seconds``) are left out. Every
entry point is looked up through the public import paths (and the places a refactor may move it
to); one that cannot be found or fails is recorded as ``"<name>": "missing: <error>"``, so the
script runs on both sides of a refactor.

Run (about 10 s on 2 cores), twice to check determinism, and compare two digests:
    python scripts/behaviour_digest.py --repo /tmp/base --out /tmp/digest_base.json
    python scripts/behaviour_digest.py --repo /work/main --out /tmp/digest_new.json \
        --compare /tmp/digest_base.json
``--repo DIR`` puts DIR first on ``sys.path`` so the package is imported from there (the summary
line prints ``lxmert_viz.__file__``); ``--compare`` prints the names that differ and exits with 1
when any does. ``scripts/behaviour_digest_base.json`` is the digest of the commit before the
refactor.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import json
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from PIL import Image

QUESTIONS = (
    "what color is the circle?",
    "how many triangles are there?",
    "is there a red rectangle?",
    "is the circle bigger than the triangle?",
    "what is left of the red rectangle?",
)
GENERATED = ((11, "plain"), (12, "plain"), (13, "varied"))  # (seed, style) of generated scenes
SKIP = {"seconds"}  # wall-clock fields: never the same twice
LEAVES = {"Tokens", "Regions", "LabelNames", "Referent", "Item"}  # dataclasses hashed whole


# -- hashing --------------------------------------------------------------------------------------
def _feed(h, obj) -> None:
    """Feed a canonical, type-tagged byte form of ``obj`` into the hash ``h``."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        raw = t.view(torch.int16) if t.dtype == torch.bfloat16 else t
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(raw.numpy().tobytes())
    elif isinstance(obj, np.ndarray) and obj.dtype != object:
        h.update(f"A{obj.dtype.str}{obj.shape}".encode())
        h.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, np.ndarray):
        h.update(f"O{obj.shape}".encode())
        _feed(h, obj.tolist())
    elif obj is None or isinstance(obj, (bool, np.bool_)):
        h.update(f"B{obj!r}".encode() if obj is None else f"B{bool(obj)}".encode())
    elif isinstance(obj, (int, np.integer)):
        h.update(f"I{int(obj)}".encode())
    elif isinstance(obj, (float, np.floating)):
        h.update(f"F{float(obj).hex()}".encode())
    elif isinstance(obj, str):
        h.update(f"S{len(obj)}:".encode() + obj.encode())
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        h.update(f"Y{len(obj)}:".encode() + bytes(obj))
    elif isinstance(obj, Mapping):
        items = sorted(((str(k), v) for k, v in obj.items() if str(k) not in SKIP), key=lambda kv: kv[0])
        h.update(f"M{len(items)}".encode())
        for k, v in items:
            _feed(h, k)
            _feed(h, v)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        seq = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
        h.update(f"L{len(seq)}".encode())
        for v in seq:
            _feed(h, v)
    elif dataclasses.is_dataclass(obj):
        h.update(f"D{type(obj).__name__}".encode())
        _feed(h, {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
    elif hasattr(obj, "tobytes") and hasattr(obj, "mode"):  # a PIL image
        h.update(f"P{obj.mode}{obj.size}".encode())
        h.update(obj.tobytes())
    elif hasattr(obj, "__dict__"):
        h.update(f"V{type(obj).__name__}".encode())
        _feed(h, vars(obj))
    else:
        h.update(f"R{obj!r}".encode())


def sha(obj) -> str:
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()


def leaves(obj, prefix: str) -> dict:
    """``{name: leaf}``: dataclass fields, mapping keys and lists of dataclasses split recursively
    (``seconds`` left out)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type) and type(obj).__name__ not in LEAVES:
        items = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    elif isinstance(obj, Mapping) and obj and all(isinstance(k, str) for k in obj):
        items = dict(obj.items())
    elif isinstance(obj, (list, tuple)) and obj and all(dataclasses.is_dataclass(v) for v in obj):
        return {k: v for i, item in enumerate(obj) for k, v in leaves(item, f"{prefix}/{i}").items()}
    else:
        return {prefix: obj}
    out = {}
    for k, v in items.items():
        if k not in SKIP:
            out.update(leaves(v, f"{prefix}.{k}"))
    return out


def missing(err: BaseException) -> str:
    return f"missing: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:300]


class Digest:
    """The collected ``name -> sha256`` (or ``missing: ...``) entries."""

    def __init__(self):
        self.entries: dict[str, str] = {}

    def add(self, name: str, fn, *args, **kwargs):
        """Record every leaf of ``fn(*args, **kwargs)`` under ``name``; return it (None on error)."""
        try:
            value = fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - recorded, not raised: the digest must finish
            self.entries[name] = missing(err)
            return None
        for leaf, v in leaves(value, name).items():
            try:
                self.entries[leaf] = sha(v)
            except Exception as err:  # noqa: BLE001
                self.entries[leaf] = missing(err)
        return value

    def value(self, name: str, value) -> None:
        """Record a value already computed."""
        self.add(name, lambda: value)


def resolve(*paths: str):
    """The first ``"module:attr"`` of ``paths`` that imports; AttributeError naming them all otherwise."""
    errors = []
    for p in paths:
        mod, _, attr = p.partition(":")
        try:
            return getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as err:
            errors.append(f"{p} ({type(err).__name__})")
    raise AttributeError("not found: " + ", ".join(errors))


# -- the capabilities -----------------------------------------------------------------------------
def images(repo: Path) -> dict:
    """Sample images (``assets/samples``) and a few generated scenes, by name."""
    generate_scene = resolve("lxmert_viz.shapes.world:generate_scene")
    out = {p.stem: Image.open(p).convert("RGB") for p in sorted((repo / "assets" / "samples").glob("*.png"))}
    for seed, style in GENERATED:
        out[f"gen_{seed}_{style}"] = generate_scene(seed, style=style).image
    return out


def ask_section(d: Digest, kit, imgs: dict, tag: str, single: bool = True) -> dict:
    """``kit.extract`` and ``kit.ask_many`` per image, ``kit.ask`` per question when ``single``;
    returns ``{image name: [Result of each question]}`` from ``ask``."""
    asked = {}
    for name, img in imgs.items():
        d.add(f"{tag}.extract/{name}", kit.extract, img)
        d.add(f"{tag}.ask_many/{name}", kit.ask_many, img, list(QUESTIONS), top_k=20)
        if single:
            asked[name] = [d.add(f"{tag}.ask/{name}/q{i}", kit.ask, img, q) for i, q in enumerate(QUESTIONS)]
    return asked


def masking_section(d: Digest, kit, r) -> None:
    ask_masked = resolve("lxmert_viz.explain:ask_masked", "lxmert_viz.explain.masking:ask_masked",
                         "lxmert_viz.run:ask_masked")
    methods = resolve("lxmert_viz.explain:ALL_METHODS")
    for name, regs, toks in (("regions", [1], []), ("tokens", [], ["circle"]), ("both", [0, 2], [3])):
        run = d.add(f"masking/{name}", ask_masked, kit.model, r.model_inputs(), drop_regions=regs, drop_tokens=toks,
                    tokens=r.tokens, regions=r.regions, question=r.question, answers=kit.answers, image=r.image)
        if run is not None and getattr(run, "result", None) is not None:
            d.value(f"masking/{name}/kept", {s: run.result.kept(s) for s in ("lang", "vis")})
            if name == "both":
                d.add("masking/both/explain", explain_all, run.result, methods, kit.model)


def explain_all(result, methods, model):
    return resolve("lxmert_viz.explain:explain_all")(result, methods, model=model)


def explain_section(d: Digest, kit, results: list) -> None:
    run_result = resolve("lxmert_viz.explain:run_result", "lxmert_viz.explain.gradients:run_result",
                         "lxmert_viz.run:run_result")
    with_gradients = resolve("lxmert_viz.explain:with_gradients", "lxmert_viz.explain.gradients:with_gradients")
    explain, rows = resolve("lxmert_viz.explain:explain"), resolve("lxmert_viz.explain:relevance_rows")
    methods = resolve("lxmert_viz.explain:ALL_METHODS")
    d.value("explain/methods", list(methods))
    for i, r in enumerate(results):
        second = int(r.logits.argsort()[-2])  # the second answer
        d.add(f"run_result/q{i}", run_result, kit.model, r.tokens, r.regions, question=r.question, image=r.image,
              answers=r.answers)
        d.add(f"gradients/q{i}", with_gradients, kit.model, r)
        d.add(f"gradients/q{i}/answer1", with_gradients, kit.model, r, answer=second)
        d.add(f"explain/q{i}", explain_all, r, methods, kit.model)
        d.add(f"explain/q{i}/relevancy_answer1", explain, r, "relevancy", model=kit.model, answer=second)
        raw = d.add(f"explain/q{i}/raw", explain, r, "raw")
        d.add(f"explain/q{i}/relevance_rows", rows, raw, r, token="circle")


def numbers_section(d: Digest, r) -> None:
    """`lxmert_viz.analysis`'s numbers from one result."""
    analysis = "lxmert_viz.analysis:"
    head_stats, drift = resolve(analysis + "head_stats"), resolve(analysis + "drift")
    for fam in r.attentions:
        d.add(f"head_stats/{fam}", head_stats, r, fam)
    for side in ("lang", "vis"):
        for metric in resolve(analysis + "DRIFT_METRICS"):
            d.add(f"drift/{side}/{metric}", drift, r, side, metric)
    d.add("state_points", resolve(analysis + "state_points"), r)


def dataset_section(d: Digest, kit, n: int = 40) -> None:
    """Statistics records of ``n`` shapes examples: `BatchWorker.records` (every statistic) and a
    local `analysis.run` (the default statistics, through Parquet), its summary and one replay."""
    analysis = "lxmert_viz.analysis:"
    ds = resolve("lxmert_viz.analysis.datasets:shapes_dataset")(4).take(n)
    stats = list(resolve(analysis + "STATS"))
    d.value("records/stats", stats)
    worker = resolve(analysis + "BatchWorker")(kit, stats, methods=("raw", "rollout", "relevancy"))
    pairs = list(enumerate(ds))
    recs = [rec for k in range(0, len(pairs), 16) for rec in worker.records(pairs[k:k + 16])]
    for rec in recs:  # one hash per record, and one per column over all records
        d.value(f"records/{rec.get('index')}", [rec])
    for col in sorted({c for rec in recs for c in rec}):
        d.value(f"records.column/{col}", [rec.get(col, "absent") for rec in recs])
    run, read_records = resolve(analysis + "run"), resolve(analysis + "read_records")
    summarize = resolve(analysis + "summarize")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        run(ds, None, out, batch_size=16, model=kit, progress=False)
        records = d.add("analysis_run/records", lambda: read_records(out).to_pylist())
        d.add("analysis_run/summary", lambda: summarize(out).by_group())
        d.add("analysis_run/summary_md", lambda: summarize(out).to_markdown())
        d.add("analysis_run/replay", resolve(analysis + "result_for_record"), kit, records[0])


def interventions_section(d: Digest, kit, imgs: dict) -> None:
    a, b = imgs["scene_00"], imgs["scene_01"]
    q = QUESTIONS[0]
    d.add("ask_ablated/l2v2", kit.ask_ablated, a, q, [("l2v", 2, "all")])
    d.add("ask_ablated/mixed", kit.ask_ablated, b, QUESTIONS[3], [("lang", 0, 1), ("cross_vis", 1, 2), ("v2l", 0, "all")])
    items = [(img, question) for img in (imgs["scene_00"], imgs["scene_02"]) for question in QUESTIONS[:4]]
    d.add("rank_heads/all", kit.rank_heads, items)
    d.add("rank_heads/l2v_b5", kit.rank_heads, items[:3], families=["l2v"], batch_size=5)
    d.add("patch/hidden.vis.2", kit.patch, (a, q), (b, q), "hidden.vis.2", positions=[1])
    d.add("patch/l2v.2.z", kit.patch, (a, q), (b, q), "l2v.2.z", heads=[0, 3])
    d.add("patch/hidden.lang.4", kit.patch, (a, q), (b, q), "hidden.lang.4")
    d.add("patch_sweep/all", kit.patch_sweep, (a, q), (b, q))
    d.add("patch_sweep/vis_per_position", kit.patch_sweep, (a, q), (b, q), streams=("vis",), per_position=True)


def output_heads_section(d: Digest, kit, imgs: dict) -> None:
    for name in ("scene_00", "scene_03", "gen_13_varied"):
        img = imgs[name]
        d.add(f"fill/{name}", kit.fill, img, "the [MASK] circle is on the left")
        d.add(f"fill2/{name}", kit.fill, img, "is there a [MASK] [MASK] ?")
        d.add(f"match/{name}", kit.match, img, ["a black circle", "a yellow rectangle", "a red triangle"])
        d.add(f"region_labels/{name}", kit.region_labels, img)


def perturbation_section(d: Digest, kit) -> None:
    """The perturbation benchmark on 6 examples, both protocols (it may move to `analysis`)."""
    bench = resolve("lxmert_viz.analysis.perturbation:perturbation_benchmark",
                    "lxmert_viz.analysis:perturbation_benchmark",
                    "lxmert_viz.explain.perturbation:perturbation_benchmark",
                    "lxmert_viz.explain:perturbation_benchmark")
    examples = resolve("lxmert_viz.analysis.perturbation:shapes_examples", "lxmert_viz.analysis.examples:shapes_examples",
                       "lxmert_viz.explain.examples:shapes_examples", "lxmert_viz.analysis:shapes_examples")
    d.add("perturbation/kit", bench, kit.model, examples(kit, 2), methods=("raw", "relevancy"), steps=4, limit=6,
          progress=False)
    d.add("perturbation/paper", bench, kit.model, examples(kit, 2), methods=("rollout",), limit=6, protocol="paper",
          progress=False)


def section(d: Digest, name: str, fn, *args):
    """Run one section; an entry point it cannot resolve is recorded as missing."""
    try:
        return fn(d, *args)
    except Exception as err:  # noqa: BLE001
        d.entries[name] = missing(err)
        return None


def collect(d: Digest, kit, plain, repo: Path) -> None:
    """Every section, in a fixed order (the kits' caches make the order part of the recipe)."""
    d.value("weights/shapes", sorted(kit.model.state_dict().items()))
    d.value("weights/shapes-plain", sorted(plain.model.state_dict().items()))
    imgs = images(repo)
    asked = section(d, "ask", ask_section, kit, imgs, "shapes") or {}
    section(d, "ask_plain", ask_section, plain, {k: v for k, v in imgs.items() if k.startswith("scene")}, "plain", False)
    s0 = asked.get("scene_00", [None, None])
    section(d, "masking", masking_section, kit, s0[0])
    section(d, "explain", explain_section, kit, [s0[0], asked.get("scene_02", [None] * 4)[3]])
    section(d, "numbers", numbers_section, s0[0])
    section(d, "records", dataset_section, kit)
    section(d, "interventions", interventions_section, kit, imgs)
    section(d, "output_heads", output_heads_section, kit, imgs)
    section(d, "perturbation", perturbation_section, kit)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="write the JSON digest here")
    p.add_argument("--repo", default=None, help="import lxmert_viz from this checkout (put first on sys.path)")
    p.add_argument("--compare", default=None, help="a digest to compare with: print the names that differ")
    args = p.parse_args(argv)
    repo = Path(args.repo).resolve() if args.repo else Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(repo))
    t0 = time.perf_counter()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    import lxmert_viz

    if not Path(lxmert_viz.__file__).resolve().is_relative_to(repo):
        sys.exit(f"lxmert_viz was imported from {lxmert_viz.__file__}, not from {repo}")
    d = Digest()
    try:
        kit, plain = lxmert_viz.load(), lxmert_viz.load("shapes-plain")
    except Exception as err:  # noqa: BLE001 - nothing to run, but still a digest to compare
        d.entries["load"] = missing(err)
    else:
        collect(d, kit, plain, repo)

    entries = dict(sorted(d.entries.items()))
    Path(args.out).write_text(json.dumps(entries, indent=1) + "\n", encoding="utf-8")
    n_missing = sum(v.startswith("missing") for v in entries.values())
    total = sha(entries)
    print(f"{len(entries)} entries, {n_missing} missing, total {total[:16]}, {time.perf_counter() - t0:.1f} s, "
          f"lxmert_viz from {lxmert_viz.__file__} -> {args.out}")
    if args.compare:
        other = json.loads(Path(args.compare).read_text(encoding="utf-8"))
        diff = sorted(k for k in set(entries) | set(other) if entries.get(k) != other.get(k))
        for k in diff[:50]:
            print(f"  differs: {k}: {str(other.get(k, 'absent'))[:60]} -> {str(entries.get(k, 'absent'))[:60]}")
        by_section = Counter(k.split("/")[0] for k in diff)
        print(f"{len(diff)} of {len(set(entries) | set(other))} names differ from {args.compare}"
              + (f" (by section: {dict(sorted(by_section.items()))})" if diff else ""))
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
