"""device= and dtype= reach the network; what the CPU can run, runs; what it cannot is a clear error."""
import numpy as np
import pytest
import torch

from lxmert_viz.features import CachedExtractor, FasterRCNNExtractor, FRCNNConfig, preprocess, random_checkpoint


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_runs_on_cpu_close_to_float32(image, dtype):
    cfg = FRCNNConfig.tiny()
    full = FasterRCNNExtractor.random(cfg, seed=0)
    half = FasterRCNNExtractor.random(cfg, seed=0, device="cpu", dtype=dtype)
    assert half.model.dtype == dtype and half.model.backbone.res4[0].conv1.weight.dtype == dtype
    assert half.model.proposal_generator.anchor_generator.cell_anchors[0].dtype == torch.float32
    assert half.identity != full.identity and half.identity.endswith(str(dtype).split(".")[-1])
    seen = []
    hook = half.model.backbone.register_forward_hook(lambda m, a, out: seen.append(out.dtype))
    r = half.extract(image, num_regions=6)[0]
    hook.remove()
    assert seen == [dtype] and r.feats.dtype == np.float32 and np.isfinite(r.feats).all()
    # the same numbers up to half precision: res4 maps, and the box head on the same proposals
    tol = 2e-2 if dtype == torch.float16 else 8e-2
    with torch.inference_mode():
        batch = preprocess([image], cfg)
        f32 = full.model.backbone(batch.tensor)
        f16 = half.model.backbone(batch.tensor.to(dtype))
        assert f16.dtype == dtype and rel(f16.float(), f32) < tol
        boxes = [full.model.proposal_generator(f32, batch.sizes)[0][0]]
        h32, h16 = full.model.roi_heads(f32, boxes), half.model.roi_heads(f32.to(dtype), boxes)
    assert h16.feats.dtype == torch.float32 and rel(h16.feats, h32.feats) < tol


def test_device_argument_goes_end_to_end(tmp_path, image):
    d = random_checkpoint(tmp_path / "ckpt", FRCNNConfig.tiny(), seed=1)
    ex = FasterRCNNExtractor.from_pretrained(d, device="cpu", dtype=torch.float32)
    assert ex.device == torch.device("cpu") and ex.model.dtype == torch.float32
    cached = CachedExtractor(ex, tmp_path / "cache")
    assert cached.extract(image, num_regions=4)[0].feats.shape == (4, ex.cfg.head_dim)
    if torch.cuda.is_available():  # a GPU machine: the same call runs there
        gpu = FasterRCNNExtractor.from_pretrained(d, device="cuda")
        assert gpu.device.type == "cuda"
        np.testing.assert_allclose(gpu.extract(image, num_regions=4)[0].feats,
                                   ex.extract(image, num_regions=4)[0].feats, rtol=1e-3, atol=1e-4)
    else:
        with pytest.raises(ValueError, match="'cuda'.*no CUDA GPU"):
            FasterRCNNExtractor.from_pretrained(d, device="cuda")
    with pytest.raises(ValueError, match="dtype must be"):
        FasterRCNNExtractor.from_pretrained(d, dtype=torch.float64)
    with pytest.raises(ValueError, match="'tpu'"):
        FasterRCNNExtractor.from_pretrained(d, device="tpu")


def test_config_overrides_reach_the_extractor(tmp_path, image):
    d = random_checkpoint(tmp_path / "ckpt", FRCNNConfig.tiny(), seed=1)
    smooth = FasterRCNNExtractor.from_pretrained(d, resize="antialias")
    sharp = FasterRCNNExtractor.from_pretrained(d)
    assert (smooth.cfg.resize, sharp.cfg.resize) == ("antialias", "reference")
    big = np.random.default_rng(1).integers(0, 256, (400, 500, 3), dtype=np.uint8)  # shrunk to 96
    assert not np.allclose(smooth.extract(big, num_regions=3)[0].feats, sharp.extract(big, num_regions=3)[0].feats)
