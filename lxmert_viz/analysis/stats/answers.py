"""Answer statistics: the answer, the top k, and whether it is right.

``correct`` follows the data set's annotations, each by its owner's rule:

- two or more annotators' answers (VQA v2's ten): the official VQA evaluation's accuracy
  (`vqa_accuracy`, equal to ``vqaEval.py`` of ``GT-Vision-Lab/VQA``): for each annotator,
  min(#other annotators who gave the answer / 3, 1), averaged over the annotators (the ten
  subsets of nine), after the official normalisation (`normalize_answer`) where the annotators
  disagree;
- answer scores (LXMERT's question files): the score of the predicted answer, 0 if absent, looked
  up as the answer is written, as LXMERT's evaluators (``src/tasks/vqa_data.py``,
  ``src/pretrain/lxmert_data.py``) do;
- one gold answer (GQA, the shapes world, easy-vqa) or a one-answer list: 1 if the normalised
  prediction equals the normalised answer, else 0.

The official normalisation (`normalize_answer`): newlines and tabs become spaces and the ends are
stripped; each of ``; / [ ] " { } ( ) = + \\ _ - > < @ ` , ? !`` is deleted where the text has
it beside a space (or has a comma between digits anywhere), else replaced by a space; a period not
followed by a digit is deleted (the official pattern ``(?!<=\\d)(\\.)(?!\\d)`` spells its
look-behind as a look-ahead, so "10." becomes "10" while "1.5" stays; ``re.UNICODE`` is passed as
``sub``'s count, so at most 32 are deleted); then lower case, word by word: number words
none/zero..ten as digits, the articles a/an/the dropped, and the official table of contractions
(``dont`` -> ``don't``). The official script normalises only when the annotators' answers are not
all the same (after stripping), so a prediction "Yes" scores 0 against ten "yes"; ``normalize=
"always"`` (`vqa_accuracy`) is the kit's named alternative that normalises every time.
"""
from __future__ import annotations

import re
from functools import lru_cache

import pyarrow as pa

from ...errors import InputError, InputTypeError
from .registry import FLOATS, Stat, register

_PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!")
_COMMA_DIGITS = re.compile(r"(\d)(,)(\d)")
_PERIOD = re.compile(r"\.(?!\d)")  # what the official "(?!<=\d)(\.)(?!\d)" matches: a period not before a digit
_PERIODS_DELETED = 32  # the official call passes re.UNICODE (32) where sub() takes its count
_NUMBERS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
            "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
_ARTICLES = {"a", "an", "the"}
# The official table of contractions, as pairs "written:meant" (its entries with capitals never
# match, since words are lower-cased first; kept so the table is the official one).
_CONTRACTIONS = dict(pair.split(":") for pair in """
aint:ain't arent:aren't cant:can't couldve:could've couldnt:couldn't couldn'tve:couldn't've
couldnt've:couldn't've didnt:didn't doesnt:doesn't dont:don't hadnt:hadn't hadnt've:hadn't've
hadn'tve:hadn't've hasnt:hasn't havent:haven't hed:he'd hed've:he'd've he'dve:he'd've hes:he's
howd:how'd howll:how'll hows:how's Id've:I'd've I'dve:I'd've Im:I'm Ive:I've isnt:isn't itd:it'd
itd've:it'd've it'dve:it'd've itll:it'll let's:let's maam:ma'am mightnt:mightn't
mightnt've:mightn't've mightn'tve:mightn't've mightve:might've mustnt:mustn't mustve:must've
neednt:needn't notve:not've oclock:o'clock oughtnt:oughtn't ow's'at:'ow's'at 'ows'at:'ow's'at
'ow'sat:'ow's'at shant:shan't shed've:she'd've she'dve:she'd've she's:she's shouldve:should've
shouldnt:shouldn't shouldnt've:shouldn't've shouldn'tve:shouldn't've somebody'd:somebodyd
somebodyd've:somebody'd've somebody'dve:somebody'd've somebodyll:somebody'll somebodys:somebody's
someoned:someone'd someoned've:someone'd've someone'dve:someone'd've someonell:someone'll
someones:someone's somethingd:something'd somethingd've:something'd've something'dve:something'd've
somethingll:something'll thats:that's thered:there'd thered've:there'd've there'dve:there'd've
therere:there're theres:there's theyd:they'd theyd've:they'd've they'dve:they'd've theyll:they'll
theyre:they're theyve:they've twas:'twas wasnt:wasn't wed've:we'd've we'dve:we'd've weve:we've
werent:weren't whatll:what'll whatre:what're whats:what's whatve:what've whens:when's whered:where'd
wheres:where's whereve:where've whod:who'd whod've:who'd've who'dve:who'd've wholl:who'll whos:who's
whove:who've whyll:why'll whyre:why're whys:why's wont:won't wouldve:would've wouldnt:wouldn't
wouldnt've:wouldn't've wouldn'tve:wouldn't've yall:y'all yall'll:y'all'll y'allll:y'all'll
yall'd've:y'all'd've y'alld've:y'all'd've y'all'dve:y'all'd've youd:you'd youd've:you'd've
you'dve:you'd've youll:you'll youre:you're youve:you've
""".split())
NORMALIZE = ("official", "always")
"""When `vqa_accuracy` normalises: as the official script (only where the annotators disagree), or always."""


def _strip(answer) -> str:
    return str(answer).replace("\n", " ").replace("\t", " ").strip()


def _punctuation(text: str) -> str:
    """The official processPunctuation: marks beside a space (or any text with a digit,digit) go."""
    delete_all = _COMMA_DIGITS.search(text) is not None
    out = text
    for p in _PUNCT:
        out = out.replace(p, "" if delete_all or (p + " " in text) or (" " + p in text) else " ")
    return _PERIOD.sub("", out, count=_PERIODS_DELETED)


def _digits_articles(text: str) -> str:
    """The official processDigitArticle: lower case, number words as digits, no articles, contractions."""
    words = [_NUMBERS.get(w, w) for w in text.lower().split()]
    return " ".join(_CONTRACTIONS.get(w, w) for w in words if w not in _ARTICLES)


def normalize_answer(answer: str) -> str:
    """An answer in the official VQA evaluation's normal form (see the module docstring).

    Args:
        answer: an annotator's answer or a prediction.

    Returns:
        The normalised text (what the official script compares where annotators disagree).

    Example:
        >>> normalize_answer(" Two dogs! "), normalize_answer("the 1.5"), normalize_answer("10."), normalize_answer("dont")
        ('2 dogs', '1.5', '10', "don't")
    """
    return _digits_articles(_punctuation(_strip(answer)))


def vqa_accuracy(prediction: str, answers, normalize: str = "official") -> float:
    """The official VQA accuracy of ``prediction`` against the annotators' ``answers``.

    For each annotator: min(#other annotators whose answer equals the prediction / 3, 1); the
    mean over annotators, summed in their order as ``vqaEval.py`` sums (equal to its per-question
    ``avgGTAcc`` bit for bit; it reports ``round(100 * acc, 2)``).

    Args:
        prediction: the model's answer.
        answers: every annotator's answer (VQA v2: ten), in the annotation file's order.
        normalize: ``"official"``: normalise answers and prediction only when the annotators'
            answers are not all the same, as the official script does; ``"always"``: the kit's
            alternative, normalise every time (``"Yes"`` then scores 1 against ten ``"yes"``).
            One answer is scored by exact match after normalisation under both (the official
            script, which leaves each annotator out, would give 0 to every prediction).

    Returns:
        The accuracy, 0..1.

    Example:
        >>> vqa_accuracy("yes", ["yes"] * 2 + ["no"] * 8)        # (2 x 1/3 + 8 x 2/3) / 10
        0.6
        >>> vqa_accuracy("10", ["10."] * 8 + ["10"] * 2)         # "10." normalises to "10"
        1.0
        >>> vqa_accuracy("Yes", ["yes"] * 10), vqa_accuracy("Yes", ["yes"] * 10, normalize="always")
        (0.0, 1.0)
    """
    if normalize not in NORMALIZE:
        raise InputError(f"normalize must be one of {NORMALIZE}, got {normalize!r}")
    if isinstance(answers, str):
        raise InputTypeError(f"answers must be a list of every annotator's answer, got the string {answers!r}")
    answers = [_strip(a) for a in answers]
    if not answers:
        raise InputError("vqa_accuracy needs at least one annotated answer")
    p = _strip(prediction)
    if len(answers) == 1:
        return float(normalize_answer(answers[0]) == normalize_answer(p))
    if normalize == "always" or len(set(answers)) > 1:
        answers = [normalize_answer(a) for a in answers]
        p = normalize_answer(p)
    total = sum(a == p for a in answers)
    per_annotator = [min(1, float(total - (a == p)) / 3) for a in answers]
    return float(sum(per_annotator)) / len(per_annotator)


@lru_cache(maxsize=1 << 16)
def _normal(answer: str) -> str:
    return normalize_answer(answer)


def vqa_answer_scores(answers, names, normalize: str = "official") -> dict[str, float]:
    """The official accuracy that each candidate answer would get: what a soft target or a gold
    score table over an answer vocabulary should hold so that it agrees with `vqa_accuracy`.

    Args:
        answers: every annotator's answer (VQA v2: ten).
        names: the candidate answers (an answer head's vocabulary).
        normalize: as in `vqa_accuracy`.

    Returns:
        ``{name: accuracy}`` for the names whose accuracy is above 0.

    Example:
        >>> vqa_answer_scores(["10."] * 8 + ["10"] * 2, ["10", "ten", "11"])
        {'10': 1.0, 'ten': 1.0}
    """
    answers = list(answers)
    stripped = {_strip(a) for a in answers}
    forms = stripped if normalize == "official" and len(stripped) == 1 and len(answers) > 1 else \
        {_normal(a) for a in stripped}
    out = {}
    for name in names:
        if (_strip(name) if forms is stripped else _normal(name)) in forms:
            acc = vqa_accuracy(name, answers, normalize)
            if acc > 0:
                out[name] = acc
    return out


def correctness(prediction: str, example) -> tuple[float | None, str | None]:
    """(correct, rule) of a prediction for a data-set `Example`; (None, None) without annotations."""
    if example is None:
        return None, None
    if example.answers:
        return vqa_accuracy(prediction, example.answers), "vqa-soft" if len(example.answers) >= 10 else "soft"
    if example.answer_scores is not None:  # LXMERT's evaluators: `label[ans] if ans in label`, as written
        return float(example.answer_scores.get(str(prediction), 0.0)), "score"
    if example.answer is not None:
        return float(normalize_answer(prediction) == normalize_answer(example.answer)), "exact"
    return None, None


def _answer(result, encoded, ctx) -> dict:
    a, p = result.answers[0]
    return {"answer": a, "answer_prob": float(p)}


def _topk(result, encoded, ctx) -> dict:
    top = result.answers[: ctx.top_k]
    return {"topk_answers": [a for a, _ in top], "topk_probs": [float(p) for _, p in top]}


def _correct(result, encoded, ctx) -> dict:
    value, rule = correctness(result.answers[0][0], encoded.example)
    if value is None and encoded.gold >= 0:  # an example built by hand: its gold index
        value, rule = float(int(result.logits.argmax()) == encoded.gold), "exact"
    return {"correct": value, "correct_rule": rule}


register(Stat("answer", _answer, lambda s: {"answer": pa.string(), "answer_prob": pa.float32()},
              "the top answer and its probability"))
register(Stat("topk", _topk, lambda s: {"topk_answers": pa.list_(pa.string()), "topk_probs": FLOATS},
              "the k best answers and their probabilities (k = top_k, default 5)"))
register(Stat("correct", _correct, lambda s: {"correct": pa.float32(), "correct_rule": pa.string()},
              "VQA soft accuracy / answer score / exact match of the top answer (see correct_rule); "
              "null without annotations"))
