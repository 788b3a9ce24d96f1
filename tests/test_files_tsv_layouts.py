"""Feature TSVs written exactly as their writers write them, read field by field.

bottom-up-attention's ``tools/generate_tsv.py`` (6 fields: ``image_id, image_w, image_h, num_boxes,
boxes, features``; integer ids; width before height; 36 boxes or adaptive 10-100) and LXMERT's
``data/mscoco_imgfeat/extract_coco_image.py`` (10 fields) both write through ``csv.DictWriter(f,
delimiter='\\t', fieldnames=FIELDNAMES)``, so lines end in ``\\r\\n``; array fields are
``base64.b64encode`` of the numpy arrays the detector gives (float32 boxes and features, int64
``argmax`` ids, float32 confidences). The writers below do the same, in Python 3
(``b64encode(...).decode()`` is the text Python 2 wrote).
"""
from __future__ import annotations

import base64
import csv

import numpy as np
import pytest

from lxmert_viz import errors as E
from lxmert_viz.analysis.datasets import FeatureStore
from lxmert_viz.features import VGLabels, read_tsv
from lxmert_viz.features.tsv import BOTTOM_UP_FIELDNAMES, FIELDNAMES, NO_LABELS, _set_field_limit
from lxmert_viz.features.tsv_line import read_tsv_line

DIM = 2048


def detections(seed: int, n: int, w: int, h: int, dim: int = DIM) -> dict:
    """What the detector gives for one image: float32 pixel boxes inside it, float32 pool5 features,
    int64 argmax ids, float32 max confidences."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0, w - 1, (n, 2)), axis=1)
    y = np.sort(rng.uniform(0, h - 1, (n, 2)), axis=1)
    cls_prob = rng.random((n, 1601)).astype(np.float32)
    attr_prob = rng.random((n, 401)).astype(np.float32)
    return {"boxes": np.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], 1).astype(np.float32),
            "features": rng.standard_normal((n, dim)).astype(np.float32),
            "objects": np.argmax(cls_prob[:, 1:], axis=1), "objects_conf": np.max(cls_prob[:, 1:], axis=1),
            "attrs": np.argmax(attr_prob[:, 1:], axis=1), "attrs_conf": np.max(attr_prob[:, 1:], axis=1)}


def b64(arr: np.ndarray) -> str:
    return base64.b64encode(arr).decode("ascii")


def write_like_generate_tsv(path, images) -> None:
    """bottom-up-attention's generate_tsv: open(outfile, 'ab'), DictWriter, one writerow per image."""
    with open(path, "a", newline="") as tsvfile:
        writer = csv.DictWriter(tsvfile, delimiter="\t", fieldnames=BOTTOM_UP_FIELDNAMES)
        for image_id, w, h, d in images:
            writer.writerow({"image_id": image_id, "image_h": h, "image_w": w, "num_boxes": len(d["boxes"]),
                             "boxes": b64(d["boxes"]), "features": b64(d["features"])})


def write_like_extract_coco_image(path, images) -> None:
    """LXMERT's extract_coco_image.py: the same DictWriter with its 10 fields."""
    with open(path, "a", newline="") as tsvfile:
        writer = csv.DictWriter(tsvfile, delimiter="\t", fieldnames=FIELDNAMES)
        for image_id, w, h, d in images:
            writer.writerow({"img_id": image_id, "img_h": h, "img_w": w, "objects_id": b64(d["objects"]),
                             "objects_conf": b64(d["objects_conf"]), "attrs_id": b64(d["attrs"]),
                             "attrs_conf": b64(d["attrs_conf"]), "num_boxes": len(d["boxes"]),
                             "boxes": b64(d["boxes"]), "features": b64(d["features"])})


def assert_bottom_up(regions, w, h, d):
    n = len(d["boxes"])
    assert regions.image_size == (w, h) and regions.num_real == n == len(regions)
    assert regions.boxes.dtype == np.float32 and regions.boxes.tobytes() == d["boxes"].tobytes()
    assert regions.feats.dtype == np.float32 and regions.feats.tobytes() == d["features"].tobytes()
    assert regions.labels is None and regions.scores is None and regions.extra == {}
    assert regions.labels_absent == NO_LABELS and regions.names()[:2] == ["r0 (no label)", "r1 (no label)"]


# width != height everywhere, so that a swap cannot pass
COCO_36 = [(262148, 640, 427, detections(1, 36, 640, 427)), (393225, 480, 640, detections(2, 36, 480, 640))]
ADAPTIVE = [(9, 500, 375, detections(3, 10, 500, 375, 64)), (25, 612, 612, detections(4, 57, 612, 612, 64)),
            (30, 333, 500, detections(5, 100, 333, 500, 64))]


@pytest.mark.parametrize("images", [COCO_36, ADAPTIVE], ids=["36-boxes", "adaptive-10-100"])
def test_bottom_up_generate_tsv_file_is_read_field_by_field(tmp_path, images):
    path = tmp_path / "trainval_resnet101_faster_rcnn_genome.tsv"
    write_like_generate_tsv(path, images)
    raw = path.read_bytes()
    assert raw.count(b"\r\n") == len(images) and raw.count(b"\n") == len(images)  # CRLF, as DictWriter wrote it
    got = read_tsv(path, labels=VGLabels.fallback())  # labels are asked for: this layout has none to name
    assert list(got) == [str(i) for i, *_ in images]
    for image_id, w, h, d in images:
        assert_bottom_up(got[str(image_id)], w, h, d)
    # the way bottom-up-attention's tools/read_tsv.py decodes a line: the same numbers
    _set_field_limit()  # its csv.field_size_limit(sys.maxsize)
    with open(path, "r+b") as f:
        item = next(csv.DictReader((line.decode() for line in f), delimiter="\t", fieldnames=BOTTOM_UP_FIELDNAMES))
    n = int(item["num_boxes"])
    boxes = np.frombuffer(base64.b64decode(item["boxes"]), dtype=np.float32).reshape((n, -1))
    assert (int(item["image_w"]), int(item["image_h"])) == got[item["image_id"]].image_size
    assert np.array_equal(boxes, got[item["image_id"]].boxes)


def test_lxmert_extract_coco_image_file_is_read_field_by_field(tmp_path):
    images = [("COCO_val2014_000000262148", 640, 427, detections(6, 36, 640, 427, 64)),
              ("COCO_val2014_000000393225", 480, 640, detections(7, 36, 480, 640, 64))]
    path = tmp_path / "val2014_obj36.tsv"
    write_like_extract_coco_image(path, images)
    assert path.read_bytes().count(b"\r\n") == 2
    labels = VGLabels.fallback()
    got = read_tsv(path, labels=labels)
    for image_id, w, h, d in images:
        r = got[image_id]
        assert r.image_size == (w, h) and r.num_real == 36 and r.labels_absent is None
        assert r.boxes.tobytes() == d["boxes"].tobytes() and r.feats.tobytes() == d["features"].tobytes()
        for key, want in (("obj_ids", "objects"), ("obj_conf", "objects_conf"), ("attr_ids", "attrs"),
                          ("attr_conf", "attrs_conf")):
            assert r.extra[key].dtype == d[want].dtype and r.extra[key].tobytes() == d[want].tobytes(), key
        assert r.scores.tobytes() == d["objects_conf"].tobytes()
        assert r.labels == tuple(labels.region_label(int(o), int(a), float(c))
                                 for o, a, c in zip(d["objects"], d["attrs"], d["attrs_conf"]))


def test_bottom_up_lines_get_the_same_checks_as_lxmert_lines(tmp_path):
    w, h, d = 640, 427, detections(8, 12, 640, 427, 16)
    good = {"image_id": 42, "image_w": w, "image_h": h, "num_boxes": 12, "boxes": b64(d["boxes"]),
            "features": b64(d["features"])}

    def refused(name, **change):
        path = tmp_path / f"{name}.tsv"
        with open(path, "w", newline="") as f:
            csv.DictWriter(f, delimiter="\t", fieldnames=BOTTOM_UP_FIELDNAMES).writerow({**good, **change})
        with pytest.raises(E.FeatureFileError) as err:
            read_tsv(path)
        return str(err.value)

    msg = refused("count", num_boxes=13)
    assert str(tmp_path / "count.tsv") in msg and "line 1" in msg and "image_id '42'" in msg and "'boxes'" in msg
    assert "num_boxes=13 needs" in refused("count2", num_boxes=13)
    assert "image_w is 'wide'" in refused("width", image_w="wide")
    assert "normalised boxes" in refused("norm", boxes=b64(d["boxes"] / np.float32(w)))
    assert "outside the 100 x 427 image" in refused("narrow", image_w=100)  # width is the second field
    assert "'features'" in refused("b64", features="!!") and "base64" in refused("b64b", features="!!")
    assert "NaN" in refused("nan", features=b64(np.full((12, 16), np.nan, np.float32)))


def test_column_counts_and_layouts(tmp_path):
    w, h, d = 64, 48, detections(9, 3, 64, 48, 8)
    bu, lx = tmp_path / "bu.tsv", tmp_path / "lx.tsv"
    write_like_generate_tsv(bu, [(1, w, h, d)])
    write_like_extract_coco_image(lx, [("img2", w, h, d)])
    # a header line of either layout is skipped
    (tmp_path / "head.tsv").write_bytes("\t".join(BOTTOM_UP_FIELDNAMES).encode() + b"\r\n" + bu.read_bytes())
    assert list(read_tsv(tmp_path / "head.tsv")) == ["1"]
    # one file, one layout
    (tmp_path / "mixed.tsv").write_bytes(bu.read_bytes() + lx.read_bytes())
    with pytest.raises(E.FeatureFileError, match=r"line 2: 10 columns .*LXMERT.* line 1 has 6 .*bottom-up"):
        read_tsv(tmp_path / "mixed.tsv")
    # neither layout: the message names both, with their writers and fields
    (tmp_path / "seven.tsv").write_bytes(bu.read_bytes().replace(b"\r\n", b"\tx\r\n"))
    with pytest.raises(E.FeatureFileError) as err:
        read_tsv(tmp_path / "seven.tsv")
    msg = str(err.value)
    assert "line 1: 7 tab-separated columns, expected 10" in msg and "or 6" in msg
    assert "generate_tsv.py: image_id, image_w, image_h" in msg and "extract_coco_image.py: img_id, img_h" in msg


def test_feature_store_reads_bottom_up_lines_by_offset(tmp_path):
    path = tmp_path / "test2015_36.tsv"
    (tmp_path / "head").write_bytes("\t".join(BOTTOM_UP_FIELDNAMES).encode() + b"\r\n")
    path.write_bytes((tmp_path / "head").read_bytes())
    write_like_generate_tsv(path, COCO_36)
    store = FeatureStore(path, pad_to=40)
    assert len(store) == 2 and "image_id" not in store  # the header is no image
    for image_id, w, h, d in COCO_36:
        r = store.ref(f"COCO_test2015_{image_id:012d}").load()  # found by number
        assert r.image_size == (w, h) and r.num_real == 36 and len(r) == 40
        assert r.feats[:36].tobytes() == d["features"].tobytes() and not r.feats[36:].any()
        assert r.labels_absent == NO_LABELS
    ref = store.ref(262148)
    assert ref.offset == len("\t".join(BOTTOM_UP_FIELDNAMES)) + 2  # after the header and its \r\n
    with pytest.raises(E.FeatureFileError, match=rf"at byte {ref.offset + 1} is not the line of image '262148'"):
        read_tsv_line(path, ref.offset + 1, "262148")


def test_feature_store_skips_blank_lines_and_names_bad_ids(tmp_path):
    path = tmp_path / "f.tsv"
    write_like_generate_tsv(path, ADAPTIVE[:1])
    path.write_bytes(b"\r\n" + path.read_bytes() + b"\r\n")
    store = FeatureStore(path)
    assert len(store) == 1 and store.ref(9).load().num_real == 10
    (tmp_path / "bad.tsv").write_bytes("imagé\t1\t1\t0\t\t\r\n".encode())
    with pytest.raises(E.FeatureFileError, match=r"bad.tsv line 1: the image id .* is not ASCII"):
        FeatureStore(tmp_path / "bad.tsv")
    (tmp_path / "empty.tsv").write_bytes(b"")
    with pytest.raises(E.FeatureFileError, match="holds no region features"):
        FeatureStore(tmp_path / "empty.tsv")
