"""The hostile corpus, part 2: questions, model inputs, configs and checkpoints."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from hostile_corpus import Case
from safetensors.torch import load_file, save_file

from lxmert_viz import Answers, LxmertConfig, Regions
from lxmert_viz import errors as E
from lxmert_viz.inputs.text import Tokenizer
from lxmert_viz.model.pretrained import from_pretrained, load_answers

SCENE = "what color is the circle?"


def _ask(q, env, **kw):
    return env.kit.ask(env.sample, q, **kw)


def question_cases() -> list[Case]:
    ask = lambda q, env: _ask(q, env)  # noqa: E731
    cases = [
        Case("question", "empty", lambda t: "", ask, E.QuestionError, ("empty",)),
        Case("question", "blank", lambda t: " \t\n ", ask, E.QuestionError, ("empty",)),
        Case("question", "none", lambda t: None, ask, E.QuestionTypeError, ("must be a string", "NoneType")),
        Case("question", "bytes", lambda t: b"what color?", ask, E.QuestionTypeError, ("bytes",)),
        Case("question", "lone-surrogate", lambda t: "what\ud800 color is it?", ask, E.QuestionError,
             ("lone surrogate U+D800", "position 4")),
        Case("question", "zero-width-only", lambda t: "\u200b\u200d\ufeff", ask, E.QuestionError,
             ("ZERO WIDTH SPACE", "no words")),
        Case("question", "control-only", lambda t: "\x00\x07\x1b", ask, E.QuestionError, ("U+0000", "control")),
        Case("question", "emoji-only", lambda t: "\U0001F600\U0001F600?", ask, E.UnknownWordsError, ("\U0001F600",)),
        Case("question", "other-script", lambda t: "猫は何色", ask, E.UnknownWordsError, ("猫", "[UNK]")),
        Case("question", "invented-words", lambda t: "glorp blarg?", ask, E.UnknownWordsError, ("'glorp', 'blarg'",)),
        Case("question", "only-function-and-unknown", lambda t: "what is the zorb?", ask, E.UnknownWordsError,
             ("'zorb'", 'unknown="warn"')),
        Case("question", "punctuation-only", lambda t: "?!?", ask, E.QuestionError, ("'?!?'", "only punctuation")),
        Case("question", "too-long", lambda t: "circle " * 400, ask, E.QuestionError, ("2,800 characters",)),
        Case("question", "ask-many-empty", lambda t: [], lambda q, env: env.kit.ask_many(env.sample, q),
             E.QuestionError, ("no questions",)),
        Case("question", "ask-many-string", lambda t: SCENE, lambda q, env: env.kit.ask_many(env.sample, q),
             E.QuestionTypeError, ("list of questions",)),
        Case("question", "ask-many-bad-item", lambda t: [SCENE, 5], lambda q, env: env.kit.ask_many(env.sample, q),
             E.QuestionTypeError, ("question 1", "int")),
        Case("question", "ask-many-unknown-item", lambda t: [SCENE, "blarg?"],
             lambda q, env: env.kit.ask_many(env.sample, q), E.UnknownWordsError, ("question 1", "'blarg'")),
        Case("question", "top-k-negative", lambda t: -1, lambda k, env: _ask(SCENE, env, top_k=k), E.InputError,
             ("top_k must be at least 1, got -1",)),
        Case("question", "top-k-zero", lambda t: 0, lambda k, env: _ask(SCENE, env, top_k=k), E.InputError, ("got 0",)),
        Case("question", "top-k-string", lambda t: "3", lambda k, env: _ask(SCENE, env, top_k=k), E.InputTypeError,
             ("'3'", "str")),
        Case("question", "top-k-bool", lambda t: True, lambda k, env: _ask(SCENE, env, top_k=k), E.InputTypeError,
             ("True",)),
        Case("question", "unknown-policy", lambda t: "maybe", lambda u, env: _ask(SCENE, env, unknown=u), E.InputError,
             ("'maybe'", "'error', 'warn'")),
        Case("question", "max-length-1", lambda t: 1, lambda m, env: env.kit.tokenizer(SCENE, max_length=m),
             E.QuestionError, ("max_length", "got 1")),
        # documented fallbacks
        Case("question", "unknown-beside-known", lambda t: "what color is the zeppelin?", ask,
             check=lambda r, q, env: _assert_unknown(r, ("zeppelin",))),
        Case("question", "unknown-warn", lambda t: "what is the zorb?", lambda q, env: _warned(q, env),
             check=lambda r, q, env: _assert_unknown(r, ("zorb",))),
        Case("question", "zero-width-inside-word", lambda t: "what col\u200bor is the circle?", ask,
             check=lambda r, q, env: _assert_no_unknown(r)),
        Case("question", "top-k-beyond-vocabulary", lambda t: 999, lambda k, env: _ask(SCENE, env, top_k=k),
             check=lambda r, k, env: _assert_all_answers(r, env)),
    ]
    return cases


def _warned(q, env):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = _ask(q, env, unknown="warn")
    assert any(issubclass(w.category, E.UnknownWordsWarning) and "zorb" in str(w.message) for w in caught)
    return r


def _assert_unknown(result, words):
    assert result.unknown_words == words and result.answers


def _assert_no_unknown(result):
    assert result.unknown_words == () and "color" in result.tokens.pieces


def _assert_all_answers(result, env):
    assert len(result.answers) == len(env.kit.answers)
    assert abs(sum(s for _, s in result.answers) - 1) < 1e-4, "softmax scores of the embedded model sum to 1"


# -- model inputs ---------------------------------------------------------------------------------
def _inputs(**change):
    g = torch.Generator().manual_seed(0)
    kw = {"input_ids": torch.tensor([[2, 5, 6, 3]]), "visual_feats": torch.randn(1, 3, 16, generator=g),
          "visual_pos": torch.rand(1, 3, 4, generator=g)}
    kw.update(change)
    return kw


def model_cases() -> list[Case]:
    run = lambda kw, env: env.tiny(**kw)  # noqa: E731
    nan_feats = torch.randn(1, 3, 16)
    nan_feats[0, 2, 5] = float("nan")
    inf_pos = torch.rand(1, 3, 4)
    inf_pos[0, 1, 0] = float("inf")
    cases = [
        Case("model", "nan-features", lambda t: _inputs(visual_feats=nan_feats.clone()), run, E.ModelInputError,
             ("visual_feats", "NaN", "(0, 2, 5)")),
        Case("model", "inf-boxes", lambda t: _inputs(visual_pos=inf_pos.clone()), run, E.ModelInputError,
             ("visual_pos", "infinite")),
        Case("model", "pixel-boxes", lambda t: _inputs(visual_pos=torch.tensor([[[10., 20., 300., 200.]] * 3])), run,
             E.ModelInputError, ("visual_pos", "300", "pixel boxes")),
        Case("model", "zero-regions", lambda t: _inputs(visual_feats=torch.zeros(1, 0, 16), visual_pos=torch.zeros(1, 0, 4)),
             run, E.ModelInputError, ("(1, 0, 16)", "at least one region")),
        Case("model", "token-type-out-of-range", lambda t: _inputs(token_type_ids=torch.tensor([[0, 0, 2, 0]])), run,
             E.ModelInputError, ("token_type_ids", "0..1", "0..2")),
        Case("model", "ids-beyond-vocab", lambda t: _inputs(input_ids=torch.tensor([[2, 500, 3]])), run,
             E.ModelInputError, ("input_ids", "0..98", "max 500")),
        Case("model", "float-ids", lambda t: _inputs(input_ids=torch.tensor([[2.0, 5.0]])), run,
             E.ModelInputTypeError, ("input_ids", "integer", "float32")),
        Case("model", "one-dim-ids", lambda t: _inputs(input_ids=torch.tensor([2, 5, 3])), run, E.ModelInputError,
             ("(3,)", "ids[None]")),
        Case("model", "mask-not-binary", lambda t: _inputs(attention_mask=torch.tensor([[1, 1, 2, 1]])), run,
             E.ModelInputError, ("attention_mask", "0 (masked) and 1", "2.0")),
        Case("model", "wrong-feature-size", lambda t: _inputs(visual_feats=torch.randn(1, 3, 20)), run,
             E.ModelInputError, ("visual_feats", "(batch, regions, 16)", "(1, 3, 20)")),
        Case("model", "boxes-mismatch", lambda t: _inputs(visual_pos=torch.rand(1, 2, 4)), run, E.ModelInputError,
             ("visual_pos must be (1, 3, 4)", "(1, 2, 4)")),
        Case("model", "string-array", lambda t: _inputs(visual_feats=np.array([[["a"] * 16] * 3])), run,
             E.ModelInputTypeError, ("visual_feats", "<U1")),
        Case("model", "complex-features", lambda t: _inputs(visual_feats=torch.zeros(1, 3, 16, dtype=torch.complex64)),
             run, E.ModelInputTypeError, ("visual_feats", "complex")),
        Case("model", "bool-boxes", lambda t: _inputs(visual_pos=torch.ones(1, 3, 4, dtype=torch.bool)), run,
             E.ModelInputTypeError, ("visual_pos", "torch.bool")),
        Case("model", "no-tokens", lambda t: _inputs(input_ids=torch.zeros(1, 0, dtype=torch.long)), run,
             E.ModelInputError, ("(1, 0)", "at least one token")),
        Case("model", "too-many-tokens", lambda t: _inputs(input_ids=torch.full((1, 80), 5)), run, E.ModelInputError,
             ("80 tokens", "max_position_embeddings=64")),
        Case("model", "dict-not-tensor", lambda t: _inputs(visual_feats={"a": 1}), run, E.ModelInputTypeError,
             ("visual_feats", "dict")),
        Case("model", "regions-nan", lambda t: np.full((2, 8), np.nan, np.float32),
             lambda f, env: Regions(np.zeros((2, 4), "f4"), f, (8, 8)), E.InputError, ("Regions.feats", "NaN")),
        Case("model", "nan-logits", lambda t: torch.tensor([0.1, float("nan")]),
             lambda x, env: Answers(["yes", "no"]).top_k(x), E.InputError, ("NaN",)),
        # documented fallback: numpy and float64 inputs are converted, with the same outputs
        Case("model", "numpy-float64-inputs", lambda t: {k: v.numpy().astype(np.float64) if v.is_floating_point()
                                                         else v.numpy() for k, v in _inputs().items()},
             run, check=lambda r, x, env: _assert_same_as_torch(r, env)),
    ]
    return cases


def _assert_same_as_torch(out, env):
    ref = env.tiny(**_inputs())
    assert torch.allclose(out.question_answering_score, ref.question_answering_score, atol=1e-5)


# -- configs and checkpoints ----------------------------------------------------------------------
def _config_json(tmp: Path, **change) -> Path:
    data = LxmertConfig.tiny().to_dict()
    data.update(change)
    p = tmp / "config.json"
    p.write_text(json.dumps(data))
    return p


def config_cases() -> list[Case]:
    tiny = lambda kw, env: LxmertConfig.tiny(**kw)  # noqa: E731
    from_file = lambda p, env: LxmertConfig.from_json_file(p)  # noqa: E731
    return [
        Case("config", "absurd-layers", lambda t: {"r_layers": 10**9}, tiny, E.ConfigError, ("r_layers", "1000000000", "0..256")),
        Case("config", "zero-heads", lambda t: {"num_attention_heads": 0}, tiny, E.ConfigError, ("num_attention_heads", "got 0")),
        Case("config", "string-size", lambda t: {"hidden_size": "768"}, tiny, E.ConfigTypeError, ("hidden_size", "'768'")),
        Case("config", "not-a-multiple", lambda t: {"hidden_size": 30}, tiny, E.ConfigError, ("hidden_size=30", "num_attention_heads=4")),
        Case("config", "int-as-bool", lambda t: {"task_qa": 1}, tiny, E.ConfigTypeError, ("task_qa", "true or false")),
        Case("config", "dropout-above-one", lambda t: {"hidden_dropout_prob": 1.5}, tiny, E.ConfigError, ("hidden_dropout_prob", "1.5")),
        Case("config", "dropout-nan", lambda t: {"attention_probs_dropout_prob": float("nan")}, tiny, E.ConfigError,
             ("attention_probs_dropout_prob", "nan")),
        Case("config", "id2label-word-keys", lambda t: {"id2label": {"yes": "0"}}, tiny, E.ConfigError, ("id2label key 'yes'",)),
        Case("config", "id2label-number-values", lambda t: {"id2label": {"0": 5}}, tiny, E.ConfigTypeError, ("id2label['0']", "int")),
        Case("config", "unknown-activation", lambda t: {"hidden_act": "gelu2"}, tiny, E.ConfigError, ("hidden_act", "'gelu2'")),
        Case("config", "pad-beyond-vocab", lambda t: {"pad_token_id": 500}, tiny, E.ConfigError, ("pad_token_id", "0..98")),
        Case("config", "huge-model", lambda t: {"vocab_size": 9_000_000, "hidden_size": 4096}, tiny, E.ConfigError,
             ("parameters", "hidden_size=4096")),
        Case("config", "bad-scoring", lambda t: {"answer_scoring": "probability"}, tiny, E.ConfigError, ("answer_scoring", "'probability'")),
        Case("config", "json-list", lambda t: _write(t, "config.json", b"[1, 2]"), from_file, E.ConfigTypeError,
             ("JSON object", "list")),
        Case("config", "json-broken", lambda t: _write(t, "config.json", b'{"hidden_size": 32,'), from_file, E.ConfigError,
             lambda p: (str(p), "not valid JSON")),
        Case("config", "json-binary", lambda t: _write(t, "config.json", b"\xff\xfe\x00\x01"), from_file, E.ConfigError,
             lambda p: (str(p), "not UTF-8")),
        Case("config", "layers-dict-string", lambda t: _config_json(t, num_hidden_layers={"language": "9"}, l_layers=None),
             lambda p, env: LxmertConfig.from_dict({k: v for k, v in json.loads(p.read_text()).items() if k != "l_layers"}),
             E.ConfigTypeError, ("num_hidden_layers.language", "'9'")),
        Case("config", "field-named-with-file", lambda t: _config_json(t, intermediate_size=-3), from_file, E.ConfigError,
             lambda p: (str(p), "intermediate_size", "-3")),
    ]


def _write(tmp: Path, name: str, data: bytes) -> Path:
    p = tmp / name
    p.write_bytes(data)
    return p


def _checkpoint(tmp: Path, mutate=None) -> Path:
    from lxmert_viz import Lxmert

    torch.manual_seed(0)
    d = tmp / "ckpt"
    Lxmert(LxmertConfig.tiny(), output_heads=("qa",)).save_pretrained(d)
    if mutate is not None:
        state = load_file(str(d / "model.safetensors"))
        mutate(state)
        save_file(state, str(d / "model.safetensors"))
    return d


def _nan_weight(state):
    state["lxmert.pooler.dense.weight"][0, 0] = float("nan")


def _int_weight(state):
    state["lxmert.pooler.dense.bias"] = state["lxmert.pooler.dense.bias"].to(torch.int64)


def _truncate(d: Path, name: str, keep: float) -> Path:
    p = d / name
    p.write_bytes(p.read_bytes()[: int(p.stat().st_size * keep)])
    return d


def _vocab_dir(tmp: Path, data: bytes) -> Path:
    (tmp / "vocab.txt").write_bytes(data)
    return tmp / "vocab.txt"


def _answers_file(tmp: Path, data: bytes, name: str = "answers.json") -> Path:
    (tmp / name).write_bytes(data)
    return tmp / name


def checkpoint_cases() -> list[Case]:
    load = lambda d, env: from_pretrained(d)  # noqa: E731
    vocab = lambda p, env: Tokenizer.from_vocab(p)  # noqa: E731
    answers = lambda p, env: Answers.from_file(p)  # noqa: E731
    good_vocab = "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "what", "color"]).encode()
    return [
        Case("checkpoint", "nan-weights", lambda t: _checkpoint(t, _nan_weight), load, E.CheckpointError,
             ("lxmert.pooler.dense.weight", "NaN", "1 of 1024")),
        Case("checkpoint", "int64-weights", lambda t: _checkpoint(t, _int_weight), load, E.CheckpointError,
             ("lxmert.pooler.dense.bias (torch.int64)",)),
        Case("checkpoint", "truncated-safetensors", lambda t: _truncate(_checkpoint(t), "model.safetensors", 0.5), load,
             E.CheckpointError, ("model.safetensors", "truncated or damaged")),
        Case("checkpoint", "zero-byte-bin", lambda t: _bin_only(t, b""), load, E.CheckpointError,
             ("pytorch_model.bin", "empty (0 bytes)")),
        Case("checkpoint", "truncated-bin", lambda t: _bin_only(t, None), load, E.CheckpointError,
             ("pytorch_model.bin", "not a readable PyTorch weights file")),
        Case("checkpoint", "missing-directory", lambda t: t / "nowhere" / "ckpt", load, E.MissingFileError,
             lambda p: (str(p),)),
        Case("checkpoint", "vocab-empty", lambda t: _vocab_dir(t, b"\n\n"), vocab, E.CheckpointError, lambda p: (str(p), "is empty")),
        Case("checkpoint", "vocab-binary", lambda t: _vocab_dir(t, b"[PAD]\n\x00\x01\x02"), vocab, E.CheckpointError,
             lambda p: (str(p), "NUL byte")),
        Case("checkpoint", "vocab-not-utf8", lambda t: _vocab_dir(t, good_vocab + b"\n\xff\xfe"), vocab, E.CheckpointError,
             lambda p: (str(p), "not UTF-8", "line 7")),
        Case("checkpoint", "vocab-duplicate", lambda t: _vocab_dir(t, good_vocab + b"\ncolor"), vocab, E.CheckpointError,
             lambda p: (str(p), "'color'", "line 6")),
        Case("checkpoint", "vocab-no-unk", lambda t: _vocab_dir(t, b"[PAD]\n[CLS]\n[SEP]\nwhat"), vocab, E.CheckpointError,
             ("[UNK]",)),
        Case("checkpoint", "tokenizer-json-broken", lambda t: _answers_file(t, b"{", "tokenizer.json"),
             lambda p, env: Tokenizer.from_file(p), E.CheckpointError, lambda p: (str(p), "tokenizers JSON")),
        Case("checkpoint", "answers-non-strings", lambda t: _answers_file(t, b'["yes", 5, null]'), answers,
             E.CheckpointError, lambda p: (str(p), "answer 1 is 5")),
        Case("checkpoint", "answers-duplicates", lambda t: _answers_file(t, b'["yes", "no", "yes"]'), answers,
             E.CheckpointError, lambda p: (str(p), "'yes' appears twice", "ids 0 and 2")),
        Case("checkpoint", "answers-invalid-utf8", lambda t: _answers_file(t, b'["yes", "\xff"]'), answers,
             E.CheckpointError, lambda p: (str(p), "not UTF-8", "byte 9")),
        Case("checkpoint", "answers-bool-ids", lambda t: _answers_file(t, b'{"yes": true, "no": false}'), answers,
             E.CheckpointError, lambda p: (str(p), "integer ids")),
        Case("checkpoint", "answers-null", lambda t: _answers_file(t, b"null"), answers, E.CheckpointError,
             lambda p: (str(p), "NoneType")),
        Case("checkpoint", "answers-txt-binary", lambda t: _answers_file(t, b"yes\n\x00no", "answers.txt"), answers,
             E.CheckpointError, lambda p: (str(p), "NUL")),
        Case("checkpoint", "answers-blank", lambda t: _answers_file(t, b'["yes", "  "]'), answers, E.CheckpointError,
             lambda p: (str(p), "answer 1 is blank")),
        Case("checkpoint", "answers-count-vs-config", lambda t: _answers_dir(t), lambda d, env: load_answers(d, LxmertConfig.tiny()),
             E.CheckpointError, ("3 answers", "num_qa_labels=7")),
        # documented fallback: the scoring default per checkpoint, recorded in the loading report
        Case("checkpoint", "scoring-default-fine-tuned", lambda t: _checkpoint(t), load,
             check=lambda m, d, env: _assert_scoring(m, "sigmoid")),
    ]


def _bin_only(tmp: Path, data: bytes | None) -> Path:
    d = _checkpoint(tmp)
    state = load_file(str(d / "model.safetensors"))
    (d / "model.safetensors").unlink()
    torch.save(state, d / "pytorch_model.bin")
    if data is not None:
        (d / "pytorch_model.bin").write_bytes(data)
    else:
        _truncate(d, "pytorch_model.bin", 0.6)
    return d


def _answers_dir(tmp: Path) -> Path:
    (tmp / "answers.json").write_text('["a", "b", "c"]')
    return tmp


def _assert_scoring(model, scoring):
    assert model.config.answer_scoring == scoring
    assert model.loading_report.answer_scoring.startswith(scoring)
