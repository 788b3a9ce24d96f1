"""A PNG of the image with its regions shaded by attention, drawn with PIL alone.

Shape letters: R regions.

For the command line, where importing a plotting library would cost more than the answer; the
interactive figures live in `lxmert_viz.viz`.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ..result import Result
from .shading import FILL_RGB, box_fill_alphas


def question_attention(result: Result, layer: int = -1) -> np.ndarray:
    """(R,) the question's attention over regions: `l2v` of ``layer`` (default the last cross layer),
    mean over heads, then mean over all of the question's tokens ([CLS] and [SEP] included)."""
    return result.attn("l2v", layer, "mean").mean(0)


def shade_regions(image: Image.Image, boxes: np.ndarray, weights: np.ndarray, labels=None,
                  scale: int = 4, color=FILL_RGB) -> Image.Image:
    """Return a new RGB image, ``scale`` times larger, with each box filled in proportion to its
    weight (the largest weight fully) and outlined, and the weight written beside it."""
    base = image.convert("RGB").resize((image.width * scale, image.height * scale), Image.NEAREST)
    over = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(over)
    w = np.asarray(weights, dtype=np.float64)
    alphas = box_fill_alphas(w, max_alpha=200 / 255)
    for i, (box, v, alpha) in enumerate(zip(np.asarray(boxes) * scale, w, alphas)):
        a = int(round(255 * alpha))
        draw.rectangle([float(x) for x in box], fill=(*color, a), outline=(*color, 255), width=2)
        text = f"{v:.2f}" if labels is None or not labels[i] else f"{labels[i]} {v:.2f}"
        draw.text((float(box[0]) + 2, float(box[1]) + 1), text, fill=(0, 0, 0, 255))
    return Image.alpha_composite(base.convert("RGBA"), over).convert("RGB")


def result_png(result: Result, path, scale: int = 4) -> None:
    """Write the question's attention over the result's regions as a PNG."""
    if result.image is None:
        raise ValueError("this result carries no image to draw on")
    r = result.regions
    img = shade_regions(result.image, r.boxes, question_attention(result), r.labels, scale)
    draw = ImageDraw.Draw(img)
    answer = ", ".join(f"{a} {p:.2f}" for a, p in result.answers[:3])
    draw.text((4, img.height - 14), f"{result.question} -> {answer}", fill=(0, 0, 0))
    img.save(path)
