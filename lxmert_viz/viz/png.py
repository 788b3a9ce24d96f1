"""The command line's PNG: the question, the answer, what is drawn, and the shaded image, with PIL alone.

Shape letters: R regions, T tokens.

The shading is the same code path as every figure (`shading.shade` and `shading.composite`); this
module only lays out the text around it, in a scalable font (PIL's own, Pillow >= 10.1), so that
the command line need not import a plotting library.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import InputError
from ..result import Result
from .defaults import default_token
from .region_picture import labelled_regions
from .shading import (
    CHOSEN,
    Shading,
    colour,
    composite,
    frame_extent,
    layer_size,
    peak_label,
    scale_label,
    shade,
    whole_label,
)
from .titles import attention_title

SPECIAL = ("[CLS]", "[SEP]", "[PAD]")
PAD = 16


def font(size: int):
    """A scalable font of ``size`` pixels: PIL's default (FreeType), else DejaVu Sans, else the bitmap one."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, AttributeError):  # Pillow < 10.1 or no FreeType
        pass
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default()


def question_attention(result: Result, layer: int = -1, include_special: bool = False) -> np.ndarray:
    """(R,) the question's attention over regions: `l2v` of ``layer`` (default the last cross layer),
    mean over heads, then mean over the question's words ([CLS], [SEP] and padding left out unless
    ``include_special``)."""
    a = result.attn("l2v", layer, "mean")
    keep = [i for i, p in enumerate(result.tokens.pieces) if include_special or p not in SPECIAL]
    return a[keep or list(range(len(a)))].mean(0)


def _text_width(draw, text: str, f) -> int:
    x1, _, x2, _ = draw.textbbox((0, 0), text, font=f)
    return int(x2 - x1)


def result_png(result: Result, path, token: int | str | None = None, layer: int = -1, head: int | str = "mean",
               side: int = 512, faithfulness: str = "", scale: str = "uniform") -> dict:
    """Write one word's attention over the result's regions as a PNG, with the question and answer.

    Args:
        result: a `Result` with an image.
        path: the PNG to write.
        token: the word shown; None: the question's content word (`defaults.default_token`).
        layer, head: as `Result.attn` (default: the last cross layer, mean over heads).
        side: the image's longer side in the PNG, in pixels.
        faithfulness: one line on the map's faithfulness (the command line computes it:
            ``Faithfulness.line()``), printed under the picture; "" for none.
        scale: `shading.shade`'s scale (``"uniform"``: white up to 1/R; ``"fixed"``: 0 to 1).

    Returns:
        ``{"token": label, "layer": ..., "head": ..., "weights": (R,), "title": ..., "shading": Shading,
        "picture_box": (x, y, w, h)}``: what was drawn and where the picture sits in the PNG.

    Example:
        >>> drawn = result_png(result, tmp / "circle.png")
        >>> drawn["token"], drawn["title"]
        ('circle', "l2v · cross layer 2 (last of 0-2) · mean of 4 heads · word 'circle'")
    """
    if result.image is None:
        raise InputError("this result carries no image to draw on")
    q = default_token(result) if token is None else result.token_index(token)
    label = result.tokens.labels()[q]
    r = result.regions
    n = r.num_real
    weights = np.asarray(result.row("l2v", q, layer, head), dtype=np.float64)
    s = shade(r.boxes[:n], weights, r.image_size, scale=scale)
    names = r.names()[:n]
    lw, lh = layer_size(r.image_size, side)
    picture = composite(result.image, s, (lw, lh))
    title = attention_title(result, "l2v", layer, head, label, "lang", q)

    f_big, f_mid, f_small = font(22), font(17), font(15)
    score = result.score_label
    lines_top = [(f"Q: {result.question}", f_big, (0, 0, 0)),
                 (("A: " + ", ".join(f"{a} ({score} {p:.2f})" for a, p in result.answers[:3])) if result.answers
                  else "A: (no answer head)", f_mid, (20, 20, 20)),
                 (title, f_small, (60, 60, 60))]
    unknown = result.unknown_words
    if unknown:
        lines_top.append((f"unknown to the model's vocabulary: {', '.join(unknown)}", f_small, (170, 0, 0)))
    legend = [f"{names[i]} {weights[i]:.2f}" for i in labelled_regions(s, 8) if i < n]
    bar_w = 120
    scratch = ImageDraw.Draw(Image.new("RGB", (8, 8)))
    bottom = [t for t in [scale_label(s) + " (" + peak_label(s).split(": ")[1] + ")", whole_label(s, names),
                          f"faithfulness of this map (raw attention) · {faithfulness}" if faithfulness else ""] if t]
    line = "attention per region:"
    for item in legend:  # wrap the legend to the picture's width
        if _text_width(scratch, f"{line}   {item}", f_small) > lw + bar_w and line:
            bottom.append(line)
            line = "   " + item
        else:
            line = f"{line}   {item}"
    bottom.append(line)
    text_w = max([_text_width(scratch, t, f) for t, f, _ in lines_top] + [_text_width(scratch, t, f_small)
                                                                       for t in bottom])
    width = max(lw + bar_w + 2 * PAD, text_w + 2 * PAD)
    top_h = PAD + sum(f.size + 8 for _, f, _ in lines_top) + 4
    height = top_h + lh + PAD + len(bottom) * (f_small.size + 8) + PAD
    canvas = Image.new("RGB", (width, height), "white")
    canvas.paste(picture, (PAD, top_h))
    d = ImageDraw.Draw(canvas)
    d.rectangle([PAD - 1, top_h - 1, PAD + lw, top_h + lh], outline=(160, 160, 160))
    y = PAD
    for text, f, fill in lines_top:
        d.text((PAD, y), text, font=f, fill=fill)
        y += f.size + 8
    kx, ky = lw / r.image_size[0], lh / r.image_size[1]
    for i in labelled_regions(s):  # region numbers at the top-left corner of their boxes
        num = str(names[i]).split(":")[0]
        x1, y1 = PAD + float(r.boxes[i, 0]) * kx, top_h + float(r.boxes[i, 1]) * ky
        tb = d.textbbox((0, 0), num, font=f_small)
        gap = frame_extent(s, i, max(lw, lh)) + 2  # outside the frame: the label never covers the weight
        bx, by = max(PAD, x1 - gap - (tb[2] - tb[0]) - 6), max(top_h, y1 - gap - (tb[3] - tb[1]) - 6)
        edge = tuple(int(v) for v in colour(max(float(s.levels[i]), 0.5))) if i != s.chosen else CHOSEN
        d.rectangle([bx, by, bx + tb[2] - tb[0] + 6, by + tb[3] - tb[1] + 6], fill="white", outline=edge)
        d.text((bx + 3 - tb[0], by + 3 - tb[1]), num, font=f_small, fill=(0, 0, 0))
    _colour_bar(d, PAD + lw + 18, top_h, 20, lh, s, f_small)
    y = top_h + lh + PAD
    for t in bottom:
        d.text((PAD, y), t, font=f_small, fill=(50, 50, 50))
        y += f_small.size + 8
    canvas.save(path)
    return {"token": label, "layer": layer, "head": head, "weights": weights, "title": title, "shading": s,
            "picture_box": (PAD, top_h, lw, lh)}


def _colour_bar(d, x: int, y: int, w: int, h: int, s: Shading, f) -> None:
    """A vertical colour bar 0..``s.vmax`` in the frames' colours (white up to the uniform level,
    which is marked with a dashed black line and "1/R"), three ticks and a caption."""
    vmax = s.vmax
    ramp = colour(s.level_of(np.linspace(vmax, 0, h)))
    for k, rgb in enumerate(ramp):
        d.line([(x, y + k), (x + w, y + k)], fill=tuple(int(v) for v in rgb))
    d.rectangle([x, y, x + w, y + h], outline=(90, 90, 90))
    for frac in (0.0, 0.5, 1.0):
        yy = y + h - frac * h
        d.line([(x + w, yy), (x + w + 5, yy)], fill=(90, 90, 90))
        d.text((x + w + 8, yy - f.size / 2), f"{frac * vmax:.2f}", font=f, fill=(40, 40, 40))
    if 0 < s.uniform <= vmax:
        yy = y + h - s.uniform / vmax * h
        for xx in range(x - 4, x + w + 4, 6):
            d.line([(xx, yy), (xx + 3, yy)], fill=(0, 0, 0), width=2)
        d.text((x + w + 8, yy - f.size - 2), "1/R", font=f, fill=(0, 0, 0))
    d.text((x - 4, y + h + 4), "attention", font=f, fill=(40, 40, 40))
