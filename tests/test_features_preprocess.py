"""Pre-processing: every image kind, EXIF orientation, BGR + mean, per-image scales."""
import numpy as np
import pytest
import torch
from PIL import Image

from lxmert_viz.features import FasterRCNNExtractor, FRCNNConfig, load_image, preprocess
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


def bilinear_half_pixel(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Independent bilinear resampling without antialiasing (pixel centres at +0.5, edges clamped),
    the rule of ``F.interpolate(mode="bilinear", align_corners=False)`` and ``cv2.resize`` linear."""
    in_h, in_w = img.shape[:2]

    def taps(n_out, n_in):
        src = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, src - i0

    y0, y1, ly = taps(out_h, in_h)
    x0, x1, lx = taps(out_w, in_w)
    f = img.astype(np.float64)
    top = f[y0][:, x0] * (1 - lx)[None, :, None] + f[y0][:, x1] * lx[None, :, None]
    bottom = f[y1][:, x0] * (1 - lx)[None, :, None] + f[y1][:, x1] * lx[None, :, None]
    return top * (1 - ly)[:, None, None] + bottom * ly[:, None, None]


def pixels_seen(batch, cfg, i=0):
    """Undo the normalisation and the BGR flip: the resized RGB pixels the network was given."""
    h, w = batch.sizes[i]
    t = batch.tensor[i, :, :h, :w].double()
    t = t * torch.tensor(cfg.pixel_std, dtype=torch.float64)[:, None, None] + \
        torch.tensor(cfg.pixel_mean, dtype=torch.float64)[:, None, None]
    return t.flip(0).permute(1, 2, 0).numpy()


@pytest.mark.parametrize("shape, min_size, max_size", [((300, 420, 3), 100, 1000),  # shrunk 3x
                                                        ((30, 41, 3), 96, 1000),  # enlarged
                                                        ((400, 120, 3), 50, 150)])  # capped by max_size
def test_default_resize_is_the_reference_bilinear_without_antialias(shape, min_size, max_size):
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, shape, dtype=np.uint8)  # noise: every resampling rule shows
    cfg = FRCNNConfig(min_size=min_size, max_size=max_size)
    batch = preprocess([img], cfg)
    h, w = batch.sizes[0]
    want = bilinear_half_pixel(img, h, w)
    got = pixels_seen(batch, cfg)
    np.testing.assert_allclose(got, want, rtol=0, atol=0.02)  # float32 source coordinates vs float64
    if h < shape[0]:  # shrinking: PIL's antialiased filter is far from it
        pil = np.asarray(Image.fromarray(img).resize((w, h), Image.BILINEAR)).astype(np.float64)
        assert np.abs(pil - want).mean() > 5


def test_antialias_resize_is_an_explicit_option_and_is_pils():
    img = np.random.default_rng(2).integers(0, 256, (300, 420, 3), dtype=np.uint8)
    cfg = FRCNNConfig(min_size=100, max_size=1000, resize="antialias")
    batch = preprocess([img], cfg)
    h, w = batch.sizes[0]
    pil = np.asarray(Image.fromarray(img).resize((w, h), Image.BILINEAR)).astype(np.float64)
    np.testing.assert_allclose(pixels_seen(batch, cfg), pil, rtol=0, atol=1e-4)
    with pytest.raises(ValueError, match="resize"):
        FRCNNConfig(resize="lanczos")


def demo_resized_size(h, w, size, max_size):
    """ResizeShortestEdge as the transformers demo computes it (processing_image.py)."""
    scale = size * 1.0 / min(h, w)
    newh, neww = (size, scale * w) if h < w else (scale * h, size)
    if max(newh, neww) > max_size:
        scale = max_size * 1.0 / max(newh, neww)
        newh, neww = newh * scale, neww * scale
    return int(newh + 0.5), int(neww + 0.5)


def test_resize_rounding_is_the_demos_at_the_cap():
    sizes = [(h, w) for h in range(300, 700, 7) for w in range(h * 5 // 3, h * 5 // 2, 3)]
    differs = 0
    for h, w in sizes:
        want = demo_resized_size(h, w, 800, 1333)
        assert resized_size(h, w, 800, 1333) == want, (h, w)
        assert resized_size(w, h, 800, 1333) == demo_resized_size(w, h, 800, 1333), (w, h)
        scale = 800 / min(h, w)  # the rounding used before: one scale applied to the original sides
        if max(h, w) * scale > 1333:
            scale = 1333 / max(h, w)
        differs += (int(h * scale + 0.5), int(w * scale + 0.5)) != want
    assert differs > 0  # the sweep holds sizes where the two roundings part


def test_channel_order_and_pad_value_come_from_the_config():
    img = np.zeros((20, 30, 3), np.uint8)
    img[..., 0] = 200  # red
    small = np.zeros((10, 30, 3), np.uint8)
    rgb_cfg = FRCNNConfig(min_size=0, input_format="RGB", pixel_mean=(0.0, 0.0, 0.0), pad_value=-7.0)
    batch = preprocess([img, small], rgb_cfg)
    assert batch.tensor[0, 0, 0, 0] == 200 and batch.tensor[0, 2, 0, 0] == 0  # RGB: red stays first
    assert (batch.tensor[1, :, 10:] == -7.0).all() and batch.sizes == [(20, 30), (10, 30)]
    bgr = preprocess([img], FRCNNConfig(min_size=0, pixel_mean=(0.0, 0.0, 0.0)))
    assert bgr.tensor[0, 2, 0, 0] == 200 and bgr.tensor[0, 0, 0, 0] == 0


def test_a_uint8_rgb_array_gets_the_image_openers_checks_too():
    from lxmert_viz.errors import ImageError
    ex = FasterRCNNExtractor.random(FRCNNConfig.tiny())
    with pytest.raises(ImageError, match="aspect ratio"):  # 200:1, beyond MAX_ASPECT
        ex.extract(np.zeros((2, 400, 3), np.uint8))
    with pytest.raises(ImageError, match="empty"):
        preprocess([np.zeros((0, 5, 3), np.uint8)], FRCNNConfig.tiny())
