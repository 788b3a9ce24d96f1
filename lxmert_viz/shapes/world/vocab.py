"""A small BERT-style WordPiece vocabulary for the shapes world, trained with ``tokenizers``.

Shape letters: V vocabulary size.

BERT's pipeline: BertNormalizer (lower case, strip accents, clean text, CJK spacing),
BertPreTokenizer, WordPiece with ``##`` continuation pieces, post-processor ``[CLS] ... [SEP]``.
Special tokens get the first ids: ``[PAD]``=0, ``[UNK]``=1, ``[CLS]``=2, ``[SEP]``=3, ``[MASK]``=4.
Every corpus word is one token; a word with a character the corpus never had becomes ``[UNK]``;
other unknown words fall back on character pieces. Same corpus, same vocabulary (see
``train_wordpiece`` for why the ``tokenizers`` WordPiece trainer is not used).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from ...errors import MissingFileError
from .dataset import make_dataset
from .easyvqa import load_easyvqa_questions

SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def _bert_tokenizer(vocab: dict[str, int]) -> Tokenizer:
    """A BERT-style WordPiece tokenizer over a fixed vocabulary."""
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=True
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return tok


def train_wordpiece(texts: Iterable[str], vocab_size: int = 256, min_frequency: int = 1) -> Tokenizer:
    """Build a WordPiece tokenizer from a question corpus, deterministically.

    The vocabulary is: the special tokens, every character of the corpus alone and as ``##c``
    (sorted), then whole words by falling count (ties by spelling) while ``vocab_size`` allows.
    Corpus words thus stay single tokens (one token per word is what attention plots want), rarer
    words fall back on pieces, and a word with an unseen character becomes ``[UNK]``.
    ``tokenizers.trainers.WordPieceTrainer`` is not used: it breaks ties between equally frequent
    merges in hash order, so the same corpus gave different vocabularies in different processes
    (3 distinct vocabularies in 4 runs, tokenizers 0.23).

    Args:
        texts: questions (any order, duplicates allowed; counts include duplicates).
        vocab_size: largest vocabulary size (the shapes-world corpus needs about 120).
        min_frequency: least count of a word to become a token.

    Returns:
        A ``tokenizers.Tokenizer`` whose ``encode`` gives ``[CLS] ... [SEP]``.

    Example:
        >>> tok = train_wordpiece(["what color is the circle?", "is there a red shape?"])
        >>> tok.encode("what color is the circle?").tokens
        ['[CLS]', 'what', 'color', 'is', 'the', 'circle', '?', '[SEP]']
    """
    split = _bert_tokenizer({s: i for i, s in enumerate(SPECIAL_TOKENS)})
    counts: Counter = Counter()
    for text in texts:
        norm = split.normalizer.normalize_str(text)
        counts.update(w for w, _ in split.pre_tokenizer.pre_tokenize_str(norm))
    chars = sorted({c for w in counts for c in w})
    pieces = list(SPECIAL_TOKENS) + chars + [f"##{c}" for c in chars if c.isalnum()]
    words = sorted((w for w, n in counts.items() if n >= min_frequency and len(w) > 1), key=lambda w: (-counts[w], w))
    pieces += words[: max(0, vocab_size - len(pieces))]
    return _bert_tokenizer({p: i for i, p in enumerate(pieces)})


def save_wordpiece(tok: Tokenizer, directory: str | Path) -> Path:
    """Write ``tokenizer.json`` and a BERT ``vocab.txt`` (one piece per line, line number = id).

    Args:
        tok: the tokenizer.
        directory: folder to write into (created if needed).

    Returns:
        The folder.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    tok.save(str(d / "tokenizer.json"))
    pieces = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    if [i for _, i in pieces] != list(range(len(pieces))):
        raise RuntimeError("vocabulary ids are not dense 0..V-1; vocab.txt cannot hold it")
    (d / "vocab.txt").write_text("".join(f"{p}\n" for p, _ in pieces), encoding="utf-8")
    return d


def load_wordpiece(directory: str | Path) -> Tokenizer:
    """Read ``tokenizer.json`` from a folder written by ``save_wordpiece``.

    Args:
        directory: the folder.

    Returns:
        The tokenizer.
    """
    path = Path(directory) / "tokenizer.json"
    if not path.is_file():
        raise MissingFileError(f"no tokenizer.json in {directory}")
    return Tokenizer.from_file(str(path))


def question_corpus(n_scenes: int = 2000, seed: int = 0, easyvqa: bool = True) -> list[str]:
    """The question texts a shapes-world vocabulary is trained on.

    Args:
        n_scenes: generated scenes whose balanced questions are included (``make_dataset``).
        seed: data set seed.
        easyvqa: also include easy-vqa's train questions (needs the ``easy-vqa`` package).

    Returns:
        Sorted distinct questions.
    """

    texts = {s.question.text for s in make_dataset(n_scenes, seed)}
    if easyvqa:

        texts |= {q for q, _, _ in load_easyvqa_questions("train")}
    return sorted(texts)
