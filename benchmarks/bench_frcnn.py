"""CPU time per image of the VG Faster R-CNN, by stage, against the implementation before the speed work.

Shape letters: B images (1 here), N proposals, U proposals with distinct RoIPool bins.

Random weights in the checkpoint's exact layout, one photo-sized random image. The old code paths
(``benchmarks/frcnn_reference.py``: NCHW convs with a separate BatchNorm, RoIPool looping over RoIs,
PIL antialiased resize, the RPN head's conv and ReLU apart) and the current package run the same
stages on the same weights in one process, interleaved stage by stage: in each repeat every
stage runs old then new (new then old in the next repeat), and a plain 2048^2 matmul measures
this machine's throughput after each stage pair, so both sides and the matmul see the same load.

Reported: the median seconds per stage and per image, each repeat's totals and ratio, each
stage's multiply-accumulates (counted from every conv/linear layer's output shape: conv: Cout *
Cin/groups * kh * kw * Hout * Wout; linear: in * out per row), the GFLOP/s it reaches and its
share of the median matmul throughput, the load average, and how far the new features are from
the old ones on the same input tensor. Then one more pass of the new path with a timer on every
layer: where its time goes, and what separates it from the matmul rate (layers below the rate,
work that is not a convolution).

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
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import frcnn_reference as ref  # noqa: E402

from lxmert_viz.features import FasterRCNNExtractor, FRCNNConfig, ops  # noqa: E402
from lxmert_viz.features.backbone import ConvNorm, set_memory_format  # noqa: E402
from lxmert_viz.features.preprocess import collate, prepare  # noqa: E402
from lxmert_viz.features.rpn import RPNHead  # noqa: E402
from lxmert_viz.features.selection import select  # noqa: E402

STAGES = ("pre-processing", "backbone (stem, res2-res4)", "RPN (head, decode, NMS)", "RoIPool",
          "res5 + mean pool", "box predictor", "selection")


def matmul_gflops(n: int = 2048, repeat: int = 3) -> float:
    """Best of ``repeat`` (n x n) @ (n x n) float32 matmuls, in GFLOP/s."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def layer_macs(module: nn.Module, out) -> int:
    """Multiply-accumulates of one conv / linear / RPN-head call, from its output shape."""
    if isinstance(module, RPNHead):  # its 3x3 conv runs fused, outside nn.Conv2d.forward
        b, _, h, w = out[0].shape
        return b * h * w * module.conv.weight[0].numel() * module.conv.out_channels
    if isinstance(module, nn.Linear):
        return out.numel() * module.in_features
    w = module.weight  # (Cout, Cin/groups, kh, kw)
    return out.numel() * w.shape[1] * w.shape[2] * w.shape[3]


class MacCounter:
    """Forward hooks that add each conv / linear layer's MACs from its output shape."""

    def __init__(self, model: nn.Module):
        self.macs = 0
        self.handles = [m.register_forward_hook(self.hook) for m in model.modules()
                        if isinstance(m, (ConvNorm, nn.Conv2d, nn.Linear, RPNHead))]

    def hook(self, module, args, out):
        self.macs += layer_macs(module, out)

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


def new_pool(m, feats, rois):
    """The package's RoIPool step: find RoIs with distinct bins, pool those."""
    first, _ = m.roi_heads.distinct(feats, rois)
    cfg = m.cfg
    return ops.roi_pool(feats, rois[first], cfg.pooler_resolution, 1.0 / cfg.anchor_stride)


def stage_inputs(ex, img) -> dict:
    """Each stage's input, computed once by each path (old inputs for old stages, new for new)."""
    m, cfg = ex.model, ex.cfg
    x = {"batch_old": ref.old_preprocess([img], cfg), "batch": collate([prepare(img, cfg)], cfg)}
    x["feats"] = m.backbone(x["batch"].tensor)
    x["rois"] = m.roi_heads.rois([m.proposal_generator(x["feats"], x["batch"].sizes)[0][0]])
    p, sc = cfg.pooler_resolution, 1.0 / cfg.anchor_stride
    x["pooled_old"] = ref.roi_pool_loop(x["feats"], x["rois"], p, sc)
    x["pooled"] = new_pool(m, x["feats"], x["rois"])
    x["x_old"] = ref.stage(m.roi_heads.res5, x["pooled_old"]).mean(dim=(2, 3))
    x["x"] = m.roi_heads.res5(x["pooled"]).mean(dim=(2, 3))
    x["det"] = m.detect(x["batch"])[0]
    return x


def stage_pairs(ex, img, settings, x) -> dict:
    """Per stage, the (old, new) callables on the inputs of ``stage_inputs``."""
    m, cfg = ex.model, ex.cfg
    p, sc = cfg.pooler_resolution, 1.0 / cfg.anchor_stride
    res5, predictor = m.roi_heads.res5, m.roi_heads.box_predictor
    return {
        STAGES[0]: (lambda: ref.old_preprocess([img], cfg), lambda: collate([prepare(img, cfg)], cfg)),
        STAGES[1]: (lambda: ref.backbone(m.backbone, x["batch_old"].tensor), lambda: m.backbone(x["batch"].tensor)),
        STAGES[2]: (lambda: ref.rpn(m.proposal_generator, x["feats"], x["batch"].sizes),
                    lambda: m.proposal_generator(x["feats"], x["batch"].sizes)),
        STAGES[3]: (lambda: ref.roi_pool_loop(x["feats"], x["rois"], p, sc), lambda: new_pool(m, x["feats"], x["rois"])),
        STAGES[4]: (lambda: ref.stage(res5, x["pooled_old"]).mean(dim=(2, 3)), lambda: res5(x["pooled"]).mean(dim=(2, 3))),
        STAGES[5]: (lambda: predictor(x["x_old"]), lambda: predictor(x["x"])),
        STAGES[6]: (lambda: select(x["det"], cfg, settings), lambda: select(x["det"], cfg, settings)),
    }


def stage_macs(ex, x) -> tuple[dict, dict]:
    """MACs per stage, old (every proposal through res5) and new (the distinct ones)."""
    m = ex.model
    counter = MacCounter(m)
    m.backbone(x["batch"].tensor)
    common = {STAGES[1]: counter.take()}
    m.proposal_generator(x["feats"], x["batch"].sizes)
    common[STAGES[2]] = counter.take()
    out = []
    for pooled in (x["pooled_old"], x["pooled"]):
        d = dict(common)
        feats = m.roi_heads.res5(pooled).mean(dim=(2, 3))
        d[STAGES[4]] = counter.take()
        m.roi_heads.box_predictor(feats)
        d[STAGES[5]] = counter.take()
        out.append(d)
    counter.close()
    return out[0], out[1]


def profile_new(ex, img, x, gflops: float) -> None:
    """One pass of the new path with a timer on every conv / linear layer (see module docstring).

    ``gflops``: the repeats' median matmul rate; a matmul just before and just after this pass
    joins it, so a change of load since the repeats shows less in the shares.
    """
    m = ex.model
    start, rows = {}, defaultdict(lambda: [0.0, 0])
    names = {mod: n for n, mod in m.named_modules()}

    def pre(mod, args):
        start[mod] = time.perf_counter()

    def post(mod, args, out):
        dt, n = time.perf_counter() - start[mod], names[mod]
        if isinstance(mod, ConvNorm):
            k = mod.weight.shape[-1]
            part = n.split(".")[1] if n.startswith("backbone.") else "res5"
            what = (f"{k}x{k}{' shortcut' if 'shortcut' in n else ''}{' dilation 2' if mod.dilation == 2 else ''}"
                    f"{' stride 2' if mod.stride == 2 else ''}, {mod.weight.shape[1]} -> {mod.weight.shape[0]}")
        elif isinstance(mod, RPNHead):
            part, what = "RPN", "head: 3x3 + two 1x1"
        else:
            part, what = "box predictor", "linear layers"
        macs = layer_macs(mod, out)
        if isinstance(mod, RPNHead):  # its two 1x1 convs run inside it, not hooked on their own
            macs += (out[0].numel() + out[1].numel()) * mod.conv.out_channels
        rows[(part, what)][0] += dt
        rows[(part, what)][1] += macs

    handles = []
    for mod in m.modules():
        if isinstance(mod, (ConvNorm, RPNHead, nn.Linear)):
            handles += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
    settings = ex.settings(36)
    pairs = stage_pairs(ex, img, settings, x)
    before = matmul_gflops()
    stage_t = {name: timed(new)[1] for name, (_, new) in pairs.items()}
    for h in handles:
        h.remove()
    gflops = statistics.median([before, matmul_gflops(), gflops])  # the load of this pass, not the repeats'
    total = sum(stage_t.values())
    layer_t = sum(r[0] for r in rows.values())
    macs = sum(r[1] for r in rows.values())
    print(f"\nwhere the new path's time goes (one more pass, a timer on every layer; matmul {gflops:.0f} GFLOP/s: "
          f"median of the matmuls just before and after this pass and of the repeats):\n")
    print("| part | layers | s | share of the image | GMAC | GFLOP/s | % of matmul |\n|---|---|---:|---:|---:|---:|---:|")
    for (part, what), (dt, mc) in sorted(rows.items(), key=lambda kv: -kv[1][0]):
        if dt / total < 0.005:
            continue
        print(f"| {part} | {what} | {dt:.3f} | {100 * dt / total:.1f}% | {mc / 1e9:.1f} | {2 * mc / dt / 1e9:.0f} | "
              f"{100 * 2 * mc / dt / 1e9 / gflops:.0f}% |")
    other = total - layer_t
    floor = 2 * macs / gflops / 1e9
    slow = sum(dt - 2 * mc / gflops / 1e9 for dt, mc in rows.values())
    print(f"\nwhole image {total:.2f} s: conv/linear layers {layer_t:.2f} s ({100 * layer_t / total:.0f}%), "
          f"everything else {other:.2f} s ({100 * other / total:.0f}%: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in stage_t.items() if k in (STAGES[0], STAGES[3], STAGES[6]))
          + ", and RPN decode/NMS, max pool, mean pool, glue). At the matmul rate the layers' "
          f"{macs / 1e9:.0f} GMAC would take {floor:.2f} s: share {100 * floor / total:.0f}% of the matmul "
          f"rate over the whole image. The gap, {total - floor:.2f} s, is {slow:.2f} s of layers running "
          f"below the matmul rate and {other:.2f} s outside the layers.")


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


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


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
        x = stage_inputs(ex, img)  # also the warm-up: folds the BatchNorms, first-call allocations
        pairs = stage_pairs(ex, img, settings, x)
        old, new, mm = defaultdict(list), defaultdict(list), []
        for r in range(args.repeats):
            for name, (f_old, f_new) in pairs.items():
                if r % 2 == 0:
                    old[name].append(timed(f_old)[1])
                    new[name].append(timed(f_new)[1])
                else:
                    new[name].append(timed(f_new)[1])
                    old[name].append(timed(f_old)[1])
                mm.append(matmul_gflops())
        old_tot = [sum(old[k][r] for k in STAGES) for r in range(args.repeats)]
        new_tot = [sum(new[k][r] for k in STAGES) for r in range(args.repeats)]
        macs_old, macs_new = stage_macs(ex, x)
        # same input tensor through both: res4 maps, proposals, and the box head on the same proposals
        batch = x["batch"]
        f_old, f_new = ref.backbone(ex.model.backbone, batch.tensor), x["feats"]
        p_old = ref.rpn(ex.model.proposal_generator, f_old, batch.sizes)[0][0]
        p_new = x["det"].proposals
        h_old = ref.box_head(ex.model, f_old, [p_old])
        h_new = ex.model.roi_heads(f_old, [p_old])
        load1 = os.getloadavg()
        gflops = statistics.median(mm)
        h, w = batch.sizes[0]
        n_props, distinct = len(x["rois"]), len(x["pooled"])
        print(f"input {args.width}x{args.height} -> resized {w}x{h}; {args.proposals} proposals; threads "
              f"{args.threads}; {args.repeats} repeats interleaved stage by stage (medians); matmul "
              f"{gflops:.0f} GFLOP/s (median of {len(mm)}, range {min(mm):.0f}-{max(mm):.0f}); load average "
              f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} at start, {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} at end\n")
        print(f"res5 and the predictor run on {distinct} of {n_props} proposals in the new path: the others "
              f"have the same RoIPool bins as one of them (same cells, same outputs)\n")
        print("| stage | old s | new s | speed-up | GMAC old / new | new GFLOP/s | new % of matmul | old % of matmul |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name in STAGES:
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
        print("\nper repeat, whole image old / new: " + "; ".join(
            f"{a:.2f} / {b:.2f} s ({a / b:.2f}x)" for a, b in zip(old_tot, new_tot)))
        full = 2 * to / gflops / 1e9
        print(f"\nat the matmul rate, every proposal's {to / 1e9:.0f} GMAC would take {full:.2f} s: the new path "
              f"reaches {100 * full / n:.0f}% of the matmul rate counted on all {n_props} proposals' work")
        moved = (p_new - p_old).abs().max().item() if p_new.shape == p_old.shape else float("nan")
        print(f"\nsame input tensor, new vs old (max |new - old| / max |old|): res4 {rel(f_new, f_old):.1e}; on the "
              f"same {len(p_old)} proposals: region features {rel(h_new.feats, h_old.feats):.1e}, object logits "
              f"{rel(h_new.cls_logits, h_old.cls_logits):.1e}, box deltas {rel(h_new.box_deltas, h_old.box_deltas):.1e}, "
              f"attribute logits {rel(h_new.attr_logits, h_old.attr_logits):.1e}; proposals moved by at most "
              f"{moved:.1e} px")
        profile_new(ex, img, x, gflops)


if __name__ == "__main__":
    main()
