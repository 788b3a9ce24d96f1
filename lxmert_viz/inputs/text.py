"""Questions to token ids: a BERT WordPiece tokenizer through the `tokenizers` package.

``[CLS] question [SEP]``, lower-cased, at most 20 tokens by default (LXMERT's fine-tuning setting),
and each word piece mapped back to the word it came from, for display.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import CheckpointError, MissingFileError, QuestionError, QuestionTypeError, UnknownNameError
from ..printing import Card, Printable, listing
from .files import read_utf8

DEFAULT_MAX_LENGTH = 20
MAX_QUESTION_CHARS = 1000
"""Longest question text accepted (the model reads at most ``max_length`` tokens of it anyway)."""
SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[PAD]", "[UNK]")


def _describe_chars(text: str, at_most: int = 5) -> str:
    shown = [f"U+{ord(c):04X} {unicodedata.name(c, unicodedata.category(c))} at {i}"
             for i, c in enumerate(text) if not c.isspace()][:at_most]
    return ", ".join(shown)


def check_question(question, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """The question, if the tokenizer can read it; otherwise `QuestionError` naming what is wrong.

    Refused: a non-string, an empty or blank one, one longer than ``max_chars``, one with a lone
    surrogate (half of a UTF-16 pair: not a character, cannot be encoded). Control and zero-width
    characters are dropped by the tokenizer's normaliser (BERT's ``clean_text``); a question made
    of nothing else is refused by `Tokenizer.__call__`.

    Example:
        >>> check_question("what\\ud800?")
        Traceback (most recent call last):
        ...
        lxmert_viz.errors.QuestionError: the question holds a lone surrogate U+D800 at position 4 (half of a
        UTF-16 pair, not a character): decode the text with errors="replace" or remove it
    """
    if not isinstance(question, str):
        raise QuestionTypeError(f"a question must be a string, got {type(question).__name__}")
    if not question.strip():
        raise QuestionError("the question is empty")
    if len(question) > max_chars:
        raise QuestionError(f"the question is {len(question):,} characters long; at most {max_chars:,} are read")
    for i, ch in enumerate(question):
        if 0xD800 <= ord(ch) <= 0xDFFF:
            raise QuestionError(f"the question holds a lone surrogate U+{ord(ch):04X} at position {i} (half "
                                f"of a UTF-16 pair, not a character): decode the text with errors=\"replace\" "
                                f"or remove it")
    return question


@dataclass(frozen=True, repr=False)
class Tokens(Printable):
    """One tokenized question.

    Attributes:
        ids: token ids, ``[CLS] … [SEP]`` included, no padding.
        pieces: the word pieces (``"[CLS]"``, ``"what"``, ``"##s"``, …).
        word_index: per piece, the index of its word in ``words`` (None for special tokens).
        words: the question's words as the pre-tokenizer split them.
        truncated: True when the question did not fit in the maximum length.
        unknown: the words the vocabulary does not know (``[UNK]``, or spelled out in single
            characters; see `Tokenizer`), in order.
    """

    ids: tuple[int, ...]
    pieces: tuple[str, ...]
    word_index: tuple[int | None, ...]
    words: tuple[str, ...]
    truncated: bool = False
    unknown: tuple[str, ...] = ()

    def _card(self) -> Card:
        rows = [("pieces", listing(self.pieces, 16))]
        if self.unknown:
            rows.append(("unknown words", listing(self.unknown)))
        return Card(f"Tokens: {len(self.ids)}{' (truncated)' if self.truncated else ''}", rows,
                    "tokens.ids / pieces / words / labels()")

    def __len__(self) -> int:
        return len(self.ids)

    def labels(self) -> list[str]:
        """Display label per token: the piece, de-duplicated by position when it repeats."""
        seen: dict[str, int] = {}
        out = []
        for p in self.pieces:
            seen[p] = seen.get(p, 0) + 1
            out.append(p if seen[p] == 1 else f"{p} ({seen[p]})")
        return out

    def find(self, word: str) -> int:
        """Index of the first token whose piece or word equals ``word`` (case-insensitive)."""
        w = word.lower()
        for i, (p, wi) in enumerate(zip(self.pieces, self.word_index)):
            if p.lower() == w or (wi is not None and self.words[wi].lower() == w):
                return i
        raise UnknownNameError(f"{word!r} is not among the tokens {list(self.pieces)}")


class Tokenizer:
    """WordPiece tokenizer for LXMERT checkpoints.

    Example:
        >>> from lxmert_viz.assets import shapes_model_dir
        >>> tok = Tokenizer.from_pretrained(shapes_model_dir())
        >>> tok("What color is the circle?").pieces
        ('[CLS]', 'what', 'color', 'is', 'the', 'circle', '?', '[SEP]')
    """

    def __init__(self, tokenizer, max_length: int = DEFAULT_MAX_LENGTH):
        from tokenizers import processors

        self._tok = tokenizer
        vocab = tokenizer.get_vocab()
        lacking = [s for s in SPECIAL_TOKENS if s not in vocab]
        if lacking:
            raise CheckpointError(f"the vocabulary ({len(vocab)} tokens) has no {', '.join(lacking)} token; "
                                  f"a BERT vocabulary needs {', '.join(SPECIAL_TOKENS)}")
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
            raise QuestionError(f"max_length must be an integer >= 2 (room for [CLS] and [SEP]), got {max_length!r}")
        self.max_length = max_length
        self.cls_id, self.sep_id, self.pad_id = vocab["[CLS]"], vocab["[SEP]"], vocab["[PAD]"]
        self.unk_id = vocab["[UNK]"]
        self.mask_id = vocab.get("[MASK]")
        self._tok.no_truncation()
        self._tok.no_padding()
        self._tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", self.cls_id), ("[SEP]", self.sep_id)]
        )

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size()

    def vocab(self) -> dict[str, int]:
        """Every word piece and its id.

        Example:
            >>> kit.tokenizer.vocab()["circle"] == kit.tokenizer.token_to_id("circle")
            True
        """
        return self._tok.get_vocab()

    def token_to_id(self, piece: str) -> int | None:
        """The id of a word piece, or None when the vocabulary has no such piece."""
        return self._tok.token_to_id(piece)

    def id_to_token(self, i: int) -> str | None:
        """The word piece of an id, or None when the id is out of the vocabulary."""
        return self._tok.id_to_token(int(i))

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """Character span of each token of ``text`` (special tokens get ``(0, 0)``)."""
        return list(self._tok.encode(text).offsets)

    @classmethod
    def from_vocab(cls, vocab_file: str | Path, max_length: int = DEFAULT_MAX_LENGTH) -> Tokenizer:
        """From a BERT ``vocab.txt`` (lower-cased, accents stripped, as `bert-base-uncased`)."""
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import models, normalizers, pre_tokenizers

        path = Path(vocab_file)
        if not path.is_file():
            raise MissingFileError(f"no vocabulary file at {path}")
        vocab = read_vocab(path)
        tok = HFTokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
        tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                    strip_accents=None, lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        return cls(tok, max_length)

    @classmethod
    def from_file(cls, tokenizer_json: str | Path, max_length: int = DEFAULT_MAX_LENGTH) -> Tokenizer:
        from tokenizers import Tokenizer as HFTokenizer

        path = Path(tokenizer_json)
        if not path.is_file():
            raise MissingFileError(f"no tokenizer file at {path}")
        try:
            hf = HFTokenizer.from_file(str(path))
        except Exception as err:  # tokenizers raises a bare Exception for bad JSON
            raise CheckpointError(f"{path} is not a tokenizers JSON file: {str(err)[:200]}") from None
        try:
            return cls(hf, max_length)
        except CheckpointError as err:
            raise CheckpointError(f"{path}: {err}") from None

    @classmethod
    def from_pretrained(cls, directory: str | Path, max_length: int = DEFAULT_MAX_LENGTH) -> Tokenizer:
        """From a checkpoint directory: ``tokenizer.json`` first, else ``vocab.txt``."""
        d = Path(directory)
        if (d / "tokenizer.json").is_file():
            return cls.from_file(d / "tokenizer.json", max_length)
        if (d / "vocab.txt").is_file():
            return cls.from_vocab(d / "vocab.txt", max_length)
        raise MissingFileError(f"{d} holds neither tokenizer.json nor vocab.txt")

    def __call__(self, question: str, max_length: int | None = None) -> Tokens:
        """Tokenize one question (see `check_question` for what is refused).

        Raises:
            QuestionError: an empty, too long or unreadable question, or one with no word left once
                control and zero-width characters are dropped.
        """
        check_question(question)
        limit = self.max_length if max_length is None else max_length
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 2:
            raise QuestionError(f"max_length must be an integer >= 2 (room for [CLS] and [SEP]), got {limit!r}")
        tokens = self.fragment(question, limit)
        if len(tokens.ids) <= 2 or not tokens.words:
            raise QuestionError(f"the question {question!r} has no words once control and zero-width "
                                f"characters are dropped (it holds {_describe_chars(question)})")
        if all(all(unicodedata.category(ch).startswith("P") for ch in w) for w in tokens.words):
            raise QuestionError(f"the question {question!r} is only punctuation; ask with words")
        return tokens

    def fragment(self, text: str, max_length: int | None = None) -> Tokens:
        """``[CLS] text [SEP]`` without the question checks (a piece of a sentence may be only
        punctuation, e.g. the ``?`` after a ``[MASK]``); the caller checks the whole text."""
        limit = self.max_length if max_length is None else max_length
        enc = self._tok.encode(text)
        ids, pieces, word_ids = list(enc.ids), list(enc.tokens), list(enc.word_ids)
        truncated = len(ids) > limit
        if truncated:  # keep [CLS] and the first words, close with [SEP]
            ids = ids[: limit - 1] + [ids[-1]]
            pieces = pieces[: limit - 1] + [pieces[-1]]
            word_ids = word_ids[: limit - 1] + [None]
        pre = self._tok.pre_tokenizer
        norm = self._tok.normalizer
        normed = norm.normalize_str(text) if norm is not None else text
        words = tuple(w for w, _ in pre.pre_tokenize_str(normed)) if pre is not None else tuple(normed.split())
        return Tokens(tuple(ids), tuple(pieces), tuple(word_ids), words, truncated,
                      self._unknown(ids, pieces, word_ids, words))

    def _unknown(self, ids, pieces, word_ids, words) -> tuple[str, ...]:
        """Words the vocabulary does not know: any of their tokens is ``[UNK]``, or they were
        spelled out in single characters (two or more one-letter pieces, the WordPiece fallback
        for a word with no longer piece in the vocabulary)."""
        by_word: dict[int, list[tuple[int, str]]] = {}
        for i, p, w in zip(ids, pieces, word_ids):
            if w is not None and w < len(words):
                by_word.setdefault(w, []).append((i, p))
        out = []
        for w, toks in by_word.items():
            spelled = len(toks) > 1 and all(len(p.removeprefix("##")) == 1 for _, p in toks)
            if spelled or any(i == self.unk_id for i, _ in toks):
                out.append(words[w])
        return tuple(dict.fromkeys(out))

    def batch(self, questions: list[str], max_length: int | None = None) -> tuple[list[Tokens], dict]:
        """Tokenize and pad: returns the `Tokens` and ``input_ids``/``attention_mask`` (B, T) tensors."""
        if isinstance(questions, str):
            raise QuestionTypeError("batch takes a list of questions, got one string")
        questions = list(questions)
        if not questions:
            raise QuestionError("no questions: give at least one")
        toks = []
        done: dict[str, Tokens] = {}  # a data set repeats its questions; Tokens are immutable
        for i, q in enumerate(questions):
            if isinstance(q, str) and q in done:
                toks.append(done[q])
                continue
            try:
                toks.append(self(q, max_length))
            except QuestionError as err:
                if len(questions) == 1:
                    raise
                raise type(err)(f"question {i}: {err}") from None
            if isinstance(q, str):
                done[q] = toks[-1]
        t = max(len(x) for x in toks)
        ids = torch.tensor([[*x.ids, *[self.pad_id] * (t - len(x))] for x in toks], dtype=torch.long)
        mask = torch.tensor([[1] * len(x) + [0] * (t - len(x)) for x in toks], dtype=torch.long)
        return toks, {"input_ids": ids, "attention_mask": mask}

    def save(self, directory: str | Path) -> None:
        """Write ``tokenizer.json`` and ``vocab.txt``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self._tok.save(str(d / "tokenizer.json"))
        vocab = sorted(self._tok.get_vocab().items(), key=lambda kv: kv[1])
        (d / "vocab.txt").write_text("".join(f"{tok}\n" for tok, _ in vocab), encoding="utf-8")


def read_vocab(path: Path) -> dict[str, int]:
    """A BERT ``vocab.txt``: one token a line, id = line number (blank lines keep their number).

    Raises:
        CheckpointError: an empty or binary file (NUL bytes), invalid UTF-8, or a token on two
            lines (the ids would be ambiguous); each names the file and the line.
    """
    text = read_utf8(path, "a vocab.txt")
    if not text.strip():
        raise CheckpointError(f"{path} is empty; a vocab.txt holds one token a line")
    vocab: dict[str, int] = {}
    for i, line in enumerate(text.split("\n")):  # only \n ends a line, as in BERT's reader
        tok = line.removesuffix("\r")
        if not tok:
            continue
        if tok in vocab:
            raise CheckpointError(f"{path} line {i + 1}: the token {tok!r} is also on line {vocab[tok] + 1}; "
                                  f"each token must appear once")
        vocab[tok] = i
    return vocab
