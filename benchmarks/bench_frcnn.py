"""CPU time per image of the VG Faster R-CNN (random weights, full architecture), by stage.

Shape letters: B images (1 here), N proposals.

Prints a markdown table: seconds per stage (pre-processing, backbone, RPN, box head = RoIPool +
res5 + predictor, selection), each stage's multiply-accumulates counted from the layer shapes
(conv: Cout * Cin/groups * kh * kw * Hout * Wout; linear: in * out per row), the GFLOP/s it
reaches, and the machine's plain matmul GFLOP/s for scale.

    python benchmarks/bench_frcnn.py              # 800x600 photo -> 1067x800 input, 300 proposals
    python benchmarks/bench_frcnn.py --min-size 400 --proposals 100   # a quicker look
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from lxmert_viz.features import FRCNNConfig, FasterRCNNExtractor, preprocess
from lxmert_viz.features.backbone import ConvNorm
from lxmert_viz.features.selection import select


def matmul_gflops(n: int = 2048, repeat: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t = time.perf_counter()
    for _ in range(repeat):
        a @ b
    return 2 * n ** 3 * repeat / (time.perf_counter() - t) / 1e9


class MacCounter:
    """Forward hooks that add each conv / linear layer's MACs from its output shape."""

    def __init__(self, model: nn.Module):
        self.macs = 0
        self.handles = []
        for m in model.modules():
            if isinstance(m, (ConvNorm, nn.Conv2d, nn.Linear)):
                self.handles.append(m.register_forward_hook(self.hook))

    def hook(self, module, args, out):
        if isinstance(module, nn.Linear):
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--height", type=int, default=600)
    ap.add_argument("--width", type=int, default=800)
    ap.add_argument("--proposals", type=int, default=300, help="RPN post-NMS top-k (checkpoint: 300)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--regions", type=int, default=36)
    ap.add_argument("--min-size", type=int, default=800, help="shortest side after resizing (checkpoint: 800)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = FRCNNConfig(rpn_post_nms_topk=args.proposals, min_size=args.min_size)
    t0 = time.perf_counter()
    ex = FasterRCNNExtractor.random(cfg)
    build_s = time.perf_counter() - t0
    model = ex.model
    img = np.random.default_rng(0).integers(0, 256, (args.height, args.width, 3), dtype=np.uint8)
    gflops = matmul_gflops()
    counter = MacCounter(model)
    rows = []
    with torch.inference_mode():
        t = time.perf_counter()
        batch = preprocess([img], cfg)
        rows.append(("pre-processing", time.perf_counter() - t, 0))
        t = time.perf_counter()
        feats = model.backbone(batch.tensor)
        rows.append(("backbone (stem, res2-res4)", time.perf_counter() - t, counter.take()))
        t = time.perf_counter()
        props = model.proposal_generator(feats, batch.sizes)
        rows.append(("RPN (head, decode, NMS)", time.perf_counter() - t, counter.take()))
        n = len(props[0][0])
        t = time.perf_counter()
        pooled = model.roi_heads.pool(feats, [props[0][0]])
        t_pool = time.perf_counter() - t
        x = model.roi_heads.res5(pooled)
        head = model.roi_heads.box_predictor(x.mean(dim=(2, 3)))
        rows.append((f"box head ({n} RoIs: RoIPool {t_pool:.2f} s, res5, predictor)",
                     time.perf_counter() - t, counter.take()))
        t = time.perf_counter()
        full = model.detect(batch)[0]
        counter.take()
        t_detect = time.perf_counter() - t
        t = time.perf_counter()
        select(full, cfg, ex.settings(args.regions))
        rows.append((f"selection (bottom_up, {args.regions} regions)", time.perf_counter() - t, 0))
    counter.close()
    del head
    h, w = batch.sizes[0]
    print(f"input {args.width}x{args.height} -> resized {w}x{h}; threads {args.threads}; "
          f"model build + random init {build_s:.1f} s; matmul {gflops:.1f} GFLOP/s\n")
    print("| stage | seconds | GMAC | GFLOP/s | % of matmul peak |")
    print("|---|---:|---:|---:|---:|")
    total_s = total_mac = 0
    for name, sec, macs in rows:
        total_s += sec
        total_mac += macs
        rate = 2 * macs / sec / 1e9 if macs else 0
        print(f"| {name} | {sec:.2f} | {macs / 1e9:.1f} | {rate:.1f} | {100 * rate / gflops:.0f}% |"
              if macs else f"| {name} | {sec:.2f} | - | - | - |")
    rate = 2 * total_mac / total_s / 1e9
    print(f"| **total per image** | **{total_s:.2f}** | {total_mac / 1e9:.1f} | {rate:.1f} | "
          f"{100 * rate / gflops:.0f}% |")
    print(f"\n(second run of the whole detector, `detect()`: {t_detect:.2f} s)")


if __name__ == "__main__":
    main()
