"""Checkpoints to `Lxmert`: `transformers` directories, hub ids and the original release's files.

What loads (see `convert_state_dict` for the key mapping):
- a directory saved by `transformers` (`LxmertModel`, `LxmertForQuestionAnswering`,
  `LxmertForPreTraining`): ``config.json`` plus ``model.safetensors``, ``pytorch_model.bin`` or a
  sharded ``*.index.json``; safetensors is preferred;
- a directory saved by transformers 4.x's TensorFlow classes (`TFLxmertModel`,
  `TFLxmertForPreTraining`): ``config.json`` plus ``tf_model.h5``, read with `h5py` alone (no
  TensorFlow; see `lxmert_viz.model.tf_checkpoint`), used when there is no PyTorch file; their
  ``model.safetensors`` (``save_pretrained(..., safe_serialization=True)``, marked format ``tf``)
  too;
- a hub id (``unc-nlp/lxmert-vqa-uncased``) through `huggingface_hub`, when it is installed and online;
- the original LXMERT release (github.com/airsplay/lxmert): ``bert.`` instead of ``lxmert.``,
  ``module.`` from DataParallel, ``lxrt_encoder.model.`` and ``logit_fc.`` in the VQA/GQA
  fine-tuned ``.pth`` files. A bare weights file needs ``config=``.

Loading never unpickles code: ``.bin``/``.pth`` go through ``torch.load(weights_only=True)``. Every
missing, unexpected or mis-shaped key is an error that names it (``strict=False`` reports instead).
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import ConfigError, InputError, MissingFileError
from ..inputs.answers import Answers
from ..inputs.text import DEFAULT_MAX_LENGTH, Tokenizer
from ..printing import Card, Printable
from ..printing import listing as listed
from .checkpoint import (
    WEIGHT_SUFFIXES,
    CheckpointError,
    check_values,
    find_weights,
    listing,
    read_json,
    read_state_dict,
    resolve,
)
from .config import LxmertConfig, default_answer_scoring
from .lxmert import OUTPUT_HEADS, Lxmert
from .tf_checkpoint import is_tf_safetensors, read_tf_safetensors, read_tf_weights, tf_name_guess

log = logging.getLogger(__name__)

ANSWER_FILES = ("answers.json", "vqa_answers.json", "gqa_answers.json", "trainval_label2ans.json",
                "answers.txt")
TIED_KEY = "cls.predictions.decoder.weight"
WORD_EMB_KEY = "lxmert.embeddings.word_embeddings.weight"
QA_OUT_KEY = "answer_head.logit_fc.3.weight"
# Which key prefixes make up each head.
OUTPUT_HEAD_PREFIXES = {"qa": ("answer_head.",), "pretraining": ("cls.", "obj_predict_head.")}


@dataclass(repr=False)
class LoadingReport(Printable):
    """What `from_pretrained` did; attached to the model as ``model.loading_report``.

    Attributes:
        source: the path or hub id given; directory: where the files were read.
        weights: the weight files read.
        output_heads: the output heads built; dropped: keys of output heads not asked for (not loaded).
        renamed: notes on key conversions (prefixes stripped or added, TensorFlow names).
        sources: for a TensorFlow checkpoint, parameter name -> the TF weight it came from.
        missing, unexpected, mismatched: only non-empty with ``strict=False``.
        notes: anything else worth knowing (e.g. an untied decoder that was tied).
        answer_scoring: how the answer head's logits become scores, and why (config, or the
            documented default `lxmert_viz.model.config.default_answer_scoring`).
    """

    source: str
    directory: str | None
    weights: list[str]
    output_heads: tuple[str, ...]
    dropped: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    answer_scoring: str | None = None
    sources: dict[str, str] = field(default_factory=dict)

    def _card(self) -> Card:
        rows = [("weights", listed(self.weights)), ("output heads", listed(self.output_heads) or "none"),
                ("answer scoring", self.answer_scoring), ("notes", listed(self.notes) or "none")]
        for what in ("dropped", "missing", "unexpected", "mismatched"):
            if getattr(self, what):
                rows.append((what, listed(getattr(self, what))))
        return Card(f"LoadingReport {self.source}", rows, "report.renamed / sources for how each weight was named")

def _read_config(path: Path) -> LxmertConfig:
    if not path.is_file():
        raise MissingFileError(f"no config.json in {path.parent} (a transformers checkpoint directory has one)")
    data = read_json(path)
    try:
        return LxmertConfig.from_dict(data)
    except ConfigError as err:
        raise type(err)(f"{path} is not a usable LXMERT config: {err}", field=err.field) from None
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path} is not an LXMERT config: {err}") from None


# -- key conversion ----------------------------------------------------------------------------
_BACKBONE_TOP = ("embeddings.", "encoder.", "pooler.")


def _unwrapped(key: str) -> str:
    """Without DataParallel's ``module`` parts, wherever they sit: the original VQA code wrapped
    only its encoder (``lxrt_encoder.model.module.bert.…``); no LXMERT parameter is named so."""
    return ".".join(part for part in key.split(".") if part != "module")


def convert_state_dict(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Rename any known LXMERT key layout to this model's (`transformers`' head-model names).

    Mapping, applied in order (a new dict is returned; ``state`` is left as it is):
        ``module.``                  -> stripped, at any depth (DataParallel / DistributedDataParallel);
        ``lxrt_encoder.model.``      -> stripped (original VQA/GQA fine-tuned models);
        ``bert.``                    -> ``lxmert.`` (original release);
        ``logit_fc.``                -> ``answer_head.logit_fc.`` (original VQA/GQA answer head);
        ``embeddings.``/``encoder.``/``pooler.`` at top level -> under ``lxmert.`` (`LxmertModel`);
        LayerNorm ``gamma``/``beta`` -> ``weight``/``bias`` (TF-era BERT names);
        ``…embeddings.position_ids`` -> dropped (a buffer older `transformers` saved).

    Returns:
        the renamed state dict and a list of notes saying what was renamed.
    """
    counts: dict[str, int] = {}  # note -> how many keys it applied to
    source: dict[str, str] = {}  # new key -> the key it came from

    def bump(note):
        counts[note] = counts.get(note, 0) + 1

    out: dict[str, torch.Tensor] = {}
    bare_backbone = not any(_unwrapped(k).startswith(("lxmert.", "bert.", "lxrt_encoder.")) for k in state)
    for key, value in state.items():
        new = _unwrapped(key)
        if new != key:
            bump("stripped 'module.'")
        if new.startswith("lxrt_encoder.model."):
            new = new[len("lxrt_encoder.model."):]
            bump("stripped 'lxrt_encoder.model.'")
        if new.startswith("bert."):
            new = "lxmert." + new[len("bert."):]
            bump("'bert.' -> 'lxmert.'")
        elif new.startswith("logit_fc."):
            new = "answer_head." + new
            bump("'logit_fc.' -> 'answer_head.logit_fc.'")
        elif bare_backbone and new.startswith(_BACKBONE_TOP):
            new = "lxmert." + new
            bump("added 'lxmert.' (LxmertModel checkpoint)")
        if new.endswith((".gamma", ".beta")):
            new = new.rsplit(".", 1)[0] + (".weight" if new.endswith(".gamma") else ".bias")
            bump("LayerNorm gamma/beta -> weight/bias")
        if new.endswith("embeddings.position_ids"):
            bump("dropped the position_ids buffer")
            continue
        if new in out:
            raise CheckpointError(f"keys {source[new]!r} and {key!r} both map to {new!r}")
        out[new], source[new] = value, key
    return out, [f"{note} ({n} keys)" for note, n in counts.items()]


def heads_in(state: dict[str, torch.Tensor]) -> tuple[str, ...]:
    """The output heads whose weights a converted state dict holds, in `OUTPUT_HEADS` order."""
    return tuple(h for h in OUTPUT_HEADS if any(k.startswith(OUTPUT_HEAD_PREFIXES[h]) for k in state))


# -- the model ---------------------------------------------------------------------------------
def from_pretrained(
    path_or_hub_id: str | os.PathLike,
    output_heads: tuple[str, ...] | list[str] | str | None = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    strict: bool = True,
    config: LxmertConfig | str | os.PathLike | None = None,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Lxmert:
    """Load an LXMERT checkpoint into `Lxmert`, in eval mode.

    Args:
        path_or_hub_id: a checkpoint directory, a weights file (with ``config=``, or a
            ``config.json`` beside it), or a hub id such as ``"unc-nlp/lxmert-vqa-uncased"``.
        output_heads: output heads to build (``"qa"``, ``"pretraining"``); None builds those the checkpoint has.
            Weights of output heads left out are dropped and reported; asking for a missing head is an error.
        dtype, device: where the model's parameters go.
        strict: False loads what fits and reports missing/unexpected/mis-shaped keys (warning)
            instead of raising.
        config: overrides the checkpoint's ``config.json`` (an `LxmertConfig` or a path).
        revision, cache_dir: passed to `huggingface_hub.snapshot_download` for hub ids.

    Returns:
        The model, with ``model.config`` and ``model.loading_report`` (`LoadingReport`).

    Example:
        >>> from lxmert_viz.assets import shapes_model_dir
        >>> model = from_pretrained(shapes_model_dir())                   # the embedded model's folder
        >>> model.output_heads, model.config.num_qa_labels
        (('qa', 'pretraining'), 20)
        >>> vqa = from_pretrained("unc-nlp/lxmert-vqa-uncased")           # doctest: +SKIP
        >>> vqa.output_heads, vqa.config.num_qa_labels                    # doctest: +SKIP
        (('qa',), 3129)
    """
    directory, files = _locate(resolve(path_or_hub_id, revision=revision, cache_dir=cache_dir))
    if config is None:
        config = _read_config(directory / "config.json")
    elif not isinstance(config, LxmertConfig):
        config = _read_config(Path(config))
    report = LoadingReport(source=str(path_or_hub_id), directory=str(directory),
                           weights=[str(f) for f in files], output_heads=())
    state = _read_weights(files, report)
    check_values(state, ", ".join(str(f) for f in files))
    renamed = report.renamed
    report.output_heads = wanted = _keep_heads(state, output_heads, files, report)
    if config.answer_scoring is None and "qa" in wanted:
        scoring, why = default_answer_scoring((str(path_or_hub_id), str(directory)), wanted,
                                              original_release=any("logit_fc" in note for note in renamed))
        config = config.replace(answer_scoring=scoring)
        report.answer_scoring = f"{scoring}: {why} (config.json does not say; set answer_scoring there to choose)"
    elif "qa" in wanted:
        report.answer_scoring = f"{config.answer_scoring}: stated by the config"
    _check_answer_head(state, config, wanted, report)
    _drop_tied_decoder(state, config, wanted, report)
    model = _build(config, wanted, state, strict, report, dtype)
    model.to(device=device)
    model.eval()
    model.loading_report = report
    log.info("loaded %s: output heads %s from %s", report.source, wanted, ", ".join(report.weights))
    return model


def _read_weights(files: list[Path], report: LoadingReport) -> dict:
    """The files' state dict in this model's names; TensorFlow's ``.h5`` through `read_tf_weights`,
    safetensors that TF wrote (format ``tf``) through `read_tf_safetensors`."""
    if any(f.suffix == ".h5" for f in files):
        if len(files) != 1:
            raise CheckpointError(f"a TensorFlow checkpoint is one tf_model.h5 file, got {listing(map(str, files))}")
        tf = read_tf_weights(files[0])
    elif files[0].suffix == ".safetensors" and is_tf_safetensors(files[0]):
        tf = read_tf_safetensors(files)
    else:
        state, report.renamed = convert_state_dict(read_state_dict(files))
        return state
    report.renamed, report.sources = tf.notes, tf.sources
    return tf.state


def _named(key: str, report: LoadingReport) -> str:
    """A parameter name, with the TF weight it came from when the checkpoint is TensorFlow's."""
    return f"{key} (from the {report.sources[key]})" if key in report.sources else key


def _locate(local: Path) -> tuple[Path, list[Path]]:
    """(checkpoint directory, weight files) of a resolved path: a folder or one weights file."""
    if local.is_dir():
        return local, find_weights(local)
    if local.suffix in WEIGHT_SUFFIXES:
        return local.parent, [local]
    raise NotADirectoryError(f"{local} is neither a checkpoint directory nor a weights file "
                             f"({', '.join(WEIGHT_SUFFIXES)})")


def _keep_heads(state: dict, output_heads, files: list[Path], report: LoadingReport) -> tuple[str, ...]:
    """The output heads to build; the weights of the checkpoint's other heads are dropped and reported."""
    present = heads_in(state)
    wanted = _wanted_heads(output_heads, present, files)
    for h in set(present) - set(wanted):
        dropped = [k for k in state if k.startswith(OUTPUT_HEAD_PREFIXES[h])]
        for k in dropped:
            del state[k]
        report.dropped.extend(sorted(dropped))
    if report.dropped:
        _warn(f"output heads {sorted(set(present) - set(wanted))} not asked for: dropped {len(report.dropped)} "
              f"weights ({listing(report.dropped, 3)})")
    return wanted


def _check_answer_head(state: dict, config: LxmertConfig, wanted: tuple[str, ...], report: LoadingReport) -> None:
    """The answer head's size must be the config's ``num_qa_labels``."""
    if "qa" not in wanted or QA_OUT_KEY not in state:
        return
    n = state[QA_OUT_KEY].shape[0]
    if n != config.num_qa_labels:
        raise CheckpointError(f"the answer head has {n} answers ({QA_OUT_KEY} is {tuple(state[QA_OUT_KEY].shape)}) "
                              f"but the config says num_qa_labels={config.num_qa_labels}")
    if config.id2label and len(config.id2label) != n:
        report.notes.append(f"config id2label has {len(config.id2label)} labels for {n} answers")


def _drop_tied_decoder(state: dict, config: LxmertConfig, wanted: tuple[str, ...], report: LoadingReport) -> None:
    """A tied masked-word decoder is the word-embedding matrix: drop the stored copy, noting a difference."""
    if not ("pretraining" in wanted and config.tie_word_embeddings and TIED_KEY in state):
        return
    decoder = state.pop(TIED_KEY)
    emb = state.get(WORD_EMB_KEY)
    if emb is None or decoder.shape != emb.shape or not torch.equal(decoder, emb):
        note = (f"{TIED_KEY} differs from {WORD_EMB_KEY}; tie_word_embeddings=True so the word "
                f"embeddings serve as the decoder (set it False in config.json to keep both)")
        report.notes.append(note)
        _warn(note)


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=4)  # _warn <- helper <- from_pretrained <- the caller


def _wanted_heads(output_heads, present: tuple[str, ...], files: list[Path]) -> tuple[str, ...]:
    if output_heads is None:
        return present
    if isinstance(output_heads, str):
        output_heads = (output_heads,)
    unknown = [h for h in output_heads if h not in OUTPUT_HEADS]
    if unknown:
        raise InputError(f"unknown output heads {unknown}; choose from {OUTPUT_HEADS}")
    lacking = [h for h in output_heads if h not in present]
    if lacking:
        where = ", ".join(str(f) for f in files)
        keys = " / ".join(p + "*" for h in lacking for p in OUTPUT_HEAD_PREFIXES[h])
        raise CheckpointError(f"the checkpoint has no {lacking} head ({keys} weights) in {where}; "
                              f"it has {list(present) or 'no output heads'}")
    return tuple(h for h in OUTPUT_HEADS if h in output_heads)


_INIT_FUNCTIONS = ("normal_", "uniform_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_",
                   "xavier_normal_", "ones_", "zeros_", "constant_")
_INIT_LOCK = threading.Lock()


@contextlib.contextmanager
def _shapes_only():
    """Build modules on the meta device without running their initialisers.

    Random initialisation of a meta tensor goes through torch's Python reference implementations,
    whose first use imports torch._dynamo (about 1.3 s of start-up on torch 2.13, more than the
    embedded model's whole load); the probe only needs shapes, so ``torch.nn.init``'s functions are
    no-ops while it is built (under a lock: no other thread builds a probe meanwhile).
    """
    with _INIT_LOCK:
        saved = {name: getattr(torch.nn.init, name) for name in _INIT_FUNCTIONS}
        try:
            for name in _INIT_FUNCTIONS:
                setattr(torch.nn.init, name, lambda tensor, *args, **kwargs: tensor)
            with torch.device("meta"):
                yield
        finally:
            for name, fn in saved.items():
                setattr(torch.nn.init, name, fn)


def _build(config, output_heads, state, strict, report, dtype) -> Lxmert:
    """Check every key and shape against a shape-only model, then load (assigning the tensors)."""
    with _shapes_only():
        probe = Lxmert(config, output_heads=output_heads)
    expected = {k: v.shape for k, v in probe.state_dict().items()}
    if "pretraining" in output_heads and config.tie_word_embeddings:
        expected.pop(TIED_KEY, None)  # the same tensor as the word embeddings
    floats = {k for k, v in probe.state_dict().items() if v.is_floating_point()}
    wrong_dtype = sorted(f"{k} ({state[k].dtype})" for k in floats & set(state) if not state[k].is_floating_point())
    if wrong_dtype:
        raise CheckpointError(f"the weights in {', '.join(report.weights)} hold integer or boolean tensors where "
                              f"LXMERT has floating-point weights: {listing(wrong_dtype)}; the file is not a "
                              f"float checkpoint (a quantised or converted one?)")
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = sorted(f"{_named(k, report)}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k])}"
                        for k in set(expected) & set(state) if state[k].shape != expected[k])
    shown_missing, shown_unexpected = missing, unexpected
    if report.sources:  # TensorFlow: say which TF weight is missing or unused
        shown_missing = [f"{k} (TF name .../{tf_name_guess(k, probe.get_submodule(k.rpartition('.')[0]))})"
                         for k in missing]
        shown_unexpected = [_named(k, report) for k in unexpected]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys: {listing(shown_missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys: {listing(shown_unexpected)}")
    if mismatched:
        problems.append(f"{len(mismatched)} mis-shaped keys: {listing(mismatched)}")
    if problems and strict:
        raise CheckpointError(f"the weights in {', '.join(report.weights)} do not fit LXMERT with output heads "
                              f"{output_heads} and this config: " + "; ".join(problems))
    state = {k: _cast(v, dtype) for k, v in state.items() if k in expected and v.shape == expected[k]}
    if problems:
        report.missing, report.unexpected = missing, unexpected
        report.mismatched = mismatched
        _warn("loaded with strict=False: " + "; ".join(problems))
        model = Lxmert(config, output_heads=output_heads).to(dtype)  # random init for what the checkpoint lacks
        model.load_state_dict(state, strict=False)
        return model
    probe.load_state_dict(state, strict=False, assign=True)
    probe.tie_weights()
    return probe


def _cast(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return t.to(dtype) if t.is_floating_point() else t


# -- tokenizer and answers ---------------------------------------------------------------------
def load_tokenizer(path_or_hub_id: str | os.PathLike, max_length: int | None = None):
    """The checkpoint's `Tokenizer` (``tokenizer.json``, else ``vocab.txt``)."""

    local = resolve(path_or_hub_id)
    directory = local if local.is_dir() else local.parent
    return Tokenizer.from_pretrained(directory, DEFAULT_MAX_LENGTH if max_length is None else max_length)


def load_answers(path_or_hub_id: str | os.PathLike, config: LxmertConfig | None = None) -> Answers | None:
    """The answer vocabulary: an answer file in the directory, else the config's ``id2label``.

    Looks for ``answers.json``, ``vqa_answers.json``, ``gqa_answers.json``,
    ``trainval_label2ans.json`` (original release) and ``answers.txt`` (a JSON list, a dict
    answer->id or id->answer, or one answer a line). Returns None when there is none. When the
    config has ``num_qa_labels``, the count must match.
    """
    local = resolve(path_or_hub_id)
    directory = local if local.is_dir() else local.parent
    if config is None and (directory / "config.json").is_file():
        config = _read_config(directory / "config.json")
    answers, source = None, None
    for name in ANSWER_FILES:
        if (directory / name).is_file():
            answers, source = Answers.from_file(directory / name), str(directory / name)
            break
    if answers is None and config is not None:
        answers, source = Answers.from_config(config.id2label), "config id2label"
    if answers is not None and config is not None and len(answers) != config.num_qa_labels:
        raise CheckpointError(f"{source} has {len(answers)} answers but the config says "
                              f"num_qa_labels={config.num_qa_labels}")
    return answers
