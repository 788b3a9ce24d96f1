"""Hook points: every name runs, reads what the output holds, and replaces what later layers read."""
from __future__ import annotations

import math

import pytest
import torch
from helpers import make_inputs

from lxmert_viz import Lxmert, LxmertConfig
from lxmert_viz.model import hooks as H

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.exactness]  # exactness: scripts/test.sh reruns it on other kernels
# float32 tolerance, derived: eps (1.2e-7) x sqrt(reduction length, <= 256 here: 16) x |values| (<= ~5 in
# these tiny models) = 1e-5; it holds with ATEN_CPU_CAPABILITY=default and 1 thread (scripts/test.sh runs both)
ATOL = 1e-5


@pytest.fixture
def model(seed):
    return Lxmert(LxmertConfig.tiny(l_layers=2, r_layers=3, x_layers=2), output_heads=("qa", "pretraining")).eval()


def test_names_follow_the_table(model):
    cfg = model.config
    names = list(H.hook_points(model))
    assert len(names) == len(set(names))
    want = {"pooled"}
    want |= {f"hidden.lang.{k}" for k in range(1 + cfg.l_layers + cfg.x_layers)}
    want |= {f"hidden.vis.{k}" for k in range(1 + cfg.r_layers + cfg.x_layers)}
    for fam, n in (("lang", cfg.l_layers), ("vis", cfg.r_layers), ("l2v", cfg.x_layers), ("v2l", cfg.x_layers),
                   ("cross_lang", cfg.x_layers), ("cross_vis", cfg.x_layers)):
        want |= {f"{fam}.{i}.{kind}" for i in range(n) for kind in ("pattern", "z")}
    assert set(names) == want
    table = H.hook_table(model)
    assert [row.name for row in table] == names
    for pattern in ("hidden.lang.{k}", "hidden.vis.{k}", "{family}.{layer}.pattern", "{family}.{layer}.z", "pooled"):
        assert f"``{pattern}``" in H.__doc__  # the documented table names every kind


def test_every_point_reads_what_the_output_holds(model):
    inputs = make_inputs(batch=2, padding=True)
    out, cache = H.run_with_cache(model, inputs)
    assert set(cache) == set(H.hook_points(model))
    for k, h in enumerate(out.lang_hidden):
        assert torch.equal(cache[f"hidden.lang.{k}"], h)
    for k, h in enumerate(out.vis_hidden):
        assert torch.equal(cache[f"hidden.vis.{k}"], h)
    for fam in out.attentions:
        for i in range(out.attentions[fam].shape[1]):
            assert torch.equal(cache[f"{fam}.{i}.pattern"], out.attentions[fam][:, i])
    assert torch.equal(cache["pooled"], out.pooled_output)


def _values(x, lin, heads):
    b, n, d = x.shape
    return torch.nn.functional.linear(x, lin.weight, lin.bias).view(b, n, heads, d // heads)  # (B, N, H, E)


def test_z_is_pattern_times_values(model):
    """``.z`` against a plain matmul of the pattern with the key stream's value projection."""
    cfg = model.config
    inputs = make_inputs(batch=2, padding=True)
    out, c = H.run_with_cache(model, inputs)
    enc, h = model.lxmert.encoder, cfg.num_attention_heads
    checks = []
    for i, layer in enumerate(enc.layer):
        checks.append(("lang", i, out.lang_hidden[i], layer.attention.self.value))
    for i, layer in enumerate(enc.r_layers):
        checks.append(("vis", i, out.vis_hidden[i], layer.attention.self.value))
    for i, x in enumerate(enc.x_layers):
        checks.append(("l2v", i, out.vis_hidden[cfg.r_layers + i], x.visual_attention.att.value))
        checks.append(("v2l", i, out.lang_hidden[cfg.l_layers + i], x.visual_attention.att.value))
    for fam, i, keys, value in checks:
        v = _values(keys, value, h).transpose(1, 2)  # (B, H, M, E)
        want = (c[f"{fam}.{i}.pattern"] @ v).transpose(1, 2)  # (B, N, H, E)
        torch.testing.assert_close(c[f"{fam}.{i}.z"], want, atol=ATOL, rtol=0, msg=lambda m: f"{fam}.{i}: {m}")


def test_a_replaced_state_is_what_later_layers_read(model):
    inputs = make_inputs(batch=2)
    with torch.no_grad():
        clean = model(**inputs)
    k = model.config.l_layers  # last language state before the cross layers
    new = torch.randn_like(clean.lang_hidden[k])
    out = H.run_with_hooks(model, inputs, {f"hidden.lang.{k}": lambda v, _n: new})
    assert torch.equal(out.lang_hidden[k], new)
    for j in range(k):
        assert torch.equal(out.lang_hidden[j], clean.lang_hidden[j])
    assert (out.lang_hidden[k + 1] - clean.lang_hidden[k + 1]).abs().max() > 1e-2
    assert (out.vis_hidden[-1] - clean.vis_hidden[-1]).abs().max() > 1e-2  # regions hear the words (v2l)
    same = H.run_with_hooks(model, inputs, {"*": lambda v, _n: v.clone()})
    torch.testing.assert_close(same.question_answering_score, clean.question_answering_score, atol=0, rtol=0)


def test_zeroed_heads_agree_on_both_attention_paths(model):
    """``.z`` hooks run on the fused kernel too (no maps): zeroing heads gives the same answer."""
    inputs = make_inputs(batch=2)
    drop = {"l2v.1.z": lambda z, _n: z * torch.tensor([0.0, 1, 1, 0])[None, None, :, None],
            "vis.0.z": lambda z, _n: torch.zeros_like(z)}
    with_maps = H.run_with_hooks(model, inputs, drop)
    fused = H.run_with_hooks(model, {**inputs, "output_attentions": False}, drop)
    torch.testing.assert_close(fused.question_answering_score, with_maps.question_answering_score, atol=ATOL, rtol=0)
    with torch.no_grad():
        clean = model(**inputs)
    assert (with_maps.question_answering_score - clean.question_answering_score).abs().max() > 1e-4


def test_hooks_that_cannot_run_are_errors(model):
    inputs = make_inputs(batch=1)
    with pytest.raises(RuntimeError, match=r"lang\.0\.pattern.*output_attentions=True"):
        H.run_with_hooks(model, {**inputs, "output_attentions": False}, {"lang.0.pattern": lambda v, n: None})
    vision = model.encode_image(inputs["visual_feats"], inputs["visual_pos"])
    text = {"input_ids": inputs["input_ids"], "vision": vision}
    with pytest.raises(RuntimeError, match=r"hidden\.vis\.1.*vision= is given"):
        H.run_with_hooks(model, text, {"hidden.vis.1": lambda v, n: None})
    # a cross layer's vision state is computed with vision= too
    H.run_with_hooks(model, text, {f"hidden.vis.{model.config.r_layers + 1}": lambda v, n: None})
    assert H.image_side("hidden.vis.3", model.config) and not H.image_side("hidden.vis.4", model.config)
    with pytest.raises(KeyError, match=r"no hook point 'hidden\.lang\.99'.*hook_table"):
        H.run_with_hooks(model, inputs, {"hidden.lang.99": lambda v, n: None})
    with pytest.raises(KeyError, match=r"no hook point 'l3v\.\*'"):
        H.select_names(model, "l3v.*")
    with pytest.raises(ValueError, match=r"hook on 'pooled' returned \(1, 3\); it must return a tensor of \(1, 32\)"):
        H.run_with_hooks(model, inputs, {"pooled": lambda v, n: torch.zeros(1, 3)})


def test_hooks_are_gone_after_the_block_even_after_an_error(model):
    inputs = make_inputs(batch=1)
    points = H.hook_points(model)
    with torch.no_grad(), H.hooks(model, {"hidden.lang.*": lambda v, n: v * 0}):
        pass_through = model(**inputs)
    assert float(pass_through.lang_hidden[-1].abs().max()) == 0.0
    assert all(not p._forward_hooks for p in points.values())
    with pytest.raises(ZeroDivisionError):
        with torch.no_grad(), H.hooks(model, {"pooled": lambda v, n: 1 / 0}):
            model(**inputs)
    assert all(not p._forward_hooks for p in points.values())
    with torch.no_grad():
        again = model(**inputs)
    assert float(again.lang_hidden[-1].abs().max()) > 0


def test_several_functions_on_one_point_run_in_order(model):
    inputs = make_inputs(batch=1)
    seen = []
    out, cache = H.run_with_cache(model, inputs, ["pooled"],
                                  fns={"pooled": [lambda v, n: v * 2, lambda v, n: seen.append(v.sum()) or v + 1]})
    with torch.no_grad():
        clean = model(**inputs)
    torch.testing.assert_close(cache["pooled"], clean.pooled_output * 2 + 1, atol=ATOL, rtol=0)
    assert math.isclose(float(seen[0]), float(clean.pooled_output.sum() * 2), rel_tol=1e-5)
