"""Fixtures of the sandbox tests: one shared sandboxed kernel, and host folders inside and outside it."""

import pytest

from coursegrader.sandbox import bwrap
from tests.support.sandbox_kernels import SECRET, Kernel


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    """A host folder that is not bound into the sandbox, holding a file."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "secret.txt").write_text("host only")
    return folder


@pytest.fixture(scope="module")
def extra(tmp_path_factory):
    folder = tmp_path_factory.mktemp("extra")
    (folder / "given.txt").write_text("readable")
    return folder


@pytest.fixture(scope="module")
def kernel(tmp_path_factory, extra):
    """One sandboxed kernel, started with a secret and a kept variable in the grader's environment."""
    if bwrap.bwrap_path() is None:
        pytest.skip("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    cwd = tmp_path_factory.mktemp("student")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET, "hunter2")
        mp.setenv("COURSE_PROFILE", "smoke")
        k = Kernel(cwd, extra_readonly=[str(extra)])
    k.cwd = cwd
    yield k
    k.close()
