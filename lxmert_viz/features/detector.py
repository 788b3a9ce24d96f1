"""The Faster R-CNN (ResNet C4 + RPN + res5 RoI heads) and its checkpoint: strict load, random twin.

Shape letters: B images, N proposals of one image, D head size, K classes + 1, Q attributes + 1.

The module tree gives exactly the state-dict keys of ``unc-nlp/frcnn-vg-finetuned``
(``backbone.*``, ``proposal_generator.*``, ``roi_heads.*``; 640 entries, 65.4M values), so the
hub's ``pytorch_model.bin`` loads as it is. Loading never unpickles code: safetensors, or
``torch.load(weights_only=True)``; a pickle that would run code is refused, and a truncated or
corrupt file is an error, both naming the file. Missing, unexpected or mis-shaped keys raise an
error that names them.

The network runs on any device and float dtype (:meth:`FasterRCNN.place`); the RPN's box decoding
and NMS and everything after the box head run on CPU in float32.
"""
from __future__ import annotations

import pickle
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import InputError, MissingFileError, UnknownNameError
from ..model.checkpoint import CheckpointError
from .backbone import ResNetC4, set_memory_format
from .config_file import config_to_yaml
from .frcnn_config import FRCNNConfig
from .preprocess import ImageBatch
from .roi_heads import HeadOutputs, Res5ROIHeads
from .rpn import RPN, cell_anchors

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.pt", "model.pth", "model.pkl")


@dataclass
class RawDetections:
    """Everything the detector computed for one image, before box selection.

    Attributes:
        proposals: (N, 4) RPN boxes in resized-input pixels.
        objectness: (N,) RPN logits.
        head: the box head outputs for these N proposals.
        size: ``(h, w)`` of the resized input.
        original_size: ``(W0, H0)``.
        scale: ``(sx, sy)`` from resized to original pixels.
    """

    proposals: torch.Tensor
    objectness: torch.Tensor
    head: HeadOutputs
    size: tuple[int, int]
    original_size: tuple[int, int]
    scale: tuple[float, float]


def per_image(props: list[tuple[torch.Tensor, torch.Tensor]], head: HeadOutputs, batch: ImageBatch) -> list[RawDetections]:
    """Split the box head's rows (all images' proposals, in order) into one ``RawDetections`` per image."""
    out, start = [], 0
    for i, (boxes, logits) in enumerate(props):
        sl = slice(start, start + len(boxes))
        start += len(boxes)
        part = HeadOutputs(head.feats[sl], head.cls_logits[sl], head.box_deltas[sl], head.attr_logits[sl])
        out.append(RawDetections(boxes, logits, part, batch.sizes[i], batch.original_sizes[i], batch.scales[i]))
    return out


class FasterRCNN(nn.Module):
    """Backbone -> RPN -> RoI heads. Call :meth:`detect` on an :class:`ImageBatch`."""

    def __init__(self, cfg: FRCNNConfig):
        super().__init__()
        self.cfg = cfg
        self.backbone = ResNetC4(cfg)
        self.proposal_generator = RPN(cfg)
        self.roi_heads = Res5ROIHeads(cfg)
        self.use_default_formats()
        self.eval()

    def use_default_formats(self) -> None:
        """Memory format per layer kind, as measured (``bench_frcnn.py --formats``, RESULTS_frcnn.md):
        channels-last everywhere except res5's dilated 3x3 convs, which oneDNN runs a little faster
        in NCHW on 14x14 maps (the conversion on each side included)."""
        set_memory_format(self, True)
        set_memory_format(self.roi_heads.res5, False, (3,))

    @property
    def device(self) -> torch.device:
        return self.backbone.stem.conv1.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.backbone.stem.conv1.weight.dtype

    def place(self, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> FasterRCNN:
        """Move the network to ``device`` in ``dtype`` (anchors stay float32); returns ``self``.

        Args:
            device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
            dtype: ``torch.float32``, ``torch.float16`` or ``torch.bfloat16``.
        """
        if dtype not in (torch.float32, torch.float16, torch.bfloat16):
            raise InputError(f"dtype must be torch.float32, torch.float16 or torch.bfloat16, got {dtype}")
        try:
            device = torch.device(device)
        except RuntimeError as err:
            raise InputError(f"device {str(device)!r} is not one torch knows ({err})") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise InputError(f"device {str(device)!r} was asked for, but torch sees no CUDA GPU "
                             f"(torch {torch.__version__}, built {'with' if torch.version.cuda else 'without'} CUDA)")
        self.to(device=device, dtype=dtype)
        self.proposal_generator.anchor_generator.float()
        return self

    @torch.inference_mode()
    def detect(self, batch: ImageBatch) -> list[RawDetections]:
        """Run the whole detector; one :class:`RawDetections` per image (CPU float32 tensors)."""
        feats = self.backbone(batch.tensor.to(self.device, self.dtype))  # (B, C4, H/16, W/16)
        props = self.proposal_generator(feats, batch.sizes)
        head = self.roi_heads(feats, [p for p, _ in props])
        return per_image(props, head, batch)

    def check_anchors(self) -> bool:
        """Whether the loaded ``cell_anchors.0`` equals the anchors built from the config."""
        built = cell_anchors(self.cfg.anchor_sizes, self.cfg.anchor_ratios)
        return torch.allclose(self.proposal_generator.anchor_generator.cell_anchors[0].detach(), built, atol=1e-3)


# ----------------------------------------------------------------------------- checkpoint I/O
def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a weights file without unpickling code (safetensors or ``weights_only`` torch.load).

    Args:
        path: a weights file, or a directory holding one of ``model.safetensors``,
            ``pytorch_model.bin``, ``model.pt``, ``model.pth``, ``model.pkl``.

    Raises:
        FileNotFoundError: no such file, or a directory without a weights file.
        CheckpointError: a pickle that would run code (refused), or a truncated / corrupt file.
    """
    path = Path(path)
    if path.is_dir():
        found = [path / n for n in WEIGHT_FILES if (path / n).is_file()]
        if not found:
            raise MissingFileError(f"no weights file ({', '.join(WEIGHT_FILES)}) in {path}")
        path = found[0]
    if not path.is_file():
        raise MissingFileError(f"no weights file at {path}")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except SafetensorError as err:
            raise CheckpointError(f"{path} is not a readable safetensors file: {err}") from None
    try:
        sd = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"[^\n.]*(GLOBAL|global)[^\n]*", str(err))
        if found is None:  # a damaged pickle, not a forbidden one
            raise CheckpointError(f"{path} is not a readable PyTorch weights file: {err}") from None
        # Keep torch's one line that names the offending global, not its advice to retry unsafely.
        raise CheckpointError(
            f"refused to load {path}: it is a pickle that holds more than tensors (it could run code "
            f"when unpickled), and only weights_only loading is allowed ({found.group(0).strip()})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(f"{path} is not a readable PyTorch weights file: {err}") from None
    if isinstance(sd, dict) and "model" in sd and isinstance(sd["model"], dict):
        sd = sd["model"]  # detectron2-style {"model": state_dict, ...}
    if not isinstance(sd, dict) or not all(isinstance(k, str) for k in sd):
        raise CheckpointError(f"{path} does not hold a state dict (a mapping of names to tensors)")
    try:
        return {k: torch.as_tensor(v) for k, v in sd.items()}
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path} holds a value that is not a tensor: {err}") from None


def load_strict(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> None:
    """Copy ``state_dict`` into ``model``; every key must exist on both sides with the same shape.

    Raises:
        KeyError: missing or unexpected keys (all of them named).
        ValueError: shape mismatches (each key with both shapes).
    """
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    if missing or unexpected:
        raise UnknownNameError(f"checkpoint does not match the detector: missing keys {missing[:20]}"
                       f"{' ...' if len(missing) > 20 else ''} ({len(missing)}), unexpected keys "
                       f"{unexpected[:20]}{' ...' if len(unexpected) > 20 else ''} ({len(unexpected)})")
    bad = [f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(v.shape)}"
           for k, v in own.items() if tuple(state_dict[k].shape) != tuple(v.shape)]
    if bad:
        raise InputError("mis-shaped keys: " + "; ".join(bad))
    with torch.no_grad():
        for k, v in own.items():
            v.copy_(state_dict[k].to(v.dtype))
    if isinstance(model, FasterRCNN) and not model.check_anchors():
        warnings.warn("checkpoint anchors differ from the config's anchor sizes/ratios; "
                      "the checkpoint's anchors are used", stacklevel=2)


def count_values(state_dict: dict[str, torch.Tensor]) -> int:
    """Total number of values in a state dict (parameters and buffers, as the file holds them)."""
    return sum(int(v.numel()) for v in state_dict.values())


def build_random_state_dict(cfg: FRCNNConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict with the checkpoint's exact keys and shapes, filled with seeded random values.

    Values are chosen so that a forward stays finite and boxes stay sane: He-init convs,
    BN scales near 1 (the last BN of each block small), small box deltas, the real anchors.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.device("meta"):  # shapes and dtypes only: nothing allocated or initialised
        sd = FasterRCNN(cfg).state_dict()
    out: dict[str, torch.Tensor] = {}
    for key, ref in sd.items():
        shape = tuple(ref.shape)
        if key.endswith("num_batches_tracked"):
            val = torch.tensor(0, dtype=torch.long)
        elif key.endswith("cell_anchors.0"):
            val = cell_anchors(cfg.anchor_sizes, cfg.anchor_ratios)
        elif key.endswith("norm.running_mean"):
            val = torch.randn(shape, generator=g) * 0.1
        elif key.endswith("norm.running_var"):
            val = torch.rand(shape, generator=g) * 0.5 + 0.75
        elif key.endswith("norm.weight"):
            small = ".conv3." in key
            val = (torch.rand(shape, generator=g) * 0.2 + 0.9) * (0.2 if small else 1.0)
        elif key.endswith("norm.bias"):
            val = torch.randn(shape, generator=g) * 0.05
        elif key.endswith("bias"):
            val = torch.randn(shape, generator=g) * 0.01
        elif "bbox_pred" in key or "anchor_deltas" in key:
            val = torch.randn(shape, generator=g) * 0.001
        elif "cls_score.weight" in key or "attr_score.weight" in key:
            val = torch.randn(shape, generator=g) * 0.01  # detectron2's init: soft class scores
        elif "cls_embedding" in key:
            val = torch.randn(shape, generator=g)
        else:  # conv / linear weights: He init over fan-in
            fan_in = max(1, int(torch.tensor(shape[1:]).prod().item()) if len(shape) > 1 else 1)
            val = torch.randn(shape, generator=g) * (2.0 / fan_in) ** 0.5
        out[key] = val.to(ref.dtype)
    return out


def random_checkpoint(directory: str | Path, cfg: FRCNNConfig | None = None, seed: int = 0,
                      fmt: str = "bin") -> Path:
    """Write a random checkpoint in the hub layout (``pytorch_model.bin`` or safetensors + config).

    Args:
        directory: created if needed.
        cfg: the architecture (default: the full VG checkpoint's).
        seed: random seed.
        fmt: ``"bin"`` (torch.save, like the hub) or ``"safetensors"``.

    Returns:
        Path: the directory.
    """
    cfg = cfg or FRCNNConfig()
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    sd = build_random_state_dict(cfg, seed)
    if fmt == "safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in sd.items()}, str(d / "model.safetensors"))
    else:
        torch.save(sd, d / "pytorch_model.bin")
    (d / "config.yaml").write_text(config_to_yaml(cfg), encoding="utf-8")
    return d
