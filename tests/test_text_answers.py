"""Tokenizer against `transformers`' BERT tokenizer; answer files; top-k answers."""
from __future__ import annotations

import json
import math

import pytest
import torch

from lxmert_viz import Answers, LxmertConfig, Tokenizer
from lxmert_viz.model.pretrained import CheckpointError, load_answers, load_tokenizer

pytestmark = pytest.mark.usefixtures("one_thread")

VOCAB = (
    "[PAD] [unused0] [UNK] [CLS] [SEP] [MASK] ? . , ! ' - what color is the circle circles how many "
    "are there cafe left of red square blue triangle a shape ##s ##ing big ##ger than right to "
    "green object objects does it have in picture and or"
).split()
QUESTIONS = [
    "What color is the circle?",
    "How many circles are there?",
    "Is the CAFÉ left of the red square!",
    "what is zorblax, the shape?",
    "Is  there\ta blue-triangle ... right to it?",
    "Does the picture have a bigger green object, or objects?",
    "Café's  ShApE?",
]


@pytest.fixture
def vocab_dir(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return tmp_path


def bert_tokenizer(vocab_dir):
    """`transformers`' BERT tokenizer on the same vocab.txt (the fast one in transformers 5)."""
    transformers = pytest.importorskip("transformers")
    return transformers.BertTokenizerFast.from_pretrained(str(vocab_dir), do_lower_case=True)


def python_bert_tokenizer(vocab_dir):
    """The pure-Python WordPiece tokenizer (`BertTokenizer` before v5, `BertTokenizerLegacy` after)."""
    pytest.importorskip("transformers")
    try:
        from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as Slow
    except ImportError:
        from transformers import BertTokenizer as Slow
    return Slow(vocab_file=str(vocab_dir / "vocab.txt"), do_lower_case=True)


def test_ids_equal_bert_tokenizer(vocab_dir):
    ref, slow = bert_tokenizer(vocab_dir), python_bert_tokenizer(vocab_dir)
    tok = Tokenizer.from_vocab(vocab_dir / "vocab.txt")
    for q in QUESTIONS:
        ours = tok(q)
        assert list(ours.ids) == ref(q)["input_ids"] == slow(q)["input_ids"], q
        assert ours.pieces[0] == "[CLS]" and ours.pieces[-1] == "[SEP]"
        assert list(ours.pieces) == ref.convert_ids_to_tokens(ref(q)["input_ids"])
    assert tok("what is zorblax?").pieces == ("[CLS]", "what", "is", "[UNK]", "?", "[SEP]")
    assert tok("CAFÉ").pieces == ("[CLS]", "cafe", "[SEP]")  # lower-cased, accent stripped


def test_tokenizer_json_and_load_tokenizer(vocab_dir):
    ref = bert_tokenizer(vocab_dir)
    ref.save_pretrained(vocab_dir / "saved")
    assert (vocab_dir / "saved" / "tokenizer.json").is_file()
    from_json = load_tokenizer(vocab_dir / "saved")
    from_vocab = load_tokenizer(vocab_dir)
    for q in QUESTIONS:
        assert from_json(q).ids == from_vocab(q).ids == tuple(ref(q)["input_ids"])


def test_truncation_keeps_sep(vocab_dir):
    ref = bert_tokenizer(vocab_dir)
    tok = Tokenizer.from_vocab(vocab_dir / "vocab.txt")
    long_q = " ".join(["what color is the big red circle"] * 5) + "?"
    out = tok(long_q)
    assert len(out) == 20 and out.truncated and out.pieces[-1] == "[SEP]" and out.pieces[0] == "[CLS]"
    assert list(out.ids) == ref(long_q, truncation=True, max_length=20)["input_ids"]
    assert not tok("what color?").truncated
    assert len(tok(long_q, max_length=8)) == 8


def test_word_index_maps_pieces_to_words(vocab_dir):
    tok = Tokenizer.from_vocab(vocab_dir / "vocab.txt")
    out = tok("How many circles are bigger?")
    assert out.pieces == ("[CLS]", "how", "many", "circles", "are", "big", "##ger", "?", "[SEP]")
    assert out.word_index[0] is None and out.word_index[-1] is None
    assert out.word_index[5] == out.word_index[6] and out.words[out.word_index[6]] == "bigger"
    assert [out.words[i] for i in out.word_index[1:-1]] == ["how", "many", "circles", "are", "bigger", "bigger", "?"]
    assert out.find("bigger") == 5


def test_empty_question_is_an_error(vocab_dir):
    tok = Tokenizer.from_vocab(vocab_dir / "vocab.txt")
    for q in ("", "   \t"):
        with pytest.raises(ValueError, match="the question is empty"):
            tok(q)
    with pytest.raises(TypeError, match="question must be a string"):
        tok(None)
    (vocab_dir / "nothing").mkdir()
    with pytest.raises(FileNotFoundError, match="nothing holds neither tokenizer.json nor vocab.txt"):
        load_tokenizer(vocab_dir / "nothing")


# -- answers -----------------------------------------------------------------------------------
NAMES = ["yes", "no", "red", "2"]


@pytest.mark.parametrize("name, content", [
    ("answers.json", NAMES),
    ("vqa_answers.json", {a: i for i, a in enumerate(NAMES)}),
    ("trainval_label2ans.json", NAMES),
    ("answers.json", {str(i): a for i, a in enumerate(NAMES)}),
])
def test_answer_files(tmp_path, name, content):
    (tmp_path / name).write_text(json.dumps(content))
    answers = load_answers(tmp_path, LxmertConfig.tiny(num_qa_labels=4))
    assert answers.names == NAMES and answers.index("red") == 2


def test_answers_from_config_id2label_and_count_check(tmp_path):
    cfg = LxmertConfig.tiny(num_qa_labels=4, id2label={i: a for i, a in enumerate(NAMES)})
    cfg.to_json_file(tmp_path / "config.json")
    assert load_answers(tmp_path).names == NAMES  # config read from the directory
    assert load_answers(tmp_path, LxmertConfig.tiny(num_qa_labels=4)) is None  # nothing anywhere
    (tmp_path / "answers.json").write_text(json.dumps(NAMES[:3]))
    with pytest.raises(CheckpointError, match=r"answers\.json has 3 answers but the config says num_qa_labels=4"):
        load_answers(tmp_path)
    (tmp_path / "answers.json").write_text(json.dumps({"0": "yes", "2": "no"}))
    with pytest.raises(ValueError, match="without gaps"):
        load_answers(tmp_path)
    assert Answers.from_config({0: "LABEL_0", 1: "LABEL_1"}) is None


def test_top_k_against_hand_softmax():
    answers = Answers(NAMES)
    logits = torch.tensor([0.5, -1.0, 2.0, 1.5])
    exps = [math.exp(x) for x in logits.tolist()]
    probs = [e / sum(exps) for e in exps]
    top = answers.top_k(logits, k=3)
    assert [a for a, _ in top] == ["red", "2", "yes"]
    for (_, p), i in zip(top, (2, 3, 0)):
        assert p == pytest.approx(probs[i], abs=1e-6)
    assert len(answers.top_k(logits, k=10)) == 4
    with pytest.raises(ValueError, match=r"logits must be \(4,\) for this vocabulary, got \(3,\)"):
        answers.top_k(logits[:3])


def test_unknown_words_are_recorded():
    import lxmert_viz

    kit = lxmert_viz.load()
    assert kit.tokenizer("what color is the circle?").unknown == ()
    assert kit.tokenizer("what is the meaning of life?").unknown == ("meaning", "life")  # spelled out
    assert kit.tokenizer("is there a 🦄?").unknown == ("🦄",)  # a character the vocabulary never had
    assert kit.ask(lxmert_viz.assets.sample_paths()[0], "what colour is the circle?").unknown_words == ("colour",)
