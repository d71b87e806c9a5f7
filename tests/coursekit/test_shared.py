"""Values every graded kernel computes alike: computed as usual for a student, read back identical
while grading, stored as plain data only."""

import json

import numpy as np
import pytest

from coursekit import shared
from coursekit.checks.evidence import REQUESTS_VAR

VALUE = (["a review", "another, with 'quotes' and ünïcode"], np.arange(6, dtype="int32").reshape(2, 3))


def request_file(folder, **extra):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "requests.json"
    path.write_text(json.dumps({"nonce": "", "requests": {}, **extra}))
    return path


def test_a_student_gets_what_the_function_computes(monkeypatch):
    monkeypatch.delenv(REQUESTS_VAR, raising=False)
    calls = []
    assert shared.once("kept", lambda: calls.append(1) or VALUE) is VALUE
    assert calls == [1]


def test_the_preparing_kernel_writes_the_value_and_graded_kernels_read_it_back_identical(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(REQUESTS_VAR, str(request_file(tmp_path / "preparing", share="write")))
    assert shared.once("kept", lambda: VALUE) is VALUE
    handoff = tmp_path / "graded"
    request_file(handoff)
    (tmp_path / shared.FOLDER).rename(handoff / shared.FOLDER)
    monkeypatch.setenv(REQUESTS_VAR, str(handoff / "requests.json"))
    texts, tokens = shared.once("kept", lambda: pytest.fail("computed again instead of read"))
    assert texts == VALUE[0] and tokens.dtype == VALUE[1].dtype and np.array_equal(tokens, VALUE[1])
    assert shared.once("other", lambda: "computed") == "computed", "what was not prepared is computed"


def test_a_graded_kernel_without_prepared_values_computes_them(tmp_path, monkeypatch):
    monkeypatch.setenv(REQUESTS_VAR, str(request_file(tmp_path)))
    assert shared.once("kept", lambda: VALUE) is VALUE


def test_only_plain_data_with_plain_names_is_shared(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(REQUESTS_VAR, str(request_file(tmp_path / "preparing", share="write")))
    with pytest.raises(TypeError, match="a list of str or a numeric array"):
        shared.once("objects", lambda: [object()])
    with pytest.raises(TypeError):
        shared.once("pickled", lambda: np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="names are"):
        shared.once("../escape", lambda: ["x"])
