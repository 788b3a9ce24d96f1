"""Pre-processing: every image kind, EXIF orientation, BGR + mean, per-image scales."""
import numpy as np
import pytest
import torch
from PIL import Image

from lxmert_viz.features import FRCNNConfig, FasterRCNNExtractor, load_image, preprocess
from lxmert_viz.features.preprocess import resized_size


def test_pure_red_reaches_the_backbone_as_bgr_minus_mean():
    cfg = FRCNNConfig()  # 800 / 1333, Caffe mean
    red = Image.new("RGB", (40, 30), (255, 0, 0))
    batch = preprocess([red], cfg)
    assert batch.sizes == [(800, 1067)] and batch.original_sizes == [(40, 30)]
    t = batch.tensor[0]
    # independent numbers: BGR order, so channel 0 is blue (0), channel 2 is red (255)
    expected = [0.0 - 102.9801, 0.0 - 115.9465, 255.0 - 122.7717]
    for ch in range(3):
        assert torch.allclose(t[ch], torch.full_like(t[ch], expected[ch]), rtol=0, atol=1e-4), ch


def test_the_tensor_the_model_sees_is_the_preprocessed_one():
    ex = FasterRCNNExtractor.random(FRCNNConfig.tiny())
    seen = []
    hook = ex.model.backbone.stem.register_forward_hook(lambda m, args, out: seen.append(args[0].clone()))
    ex.extract(Image.new("RGB", (64, 48), (255, 0, 0)), num_regions=2)
    hook.remove()
    assert seen[0][0, 0].mean().item() == pytest.approx(-102.9801, abs=1e-3)
    assert seen[0][0, 2].mean().item() == pytest.approx(255 - 122.7717, abs=1e-3)


def test_resize_rule_and_scales():
    assert resized_size(480, 640, 800, 1333) == (800, 1067)
    assert resized_size(100, 1000, 800, 1333) == (133, 1333)  # longest side capped
    batch = preprocess([np.zeros((480, 640, 3), np.uint8), np.zeros((100, 1000, 3), np.uint8)], FRCNNConfig())
    assert batch.tensor.shape == (2, 3, 800, 1333)
    assert batch.scales[0] == pytest.approx((640 / 1067, 480 / 800))
    assert batch.scales[1] == pytest.approx((1000 / 1333, 100 / 133))
    assert (batch.tensor[0, :, :, 1067:] == 0).all()  # zero padding after normalisation


def test_exif_rotation_gives_the_rotated_size(tmp_path):
    img = Image.new("RGB", (60, 20), (0, 128, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif.tobytes())
    rgb = load_image(path)
    assert rgb.shape == (60, 20, 3)
    batch = preprocess([path], FRCNNConfig.tiny())
    assert batch.original_sizes == [(20, 60)]
    ex = FasterRCNNExtractor.random(FRCNNConfig.tiny())
    (r,) = ex.extract([path], num_regions=3)
    assert r.image_size == (20, 60)


def test_every_image_kind_becomes_rgb_uint8(tmp_path):
    grey = Image.new("L", (8, 6), 77)
    rgba = Image.new("RGBA", (8, 6), (255, 0, 0, 0))  # fully transparent red -> white
    pal = Image.new("RGB", (8, 6), (0, 255, 0)).convert("P", palette=Image.ADAPTIVE)
    wide = Image.fromarray(np.full((6, 8), 65535, np.uint16))
    assert wide.mode.startswith("I")
    for im, rgb in [(grey, (77, 77, 77)), (rgba, (255, 255, 255)), (pal, (0, 255, 0)), (wide, (255, 255, 255))]:
        out = load_image(im)
        assert out.dtype == np.uint8 and out.shape == (6, 8, 3), im.mode
        assert tuple(out[0, 0]) == rgb, im.mode
    assert tuple(load_image(np.full((6, 8), 257 * 10, np.uint16))[0, 0]) == (10, 10, 10)
    assert tuple(load_image(np.full((6, 8, 4), 255, np.uint8))[0, 0]) == (255, 255, 255)
    assert tuple(load_image(np.full((6, 8, 3), 0.5, np.float32))[0, 0]) == (128, 128, 128)
    path = tmp_path / "wide.png"
    Image.fromarray(np.full((6, 8), 30000, np.uint16)).save(path)
    assert load_image(path).shape == (6, 8, 3)
    ex = FasterRCNNExtractor.random(FRCNNConfig.tiny())
    regions = ex.extract([grey, rgba, pal, wide, path], num_regions=2, batch_size=5)
    assert [r.image_size for r in regions] == [(8, 6)] * 5
    with pytest.raises(TypeError):
        load_image(42)
