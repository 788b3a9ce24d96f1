"""Shapes-world WordPiece vocabulary: BERT layout, determinism, unknown words, save/load."""
from __future__ import annotations

from lxmert_viz.shapes.world.dataset import make_dataset
from lxmert_viz.shapes.world.vocab import SPECIAL_TOKENS, load_wordpiece, save_wordpiece, train_wordpiece


def corpus() -> list[str]:
    return [s.question.text for s in make_dataset(60, seed=0)] + ["is there not a black shape in the image?"]


def test_bert_layout_and_whole_words():
    tok = train_wordpiece(corpus())
    vocab = tok.get_vocab()
    assert [vocab[s] for s in SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    enc = tok.encode("What color is the Circle?")
    assert enc.tokens == ["[CLS]", "what", "color", "is", "the", "circle", "?", "[SEP]"]
    assert enc.ids[0] == vocab["[CLS]"] and enc.ids[-1] == vocab["[SEP]"]


def test_same_corpus_same_vocabulary():
    c = corpus()
    assert train_wordpiece(c).get_vocab() == train_wordpiece(list(reversed(c))).get_vocab()


def test_unknown_words_degrade_and_never_crash():
    tok = train_wordpiece(corpus())
    enc = tok.encode("is the ω left of the Über-thing ??? 😀")
    assert enc.tokens[3] == "[UNK]"  # unseen character: the whole word is [UNK]
    assert "[UNK]" in enc.tokens[-3:]
    assert all(0 <= i < tok.get_vocab_size() for i in enc.ids)
    assert tok.encode("").tokens == ["[CLS]", "[SEP]"]


def test_vocab_size_limit_and_save_load(tmp_path):
    small = train_wordpiece(corpus(), vocab_size=60)
    assert small.get_vocab_size() <= 60
    assert "[UNK]" not in small.encode("what color is the circle?").tokens  # pieces cover it
    tok = train_wordpiece(corpus())
    save_wordpiece(tok, tmp_path)
    lines = (tmp_path / "vocab.txt").read_text().splitlines()
    assert lines[:5] == list(SPECIAL_TOKENS) and len(lines) == tok.get_vocab_size()
    back = load_wordpiece(tmp_path)
    q = "how many red circles are there?"
    assert back.encode(q).ids == tok.encode(q).ids
