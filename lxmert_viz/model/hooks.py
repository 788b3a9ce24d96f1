"""Hook points: one stable name for every hidden state, attention pattern and head output.

Shape letters: B batch, T tokens, R regions, D hidden, H heads, E head size, Q/K query/key positions.

The network (`lxmert_viz.model.lxmert`) calls an identity `HookPoint` (a module without parameters,
so the state dict, its names and its numbers are unchanged) at each of these places; the functions
here attach a function to a name for one forward pass, to read the value or to replace it:

| name | shape | what it holds |
|---|---|---|
| ``hidden.lang.{k}`` | (B, T, D) | ``lang_hidden[k]``: k = 0 embeddings, 1..l_layers language layers, then one per cross layer |
| ``hidden.vis.{k}`` | (B, R, D) | ``vis_hidden[k]``: k = 0 visual embedding, 1..r_layers relationship layers, then cross layers |
| ``{family}.{layer}.pattern`` | (B, H, Q, K) | attention probabilities of one layer of a family (after the mask, before dropout) |
| ``{family}.{layer}.z`` | (B, Q, H, E) | each head's context (pattern @ values) before the output projection joins the heads |
| ``pooled`` | (B, D) | the pooler's output from ``[CLS]``: what the answer and matching heads read |

Families and their layers are those of `lxmert_viz.model.output` (``lang``/``vis``: the single-modality
layers, ``l2v``/``v2l``/``cross_lang``/``cross_vis``: the cross layers, numbered from 0), so
``l2v.2.pattern`` is ``out.attentions["l2v"][:, 2]`` and ``hidden.lang.3`` is ``out.lang_hidden[3]``.
A value replaced at a hidden state is what every later layer reads and what the output holds; zeroing
one head's slice of a ``.z`` removes that head's contribution (the output projection's bias stays).

Two things make a hook not run, and both are an error (``strict=True``) rather than a silent no-op:
``.pattern`` hooks need the maps (``output_attentions=True``: the fused kernel computes none), and the
image side (``hidden.vis.0..r_layers``, ``vis.*``) is not recomputed when ``vision=`` is passed.

Example:
    >>> out, cache = run_with_cache(kit.model, result.model_inputs(), ["hidden.lang.3", "l2v.2.pattern"])
    >>> bool(torch.equal(cache["l2v.2.pattern"], out.attentions["l2v"][:, 2]))
    True
"""
from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import InputError, InputTypeError, UnknownNameError
from .families import STREAM_LETTER, STREAMS, family, family_layers

HookFn = Callable[[torch.Tensor, str], "torch.Tensor | None"]


class HookPoint(nn.Module):
    """Identity: a named place in the forward pass where a hook may read or replace the value."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@dataclass(frozen=True)
class HookInfo:
    """One hook point: its ``name``, ``shape`` (letters), ``stream`` (``lang``/``vis``/None) and what it holds."""

    name: str
    shape: str
    stream: str | None
    what: str


def _attention_points(prefix: str, owner: nn.Module, pattern: str, z: str) -> dict[str, nn.Module]:
    return {f"{prefix}.pattern": getattr(owner, pattern), f"{prefix}.z": getattr(owner, z)}


def hook_points(model: nn.Module) -> dict[str, HookPoint]:
    """Every hook point of ``model`` (an `Lxmert`) by name, in the order a forward pass reaches them.

    Example:
        >>> names = list(hook_points(kit.model))
        >>> names[:3], names[-1], len(names)
        (['hidden.vis.0', 'vis.0.pattern', 'vis.0.z'], 'pooled', 45)
    """
    bb = getattr(model, "lxmert", model)
    enc = bb.encoder
    pts: dict[str, nn.Module] = {"hidden.vis.0": enc.visn_fc.hook_out}
    for i, layer in enumerate(enc.r_layers):
        pts.update(_attention_points(f"vis.{i}", layer.attention, "hook_pattern", "hook_z"))
        pts[f"hidden.vis.{i + 1}"] = layer.hook_out
    pts["hidden.lang.0"] = bb.embeddings.hook_out
    for i, layer in enumerate(enc.layer):
        pts.update(_attention_points(f"lang.{i}", layer.attention, "hook_pattern", "hook_z"))
        pts[f"hidden.lang.{i + 1}"] = layer.hook_out
    nl, nr = len(enc.layer), len(enc.r_layers)
    for i, x in enumerate(enc.x_layers):
        pts.update(_attention_points(f"l2v.{i}", x.visual_attention, "hook_l2v_pattern", "hook_l2v_z"))
        pts.update(_attention_points(f"v2l.{i}", x.visual_attention, "hook_v2l_pattern", "hook_v2l_z"))
        pts.update(_attention_points(f"cross_lang.{i}", x.lang_self_att, "hook_pattern", "hook_z"))
        pts.update(_attention_points(f"cross_vis.{i}", x.visn_self_att, "hook_pattern", "hook_z"))
        pts[f"hidden.lang.{nl + 1 + i}"] = x.hook_lang_out
        pts[f"hidden.vis.{nr + 1 + i}"] = x.hook_vis_out
    pts["pooled"] = bb.pooler.hook_out
    return pts  # type: ignore[return-value]


def hook_table(model: nn.Module) -> list[HookInfo]:
    """Each hook point with its shape and meaning (the module docstring's table, spelled out).

    Example:
        >>> hook_table(kit.model)[0]
        HookInfo(name='hidden.vis.0', shape='(B, R, D)', stream='vis', what='visual embedding output')
    """
    cfg = model.config
    single = {stream: family_layers(cfg, stream) for stream in STREAMS}  # the lang / vis families' layers
    rows = []
    for name in hook_points(model):
        parts = name.split(".")
        if name == "pooled":
            rows.append(HookInfo(name, "(B, D)", "lang", "pooler output from [CLS]"))
        elif parts[0] == "hidden":
            stream, k = parts[1], int(parts[2])
            n = single[stream]
            what = ("embedding output" if stream == "lang" else "visual embedding output") if k == 0 else (
                f"{'language' if stream == 'lang' else 'relationship'} layer {k - 1} output" if k <= n
                else f"cross layer {k - n - 1} output")
            rows.append(HookInfo(name, f"(B, {STREAM_LETTER[stream]}, D)", stream, what))
        else:
            fam, layer, kind = family(parts[0]), int(parts[1]), parts[2]
            what = (f"{fam.name} attention probabilities, layer {layer}" if kind == "pattern" else
                    f"{fam.name} per-head context, layer {layer}, before the output projection")
            rows.append(HookInfo(name, fam.shape(kind), fam.query, what))
    return rows


def image_side(name: str, config) -> bool:
    """True for the hook points that `Lxmert.encode_image` computes (not rerun with ``vision=``)."""
    parts = name.split(".")
    if parts[0] == "vis":
        return True
    return parts[:2] == ["hidden", "vis"] and int(parts[2]) <= config.r_layers


def select_names(model: nn.Module, names: str | Iterable[str] | None = None) -> list[str]:
    """Hook names from a list, one name, or a glob (``"l2v.*.z"``, ``"hidden.*"``); None: all.

    Raises:
        KeyError: a name (or a pattern) that matches no hook point, with examples of valid ones.
    """
    every = list(hook_points(model))
    if names is None:
        return every
    wanted = [names] if isinstance(names, str) else list(names)
    out: list[str] = []
    for w in wanted:
        if not isinstance(w, str):
            raise InputTypeError(f"hook names are strings such as 'hidden.lang.3', got {w!r}")
        hits = [n for n in every if fnmatch.fnmatchcase(n, w)] if any(c in w for c in "*?[") else (
            [w] if w in every else [])
        if not hits:
            raise UnknownNameError(f"no hook point {w!r}; names look like {every[0]!r}, 'l2v.0.z', 'hidden.lang.3', "
                           f"'pooled' (see lxmert_viz.model.hooks.hook_table)")
        out.extend(h for h in hits if h not in out)
    return out


@contextmanager
def hooks(model: nn.Module, fns: Mapping[str, HookFn | Iterable[HookFn]], strict: bool = True):
    """Attach ``fns`` (hook name -> ``fn(value, name)``, or a list of them run in order) to ``model``
    for the forward passes inside the ``with`` block; a function returns a replacement of the same
    shape, or None to leave the value as it is.

    Args:
        model: an `Lxmert`.
        fns: hook name (or glob) -> function(s).
        strict: raise when the block ends and a hook never ran (see the module docstring).

    Yields:
        The set of hook names that ran (filled in as they run).

    Example:
        >>> seen = {}
        >>> def note(value, name):            # read only: return None to leave the value as it is
        ...     seen[name] = tuple(value.shape)
        >>> with hooks(kit.model, {"pooled": note, "hidden.lang.*": note}):
        ...     _ = kit.model(**result.model_inputs())
        >>> seen["pooled"], seen["hidden.lang.5"]
        ((1, 128), (1, 8, 128))
    """
    points = hook_points(model)
    fired: set[str] = set()
    handles = []

    def attach(name: str, chain: list[HookFn]):
        def run(_module, _args, value):
            fired.add(name)
            for fn in chain:
                new = fn(value, name)
                if new is not None:
                    if not isinstance(new, torch.Tensor) or new.shape != value.shape:
                        got = tuple(new.shape) if isinstance(new, torch.Tensor) else type(new).__name__
                        raise InputError(f"hook on {name!r} returned {got}; it must return a tensor of "
                                         f"{tuple(value.shape)} or None")
                    value = new
            return value
        handles.append(points[name].register_forward_hook(run))

    try:
        for key, fn in fns.items():
            chain = [fn] if callable(fn) else list(fn)
            for name in select_names(model, key):
                attach(name, chain)
        yield fired
    except BaseException:
        for h in handles:
            h.remove()
        raise
    for h in handles:
        h.remove()
    missed = sorted({n for key in fns for n in select_names(model, key)} - fired)
    if strict and missed:
        raise RuntimeError(f"hooks on {missed} never ran: '.pattern' hooks need output_attentions=True, and "
                           "the image side (hidden.vis.0..r_layers, vis.*) is not recomputed when vision= is given")


def run_with_hooks(model: nn.Module, inputs: Mapping, fns: Mapping[str, HookFn | Iterable[HookFn]],
                   strict: bool = True, grad: bool = False):
    """One forward pass of ``model(**inputs)`` with ``fns`` attached; returns its `LxmertOutput`.

    Example:
        >>> zero_l2v = {"l2v.*.z": lambda z, name: torch.zeros_like(z)}   # no word hears any region
        >>> out = run_with_hooks(kit.model, result.model_inputs(), zero_l2v)
        >>> out.question_answering_score.shape
        torch.Size([1, 20])
    """
    with torch.set_grad_enabled(grad), hooks(model, fns, strict):
        return model(**inputs)


def run_with_cache(model: nn.Module, inputs: Mapping, names: str | Iterable[str] | None = None,
                   fns: Mapping[str, HookFn | Iterable[HookFn]] | None = None):
    """A forward pass that also keeps the values at ``names`` (all hook points when None).

    Values are detached and taken after any replacement by ``fns``. With ``names=None`` the points a
    pass does not reach (patterns without maps, the image side with ``vision=``) are simply absent;
    a name asked for explicitly must run.

    Returns:
        (`LxmertOutput`, dict name -> tensor).
    """
    cache: dict[str, torch.Tensor] = {}
    store = lambda v, name: cache.__setitem__(name, v.detach())  # noqa: E731
    # forward hooks run in the order they were attached: ``fns`` first, then the store
    with torch.no_grad(), hooks(model, fns or {}), hooks(model, {n: store for n in select_names(model, names)},
                                                         strict=names is not None):
        out = model(**inputs)
    return out, cache


@dataclass(frozen=True)
class Intervention:
    """What was done to one row of a forward pass, and the hook functions that do it.

    The description (``kind``, ``sites``, ``heads``, ``note``) is what a `Result` keeps as typed run
    state (`Result.intervention`); ``fns`` (hook name or glob -> ``fn(value, name)``) are run by
    `lxmert_viz.run.run` on this row's slice of the value (batch axis of size 1) and are neither
    printed nor compared.

    Attributes:
        kind: ``"ablation"`` (heads removed), ``"blind"`` (no region reaches the words),
            ``"patch"`` (values written in from another run) or ``"hooks"`` (anything else).
        sites: the hook points whose values are replaced.
        heads: the heads removed, ``(family, layer, head)``, for ``"ablation"``.
        note: how, in words.
    """

    kind: str
    sites: tuple[str, ...] = ()
    heads: tuple[tuple[str, int, int], ...] = ()
    note: str = ""
    fns: Mapping[str, HookFn] = field(default_factory=dict, compare=False, repr=False)

    def touches_image_side(self, config) -> bool:
        """True when a site is computed by the image side (then the image side is run for this row)."""
        return any(image_side(s, config) for s in self.sites)
