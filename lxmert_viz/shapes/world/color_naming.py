"""Colour names as a person gives them: CIELAB, the CIEDE2000 distance, and a few anchors per name.

Shape letters: P anchor colours, C channels (3), N colours.

A colour is named by the anchor nearest to it in CIEDE2000 (the CIE's perceptual colour
difference; 1 is about a just-noticeable difference), so the boundaries between names follow
perception rather than RGB: easy-vqa's "green" (0, 255, 0) is far from a drawn green such as
(34, 177, 76) in RGB but both are nearer the green anchors than any other. Each name has several
anchors spanning what people call by it: easy-vqa's own colour first (it is a CSS colour), then
darker, lighter and neighbouring-hue variants picked by hand (a dark red, a crimson-like red, a
light tan brown, a gold-like yellow, a slate-like grey ...). "black" and "gray" have no hue: they
are told apart by lightness. Near the borders (a firebrick red is between "red" and "brown") the
name is a judgement; ``name_margin`` says how clear the call is.

``jitter_color`` samples a colour from a name's neighbourhood (around one of its anchors, kept only
when it is clearly that name), for training on colours that no palette fixes.
"""
from __future__ import annotations

import numpy as np

from .palette import COLORS, RGB

ANCHORS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "red": (RGB["red"], (200, 0, 0), (140, 0, 0), (225, 20, 55), (255, 60, 40)),
    "green": (RGB["green"], (0, 170, 60), (0, 110, 0), (110, 200, 50), (30, 130, 70), (100, 230, 100)),
    "blue": (RGB["blue"], (0, 0, 140), (40, 100, 230), (0, 130, 240), (0, 40, 110)),
    "black": (RGB["black"], (25, 25, 30)),
    "gray": (RGB["gray"], (90, 90, 90), (160, 160, 160), (115, 125, 140)),
    "teal": (RGB["teal"], (20, 170, 160), (0, 90, 90), (70, 150, 150)),
    "brown": (RGB["brown"], (140, 70, 20), (185, 120, 85), (100, 55, 25), (120, 85, 70), (160, 85, 45)),
    "yellow": (RGB["yellow"], (255, 210, 0), (235, 200, 40), (255, 240, 90)),
}
"""Anchor colours (sRGB) per name; the first of each is easy-vqa's (``palette.RGB``)."""

_WHITE_XYZ = np.array([0.95047, 1.0, 1.08883])  # D65
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
_DELTA = 6.0 / 29.0


def srgb_to_lab(rgb) -> np.ndarray:
    """CIELAB (D65) of sRGB colours.

    Args:
        rgb: (..., 3) in 0..255.

    Returns:
        (..., 3) float64 ``L`` (0..100), ``a``, ``b``.

    Example:
        >>> np.round(srgb_to_lab([255, 0, 0]), 1).tolist()
        [53.2, 80.1, 67.2]
    """
    c = np.asarray(rgb, np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = lin @ _RGB_TO_XYZ.T / _WHITE_XYZ
    f = np.where(xyz > _DELTA**3, np.cbrt(xyz), xyz / (3 * _DELTA**2) + 4.0 / 29.0)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def lab_to_srgb(lab) -> np.ndarray:
    """sRGB (0..255, float, not clipped) of CIELAB colours: the inverse of ``srgb_to_lab``."""
    lab = np.asarray(lab, np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], -1)
    xyz = np.where(f > _DELTA, f**3, 3 * _DELTA**2 * (f - 4.0 / 29.0)) * _WHITE_XYZ
    lin = xyz @ np.linalg.inv(_RGB_TO_XYZ).T
    c = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * np.abs(lin) ** (1 / 2.4) * np.sign(lin) - 0.055)
    return c * 255.0


def delta_e2000(lab1, lab2) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu and Dalal's formulation), broadcasting.

    Args:
        lab1, lab2: (..., 3) CIELAB.

    Returns:
        (...,) differences.

    Example:
        >>> round(float(delta_e2000([50, 2.6772, -79.7751], [50, 0, -82.7485])), 4)  # Sharma's pair 1
        2.0425
    """
    l1, a1, b1 = np.moveaxis(np.asarray(lab1, np.float64), -1, 0)
    l2, a2, b2 = np.moveaxis(np.asarray(lab2, np.float64), -1, 0)
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p, h2p = np.degrees(np.arctan2(b1, a1p)) % 360, np.degrees(np.arctan2(b2, a2p)) % 360
    chroma0 = c1p * c2p == 0
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(chroma0, 0.0, dh)
    d_l, d_c = l2 - l1, c2p - c1p
    d_h = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_bar, cp_bar = (l1 + l2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_bar = np.where(chroma0, h_sum, np.where(np.abs(h1p - h2p) > 180,
                                              np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2), h_sum / 2))
    t = (1 - 0.17 * np.cos(np.radians(h_bar - 30)) + 0.24 * np.cos(np.radians(2 * h_bar))
         + 0.32 * np.cos(np.radians(3 * h_bar + 6)) - 0.20 * np.cos(np.radians(4 * h_bar - 63)))
    d_theta = 30 * np.exp(-(((h_bar - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(cp_bar**7 / (cp_bar**7 + 25.0**7))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c, s_h = 1 + 0.045 * cp_bar, 1 + 0.015 * cp_bar * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt((d_l / s_l) ** 2 + (d_c / s_c) ** 2 + (d_h / s_h) ** 2 + r_t * (d_c / s_c) * (d_h / s_h))


_ANCHOR_NAME = np.array([COLORS.index(n) for n in COLORS for _ in ANCHORS[n]])  # (P,)
_ANCHOR_LAB = srgb_to_lab(np.array([c for n in COLORS for c in ANCHORS[n]], np.float64))  # (P, C)


def name_distances(rgb) -> np.ndarray:
    """CIEDE2000 distance from each colour to the nearest anchor of every name.

    Args:
        rgb: (..., 3) sRGB in 0..255.

    Returns:
        (..., 8) distances in ``COLORS`` order.
    """
    return lab_name_distances(srgb_to_lab(rgb))


def lab_name_distances(lab) -> np.ndarray:
    """``name_distances`` of colours given in CIELAB, (..., 3) -> (..., 8)."""
    d = delta_e2000(np.asarray(lab, np.float64)[..., None, :], _ANCHOR_LAB)  # (..., P)
    out = np.full(d.shape[:-1] + (len(COLORS),), np.inf)
    for k in range(len(COLORS)):
        out[..., k] = d[..., _ANCHOR_NAME == k].min(-1)
    return out


def name_color(rgb) -> np.ndarray:
    """Index into ``COLORS`` of the name a person would give each colour (the nearest anchor).

    Example:
        >>> [COLORS[i] for i in name_color([(34, 177, 76), (200, 30, 30), (165, 42, 42)])]
        ['green', 'red', 'brown']
    """
    return name_distances(rgb).argmin(-1)


def name_margin(rgb) -> np.ndarray:
    """How clear the name is: distance to the second-nearest name minus distance to the nearest."""
    d = np.sort(name_distances(rgb), -1)
    return d[..., 1] - d[..., 0]


def soft_color(distances, temperature: float = 4.0) -> np.ndarray:
    """Soft membership of a colour in each name: softmax of ``-distance / temperature``.

    Args:
        distances: (8,) CIEDE2000 distances to each name (``name_distances``).
        temperature: distance scale; 4 keeps a clearly named colour near one-hot.

    Returns:
        (8,) float32 weights summing to 1, in ``COLORS`` order.

    Example:
        >>> w = soft_color(name_distances((34, 177, 76)))
        >>> COLORS[int(w.argmax())], bool(w.max() > 0.9)
        ('green', True)
    """
    d = np.asarray(distances, np.float64)
    z = np.exp(-(d - d.min()) / temperature)
    return (z / z.sum()).astype(np.float32)


MIN_PAPER_CONTRAST = 32.0
"""Jittered colours keep at least this contrast with white paper (``components.contrast``'s measure),
so that they stay visible on light backgrounds (a light grey object on a light grey page is no drawing)."""
_WHITE_LAB = np.array([100.0, 0.0, 0.0])


def jitter_color(name: str, rng: np.random.Generator, spread: float = 5.0, margin: float = 2.0,
                 tries: int = 40) -> tuple[int, int, int]:
    """A colour from ``name``'s neighbourhood: an anchor moved by a Gaussian step in CIELAB.

    The step (``spread`` per L, a, b) is kept only when the result is inside sRGB, its name is
    still ``name`` by at least ``margin`` and it keeps ``MIN_PAPER_CONTRAST`` with white; after
    ``tries`` misses the anchor itself is returned.

    Args:
        name: one of ``COLORS``.
        rng: the only source of randomness.

    Returns:
        An ``(r, g, b)`` triple of ints.

    Example:
        >>> c = jitter_color("green", np.random.default_rng(0))
        >>> COLORS[int(name_color(c))]
        'green'
    """
    anchors = ANCHORS[name]
    k = COLORS.index(name)
    base = anchors[int(rng.integers(len(anchors)))]
    lab0 = srgb_to_lab(base)
    for _ in range(tries):
        rgb = lab_to_srgb(lab0 + rng.normal(0.0, spread, 3))
        if (rgb < -0.5).any() or (rgb > 255.5).any():
            continue
        rgb = np.clip(np.rint(rgb), 0, 255)
        lab = srgb_to_lab(rgb) - _WHITE_LAB
        if np.sqrt(lab[0] ** 2 + 0.25 * (lab[1] ** 2 + lab[2] ** 2)) < MIN_PAPER_CONTRAST:
            continue
        d = name_distances(rgb)
        others = np.delete(d, k)
        if d[k] + margin <= others.min():
            return tuple(int(v) for v in rgb)  # type: ignore[return-value]
    return tuple(int(v) for v in base)  # type: ignore[return-value]
