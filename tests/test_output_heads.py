"""The pretraining output heads through the kit: masked words, image-text matching, region labels."""
from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from lxmert_viz.inputs.model_inputs import model_inputs
from lxmert_viz.output_heads import MATCHED, label_names, masked_tokens, shapes_label_names

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.exactness]  # exactness: scripts/test.sh reruns it on other kernels
# float32 tolerance, derived: eps (1.2e-7) x sqrt(reduction length, <= 256 here: 16) x |values| (<= ~5 in
# these tiny models) = 1e-5; it holds with ATEN_CPU_CAPABILITY=default and 1 thread (scripts/test.sh runs both)
ATOL = 1e-5


def test_masked_tokens(kit):
    toks, where = masked_tokens(kit.tokenizer, "Is the [mask] circle left of the [MASK]?")
    assert toks.pieces[:4] == ("[CLS]", "is", "the", "[MASK]") and toks.pieces[-1] == "[SEP]"
    assert where == [3, 8] and all(toks.ids[i] == kit.tokenizer.mask_id for i in where)
    assert toks.words[toks.word_index[3]] == "[MASK]" and toks.words[toks.word_index[4]] == "circle"
    assert masked_tokens(kit.tokenizer, "[MASK] circle")[1] == [1]
    with pytest.raises(ValueError, match=r"has no \[MASK\]"):
        masked_tokens(kit.tokenizer, "is the circle left?")
    with pytest.raises(ValueError, match=r"is 2[0-9] tokens; the tokenizer's limit is 20"):
        masked_tokens(kit.tokenizer, "is the [MASK] circle " + "left of the red square " * 4)


def test_fill_reads_the_masked_word_head(kit, circle_scenes):
    f = kit.fill(circle_scenes[0], "the [MASK] circle is on the left")
    with torch.no_grad():
        out = kit.model(**model_inputs(f.tokens, kit.extract(circle_scenes[0])))
    want = torch.softmax(out.prediction_logits[0, f.positions], -1).numpy()
    np.testing.assert_allclose(f.probs, want, atol=1e-6)
    assert [p for _, p in f.with_image[0]] == sorted((p for _, p in f.with_image[0]), reverse=True)
    assert not {w for w, _ in f.with_image[0]} & {"[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"}
    torch.testing.assert_close(torch.tensor(f.l2v(0)), torch.tensor(f.result.attn("l2v")[f.positions[0]]))
    assert 0.0 <= f.image_gain() <= 1.0


def test_without_the_image_the_words_are_the_same_for_any_image(kit, circle_scenes):
    """The blind run is a function of the text alone (l2v zeroed); masking every region is not."""
    text = "the [MASK] circle is on the left"
    a, b = kit.fill(circle_scenes[0], text), kit.fill(circle_scenes[1], text)
    assert a.with_image[0][0][0] != b.with_image[0][0][0]  # the image decides the colour
    np.testing.assert_allclose(a.blind_probs, b.blind_probs, atol=ATOL)

    def all_regions_masked(img):
        kw = model_inputs(a.tokens, kit.extract(img))
        kw["visual_attention_mask"] = torch.zeros(kw["visual_feats"].shape[:2])
        with torch.no_grad():
            return torch.softmax(kit.model(**kw).prediction_logits[0, a.positions], -1).numpy()

    assert np.abs(all_regions_masked(circle_scenes[0]) - all_regions_masked(circle_scenes[1])).max() > 1e-3


def test_matched_is_index_1_as_transformers_documents():
    transformers = pytest.importorskip("transformers")
    src = inspect.getsource(transformers.LxmertForPreTraining.forward)
    assert "1 indicates that the sentence does match the image" in src
    assert "matched_loss = self.loss_fcts[\"ce\"](cross_relationship_score.view(-1, 2), matched_label.view(-1))" in src
    assert MATCHED == 1


def test_match_scores_are_the_softmax_of_index_1(kit, circle_scenes):
    sentences = ["a black circle", "there is a red rectangle on the right of the teal triangle", "a yellow square"]
    m = kit.match(circle_scenes[0], sentences)
    assert m.logits.shape == (3, 2) and m.trained == kit.model.config.task_matched
    for i, s in enumerate(sentences):
        kw = model_inputs(kit.tokenizer(s), kit.extract(circle_scenes[0]))
        with torch.no_grad():
            logits = kit.model(**kw).cross_relationship_score[0]
        np.testing.assert_allclose(m.logits[i], logits.numpy(), atol=ATOL)  # padding in the batch changes nothing
        assert m.scores[i] == pytest.approx(float(torch.softmax(logits, -1)[1]), abs=1e-6)
    assert [s for s, _ in m.ranked()] == [sentences[i] for i in np.argsort(-m.scores)]
    assert kit.match(circle_scenes[0], "a black circle").score == pytest.approx(m.scores[0], abs=ATOL)
    with pytest.raises(ValueError, match="3 sentences were scored"):
        m.score
    with pytest.raises(TypeError, match="non-empty list of strings"):
        kit.match(circle_scenes[0], [])


def test_region_labels_read_the_object_head(kit, circle_scenes):
    labels = kit.region_labels(circle_scenes[0], "what color is the circle?", top_k=2)
    regions = kit.extract(circle_scenes[0]).real()
    with torch.no_grad():
        out = kit.model(**model_inputs(kit.tokenizer("what color is the circle?"), regions))
    np.testing.assert_allclose(labels.object_probs, torch.softmax(out.obj_predictions["obj"][0], -1).numpy(), atol=1e-6)
    assert len(labels.objects) == regions.num_real and all(len(o) == 2 for o in labels.objects)
    assert labels.attributes is None  # the embedded model has no attribute head
    assert labels.names.scene_row == 0 and "untrained row" in labels.label(0)
    names = shapes_label_names().objects
    from lxmert_viz.shapes.data import object_label

    assert names[object_label("teal", "triangle")] == "teal triangle" and len(set(names)) == 24


def test_label_names_for_visual_genome_checkpoints(tmp_path):
    from types import SimpleNamespace

    from lxmert_viz import LxmertConfig

    cfg = LxmertConfig.tiny(num_object_labels=1600, num_attr_labels=400)
    fake = SimpleNamespace(model=SimpleNamespace(config=cfg), extractor=object())
    generic = label_names(fake, vg_vocab=tmp_path)
    assert generic.objects[5] == "obj5" and "no Visual Genome vocabulary files" in generic.source
    (tmp_path / "objects_vocab.txt").write_text("".join(f"thing{i},synonym\n" for i in range(1600)))
    (tmp_path / "attributes_vocab.txt").write_text("".join(f"quality{i}\n" for i in range(400)))
    vg = label_names(fake, vg_vocab=tmp_path)
    assert vg.objects[5] == "thing5" and vg.attributes[7] == "quality7" and str(tmp_path) in vg.source
    other = label_names(SimpleNamespace(model=SimpleNamespace(config=LxmertConfig.tiny()), extractor=object()))
    assert other.objects == tuple(f"obj{i}" for i in range(11)) and other.source == "generic names"


def test_a_model_without_pretraining_heads_says_so(kit, circle_scenes):
    from lxmert_viz.kit import Kit
    from lxmert_viz.model.lxmert import Lxmert

    qa_only = Lxmert(kit.model.config, output_heads=("qa",))
    k = Kit(qa_only, kit.tokenizer, kit.answers, kit.extractor)
    for call in (lambda: k.fill(circle_scenes[0], "a [MASK]"), lambda: k.match(circle_scenes[0], "a circle"),
                 lambda: k.region_labels(circle_scenes[0])):
        with pytest.raises(ValueError, match=r"no pretraining output head.*unc-nlp/lxmert-base-uncased"):
            call()


def test_the_unknown_word_rule_of_ask_holds_for_fill_match_and_ablation():
    import lxmert_viz
    from lxmert_viz.errors import UnknownWordsError

    kit = lxmert_viz.load()
    sample = lxmert_viz.assets.sample_paths()[0]
    with pytest.raises(UnknownWordsError, match="zorb"):
        kit.fill(sample, "the [MASK] zorb")
    with pytest.raises(UnknownWordsError, match="zorb"):
        kit.match(sample, ["a black circle", "the zorb"])
    with pytest.raises(UnknownWordsError, match="zorb"):
        kit.ask_ablated(sample, "what is the zorb?", ["l2v.0.0"])
    with pytest.warns(UserWarning, match="zorb"):
        assert kit.fill(sample, "the [MASK] zorb", unknown="warn").tokens.unknown == ("zorb",)
