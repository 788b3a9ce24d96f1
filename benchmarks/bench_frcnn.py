"""CPU time per image of the VG Faster R-CNN, by stage, against the implementation before the speed work.

Shape letters: B images (1 here), N proposals.

Random weights in the checkpoint's exact layout, one photo-sized random image. Each repeat runs,
interleaved in one process: the old code paths (``benchmarks/frcnn_reference.py``: NCHW convs with
a separate BatchNorm, RoIPool looping over RoIs, PIL antialiased resize), the current package, and
a plain matmul for this machine's throughput. Reported: the median seconds per stage, each stage's
multiply-accumulates (counted from every conv/linear layer's output shape: conv: Cout * Cin/groups
* kh * kw * Hout * Wout; linear: in * out per row), the GFLOP/s it reaches and its share of the
matmul throughput measured in the same repeats, the speed-up per stage and for the whole image,
the load average, and how far the new features are from the old ones on the same input.

    python benchmarks/bench_frcnn.py                   # 800x600 photo -> 1067x800, 300 proposals
    python benchmarks/bench_frcnn.py --proposals 100 --repeats 2     # a quicker look
    python benchmarks/bench_frcnn.py --formats         # res5 / backbone per memory format only
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import frcnn_reference as ref  # noqa: E402

from lxmert_viz.features import FRCNNConfig, FasterRCNNExtractor, ops  # noqa: E402
from lxmert_viz.features.backbone import ConvNorm, set_memory_format  # noqa: E402
from lxmert_viz.features.preprocess import collate, prepare  # noqa: E402
from lxmert_viz.features.rpn import RPNHead  # noqa: E402
from lxmert_viz.features.selection import select  # noqa: E402


def matmul_gflops(n: int = 2048, repeat: int = 4) -> float:
    """Best of ``repeat`` (n x n) @ (n x n) float32 matmuls, in GFLOP/s."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


class MacCounter:
    """Forward hooks that add each conv / linear layer's MACs from its output shape."""

    def __init__(self, model: nn.Module):
        self.macs = 0
        self.handles = [m.register_forward_hook(self.hook) for m in model.modules()
                        if isinstance(m, (ConvNorm, nn.Conv2d, nn.Linear, RPNHead))]

    def hook(self, module, args, out):
        if isinstance(module, RPNHead):  # its 3x3 conv runs fused, outside nn.Conv2d.forward
            b, _, h, w = out[0].shape
            self.macs += b * h * w * module.conv.weight[0].numel() * module.conv.out_channels
        elif isinstance(module, nn.Linear):
            self.macs += out.numel() * module.in_features
        else:
            w = module.weight  # (Cout, Cin/groups, kh, kw)
            self.macs += out.numel() * w.shape[1] * w.shape[2] * w.shape[3]

    def take(self) -> int:
        m, self.macs = self.macs, 0
        return m

    def close(self):
        for h in self.handles:
            h.remove()


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def run_new(ex, img, settings):
    """The package: prepare, backbone, RPN, RoIPool (distinct bins), res5 + predictor, selection."""
    m, cfg, s = ex.model, ex.cfg, {}
    batch, s["pre-processing"] = timed(lambda: collate([prepare(img, cfg)], cfg))
    feats, s["backbone (stem, res2-res4)"] = timed(lambda: m.backbone(batch.tensor))
    props, s["RPN (head, decode, NMS)"] = timed(lambda: m.proposal_generator(feats, batch.sizes))
    t0 = time.perf_counter()
    rois = m.roi_heads.rois([props[0][0]])
    first, _ = m.roi_heads.distinct(feats, rois)
    pooled = ops.roi_pool(feats, rois[first], cfg.pooler_resolution, 1.0 / cfg.anchor_stride)
    s["RoIPool"] = time.perf_counter() - t0
    x, s["res5 + mean pool"] = timed(lambda: m.roi_heads.res5(pooled).mean(dim=(2, 3)))
    _, s["box predictor"] = timed(lambda: m.roi_heads.box_predictor(x))
    det = m.detect(batch)[0]  # not timed: the selection input, assembled as the package does
    _, s["selection"] = timed(lambda: select(det, cfg, settings))
    return s, batch, det, len(first)


def run_old(ex, img, settings):
    """The same stages by the old code paths (reference module)."""
    m, cfg, s = ex.model, ex.cfg, {}
    batch, s["pre-processing"] = timed(lambda: ref.old_preprocess([img], cfg))
    feats, s["backbone (stem, res2-res4)"] = timed(lambda: ref.backbone(m.backbone, batch.tensor))
    props, s["RPN (head, decode, NMS)"] = timed(lambda: m.proposal_generator(feats, batch.sizes))
    boxes = [props[0][0]]
    pooled, s["RoIPool"] = timed(lambda: ref.roi_pool_loop(feats, ref.rois_of(boxes), cfg.pooler_resolution,
                                                           1.0 / cfg.anchor_stride))
    x, s["res5 + mean pool"] = timed(lambda: ref.stage(m.roi_heads.res5, pooled).mean(dim=(2, 3)))
    _, s["box predictor"] = timed(lambda: m.roi_heads.box_predictor(x))
    det = ref.detect(m, batch)[0]
    _, s["selection"] = timed(lambda: select(det, cfg, settings))
    return s


def stage_macs(ex, img, rois: int) -> dict[str, int]:
    """MACs per stage with the first ``rois`` proposals through res5 and the predictor."""
    m, cfg = ex.model, ex.cfg
    counter = MacCounter(m)
    batch = collate([prepare(img, cfg)], cfg)
    feats = m.backbone(batch.tensor)
    out = {"backbone (stem, res2-res4)": counter.take()}
    props = m.proposal_generator(feats, batch.sizes)
    out["RPN (head, decode, NMS)"] = counter.take()
    x = m.roi_heads.res5(m.roi_heads.pool(feats, [props[0][0][:rois]])).mean(dim=(2, 3))
    out["res5 + mean pool"] = counter.take()
    m.roi_heads.box_predictor(x)
    out["box predictor"] = counter.take()
    counter.close()
    return out


def formats(ex, img, repeats: int) -> None:
    """res5 and the backbone with each layer kind in NCHW or channels-last, interleaved."""
    m, cfg = ex.model, ex.cfg
    batch = collate([prepare(img, cfg)], cfg)
    feats = m.backbone(batch.tensor)
    pooled = m.roi_heads.pool(feats, [m.proposal_generator(feats, batch.sizes)[0][0]])
    policies = {"all NCHW": {1: False, 3: False, 7: False}, "all channels-last": {1: True, 3: True, 7: True},
                "1x1 channels-last, 3x3 NCHW": {1: True, 3: False, 7: True}}
    res: dict = {(p, part): [] for p in policies for part in ("backbone", "res5")}
    mm = []
    for _ in range(repeats):
        for name, pol in policies.items():
            for k, cl in pol.items():
                set_memory_format(m, cl, (k,))
            res[(name, "backbone")].append(timed(lambda: m.backbone(batch.tensor))[1])
            res[(name, "res5")].append(timed(lambda: m.roi_heads.res5(pooled))[1])
        mm.append(matmul_gflops())
    m.use_default_formats()
    print(f"matmul {statistics.median(mm):.0f} GFLOP/s; {len(pooled)} RoIs; load average {os.getloadavg()}\n")
    print("| layers | backbone s | res5 s |\n|---|---:|---:|")  # default: backbone all CL, res5 3x3 NCHW
    for name in policies:
        print(f"| {name} | {statistics.median(res[(name, 'backbone')]):.2f} | "
              f"{statistics.median(res[(name, 'res5')]):.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--height", type=int, default=600)
    ap.add_argument("--width", type=int, default=800)
    ap.add_argument("--proposals", type=int, default=300, help="RPN post-NMS top-k (checkpoint: 300)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--regions", type=int, default=36)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--formats", action="store_true", help="only compare memory formats per layer kind")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = FRCNNConfig(rpn_post_nms_topk=args.proposals)
    ex = FasterRCNNExtractor.random(cfg)
    img = np.random.default_rng(0).integers(0, 256, (args.height, args.width, 3), dtype=np.uint8)
    settings = ex.settings(args.regions)
    load0 = os.getloadavg()
    with torch.inference_mode():
        if args.formats:
            formats(ex, img, args.repeats)
            return
        run_new(ex, img, settings)  # warm-up: folds the BatchNorms, first-call allocations
        new, old, mm, new_tot, old_tot = {}, {}, [], [], []
        for _ in range(args.repeats):
            s_old = run_old(ex, img, settings)
            s_new, batch, det_new, distinct = run_new(ex, img, settings)
            mm.append(matmul_gflops())
            for k, v in s_new.items():
                new.setdefault(k, []).append(v)
            for k, v in s_old.items():
                old.setdefault(k, []).append(v)
            new_tot.append(sum(s_new.values()))
            old_tot.append(sum(s_old.values()))
        n_props = len(det_new.proposals)
        macs_old = stage_macs(ex, img, n_props)
        macs_new = stage_macs(ex, img, distinct)
        # same input tensor through both: res4 maps, proposals, and the box head on the same proposals
        f_old, f_new = ref.backbone(ex.model.backbone, batch.tensor), ex.model.backbone(batch.tensor)
        p_old = ex.model.proposal_generator(f_old, batch.sizes)[0][0]
        h_old = ref.box_head(ex.model, f_old, [p_old]).feats
        h_new = ex.model.roi_heads(f_old, [p_old]).feats
    gflops = statistics.median(mm)
    h, w = batch.sizes[0]
    print(f"input {args.width}x{args.height} -> resized {w}x{h}; {args.proposals} proposals; threads "
          f"{args.threads}; {args.repeats} interleaved repeats (medians); matmul {gflops:.0f} GFLOP/s; "
          f"load average {load0[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end\n")
    print(f"res5 and the predictor run on {distinct} of {n_props} proposals: the others have the same "
          f"RoIPool bins as one of them (same cells, same outputs)\n")
    print("| stage | old s | new s | speed-up | GMAC old / new | new GFLOP/s | new % of matmul | old % of matmul |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in new:
        o, n = statistics.median(old[name]), statistics.median(new[name])
        mo, mn = macs_old.get(name, 0), macs_new.get(name, 0)
        if mo:
            print(f"| {name} | {o:.2f} | {n:.2f} | {o / n:.2f}x | {mo / 1e9:.1f} / {mn / 1e9:.1f} | "
                  f"{2 * mn / n / 1e9:.0f} | {100 * 2 * mn / n / 1e9 / gflops:.0f}% | "
                  f"{100 * 2 * mo / o / 1e9 / gflops:.0f}% |")
        else:
            print(f"| {name} | {o:.2f} | {n:.2f} | {o / n:.2f}x | - | - | - | - |")
    to, tn = sum(macs_old.values()), sum(macs_new.values())
    o, n = statistics.median(old_tot), statistics.median(new_tot)
    print(f"| **whole image** | **{o:.2f}** | **{n:.2f}** | **{o / n:.2f}x** | {to / 1e9:.1f} / {tn / 1e9:.1f} | "
          f"{2 * tn / n / 1e9:.0f} | {100 * 2 * tn / n / 1e9 / gflops:.0f}% | {100 * 2 * to / o / 1e9 / gflops:.0f}% |")
    floor = 2 * to / gflops / 1e9
    print(f"\nceiling: the old path's {to / 1e9:.0f} GMAC at the matmul rate take {floor:.2f} s, "
          f"{o / floor:.2f}x faster than the old path took")
    def rel(a, b):
        return ((a - b).abs().max() / b.abs().max()).item()

    p_new = det_new.proposals
    moved = (p_new - p_old).abs().max().item() if p_new.shape == p_old.shape else float("nan")
    print(f"\nsame input tensor, new vs old: res4 max |new - old| / max |old| = {rel(f_new, f_old):.1e}; "
          f"region features (same {len(p_old)} proposals) {rel(h_new, h_old):.1e}; proposals moved by at most "
          f"{moved:.1e} px")

if __name__ == "__main__":
    main()
