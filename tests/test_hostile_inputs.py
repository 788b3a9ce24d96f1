"""The project's hostile corpus: every case a clear error of the kit's own types naming the input,
or a documented fallback; never a library's raw error, a hang or a modified input.

The cases live in hostile_corpus*.py (generated at test time). For each case:
* an error case must raise its expected type, which is one of `lxmert_viz.errors` (the command line:
  exit status 2 and one line on stderr), with a message that contains every needle (the file, key,
  field, shape or value, and what would be valid);
* a fallback case must return what its check expects;
* in both, the input (array, tensor, PIL image, file, folder) is unchanged afterwards, nothing is
  written into the case's folder unless the case asks for it, and the call ends within 10 s.
"""
from __future__ import annotations

import contextlib
import io
import os
import time
from types import SimpleNamespace

import pytest
import torch
from hostile_corpus import fingerprint, image_cases
from hostile_corpus_files import cli_cases, feature_cases
from hostile_corpus_model import checkpoint_cases, config_cases, model_cases, question_cases

from lxmert_viz import errors as E

pytestmark = pytest.mark.usefixtures("one_thread")

CASES = image_cases() + question_cases() + model_cases() + config_cases() + checkpoint_cases() + feature_cases() + cli_cases()
HANG_SECONDS = 10.0


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    import lxmert_viz
    from lxmert_viz import Lxmert, LxmertConfig
    from lxmert_viz.assets import sample_paths
    from lxmert_viz.cli import main

    torch.manual_seed(0)
    cwd = tmp_path_factory.mktemp("cwd")

    def cli(argv):
        out, err = io.StringIO(), io.StringIO()
        here = os.getcwd()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            os.chdir(cwd)
            try:
                code = main(argv)
            except SystemExit as stop:  # argparse's usage errors
                code = stop.code
            finally:
                os.chdir(here)
        if code != 0:
            raise SystemExit(f"{code}|{err.getvalue()}")
        return code, out.getvalue(), err.getvalue()

    return SimpleNamespace(kit=lxmert_viz.load(), sample=sample_paths()[0], cli=cli, cwd=cwd,
                           tiny=Lxmert(LxmertConfig.tiny(), output_heads=("qa",)).eval())


def test_the_corpus_is_large_and_covers_every_class():
    by_class: dict[str, int] = {}
    for c in CASES:
        by_class[c.cls] = by_class.get(c.cls, 0) + 1
    assert len(CASES) >= 80, len(CASES)
    assert set(by_class) == {"image", "question", "model", "config", "checkpoint", "features", "cli"}, by_class
    assert len({c.id for c in CASES}) == len(CASES), "case ids are unique"
    assert all(n >= 5 for n in by_class.values()), by_class


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_case(case, env, tmp_path):
    given = case.make(tmp_path)
    before_input, before_folder = fingerprint(given), fingerprint(tmp_path)
    start = time.monotonic()
    if case.error is None:
        result = case.call(given, env)
        case.check(result, given, env)
    else:
        with pytest.raises(case.error) as info:
            case.call(given, env)
        message = str(info.value)
        if case.error is SystemExit:  # the command line: exit 2, one line, no traceback
            code, _, stderr = message.partition("|")
            assert code == "2", message
            assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
            message = stderr
        else:
            assert isinstance(info.value, E.LxmertVizError), f"{type(info.value)} is not one of the kit's errors"
        needles = case.needles(given) if callable(case.needles) else case.needles
        for needle in needles:
            assert needle in message, f"{needle!r} not in {message!r}"
    assert time.monotonic() - start < HANG_SECONDS, "no call may take 10 s"
    if not (case.writes and isinstance(given, type(tmp_path)) and given.is_dir()):
        assert fingerprint(given) == before_input, "the input was modified"
    if not case.writes:
        assert fingerprint(tmp_path) == before_folder, "something was written into the input's folder"
