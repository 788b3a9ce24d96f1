"""Feature files (TSV, npz) round-trip bit-exactly; the cache hits; folder extraction resumes."""
import base64
import csv

import numpy as np
import pytest
import torch
from PIL import Image

from lxmert_viz.features import (
    CachedExtractor,
    FasterRCNNExtractor,
    FeatureCache,
    FRCNNConfig,
    VGLabels,
    extract_folder,
    load_npz,
    read_tsv,
    save_npz,
    write_tsv,
)
from lxmert_viz.features.tsv import FIELDNAMES
from lxmert_viz.inputs.regions import Regions


def make_regions(seed=0, n=5, num_real=None, dim=16):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 50, (n, 2)).astype(np.float32)
    boxes = np.concatenate([xy, xy + rng.uniform(1, 40, (n, 2)).astype(np.float32)], axis=1)
    boxes = np.minimum(boxes, np.array([97, 61, 97, 61], np.float32))  # inside the 97 x 61 image
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


THREADS = torch.get_num_threads()  # this process's default, as a child process gets it


@pytest.fixture(autouse=True)
def default_threads():
    """Each test here at the default thread count (byte-equal results need equal thread counts; an
    earlier test in the session may have set another), and whatever it was afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(before)


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


def _bad_images(folder):
    """A truncated PNG, a text file named .jpg and (with a lowered pixel limit) a 'bomb'."""
    good = np.random.default_rng(1).integers(0, 256, (50, 60, 3), dtype=np.uint8)
    Image.fromarray(good).save(folder / "b_truncated.png")
    data = (folder / "b_truncated.png").read_bytes()
    (folder / "b_truncated.png").write_bytes(data[: len(data) // 2])
    (folder / "c_not_an_image.jpg").write_text("hello")
    Image.fromarray(np.zeros((120, 120, 3), np.uint8)).save(folder / "d_bomb.png")


@pytest.mark.parametrize("fmt", ["npz", "tsv"])
def test_bad_images_are_recorded_and_the_run_goes_on(tmp_path, tiny, fmt, monkeypatch, caplog):
    _write_images(tmp_path / "imgs", 3)
    _bad_images(tmp_path / "imgs")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5000)  # 120x120 > 2x the limit: PIL refuses it
    out = tmp_path / ("out" if fmt == "npz" else "out.tsv")
    with caplog.at_level("WARNING", logger="lxmert_viz.features.batch"):
        report = extract_folder(tmp_path / "imgs", out, tiny, fmt=fmt, num_regions=4, progress=False)
    assert report.done == ["im0", "im1", "im2"]
    assert [f.img_id for f in report.failed] == ["b_truncated", "c_not_an_image", "d_bomb"]
    reasons = {f.img_id: f.reason for f in report.failed}
    assert "truncated" in reasons["b_truncated"] and "not an image" in reasons["c_not_an_image"]
    assert "decompression bomb" in reasons["d_bomb"]  # main's open_image: an ImageError that says so
    assert all(f.path.parent == tmp_path / "imgs" for f in report.failed)
    summary = [r.getMessage() for r in caplog.records]
    assert len(summary) == 1 and "3 extracted" in summary[0] and "3 failed" in summary[0]
    assert "c_not_an_image.jpg" in summary[0]
    results = {p.stem: load_npz(p) for p in out.glob("*.npz")} if fmt == "npz" else read_tsv(out, pad_to=4)
    assert sorted(results) == ["im0", "im1", "im2"]
    again = extract_folder(tmp_path / "imgs", out, tiny, fmt=fmt, num_regions=4, progress=False)
    assert again.done == [] and again.skipped == ["im0", "im1", "im2"] and len(again.failed) == 3


def test_folder_results_equal_one_by_one_extraction(tmp_path, tiny):
    _write_images(tmp_path / "imgs", 3)
    before = torch.get_num_threads()  # earlier tests may have changed it
    report = extract_folder(tmp_path / "imgs", tmp_path / "out", tiny, num_regions=4, progress=False, threads=1)
    assert report.done == ["im0", "im1", "im2"] and torch.get_num_threads() == before  # restored
    torch.set_num_threads(1)
    try:
        for i in range(3):  # prepared in the background thread or not: the same bytes
            want = tiny.extract([tmp_path / "imgs" / f"im{i}.png"], num_regions=4)[0]
            assert_same(load_npz(tmp_path / "out" / f"im{i}.npz"), want)
    finally:
        torch.set_num_threads(before)
    batched = extract_folder(tmp_path / "imgs", tmp_path / "out2", tiny, num_regions=4, progress=False,
                             batch_size=2)
    assert batched.done == ["im0", "im1", "im2"] and len(list((tmp_path / "out2").glob("*.npz"))) == 3


KILLED_CHILD = r"""
import os, sys, time
from lxmert_viz.features import FRCNNConfig, FasterRCNNExtractor, extract_folder
ex = FasterRCNNExtractor.random(FRCNNConfig.tiny(), seed=2)
def done(img_id):
    print(img_id, flush=True)
    time.sleep(0.4)  # the parent kills us in here, or while the next image is being extracted
extract_folder(sys.argv[1], sys.argv[2], ex, fmt=sys.argv[3], num_regions=4, progress=False, on_done=done)
"""


@pytest.mark.parametrize("fmt", ["npz", "tsv"])
def test_a_run_killed_by_sigkill_resumes_with_nothing_lost_or_redone(tmp_path, tiny, fmt):
    import signal
    import subprocess
    import sys

    _write_images(tmp_path / "imgs", 6)
    out = tmp_path / ("out" if fmt == "npz" else "out.tsv")
    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, str(tmp_path / "imgs"), str(out), fmt],
                             stdout=subprocess.PIPE, text=True)
    written = [child.stdout.readline().strip() for _ in range(2)]
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL and written == ["im0", "im1"]
    counting = CountingExtractor(tiny)
    report = extract_folder(tmp_path / "imgs", out, counting, fmt=fmt, num_regions=4, progress=False)
    assert report.skipped[:2] == ["im0", "im1"] and set(report.skipped) | set(report.done) == {f"im{i}" for i in range(6)}
    assert counting.seen == len(report.done) == 6 - len(report.skipped)  # nothing written is redone
    if fmt == "npz":
        results = {p.stem: load_npz(p) for p in out.glob("*.npz")}
    else:
        results = read_tsv(out, labels=tiny.labels, pad_to=4)
        assert len(out.read_text().splitlines()) == 6  # one line per image, no duplicate
    assert sorted(results) == [f"im{i}" for i in range(6)]
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)  # the child's (and this run's) default: the same bytes need the same threads
    try:
        for i in range(6):  # the killed run's files are whole and right
            assert_same(results[f"im{i}"], tiny.extract([tmp_path / "imgs" / f"im{i}.png"], num_regions=4)[0])
    finally:
        torch.set_num_threads(before)


def test_labels_absent_is_kept_and_said(tmp_path):
    from lxmert_viz import errors as E

    r = Regions(np.zeros((3, 4), np.float32), np.ones((3, 8), np.float32), (64, 48), num_real=2,
                labels_absent="this file stores no labels")
    assert r.names() == ["r0 (no label)", "r1 (no label)", "r2 (no label)"] and r.real().labels_absent == r.labels_absent
    back = load_npz(save_npz(tmp_path / "a.npz", r))
    assert back.labels_absent == "this file stores no labels" and back.labels is None
    assert Regions(r.boxes, r.feats, (64, 48)).names() == ["r0", "r1", "r2"]  # no reason given: plain names
    with pytest.raises(E.InputError, match="labels_absent"):
        Regions(r.boxes, r.feats, (64, 48), labels=("a", "b", "c"), labels_absent="none stored")
