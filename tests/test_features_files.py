"""Feature files (TSV, npz) round-trip bit-exactly; the cache hits; folder extraction resumes."""
import base64
import csv

import numpy as np
import pytest
from PIL import Image

from lxmert_viz.features import (CachedExtractor, FRCNNConfig, FasterRCNNExtractor, FeatureCache, VGLabels,
                                 extract_folder, load_npz, read_tsv, save_npz, write_tsv)
from lxmert_viz.features.tsv import FIELDNAMES
from lxmert_viz.inputs.regions import Regions


def make_regions(seed=0, n=5, num_real=None, dim=16):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 50, (n, 2)).astype(np.float32)
    boxes = np.concatenate([xy, xy + rng.uniform(1, 40, (n, 2)).astype(np.float32)], axis=1)
    extra = {"obj_ids": rng.integers(0, 1600, n), "obj_conf": rng.random(n).astype(np.float32),
             "attr_ids": rng.integers(0, 400, n), "attr_conf": rng.random(n).astype(np.float32)}
    labels = VGLabels.fallback()
    names = tuple(labels.region_label(int(o), int(a), float(c))
                  for o, a, c in zip(extra["obj_ids"], extra["attr_ids"], extra["attr_conf"]))
    return Regions(boxes, rng.standard_normal((n, dim)).astype(np.float32), (97, 61), labels=names,
                   scores=extra["obj_conf"].copy(), num_real=num_real, extra=extra)


def assert_same(a: Regions, b: Regions):
    assert a.image_size == b.image_size and a.num_real == b.num_real and a.labels == b.labels
    assert a.boxes.tobytes() == b.boxes.tobytes() and a.feats.tobytes() == b.feats.tobytes()
    assert a.scores.tobytes() == b.scores.tobytes()
    assert set(a.extra) == set(b.extra)
    for k in a.extra:
        assert np.asarray(a.extra[k]).dtype == np.asarray(b.extra[k]).dtype
        assert np.asarray(a.extra[k]).tobytes() == np.asarray(b.extra[k]).tobytes(), k


def test_npz_round_trip_is_bit_exact(tmp_path):
    for r in (make_regions(0), make_regions(1, n=8, num_real=3)):
        assert_same(r, load_npz(save_npz(tmp_path / "a.npz", r)))
    assert not list(tmp_path.glob(".*.tmp"))


def test_tsv_round_trip_is_bit_exact_and_lxmert_readable(tmp_path):
    a, b = make_regions(0), make_regions(1, n=7)
    path = write_tsv(tmp_path / "feats.tsv", {"img_a": a, "img_b": b})
    back = read_tsv(path, labels=VGLabels.fallback())
    assert list(back) == ["img_a", "img_b"]
    assert_same(a, back["img_a"])
    assert_same(b, back["img_b"])
    # the way LXMERT's load_obj_tsv decodes a line
    with open(path, newline="") as f:
        row = next(csv.DictReader(f, FIELDNAMES, delimiter="\t"))
    n = int(row["num_boxes"])
    assert (int(row["img_h"]), int(row["img_w"])) == (61, 97)
    feats = np.frombuffer(base64.b64decode(row["features"]), dtype=np.float32).reshape(n, -1)
    ids = np.frombuffer(base64.b64decode(row["objects_id"]), dtype=np.int64)
    assert np.array_equal(feats, a.feats) and np.array_equal(ids, a.extra["obj_ids"])


def test_tsv_keeps_real_rows_and_pads_back(tmp_path):
    r = make_regions(2, n=6, num_real=4)
    back = read_tsv(write_tsv(tmp_path / "f.tsv", [("x", r)]), labels=VGLabels.fallback(), pad_to=6)["x"]
    assert back.num_real == 4 and len(back) == 6
    assert back.feats[:4].tobytes() == r.feats[:4].tobytes() and not back.feats[4:].any()
    assert np.array_equal(back.mask, r.mask)


class CountingExtractor:
    """Wraps an extractor and counts the images it really runs."""

    def __init__(self, inner, fail_after=None):
        self.inner, self.cfg, self.identity = inner, inner.cfg, inner.identity
        self.seen = 0
        self.fail_after = fail_after

    def settings(self, *a, **k):
        return self.inner.settings(*a, **k)

    def extract(self, images, **kw):
        if self.fail_after is not None and self.seen + len(images) > self.fail_after:
            raise KeyboardInterrupt("simulated interruption")
        self.seen += len(images)
        return self.inner.extract(images, **kw)


@pytest.fixture(scope="module")
def tiny():
    return FasterRCNNExtractor.random(FRCNNConfig.tiny(), seed=2)


def test_cache_hit_on_second_extraction(tmp_path, tiny):
    counting = CountingExtractor(tiny)
    cached = CachedExtractor(counting, FeatureCache(tmp_path / "cache"))
    img = np.random.default_rng(0).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    first = cached.extract([img], num_regions=4)
    assert counting.seen == 1 and cached.cache.misses == 1
    second = cached.extract([Image.fromarray(img)], num_regions=4)  # same pixels, other container
    assert counting.seen == 1 and cached.cache.hits == 1
    assert_same(first[0], second[0])
    cached.extract([img], num_regions=5)  # other settings: a miss
    cached.extract([img[::-1].copy()], num_regions=4)  # other pixels: a miss
    assert counting.seen == 3


def _write_images(folder, n):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (40 + 5 * i, 60, 3), dtype=np.uint8)).save(folder / f"im{i}.png")


@pytest.mark.parametrize("fmt", ["npz", "tsv"])
def test_folder_extraction_resumes_after_interruption(tmp_path, tiny, fmt):
    _write_images(tmp_path / "imgs", 5)
    out = tmp_path / ("out" if fmt == "npz" else "out.tsv")
    flaky = CountingExtractor(tiny, fail_after=3)
    with pytest.raises(KeyboardInterrupt):
        extract_folder(tmp_path / "imgs", out, flaky, fmt=fmt, num_regions=4, progress=False)
    assert flaky.seen == 3
    if fmt == "tsv":  # a torn line left by a crash mid-write is repaired on resume
        with open(out, "a") as f:
            f.write("im3\t45\t60\tAAAA")
    again = CountingExtractor(tiny)
    report = extract_folder(tmp_path / "imgs", out, again, fmt=fmt, num_regions=4, progress=False)
    assert again.seen == 2 and report.done == ["im3", "im4"]
    assert report.skipped == ["im0", "im1", "im2"] and report.failed == []
    if fmt == "npz":
        results = {p.stem: load_npz(p) for p in out.glob("*.npz")}
    else:
        results = read_tsv(out, pad_to=4)
    assert sorted(results) == [f"im{i}" for i in range(5)]
    assert results["im4"].image_size == (60, 60) and results["im4"].feats.shape == (4, tiny.cfg.head_dim)
