"""Same weights, same inputs: every output `transformers` returns matches ours (fp32, atol 1e-5).

Small random `transformers` models are saved to a temporary folder and loaded with
`lxmert_viz.from_pretrained`; the families `transformers` does not return (v2l, cross_lang,
cross_vis) are checked against a plain-matmul reference computed from the layers' weights.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from helpers import make_inputs, tiny_tf_kwargs

import lxmert_viz

transformers = pytest.importorskip("transformers")

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.exactness]  # exactness: scripts/test.sh reruns it on other kernels

CLASSES = ("LxmertModel", "LxmertForQuestionAnswering", "LxmertForPreTraining")
EXPECTED_HEADS = {"LxmertModel": (), "LxmertForQuestionAnswering": ("qa",),
                  "LxmertForPreTraining": ("qa", "pretraining")}
# float32 tolerance, derived: eps (1.2e-7) x sqrt(reduction length, <= 256 here: 16) x |values| (<= ~5 in
# these tiny models) = 1e-5; it holds with ATEN_CPU_CAPABILITY=default and 1 thread (scripts/test.sh runs both)
ATOL = 1e-5


def build_and_save(class_name: str, directory, safe: bool = True, **config):
    """A random `transformers` model saved to ``directory``; ``safe=False`` writes pytorch_model.bin.

    `transformers` 5 writes only safetensors, so the ``.bin`` variant is written the way older
    versions did: config.json plus ``torch.save`` of the state dict (tied decoder included).
    """
    cfg = transformers.LxmertConfig(**tiny_tf_kwargs(**config))
    ref = getattr(transformers, class_name)(cfg).eval()
    if safe:
        ref.save_pretrained(directory)
    else:
        ref.config.save_pretrained(directory)
        torch.save(ref.state_dict(), directory / "pytorch_model.bin")
    return ref


def reference_outputs(ref, inputs):
    with torch.no_grad():
        out = ref(**inputs, output_attentions=True, output_hidden_states=True, return_dict=True)
    return {k: v for k, v in out.items() if v is not None}


def assert_same(expected: dict, got: dict):
    assert sorted(expected) == sorted(got)
    for key, want in expected.items():
        have = got[key]
        if isinstance(want, tuple):
            assert isinstance(have, tuple) and len(have) == len(want), key
            for i, (w, h) in enumerate(zip(want, have)):
                torch.testing.assert_close(h, w, atol=ATOL, rtol=0, msg=lambda m: f"{key}[{i}]: {m}")
        else:
            torch.testing.assert_close(have, want, atol=ATOL, rtol=0, msg=lambda m: f"{key}: {m}")


def backbone_of(ref):
    return ref if isinstance(ref, transformers.LxmertModel) else ref.lxmert


@pytest.mark.parametrize("padding", [False, True], ids=["no-mask", "padded"])
@pytest.mark.parametrize("class_name", CLASSES)
def test_every_transformers_output_matches(class_name, padding, tmp_path, seed):
    ref = build_and_save(class_name, tmp_path)
    model = lxmert_viz.from_pretrained(tmp_path)
    assert model.output_heads == EXPECTED_HEADS[class_name]
    inputs = make_inputs(batch=3, padding=padding)
    if padding:
        inputs["token_type_ids"] = torch.randint(0, 2, inputs["input_ids"].shape)
    with torch.no_grad():
        ours = model(**inputs)
    assert_same(reference_outputs(ref, inputs), ours.as_transformers())

    # Our hidden tuples start with the embedding outputs, which transformers leaves out.
    bb = backbone_of(ref)
    with torch.no_grad():
        types = inputs.get("token_type_ids", torch.zeros_like(inputs["input_ids"]))
        lang_emb = bb.embeddings(inputs["input_ids"], types)
        vis_emb = bb.encoder.visn_fc(inputs["visual_feats"], inputs["visual_pos"])
    torch.testing.assert_close(ours.lang_hidden[0], lang_emb, atol=ATOL, rtol=0)
    torch.testing.assert_close(ours.vis_hidden[0], vis_emb, atol=ATOL, rtol=0)
    assert len(ours.lang_hidden) == 1 + 2 + 2 and len(ours.vis_hidden) == 1 + 2 + 2


@pytest.mark.parametrize("class_name", ["LxmertForQuestionAnswering", "LxmertForPreTraining"])
def test_pytorch_bin_checkpoint_matches(class_name, tmp_path, seed):
    ref = build_and_save(class_name, tmp_path, safe=False)
    assert (tmp_path / "pytorch_model.bin").is_file() and not (tmp_path / "model.safetensors").exists()
    model = lxmert_viz.from_pretrained(tmp_path)
    inputs = make_inputs(batch=3, padding=True)
    with torch.no_grad():
        ours = model(**inputs)
    assert_same(reference_outputs(ref, inputs), ours.as_transformers())


# -- the families transformers does not return: a plain-matmul reference -------------------------
def _heads(x, lin, n_heads):
    b, n, d = x.shape
    return F.linear(x, lin.weight, lin.bias).view(b, n, n_heads, d // n_heads).transpose(1, 2)  # (B, H, N, E)


def _probs(q_in, k_in, att, mask, n_heads):
    q, k = _heads(q_in, att.query, n_heads), _heads(k_in, att.key, n_heads)
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores + (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    return scores.softmax(-1)  # (B, H, N, M)


def _after_cross(x, other, probs, cross, n_heads):
    """State after the co-attention output sublayer: LayerNorm(dense(probs @ V) + x)."""
    v = _heads(other, cross.att.value, n_heads)
    ctx = (probs @ v).transpose(1, 2).reshape(x.shape)
    out = cross.output
    return F.layer_norm(F.linear(ctx, out.dense.weight, out.dense.bias) + x, x.shape[-1:],
                        out.LayerNorm.weight, out.LayerNorm.bias, out.LayerNorm.eps)


@pytest.mark.parametrize("padding", [False, True], ids=["no-mask", "padded"])
def test_cross_families_against_reference(padding, tmp_path, seed):
    ref = build_and_save("LxmertForPreTraining", tmp_path)
    model = lxmert_viz.from_pretrained(tmp_path)
    inputs = make_inputs(batch=3, padding=padding)
    with torch.no_grad():
        ours = model(**inputs)
        tf_out = reference_outputs(ref, inputs)
    lmask, vmask = inputs.get("attention_mask"), inputs.get("visual_attention_mask")
    n_heads, cfg = ref.config.num_attention_heads, model.config
    att = ours.attentions
    for fam, n in (("l2v", 2), ("v2l", 2), ("cross_lang", 2), ("cross_vis", 2), ("lang", 2), ("vis", 2)):
        assert att[fam].shape[:3] == (3, n, n_heads)
    for i, layer in enumerate(ref.lxmert.encoder.x_layers):
        lang = ours.lang_hidden[cfg.l_layers + i]  # the input states of cross layer i
        vis = ours.vis_hidden[cfg.r_layers + i]
        with torch.no_grad():
            cross = layer.visual_attention
            l2v = _probs(lang, vis, cross.att, vmask, n_heads)
            v2l = _probs(vis, lang, cross.att, lmask, n_heads)
            lang_mid = _after_cross(lang, vis, l2v, cross, n_heads)
            vis_mid = _after_cross(vis, lang, v2l, cross, n_heads)
            cross_lang = _probs(lang_mid, lang_mid, layer.lang_self_att.self, lmask, n_heads)
            cross_vis = _probs(vis_mid, vis_mid, layer.visn_self_att.self, vmask, n_heads)
        torch.testing.assert_close(att["l2v"][:, i], l2v, atol=ATOL, rtol=0)
        torch.testing.assert_close(att["l2v"][:, i], tf_out["cross_encoder_attentions"][i], atol=ATOL, rtol=0)
        torch.testing.assert_close(att["v2l"][:, i], v2l, atol=ATOL, rtol=0)
        torch.testing.assert_close(att["cross_lang"][:, i], cross_lang, atol=ATOL, rtol=0)
        torch.testing.assert_close(att["cross_vis"][:, i], cross_vis, atol=ATOL, rtol=0)
    # Every map is a distribution over its keys, and padded keys get no weight.
    for fam in att:
        torch.testing.assert_close(att[fam].sum(-1), torch.ones(att[fam].shape[:-1]), atol=1e-5, rtol=0)
    if padding:
        assert float(att["v2l"][2, :, :, :, -2:].abs().max()) == 0.0  # example 2 lost its last 2 tokens
        assert float(att["l2v"][2, :, :, :, -2:].abs().max()) == 0.0  # and its last 2 regions


def test_bad_inputs_name_the_shape(tmp_path, seed):
    build_and_save("LxmertForQuestionAnswering", tmp_path)
    model = lxmert_viz.from_pretrained(tmp_path)
    good = make_inputs(batch=2)
    with pytest.raises(ValueError, match=r"visual_feats must be \(batch, regions, 16\), got \(2, 5, 15\)"):
        model(**{**good, "visual_feats": torch.randn(2, 5, 15)})
    with pytest.raises(ValueError, match=r"visual_pos must be \(2, 5, 4\).*got \(2, 4, 4\)"):
        model(**{**good, "visual_pos": torch.rand(2, 4, 4)})
    with pytest.raises(ValueError, match=r"outside 0\.\.98.*max 99"):
        model(**{**good, "input_ids": torch.full((2, 7), 99)})
    with pytest.raises(ValueError, match=r"attention_mask must have the shape of the tokens \(2, 7\), got \(2, 6\)"):
        model(**good, attention_mask=torch.ones(2, 6))
    with pytest.raises(ValueError, match=r"input_ids must be \(batch, tokens\), got shape \(7,\)"):
        model(**{**good, "input_ids": torch.ones(7, dtype=torch.long)})


# -- the pretraining heads, the hook points and head ablation against transformers ----------------
def test_region_heads_match_transformers(tmp_path, seed):
    """transformers computes the object/attribute/feature heads only inside its loss: compare ours
    with its `obj_predict_head` applied to its own vision output."""
    ref = build_and_save("LxmertForPreTraining", tmp_path)
    model = lxmert_viz.from_pretrained(tmp_path)
    inputs = make_inputs(batch=3, padding=True)
    with torch.no_grad():
        ours = model(**inputs)
        tf_out = reference_outputs(ref, inputs)
        want = ref.obj_predict_head(tf_out["vision_hidden_states"][-1])
    assert sorted(ours.obj_predictions) == sorted(want) == ["attr", "feat", "obj"]
    for key in want:
        torch.testing.assert_close(ours.obj_predictions[key], want[key], atol=ATOL, rtol=0, msg=lambda m: f"{key}: {m}")


def test_hook_points_leave_parameters_and_outputs_alone(tmp_path, seed):
    from lxmert_viz.model.hooks import HookPoint, hook_points, run_with_hooks

    ref = build_and_save("LxmertForPreTraining", tmp_path)
    model = lxmert_viz.from_pretrained(tmp_path)
    assert set(model.state_dict()) == set(ref.state_dict())  # no new names, none lost
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in ref.parameters())
    points = hook_points(model)
    assert all(isinstance(p, HookPoint) and not list(p.parameters()) and not list(p.buffers())
               for p in points.values())
    inputs = make_inputs(batch=3, padding=True)
    identity = {name: (lambda v, _n: v.clone()) for name in points}  # every hook runs and replaces
    ours = run_with_hooks(model, inputs, identity)
    assert_same(reference_outputs(ref, inputs), ours.as_transformers())


def _tf_attention_modules(ref, family: str, layer: int):
    """transformers' LxmertAttention module computing ``family``'s layer, and which call of it."""
    enc = ref.lxmert.encoder
    if family == "lang":
        return enc.layer[layer].attention.self, None
    if family == "vis":
        return enc.r_layers[layer].attention.self, None
    x = enc.x_layers[layer]
    if family in ("l2v", "v2l"):  # one module, called for words (queries: T tokens) then regions
        return x.visual_attention.att, family
    return (x.lang_self_att.self if family == "cross_lang" else x.visn_self_att.self), None


@pytest.mark.parametrize("family", ["lang", "vis", "l2v", "v2l", "cross_lang", "cross_vis"])
def test_removing_all_heads_equals_transformers_with_that_attention_zeroed(family, tmp_path, seed):
    """Ablating every head of one family's layer (our hook points) equals transformers' own model with
    that attention's context output set to zero by a forward hook: an independent computation."""
    ref = build_and_save("LxmertForPreTraining", tmp_path)
    model = lxmert_viz.from_pretrained(tmp_path)
    from lxmert_viz.interventions import run_ablated

    inputs = make_inputs(batch=3, tokens=7, regions=5, padding=True)
    layer = 1
    module, direction = _tf_attention_modules(ref, family, layer)

    def zero_context(_mod, args, output):
        queries = args[0].shape[1]
        if direction == "l2v" and queries != 7 or direction == "v2l" and queries != 5:
            return output  # the other direction's call of the shared co-attention
        return (torch.zeros_like(output[0]),) + tuple(output[1:])

    handle = module.register_forward_hook(zero_context)
    try:
        with torch.no_grad():
            want = reference_outputs(ref, inputs)
            want_obj = ref.obj_predict_head(want["vision_hidden_states"][-1])
    finally:
        handle.remove()
    with torch.no_grad():
        clean = model(**inputs)
    ours = run_ablated(model, inputs, [(family, layer, "all")])
    assert_same(want, ours.as_transformers())
    for key in want_obj:
        torch.testing.assert_close(ours.obj_predictions[key], want_obj[key], atol=ATOL, rtol=0)
    # and the ablation did something: the last states moved
    assert (ours.lang_hidden[-1] - clean.lang_hidden[-1]).abs().max() > 1e-3 or \
        (ours.vis_hidden[-1] - clean.vis_hidden[-1]).abs().max() > 1e-3
