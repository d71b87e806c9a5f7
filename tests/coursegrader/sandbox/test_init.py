"""Whether grading runs sandboxed (coursegrader.sandbox): the SANDBOX mode, the probe, the decision."""

import pytest

import coursegrader.sandbox as sandbox
from coursegrader.errors import ConfigurationError
from tests.support.sandbox_kernels import needs_bwrap


def test_mode_from_env_defaults_to_auto_and_rejects_unknown_values():
    assert sandbox.mode_from_env({}) == "auto"
    assert sandbox.mode_from_env({"SANDBOX": "Require"}) == "require"
    with pytest.raises(ValueError, match="auto, require, off"):
        sandbox.mode_from_env({"SANDBOX": "yes"})


def test_require_raises_and_auto_warns_loudly_without_bwrap(monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    assert sandbox.probe()[0] is False
    with pytest.raises(ConfigurationError, match="apt-get install bubblewrap"):
        sandbox.decide("require")
    use, message = sandbox.decide("auto")
    assert use is False
    assert "UNSANDBOXED" in message and "bwrap" in message and "grader's rights" in message
    use, message = sandbox.decide("off")
    assert use is False and "UNSANDBOXED" in message


@needs_bwrap
def test_probe_finds_a_working_sandbox_here():
    works, reason = sandbox.probe()
    assert works, reason
    assert sandbox.decide("require")[0] is True
    assert sandbox.decide("auto")[0] is True
