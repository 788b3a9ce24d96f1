"""ResNet C4 backbone with frozen BatchNorm, in detectron2's parameter names.

Shape letters: B images, C channels, H W height and width.

Names match the checkpoint: ``stem.conv1.{weight, norm.*}``, ``res{2..5}.{i}.{conv1,conv2,conv3,
shortcut}.{weight, norm.*}``; each norm holds ``weight, bias, running_mean, running_var,
num_batches_tracked`` (the port saved ``nn.BatchNorm2d`` state, 5 entries per norm).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .frcnn_config import FRCNNConfig


class FrozenBatchNorm2d(nn.Module):
    """Inference-only BatchNorm: ``(x - mean) / sqrt(var + eps) * weight + bias``, stats fixed.

    Everything is a buffer, so ``parameters()`` is empty and nothing trains by accident.
    """

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(channels))
        self.register_buffer("bias", torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        scale = self.weight * torch.rsqrt(self.running_var + self.eps)
        shift = self.bias - self.running_mean * scale
        return x * scale[None, :, None, None] + shift[None, :, None, None]


class ConvNorm(nn.Module):
    """Bias-free conv followed by frozen BN (detectron2 ``Conv2d(..., norm=...)``)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, padding: int = 0,
                 dilation: int = 1, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin, k, k))
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")
        self.norm = FrozenBatchNorm2d(cout, eps)
        self.stride, self.padding, self.dilation = stride, padding, dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight, None, self.stride, self.padding, self.dilation)
        return self.norm(x)


class Stem(nn.Module):
    """7x7/2 conv + BN + ReLU + Caffe max pool (3x3/2, padding 0, ceil mode): stride 4."""

    def __init__(self, cfg: FRCNNConfig):
        super().__init__()
        self.conv1 = ConvNorm(3, cfg.stem_out, 7, stride=2, padding=3, eps=cfg.bn_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu_(self.conv1(x))
        return F.max_pool2d(x, kernel_size=3, stride=2, padding=0, ceil_mode=True)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 residual block; the stride sits in the 1x1 conv when ``stride_in_1x1``."""

    def __init__(self, cin: int, cout: int, width: int, stride: int, dilation: int, cfg: FRCNNConfig):
        super().__init__()
        s1, s3 = (stride, 1) if cfg.stride_in_1x1 else (1, stride)
        eps = cfg.bn_eps
        self.shortcut = ConvNorm(cin, cout, 1, stride=stride, eps=eps) if cin != cout else None
        self.conv1 = ConvNorm(cin, width, 1, stride=s1, eps=eps)
        self.conv2 = ConvNorm(width, width, 3, stride=s3, padding=dilation, dilation=dilation, eps=eps)
        self.conv3 = ConvNorm(width, cout, 1, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu_(self.conv1(x))
        out = F.relu_(self.conv2(out))
        out = self.conv3(out)
        out = out + (self.shortcut(x) if self.shortcut is not None else x)
        return F.relu_(out)


def make_stage(stage: int, cfg: FRCNNConfig) -> nn.Sequential:
    """``res{stage}`` as detectron2 builds it for this checkpoint.

    res2: first stride 1; res3, res4: first stride 2; res5 (inside the RoI head, on 14x14 pooled
    maps): stride 1 and dilation ``cfg.res5_dilation`` in every block's 3x3 conv (the VG port's
    change), or the usual stride 2 when the dilation is 1.
    """
    n = cfg.blocks[stage - 2]
    cin = cfg.stem_out if stage == 2 else cfg.res_out(stage - 1)
    dilation = cfg.res5_dilation if stage == 5 else 1
    first_stride = 1 if stage == 2 or (stage == 5 and dilation > 1) else 2
    blocks = []
    for i in range(n):
        blocks.append(Bottleneck(cin if i == 0 else cfg.res_out(stage), cfg.res_out(stage),
                                 cfg.res_bottleneck(stage), first_stride if i == 0 else 1, dilation, cfg))
    return nn.Sequential(*blocks)


class ResNetC4(nn.Module):
    """Stem + res2..res4; returns the stride-16 res4 map (1024 channels for the checkpoint)."""

    def __init__(self, cfg: FRCNNConfig):
        super().__init__()
        self.stem = Stem(cfg)
        self.res2 = make_stage(2, cfg)
        self.res3 = make_stage(3, cfg)
        self.res4 = make_stage(4, cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, C4, ~H/16, ~W/16)
        return self.res4(self.res3(self.res2(self.stem(x))))
