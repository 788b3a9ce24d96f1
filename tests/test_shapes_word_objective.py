"""The trainer's word-referent objective: which word, which object, and that it adds no parameters."""
from __future__ import annotations

from safetensors import safe_open

from lxmert_viz.assets import shapes_model_dir
from lxmert_viz.inputs.text import Tokenizer
from lxmert_viz.shapes.data import SCENE_SIZE, object_label, referent_regions, scenes_split
from lxmert_viz.shapes.world.extract import FEATURE_NAMES


def test_referent_regions_name_the_question_word_and_its_object():
    tok = Tokenizer.from_pretrained(shapes_model_dir())
    table, qa, scenes = scenes_split(tok, 40, 5)
    pos, region = referent_regions(table, qa)
    assert pos.shape == region.shape == (len(qa.text),)
    named = 0
    for j, text in enumerate(qa.text):
        if qa.target[j] < 0:
            assert pos[j] == -1 and region[j] == -1, text
            continue
        obj = scenes[int(qa.image[j])].objects[qa.target[j]]
        if table.object_region[int(qa.image[j])][qa.target[j]] < 0:
            assert pos[j] == -1
            continue
        named += 1
        image = int(qa.image[j])
        assert region[j] == table.object_region[image][qa.target[j]]
        assert table.obj[image, region[j]] == object_label(obj.color, obj.shape), text
        x1, y1, x2, y2 = obj.box  # the region's box is the object's (the feature target says where it is)
        cx, cy = (float(table.feats[image, region[j], FEATURE_NAMES.index(k)]) for k in ("center_x", "center_y"))
        assert abs(cx - (x1 + x2) / 2 / SCENE_SIZE) < 0.02 and abs(cy - (y1 + y2) / 2 / SCENE_SIZE) < 0.02, text
        word = tok._tok.id_to_token(int(qa.ids[j, pos[j]]))
        assert word in (obj.color, obj.shape, "shape"), (text, word)  # the naming word's first token
        assert word in text.replace("?", " ").split(), (text, word)
    assert named > 100
    # counting questions name no single object
    assert all(pos[j] == -1 for j, t in enumerate(qa.qtype) if t == "count")


def test_word_loss_is_logged_and_can_be_switched_off(tmp_path):
    from lxmert_viz.shapes.train import train
    from lxmert_viz.shapes.train_config import TrainConfig

    on = train(TrainConfig.tiny(word_weight=0.5), tmp_path / "on", progress=False)
    off = train(TrainConfig.tiny(word_weight=0.0), tmp_path / "off", progress=False)
    assert TrainConfig.load(tmp_path / "on").word_weight == 0.5 and TrainConfig.load(tmp_path / "off").word_weight == 0
    assert all(h["word_loss"] > 0 for h in on["history"])
    assert all(h["word_loss"] == 0 for h in off["history"])
    first, last = on["history"][0]["word_loss"], on["history"][-1]["word_loss"]
    assert last < first, (first, last)
    # the objective reads hidden states through LXMERT's region heads: no new parameters are saved
    keys = [set(safe_open(str(d / "model.safetensors"), "pt").keys()) for d in (tmp_path / "on", tmp_path / "off")]
    assert keys[0] == keys[1]
