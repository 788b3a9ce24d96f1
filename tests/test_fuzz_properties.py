"""Property-based fuzzing (hypothesis) of the tokenizer, the TSV and npz readers, config parsing and
image opening: every input is either accepted as a value that satisfies its contract
(`fuzz_oracles`), or refused with one of the kit's own errors; nothing else may escape.

A few hundred examples in all, to keep the suite fast; `benchmarks/fuzz_inputs.py` runs 100,000.
"""
from __future__ import annotations

import atexit
import io
import shutil
import tempfile
from pathlib import Path

import numpy as np
from fuzz_oracles import valid_config, valid_image, valid_regions, valid_tokens
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from lxmert_viz import LxmertConfig, Regions
from lxmert_viz import errors as E
from lxmert_viz.assets import shapes_model_dir
from lxmert_viz.features import load_npz, read_tsv, save_npz
from lxmert_viz.features.npz import arrays_to_regions, regions_to_arrays
from lxmert_viz.features.tsv import BOTTOM_UP_FIELDNAMES, _b64, format_row, regions_to_row
from lxmert_viz.inputs.image import open_image
from lxmert_viz.inputs.text import Tokenizer
from lxmert_viz.inputs.words import check_known_words

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=True)
TOK = Tokenizer.from_pretrained(shapes_model_dir())
WORDS = sorted(w for w in TOK._tok.get_vocab() if not w.startswith("##"))
TMP = Path(tempfile.mkdtemp(prefix="lxmert_viz_fuzz_"))  # hypothesis examples share one private folder
atexit.register(shutil.rmtree, TMP, ignore_errors=True)

chars = st.one_of(st.characters(), st.characters(categories=["Cs", "Cc", "Cf", "Zs", "So"]),
                  st.sampled_from(list("\u200b\u200d\ufeff\x00\t\n ?!.,")))
questions = st.one_of(
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(chars, max_size=8)), max_size=30).map(" ".join),
    st.text(chars, max_size=40), st.none(), st.integers(), st.binary(max_size=10),
)


@FUZZ
@given(q=questions)
def test_tokenizer_accepts_valid_tokens_or_refuses_cleanly(q):
    try:
        tokens = TOK(q)
    except E.LxmertVizError:
        return
    assert valid_tokens(TOK, tokens, q) is None, valid_tokens(TOK, tokens, q)
    try:
        check_known_words(tokens, q)
    except E.UnknownWordsError as err:
        assert err.words == tokens.unknown


# -- feature files ----------------------------------------------------------------------------------
def _regions(n: int, dim: int, seed: int) -> Regions:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 30, (n, 2)).astype(np.float32)
    return Regions(np.concatenate([xy, xy + rng.uniform(1, 20, (n, 2)).astype(np.float32)], 1),
                   rng.standard_normal((n, dim)).astype(np.float32), (64, 64))


def _mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for kind, pos, value in ops:
        if not b:
            b = bytearray(value)
            continue
        i = pos % len(b)
        if kind == "flip":
            b[i] ^= 1 << (value[0] % 8) if value else 1
        elif kind == "cut":
            del b[i: i + 1 + (value[0] if value else 0)]
        elif kind == "insert":
            b[i:i] = value
        else:  # truncate
            del b[i:]
    return bytes(b)


mutations = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "truncate"]), st.integers(0, 10**6),
                               st.binary(max_size=6)), max_size=4)


def _bottom_up_line(regions: Regions) -> bytes:
    """A line of bottom-up-attention's generate_tsv.py layout (6 fields, \\r\\n)."""
    row = {"image_id": "262148", "image_w": str(regions.image_size[0]), "image_h": str(regions.image_size[1]),
           "num_boxes": str(len(regions)), "boxes": _b64(regions.boxes, np.float32),
           "features": _b64(regions.feats, np.float32)}
    return ("\t".join(row[f] for f in BOTTOM_UP_FIELDNAMES) + "\r\n").encode()


@FUZZ
@given(n=st.integers(0, 4), dim=st.integers(1, 6), seed=st.integers(0, 9), ops=mutations, copies=st.integers(1, 2),
       bottom_up=st.booleans())
def test_tsv_reader_accepts_valid_regions_or_refuses_cleanly(n, dim, seed, ops, copies, bottom_up):
    regions = _regions(n, dim, seed)
    line = _bottom_up_line(regions) if bottom_up else format_row(regions_to_row("img", regions)).encode()
    path = TMP / "fuzz.tsv"
    path.write_bytes(_mutate(line * copies, ops))
    try:
        got = read_tsv(path)
    except E.LxmertVizError:
        return
    for r in got.values():
        assert valid_regions(r) is None, valid_regions(r)


@FUZZ
@given(n=st.integers(0, 4), seed=st.integers(0, 9), ops=mutations)
def test_npz_reader_accepts_valid_regions_or_refuses_cleanly(n, seed, ops):
    good = save_npz(TMP / "good.npz", _regions(n, 5, seed)).read_bytes()
    path = TMP / "fuzz.npz"
    path.write_bytes(_mutate(good, ops))
    try:
        r = load_npz(path)
    except E.LxmertVizError:
        return
    assert valid_regions(r) is None, valid_regions(r)


NUMBER_DTYPES = [np.float32, np.float64, np.int64, np.uint8, np.bool_, np.complex64]
zero_d = st.one_of(hnp.arrays(st.sampled_from(NUMBER_DTYPES), ()), hnp.arrays(hnp.unicode_string_dtypes(), ()))
array_values = st.one_of(
    hnp.arrays(st.sampled_from(NUMBER_DTYPES), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)),
    hnp.arrays(hnp.unicode_string_dtypes(), hnp.array_shapes(max_dims=1, max_side=3)),
    zero_d,  # single values: a 0-d extra once crashed Regions with "len() of unsized object"
)
KEYS = ["boxes", "feats", "image_size", "num_real", "scores", "labels", "labels_absent", "extra.obj_ids",
        "extra.attr_conf", "other"]
UNPICKLED: list = []


def _record_unpickling():
    UNPICKLED.append(True)
    return "unpickled"


class Trap:
    """An object whose unpickling is recorded: a reader that unpickles it fails the test."""

    def __reduce__(self):
        return _record_unpickling, ()


object_arrays = st.lists(st.one_of(st.integers(), st.text(max_size=3), st.none(), st.just(Trap())), min_size=0,
                         max_size=4).map(lambda xs: np.array(xs + [Trap()], dtype=object))


def _valid_with_extras(r, pixel_boxes=True) -> str | None:
    bad = [k for k, v in r.extra.items() if np.ndim(v) == 0 or len(v) != len(r)]
    return f"extra {bad} not one row per region" if bad else valid_regions(r, pixel_boxes=pixel_boxes)


@FUZZ
@given(arrays=st.dictionaries(st.sampled_from(KEYS), array_values, max_size=8))
def test_npz_arrays_accept_valid_regions_or_refuse_cleanly(arrays):
    try:
        r = arrays_to_regions(arrays, "fuzzed arrays")
    except E.LxmertVizError:
        return
    assert _valid_with_extras(r, pixel_boxes=False) is None, _valid_with_extras(r, pixel_boxes=False)


@FUZZ
@given(n=st.integers(0, 3), seed=st.integers(0, 9),
       changes=st.dictionaries(st.sampled_from(KEYS), st.one_of(zero_d, object_arrays, array_values), max_size=3))
def test_npz_files_with_single_values_and_object_arrays_refuse_cleanly_and_never_unpickle(n, seed, changes):
    arrays = {**regions_to_arrays(_regions(n, 5, seed)), **changes}
    path = TMP / "odd.npz"
    with open(path, "wb") as f:
        np.savez(f, **arrays)  # object arrays are pickled into the file by numpy's writer
    UNPICKLED.clear()
    try:
        r = load_npz(path)
    except E.LxmertVizError as err:
        assert str(path) in str(err), err
    else:
        assert _valid_with_extras(r) is None, _valid_with_extras(r)
        assert not any(np.asarray(v).dtype == object for v in changes.values()), "an object array was accepted"
    assert UNPICKLED == [], "the reader unpickled an object array"


def _saved(arrays: dict):
    path = TMP / "one_change.npz"
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


@FUZZ
@given(n=st.integers(0, 3), seed=st.integers(0, 9), name=st.text("abcdefghij_", min_size=1, max_size=6), value=zero_d)
def test_npz_single_value_extra_is_refused_by_its_key(n, seed, name, value):
    path = _saved({**regions_to_arrays(_regions(n, 5, seed)), f"extra.{name}": value})
    try:
        load_npz(path)
    except E.FeatureFileError as err:
        assert str(path) in str(err) and f"'extra.{name}' is a single value" in str(err), err
    else:
        raise AssertionError("a 0-d extra array was accepted")


@FUZZ
@given(n=st.integers(0, 3), seed=st.integers(0, 9), key=st.sampled_from(KEYS), value=object_arrays)
def test_npz_object_array_is_refused_without_unpickling(n, seed, key, value):
    path = _saved({**regions_to_arrays(_regions(n, 5, seed)), key: value})
    UNPICKLED.clear()
    try:
        load_npz(path)
    except E.FeatureFileError as err:
        assert str(path) in str(err) and "object arrays" in str(err), err
    else:
        raise AssertionError("an object array was accepted")
    assert UNPICKLED == [], "the reader unpickled an object array"


# -- configs ---------------------------------------------------------------------------------------
anything = st.one_of(st.integers(-5, 10**12), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                     st.text(max_size=5), st.none(), st.lists(st.integers(), max_size=2),
                     st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
FIELDS = sorted(LxmertConfig.tiny().to_dict())


@FUZZ
@given(changes=st.dictionaries(st.sampled_from(FIELDS + ["num_hidden_layers", "answer_scoring"]), anything, max_size=4))
def test_config_parsing_accepts_valid_configs_or_refuses_cleanly(changes):
    data = {**LxmertConfig.tiny().to_dict(), **changes}
    try:
        cfg = LxmertConfig.from_dict(data)
    except E.LxmertVizError as err:
        assert isinstance(err, E.ConfigError)
        return
    assert valid_config(cfg) is None, valid_config(cfg)


# -- images ----------------------------------------------------------------------------------------
def _encoded(fmt: str, mode: str) -> bytes:
    img = Image.new(mode, (9, 7), 120 if mode in ("L", "I;16", "I", "F") else (10, 200, 30)[: len(mode)])
    b = io.BytesIO()
    img.save(b, fmt)
    return b.getvalue()


SEEDS = [_encoded(f, m) for f, m in [("PNG", "RGB"), ("PNG", "I;16"), ("JPEG", "RGB"), ("GIF", "L"), ("BMP", "RGB"),
                                     ("TIFF", "F"), ("WEBP", "RGB"), ("PPM", "RGB"), ("PNG", "RGBA")]]
MAX_PIXELS = 10_000


@FUZZ
@given(which=st.integers(0, len(SEEDS) - 1), ops=mutations)
def test_image_files_open_as_rgb_or_refuse_cleanly(which, ops):
    data = _mutate(SEEDS[which], ops)
    try:
        img = open_image(data, max_pixels=MAX_PIXELS, timeout=5.0)
    except E.LxmertVizError:
        return
    assert valid_image(img, MAX_PIXELS) is None, valid_image(img, MAX_PIXELS)


@FUZZ
@given(arr=hnp.arrays(st.sampled_from([np.uint8, np.uint16, np.int32, np.float16, np.float32, np.float64,
                                         np.bool_, np.complex64, np.int8]),
                      hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6)))
def test_image_arrays_open_as_rgb_or_refuse_cleanly(arr):
    before = arr.copy()
    try:
        img = open_image(arr, max_pixels=MAX_PIXELS)
    except E.LxmertVizError:
        assert np.array_equal(arr, before, equal_nan=arr.dtype.kind in "fc")
        return
    assert valid_image(img, MAX_PIXELS) is None, valid_image(img, MAX_PIXELS)
    assert np.array_equal(arr, before, equal_nan=arr.dtype.kind in "fc"), "the array was modified"
    assert img.size == (arr.shape[1], arr.shape[0])
