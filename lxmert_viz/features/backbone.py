"""ResNet C4 backbone with frozen BatchNorm, in detectron2's parameter names.

Shape letters: B images, C channels, H W height and width.

Names match the checkpoint: ``stem.conv1.{weight, norm.*}``, ``res{2..5}.{i}.{conv1,conv2,conv3,
shortcut}.{weight, norm.*}``; each norm holds ``weight, bias, running_mean, running_var,
num_batches_tracked`` (the port saved ``nn.BatchNorm2d`` state, 5 entries per norm).

Speed (inference only, nothing trains here): each frozen BatchNorm is folded into its conv
(``w * scale``, bias ``shift``), recomputed only when a weight or statistic changes, so a conv
and its norm are one ``conv2d`` call; on CPU in float32 the ReLU, and the residual add and ReLU
that close a block, run inside the same oneDNN convolution (``torch.ops.mkldnn.
_convolution_pointwise``, the fused op PyTorch's own CPU compiler emits; the plain ops are used
where it is missing). Activations are kept channels-last (NHWC in memory), where oneDNN runs the
1x1 convs as plain GEMMs; ``set_memory_format`` switches layers of a module tree to NCHW
(``benchmarks/bench_frcnn.py --formats`` measures both per layer kind; the detector keeps res5's
dilated 3x3 convs in NCHW, ``FasterRCNN.use_default_formats``).
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

    def scale_shift(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(C,) ``scale`` and ``shift`` with ``bn(x) = x * scale + shift``, computed in float32."""
        w, b = self.weight.float(), self.bias.float()
        scale = w * torch.rsqrt(self.running_var.float() + self.eps)
        return scale, b - self.running_mean.float() * scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        scale, shift = self.scale_shift()
        return x * scale.to(x.dtype)[None, :, None, None] + shift.to(x.dtype)[None, :, None, None]


def _fused_op():
    try:
        return torch.ops.mkldnn._convolution_pointwise
    except (AttributeError, RuntimeError):  # a build without oneDNN
        return None


_FUSED = _fused_op()


def conv_act(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, stride: int, padding: int, dilation: int,
             groups: int, relu: bool = False, residual: torch.Tensor | None = None) -> torch.Tensor:
    """``conv2d(x, w, b)``, then ``+ residual`` and ReLU if asked, fused into one oneDNN call on CPU."""
    if _FUSED is not None and x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() == 4:
        args = ([padding] * 2, [stride] * 2, [dilation] * 2, groups)
        if residual is None:
            return _FUSED(x, w, b, *args, "relu" if relu else "none", [], "")
        if residual.stride() != x.stride():  # the sum is read in the output's layout
            residual = residual.contiguous(memory_format=torch.channels_last if x.is_contiguous(
                memory_format=torch.channels_last) else torch.contiguous_format)
        return _FUSED.binary(x, residual, w, b, *args, "add", 1.0, "relu" if relu else None, [], "")
    out = F.conv2d(x, w, b, stride, padding, dilation, groups)
    if residual is not None:
        out = out.add_(residual)
    return F.relu_(out) if relu else out


class ConvNorm(nn.Module):
    """Bias-free conv followed by frozen BN (detectron2 ``Conv2d(..., norm=...)``), run as one conv."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, padding: int = 0,
                 dilation: int = 1, groups: int = 1, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin // groups, k, k))
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")
        self.norm = FrozenBatchNorm2d(cout, eps)
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.channels_last = True
        self._folded: tuple | None = None  # (versions, weight, bias)

    def _versions(self) -> tuple:
        n = self.norm
        return tuple(t._version for t in (self.weight, n.weight, n.bias, n.running_mean, n.running_var)) + (
            self.weight.dtype, self.weight.device, self.channels_last)

    def folded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The conv weight with the BN scale folded in, and the BN shift as its bias (cached)."""
        key = self._versions()
        if self._folded is None or self._folded[0] != key:
            with torch.no_grad():
                scale, shift = self.norm.scale_shift()
                w = (self.weight.float() * scale[:, None, None, None]).to(self.weight.dtype)
                fmt = torch.channels_last if self.channels_last else torch.contiguous_format
                self._folded = (key, w.contiguous(memory_format=fmt), shift.to(self.weight.dtype))
        return self._folded[1], self._folded[2]

    def forward(self, x: torch.Tensor, relu: bool = False, residual: torch.Tensor | None = None) -> torch.Tensor:
        """``norm(conv(x))``, then ``+ residual`` and ReLU when asked (fused where possible)."""
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        if not x.is_contiguous(memory_format=fmt):
            x = x.contiguous(memory_format=fmt)
        w, b = self.folded()
        return conv_act(x, w, b, self.stride, self.padding, self.dilation, self.groups, relu, residual)


class Stem(nn.Module):
    """7x7/2 conv + BN + ReLU + 3x3/2 max pool (Caffe: padding 0, ceil mode; else padding 1): stride 4."""

    def __init__(self, cfg: FRCNNConfig):
        super().__init__()
        self.conv1 = ConvNorm(3, cfg.stem_out, 7, stride=2, padding=3, eps=cfg.bn_eps)
        self.caffe_maxpool = cfg.caffe_maxpool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x, relu=True)
        if self.caffe_maxpool:
            return F.max_pool2d(x, kernel_size=3, stride=2, padding=0, ceil_mode=True)
        return F.max_pool2d(x, kernel_size=3, stride=2, padding=1)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 residual block; the stride sits in the 1x1 conv when ``stride_in_1x1``."""

    def __init__(self, cin: int, cout: int, width: int, stride: int, dilation: int, cfg: FRCNNConfig):
        super().__init__()
        s1, s3 = (stride, 1) if cfg.stride_in_1x1 else (1, stride)
        eps = cfg.bn_eps
        self.shortcut = ConvNorm(cin, cout, 1, stride=stride, eps=eps) if cin != cout else None
        self.conv1 = ConvNorm(cin, width, 1, stride=s1, eps=eps)
        self.conv2 = ConvNorm(width, width, 3, stride=s3, padding=dilation, dilation=dilation,
                              groups=cfg.num_groups, eps=eps)
        self.conv3 = ConvNorm(width, cout, 1, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x, relu=True), relu=True)
        short = self.shortcut(x) if self.shortcut is not None else x
        return self.conv3(out, relu=True, residual=short)


def make_stage(stage: int, cfg: FRCNNConfig) -> nn.Sequential:
    """``res{stage}`` as the transformers demo builds it for this checkpoint.

    res2: first stride 1; res3, res4: first stride 2; res5 (inside the RoI head, on 14x14 pooled
    maps): with ``res5_halve=False`` (the VG port) first stride 1 and every block's 3x3 conv
    dilation 2 / padding 2, else the usual first stride 2 and dilation 1.
    """
    n = cfg.blocks[stage - 2]
    cin = cfg.stem_out if stage == 2 else cfg.res_out(stage - 1)
    dilated = stage == 5 and not cfg.res5_halve
    dilation = 2 if dilated else 1
    first_stride = 1 if stage == 2 or dilated else 2
    blocks = []
    for i in range(n):
        blocks.append(Bottleneck(cin if i == 0 else cfg.res_out(stage), cfg.res_out(stage),
                                 cfg.res_bottleneck(stage), first_stride if i == 0 else 1, dilation, cfg))
    return nn.Sequential(*blocks)


def set_memory_format(module: nn.Module, channels_last: bool = True, kernel_sizes=(1, 3, 7)) -> None:
    """Run every :class:`ConvNorm` with a kernel size in ``kernel_sizes`` channels-last or NCHW."""
    for m in module.modules():
        if isinstance(m, ConvNorm) and m.weight.shape[-1] in kernel_sizes:
            m.channels_last = channels_last


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
