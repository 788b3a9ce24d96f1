"""Which of a question's words carry its content, and the rule for questions the model cannot read.

A *content word* is a word that is not punctuation and not a function word (`FUNCTION_WORDS`:
question words, articles, auxiliaries, prepositions, pronouns). The rule (`check_known_words`):

* a question whose words are all known is answered, whatever they are ("what is this?" is a real
  VQA question);
* a question with unknown words (`Tokens.unknown`: ``[UNK]`` or spelled out letter by letter) but at
  least one known content word is answered, and the unknown words are on the result
  (``Result.unknown_words``; the command line prints them);
* a question with unknown words and **no known content word** ("what is the zorb?", emoji, another
  script) is refused with `UnknownWordsError`, or answered with an `UnknownWordsWarning` when the
  caller asks to go on (``unknown="warn"``): the model would answer it confidently from the
  function words and the image alone.
"""
from __future__ import annotations

import unicodedata
import warnings

from ..errors import InputError, UnknownWordsError, UnknownWordsWarning
from .text import Tokens

FUNCTION_WORDS = frozenset("""
a an the this that these those there here it its is are was were be been being am do does did
what which who whom whose where when why how many much
of in on at to for from with by about into onto over under than as and or not no
any some all can could should would will has have had there's what's it's
i you he she we they me him her us them my your his our their
""".split())
UNKNOWN_POLICIES = ("error", "warn")


def is_punctuation(word: str) -> bool:
    """Every character is Unicode punctuation (``P*``); emoji and other symbols are words."""
    return all(unicodedata.category(ch).startswith("P") for ch in word)


def content_words(tokens: Tokens) -> tuple[str, ...]:
    """The question's content words, in order (neither punctuation nor `FUNCTION_WORDS`).

    Example:
        >>> content_words(result.tokens)            # "what color is the circle?"
        ('color', 'circle')
    """
    return tuple(w for w in tokens.words if not is_punctuation(w) and w.lower() not in FUNCTION_WORDS)


def known_content_words(tokens: Tokens) -> tuple[str, ...]:
    """Content words the vocabulary knows."""
    unknown = set(tokens.unknown)
    return tuple(w for w in content_words(tokens) if w not in unknown)


def check_known_words(tokens: Tokens, question: str, unknown: str = "error") -> None:
    """Refuse (or warn about) a question with unknown words and no known content word.

    Args:
        tokens: the question's `Tokens`.
        question: its text, for the message.
        unknown: ``"error"`` (raise `UnknownWordsError`) or ``"warn"`` (an `UnknownWordsWarning`).

    Example:
        >>> check_known_words(kit.tokenizer("what is the zorb?"), "what is the zorb?")
        Traceback (most recent call last):
        ...
        lxmert_viz.errors.UnknownWordsError: the model's vocabulary knows no content word of 'what is the
        zorb?': 'zorb' became [UNK] or single letters; rephrase it with words it knows, or pass
        unknown="warn" to answer anyway
    """
    if unknown not in UNKNOWN_POLICIES:
        raise InputError(f"unknown must be one of {UNKNOWN_POLICIES}, got {unknown!r}")
    if not tokens.unknown or known_content_words(tokens):
        return
    listed = ", ".join(repr(w) for w in tokens.unknown)
    message = (f"the model's vocabulary knows no content word of {question!r}: {listed} became [UNK] or "
               f"single letters")
    if unknown == "warn":
        warnings.warn(message + "; answering anyway (unknown='warn')", UnknownWordsWarning, stacklevel=3)
        return
    raise UnknownWordsError(message + '; rephrase it with words it knows, or pass unknown="warn" to '
                            "answer anyway", tokens.unknown)
