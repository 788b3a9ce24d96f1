"""NMS and RoIPool in plain torch against brute-force Python references: exact equality."""
import math

import numpy as np
import pytest
import torch

from lxmert_viz.features import ops


@pytest.fixture(autouse=True)
def seed():
    torch.manual_seed(0)
    np.random.seed(0)


def random_boxes(n, size=100.0, gen=None):
    xy = torch.rand(n, 2, generator=gen) * size
    wh = torch.rand(n, 2, generator=gen) * size / 2 + 1
    return torch.cat([xy, xy + wh], dim=1)


def ref_iou(a, b):
    f = np.float32
    w = max(f(0), min(f(a[2]), f(b[2])) - max(f(a[0]), f(b[0])))
    h = max(f(0), min(f(a[3]), f(b[3])) - max(f(a[1]), f(b[1])))
    inter = f(w) * f(h)
    area_a = (f(a[2]) - f(a[0])) * (f(a[3]) - f(a[1]))
    area_b = (f(b[2]) - f(b[0])) * (f(b[3]) - f(b[1]))
    return inter / (area_a + area_b - inter)


def ref_nms(boxes, scores, thr):
    b, s = boxes.tolist(), scores.tolist()
    order = sorted(range(len(s)), key=lambda i: (-s[i], i))
    keep = []
    for i in order:
        if all(ref_iou(b[i], b[j]) <= thr for j in keep):
            keep.append(i)
    return keep


@pytest.mark.parametrize("n,thr", [(1, 0.5), (30, 0.3), (200, 0.5), (400, 0.7)])
def test_nms_matches_brute_force(n, thr):
    g = torch.Generator().manual_seed(n)
    boxes = random_boxes(n, gen=g)
    scores = torch.rand(n, generator=g)
    assert ops.nms(boxes, scores, thr).tolist() == ref_nms(boxes, scores, thr)


def test_nms_ties_and_max_keep():
    boxes = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30], [21, 21, 30, 30.]])
    scores = torch.tensor([0.5, 0.5, 0.5, 0.9])
    assert ops.nms(boxes, scores, 0.5).tolist() == ref_nms(boxes, scores, 0.5) == [3, 0]
    assert ops.nms(boxes, scores, 0.5, max_keep=1).tolist() == [3]
    assert ops.nms(torch.zeros(0, 4), torch.zeros(0), 0.5).numel() == 0


def test_batched_nms_matches_per_class_loop():
    g = torch.Generator().manual_seed(1)
    boxes = random_boxes(150, gen=g)
    scores = torch.rand(150, generator=g)
    idxs = torch.randint(0, 5, (150,), generator=g)
    expected = []
    for c in range(5):
        members = [i for i in range(150) if idxs[i] == c]
        expected += [members[k] for k in ref_nms(boxes[members], scores[members], 0.4)]
    expected.sort(key=lambda i: (-scores[i].item(), i))
    assert ops.batched_nms(boxes, scores, idxs, 0.4).tolist() == expected


@pytest.mark.parametrize("class_specific", [False, True])
def test_multiclass_nms_mask_equals_nms_per_class(class_specific):
    g = torch.Generator().manual_seed(2)
    n, k = 60, 7
    boxes = random_boxes(n * k, gen=g).view(n, k, 4) if class_specific else random_boxes(n, gen=g)
    scores = torch.rand(n, k, generator=g)
    mask = ops.multiclass_nms_mask(boxes, scores, 0.3, chunk=3)
    for c in range(k):
        b = boxes[:, c] if class_specific else boxes
        assert sorted(torch.nonzero(mask[:, c]).flatten().tolist()) == sorted(ref_nms(b, scores[:, c], 0.3))


def test_apply_deltas_zero_is_identity_and_class_layout():
    boxes = torch.tensor([[10.0, 20.0, 50.0, 80.0]])
    deltas = torch.zeros(1, 8)
    deltas[0, 4:] = torch.tensor([10.0, 0, 0, 0])  # class 1: shift x by one width
    out = ops.apply_deltas(deltas, boxes, (10, 10, 5, 5))
    torch.testing.assert_close(out[0, :4], boxes[0], rtol=0, atol=1e-5)
    torch.testing.assert_close(out[0, 4:], torch.tensor([50.0, 20.0, 90.0, 80.0]), rtol=0, atol=1e-5)


def ref_roi_pool(features, rois, p, scale):
    """torchvision's legacy RoIPool CPU kernel, element by element."""
    f = np.float32
    feat = features.numpy()
    _, c, height, width = feat.shape
    out = np.zeros((len(rois), c, p, p), np.float32)

    def rnd(x):  # C's round: half away from zero
        return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)

    for n, roi in enumerate(rois.tolist()):
        b = int(roi[0])
        sw, sh = rnd(f(roi[1]) * f(scale)), rnd(f(roi[2]) * f(scale))
        ew, eh = rnd(f(roi[3]) * f(scale)), rnd(f(roi[4]) * f(scale))
        rw, rh = max(ew - sw + 1, 1), max(eh - sh + 1, 1)
        bw, bh = f(rw) / f(p), f(rh) / f(p)
        for ph in range(p):
            for pw in range(p):
                hs = min(max(math.floor(f(ph) * bh) + sh, 0), height)
                he = min(max(math.ceil(f(ph + 1) * bh) + sh, 0), height)
                ws = min(max(math.floor(f(pw) * bw) + sw, 0), width)
                we = min(max(math.ceil(f(pw + 1) * bw) + sw, 0), width)
                for ch in range(c):
                    if he <= hs or we <= ws:
                        continue
                    best = -np.inf
                    for y in range(hs, he):
                        for x in range(ws, we):
                            best = max(best, feat[b, ch, y, x])
                    out[n, ch, ph, pw] = best
    return torch.from_numpy(out)


@pytest.mark.parametrize("p,scale", [(3, 1 / 4), (7, 1 / 16), (4, 0.5)])
def test_roi_pool_matches_brute_force(p, scale):
    g = torch.Generator().manual_seed(3)
    feats = torch.randn(2, 3, 9, 11, generator=g)
    img_h, img_w = 9 / scale, 11 / scale
    n = 12
    x1 = torch.rand(n, generator=g) * img_w * 1.1 - img_w * 0.05
    y1 = torch.rand(n, generator=g) * img_h * 1.1 - img_h * 0.05
    x2 = x1 + torch.rand(n, generator=g) * img_w * 0.8
    y2 = y1 + torch.rand(n, generator=g) * img_h * 0.8
    rois = torch.stack([torch.randint(0, 2, (n,), generator=g).float(), x1, y1, x2, y2], dim=1)
    rois[0, 1:] = torch.tensor([2.0, 2.0, 2.0, 2.0])  # a degenerate box
    rois[1, 1:] = torch.tensor([-50.0, -50.0, -20.0, -20.0])  # fully outside: empty bins
    got = ops.roi_pool(feats, rois, p, scale)
    assert torch.equal(got, ref_roi_pool(feats, rois, p, scale))
