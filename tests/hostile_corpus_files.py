"""The hostile corpus, part 3: feature files (TSV, npz), the feature cache, the command line."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from hostile_corpus import Case, image_bytes, scene_like

from lxmert_viz import Regions
from lxmert_viz import errors as E
from lxmert_viz.features import load_npz, read_tsv, save_npz, write_tsv
from lxmert_viz.features.tsv import BOTTOM_UP_FIELDNAMES, FIELDNAMES, NO_LABELS, format_row, regions_to_row


def regions(n=3, dim=8, size=(64, 48), seed=0) -> Regions:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 20, (n, 2)).astype(np.float32)
    boxes = np.concatenate([xy, xy + rng.uniform(2, 20, (n, 2)).astype(np.float32)], axis=1)
    return Regions(boxes, rng.standard_normal((n, dim)).astype(np.float32), size)


def _row(**change) -> dict:
    row = regions_to_row("img1", regions())
    row.update(change)
    return row


def _tsv(tmp: Path, *rows, raw: bytes | None = None) -> Path:
    p = tmp / "feats.tsv"
    p.write_bytes(raw if raw is not None else "".join(format_row(r) for r in rows).encode("ascii"))
    return p


def _b64_floats(values) -> str:
    import base64

    return base64.b64encode(np.asarray(values, "<f4").tobytes()).decode()


def _bottom_up_line(image_id=42, **change) -> bytes:
    """One line as bottom-up-attention's generate_tsv.py writes it (csv.DictWriter: \\r\\n)."""
    r = regions()
    row = {"image_id": str(image_id), "image_w": "64", "image_h": "48", "num_boxes": "3",
           "boxes": _b64_floats(r.boxes), "features": _b64_floats(r.feats), **change}
    return ("\t".join(row[f] for f in BOTTOM_UP_FIELDNAMES) + "\r\n").encode("ascii")


def _npz(tmp: Path, arrays: dict | None = None, raw: bytes | None = None, name="r.npz") -> Path:
    p = tmp / name
    if raw is not None:
        p.write_bytes(raw)
    elif arrays is not None:
        np.savez(p, **arrays)
    return p


def _good_arrays(**change) -> dict:
    from lxmert_viz.features.npz import regions_to_arrays

    a = dict(regions_to_arrays(regions()))
    a.update(change)
    return {k: v for k, v in a.items() if v is not None}


def feature_cases() -> list[Case]:
    tsv = lambda p, env: read_tsv(p)  # noqa: E731
    npz = lambda p, env: load_npz(p)  # noqa: E731
    line1 = lambda p: (str(p), "line 1")  # noqa: E731
    good = format_row(_row()).encode()
    cases = [
        Case("features", "tsv-bad-base64", lambda t: _tsv(t, _row(features="!!!notbase64")), tsv, E.FeatureFileError,
             lambda p: (*line1(p), "'features'", "base64")),
        Case("features", "tsv-too-few-columns", lambda t: _tsv(t, raw=b"img1\t48\t64\n"), tsv, E.FeatureFileError,
             lambda p: (*line1(p), "3 tab-separated columns", "expected 10")),
        Case("features", "tsv-too-many-columns", lambda t: _tsv(t, raw=good.rstrip(b"\n") + b"\textra\n"), tsv,
             E.FeatureFileError, lambda p: (*line1(p), "11 tab-separated")),
        Case("features", "tsv-num-boxes-inconsistent", lambda t: _tsv(t, _row(num_boxes="5")), tsv, E.FeatureFileError,
             lambda p: (*line1(p), "num_boxes=5 needs")),
        Case("features", "tsv-non-ascii", lambda t: _tsv(t, raw="imgé\t".encode() + good[5:]), tsv, E.FeatureFileError,
             lambda p: (*line1(p), "not ASCII")),
        Case("features", "tsv-num-boxes-word", lambda t: _tsv(t, _row(num_boxes="three")), tsv, E.FeatureFileError,
             lambda p: (*line1(p), "num_boxes is 'three'")),
        Case("features", "tsv-negative-height", lambda t: _tsv(t, _row(img_h="-5")), tsv, E.FeatureFileError,
             lambda p: (*line1(p), "img_h is '-5'")),
        Case("features", "tsv-nan-features", lambda t: _tsv(t, _row(features=_b64_floats([np.nan] * 24))), tsv,
             E.FeatureFileError, lambda p: (*line1(p), "'features'", "NaN")),
        Case("features", "tsv-duplicate-id", lambda t: _tsv(t, _row(), _row()), tsv, E.FeatureFileError,
             lambda p: (str(p), "line 2", "'img1'", "line 1")),
        Case("features", "tsv-torn-last-line", lambda t: _tsv(t, raw=good + b"img2\t48\t64\tAAAA"), tsv,
             E.FeatureFileError, lambda p: (str(p), "line 2", "interrupted write")),
        Case("features", "tsv-normalised-boxes", lambda t: _tsv(t, _row(boxes=_b64_floats([[0.1, 0.1, 0.5, 0.5]] * 3))),
             tsv, E.FeatureFileError, lambda p: (*line1(p), "normalised boxes")),
        Case("features", "tsv-box-outside-image", lambda t: _tsv(t, _row(boxes=_b64_floats([[0, 0, 500, 40]] * 3))),
             tsv, E.FeatureFileError, lambda p: (*line1(p), "outside the 64 x 48 image")),
        Case("features", "tsv-reversed-box", lambda t: _tsv(t, _row(boxes=_b64_floats([[30, 5, 10, 20]] * 3))),
             tsv, E.FeatureFileError, lambda p: (*line1(p), "box 0", "reversed")),
        Case("features", "tsv-mixed-feature-sizes", lambda t: _tsv(t, _row(), regions_to_row("img2", regions(dim=4))),
             tsv, E.FeatureFileError, lambda p: (str(p), "line 2", "4 features per box", "8")),
        Case("features", "tsv-missing", lambda t: t / "none.tsv", tsv, E.MissingFileError, lambda p: (str(p),)),
        Case("features", "tsv-write-bad-id", lambda t: t, lambda d, env: write_tsv(d / "o.tsv", {"a\tb": regions()}),
             E.InputError, ("'a\\tb'", "tabs")),
        Case("features", "npz-zero-bytes", lambda t: _npz(t, raw=b""), npz, E.FeatureFileError,
             lambda p: (str(p), "empty (0 bytes)")),
        Case("features", "npz-truncated", lambda t: _truncated_npz(t), npz, E.FeatureFileError,
             lambda p: (str(p), "truncated")),
        Case("features", "npz-missing-key", lambda t: _npz(t, _good_arrays(feats=None)), npz, E.FeatureFileError,
             lambda p: (str(p), "no 'feats'")),
        Case("features", "npz-object-array", lambda t: _object_npz(t), npz, E.FeatureFileError,
             lambda p: (str(p), "object arrays")),
        Case("features", "npz-nan-features", lambda t: _npz(t, _good_arrays(feats=np.full((3, 8), np.nan, np.float32))),
             npz, E.FeatureFileError, lambda p: (str(p), "Regions.feats", "NaN")),
        Case("features", "npz-not-a-zip", lambda t: _npy_as_npz(t), npz, E.FeatureFileError,
             lambda p: (str(p), "not an npz archive")),
        Case("features", "npz-bad-image-size", lambda t: _npz(t, _good_arrays(image_size=np.array([64]))), npz,
             E.FeatureFileError, lambda p: (str(p), "'image_size' must be two integers")),
        Case("features", "npz-unknown-key", lambda t: _npz(t, _good_arrays(weights=np.zeros(3))), npz,
             E.FeatureFileError, lambda p: (str(p), "weights")),
        Case("features", "npz-string-features", lambda t: _npz(t, _good_arrays(feats=np.array([["x"] * 8] * 3))), npz,
             E.FeatureFileError, lambda p: (str(p), "'feats' must hold numbers")),
        Case("features", "npz-non-npy-member", lambda t: _zip_with(t, {"boxes.npy": b"x", "notes.txt": b"hi"}), npz,
             E.FeatureFileError, lambda p: (str(p), "notes.txt")),
        Case("features", "npz-unsupported-zip-version", lambda t: _odd_zip_version(t), npz, E.FeatureFileError,
             lambda p: (str(p), "not an npz archive", "zip file version")),
        Case("features", "npz-expands-too-far", lambda t: _npz(t, _good_arrays()), lambda p, env: _with_small_limit(p),
             E.FeatureFileError, lambda p: (str(p), "would expand")),
        Case("features", "npz-extra-single-value", lambda t: _npz(t, _good_arrays(**{"extra.obj_ids": np.array(7)})),
             npz, E.FeatureFileError, lambda p: (str(p), "'extra.obj_ids' is a single value")),
        Case("features", "npz-extra-object-array",
             lambda t: _npz(t, _good_arrays(**{"extra.obj_ids": np.array([1, None, "x"], dtype=object)})), npz,
             E.FeatureFileError, lambda p: (str(p), "object arrays")),
        Case("features", "tsv-bottom-up-box-count", lambda t: _tsv(t, raw=_bottom_up_line(num_boxes="4")), tsv,
             E.FeatureFileError, lambda p: (*line1(p), "image_id '42'", "'boxes'", "num_boxes=4 needs")),
        Case("features", "tsv-bottom-up-width-word", lambda t: _tsv(t, raw=_bottom_up_line(image_w="640px")), tsv,
             E.FeatureFileError, lambda p: (*line1(p), "image_w is '640px'")),
        Case("features", "tsv-mixed-layouts", lambda t: _tsv(t, raw=_bottom_up_line() + good), tsv, E.FeatureFileError,
             lambda p: (str(p), "line 2", "one file holds one layout")),
        # documented fallbacks
        Case("features", "tsv-bottom-up-layout", lambda t: _tsv(t, raw=_bottom_up_line(42) + _bottom_up_line(43)), tsv,
             check=lambda r, p, env: _assert_bottom_up(r, ["42", "43"])),
        Case("features", "tsv-header-line", lambda t: _tsv(t, raw=("\t".join(FIELDNAMES) + "\n").encode() + good), tsv,
             check=lambda r, p, env: _assert_ids(r, ["img1"])),
        Case("features", "tsv-zero-bytes", lambda t: _tsv(t, raw=b""), tsv, check=lambda r, p, env: _assert_ids(r, [])),
        Case("features", "cache-damaged-entry-recomputed", lambda t: _damaged_cache(t, b"garbage"),
             lambda d, env: _cache_round(d), check=lambda r, d, env: _assert_recomputed(r), writes=True),
        Case("features", "cache-zero-byte-entry-recomputed", lambda t: _damaged_cache(t, b""),
             lambda d, env: _cache_round(d), check=lambda r, d, env: _assert_recomputed(r), writes=True),
    ]
    return cases


def _truncated_npz(tmp: Path) -> Path:
    p = save_npz(tmp / "full.npz", regions())
    data = p.read_bytes()
    p.unlink()
    return _npz(tmp, raw=data[: len(data) // 2])


def _object_npz(tmp: Path) -> Path:
    arrays = _good_arrays()
    arrays["labels"] = np.array(["a", 1, None], dtype=object)
    return _npz(tmp, arrays)


def _odd_zip_version(tmp: Path) -> Path:
    """A valid npz whose central directory says it needs zip version 10.9 (found by the fuzzer)."""
    p = save_npz(tmp / "v.npz", regions())
    data = bytearray(p.read_bytes())
    at = data.index(b"PK\x01\x02")
    data[at + 6: at + 8] = (109).to_bytes(2, "little")
    p.write_bytes(bytes(data))
    return p


def _npy_as_npz(tmp: Path) -> Path:
    b = io.BytesIO()
    np.save(b, np.zeros(3))
    return _npz(tmp, raw=b.getvalue())


def _zip_with(tmp: Path, members: dict) -> Path:
    p = tmp / "r.npz"
    with zipfile.ZipFile(p, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return p


def _with_small_limit(path: Path):
    from lxmert_viz.features import npz

    old, npz.MAX_NPZ_BYTES = npz.MAX_NPZ_BYTES, 100
    try:
        return load_npz(path)
    finally:
        npz.MAX_NPZ_BYTES = old


def _assert_ids(result, ids):
    assert list(result) == ids


def _assert_bottom_up(result, ids):
    assert list(result) == ids
    for r in result.values():
        assert r.image_size == (64, 48) and r.labels is None and r.labels_absent == NO_LABELS
        assert r.feats.tobytes() == regions().feats.tobytes()


class _Counting:
    """A stand-in extractor: counts the images it really runs."""

    def __init__(self):
        from lxmert_viz.features import FasterRCNNExtractor, FRCNNConfig

        self.inner = FasterRCNNExtractor.random(FRCNNConfig.tiny(), seed=1)
        self.cfg, self.identity, self.seen = self.inner.cfg, self.inner.identity, 0

    def settings(self, *a, **k):
        return self.inner.settings(*a, **k)

    def extract(self, images, **kw):
        self.seen += len(images)
        return self.inner.extract(images, **kw)


IMG = np.asarray(scene_like())


def _damaged_cache(tmp: Path, content: bytes) -> Path:
    from lxmert_viz.features import CachedExtractor, FeatureCache

    d = tmp / "cache"
    cached = CachedExtractor(_Counting(), FeatureCache(d))
    cached.extract([IMG], num_regions=3)
    (entry,) = d.rglob("*.npz")
    entry.write_bytes(content)
    return d


def _cache_round(d: Path):
    from lxmert_viz.features import CachedExtractor, FeatureCache

    counting = _Counting()
    cached = CachedExtractor(counting, FeatureCache(d))
    first = cached.extract([IMG], num_regions=3)[0]
    second = cached.extract([IMG], num_regions=3)[0]
    (entry,) = d.rglob("*.npz")
    return counting.seen, cached.cache, first, second, load_npz(entry)


def _assert_recomputed(r):
    seen, cache, first, second, stored = r
    assert seen == 1 and cache.damaged == 1 and cache.hits == 1, "damaged: a miss, recomputed once, then a hit"
    assert np.array_equal(first.feats, second.feats) and np.array_equal(stored.feats, first.feats)


# -- the command line (in-process: lxmert_viz.cli.main) -------------------------------------------
def cli_cases() -> list[Case]:
    from hostile_corpus import write

    png = image_bytes(scene_like(), "PNG")
    sample = lambda t: write(t, "scene.png", png)  # noqa: E731
    run = lambda argv: (lambda x, env: env.cli(argv(x)))  # noqa: E731
    q = "what color is the circle?"
    return [
        Case("cli", "missing-image", lambda t: t / "nope.png", run(lambda x: ["ask", str(x), q]), SystemExit,
             lambda x: (str(x), "no image file")),
        Case("cli", "not-an-image", lambda t: write(t, "x.png", b"plain text"), run(lambda x: ["ask", str(x), q]),
             SystemExit, lambda x: (str(x), "not an image")),
        Case("cli", "truncated-image", lambda t: write(t, "x.png", png[:60]), run(lambda x: ["ask", str(x), q]),
             SystemExit, lambda x: (str(x), "truncated")),
        Case("cli", "empty-question", sample, run(lambda x: ["ask", str(x), "  ", "--png", str(x.with_name("o.png"))]),
             SystemExit, ("question is empty",)),
        Case("cli", "unknown-words", sample, run(lambda x: ["ask", str(x), "what is the zorb?", "--png", str(x.with_name("o.png"))]),
             SystemExit, ("'zorb'", "--allow-unknown")),
        Case("cli", "existing-png", lambda t: (sample(t), write(t, "o.png", b"mine"))[0],
             run(lambda x: ["ask", str(x), q, "--png", str(x.with_name("o.png"))]), SystemExit, ("o.png", "already exists", "--force")),
        Case("cli", "png-is-folder", sample, run(lambda x: ["ask", str(x), q, "--png", str(x.parent)]), SystemExit,
             lambda x: (str(x.parent), "is a folder")),
        Case("cli", "png-under-a-file", sample, run(lambda x: ["ask", str(x), q, "--png", str(x / "o.png")]), SystemExit,
             lambda x: (str(x), "is a file, not a folder")),
        Case("cli", "png-missing-folder", sample, run(lambda x: ["ask", str(x), q, "--png", str(x.parent / "no" / "o.png")]),
             SystemExit, ("does not exist",)),
        Case("cli", "png-wrong-suffix", sample, run(lambda x: ["ask", str(x), q, "--png", str(x.with_name("o.jpg"))]),
             SystemExit, ("o.jpg", ".png")),
        Case("cli", "png-is-the-input", sample, run(lambda x: ["ask", str(x), q, "--png", str(x), "--force"]), SystemExit,
             lambda x: (str(x), "input image itself")),
        Case("cli", "top-zero", sample, run(lambda x: ["ask", str(x), q, "--top", "0"]), SystemExit, ("--top must be at least 1",)),
        Case("cli", "top-not-a-number", sample, run(lambda x: ["ask", str(x), q, "--top", "x"]), SystemExit,
             ("--top", "invalid int value: 'x'")),
        Case("cli", "missing-model", sample, run(lambda x: ["ask", str(x), q, "--model", str(x.parent / "nomodel"),
                                                             "--png", str(x.with_name("o.png"))]),
             SystemExit, lambda x: (str(x.parent / "nomodel"),)),
        Case("cli", "scene-existing-file", lambda t: write(t, "s.png", b"mine"), run(lambda x: ["scene", str(x)]),
             SystemExit, lambda x: (str(x), "already exists")),
        # documented fallbacks: where the PNG goes, what the numbers are called
        Case("cli", "default-png-in-current-folder", sample, run(lambda x: ["ask", str(x), q]),
             check=lambda r, x, env: _assert_cli_wrote(r, env, x), writes=True),
        Case("cli", "force-overwrites", lambda t: (sample(t), write(t, "o.png", b"mine"))[0],
             run(lambda x: ["ask", str(x), q, "--png", str(x.with_name("o.png")), "--force"]),
             check=lambda r, x, env: _assert_overwritten(r, x), writes=True),
    ]


def _assert_cli_wrote(r, env, image: Path):
    code, out, err = r
    assert code == 0, err
    assert "softmax probability" in out
    assert (env.cwd / "scene_attention.png").is_file(), "the overlay goes to the current folder"
    assert sorted(p.name for p in image.parent.iterdir()) == ["scene.png"], "nothing written beside the image"


def _assert_overwritten(r, image: Path):
    code, out, err = r
    assert code == 0, err
    assert image.with_name("o.png").read_bytes()[:4] == b"\x89PNG"
