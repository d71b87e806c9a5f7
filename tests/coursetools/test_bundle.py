"""`make student-bundle`: the labs and their lab library, none of the answers, one install line.

The bundle is built into a temporary folder and searched for anything of the instructors' side:
solutions, hidden checks (their cells and their verdicts' code), the reference answer, the
grader. Then it is installed, offline, into a fresh virtual environment that sees this bundle's
pinned packages (and nothing installed from the repository): its declared dependencies must be
met by the tested pins, and ``import coursekit`` and every lab's imports must work from it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest

from coursegrader.cells import reference_answer
from coursegrader.course import ROOT
from coursetools import bundle


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return bundle.build(tmp_path_factory.mktemp("dist"))


def shipped(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_the_bundle_holds_the_labs_and_their_library_and_nothing_else(built):
    names = shipped(built)
    assert {name.split("/")[0] for name in names} == {
        "labs",
        "coursekit",
        "data",
        "fonts",
        "pyproject.toml",
        "nbgrader_config.py",
        "README.md",
    }
    assert sorted(n for n in names if n.startswith("labs/")) == [
        "labs/nmt/nmt.ipynb",
        "labs/nmt_luong/nmt_luong.ipynb",
        "labs/sentiment/sentiment.ipynb",
    ]
    for name in names:  # the released labs, byte for byte
        if name.startswith(("labs/", "coursekit/", "data/", "fonts/")):
            assert (built / name).read_bytes() == (ROOT / name).read_bytes(), name
    with zipfile.ZipFile(f"{built}.zip") as z:
        assert sorted(n.removeprefix(f"{bundle.NAME}/") for n in z.namelist() if not n.endswith("/")) == names


def lines_of(*paths: Path) -> set[str]:
    """The stripped lines of Python files, or of the cells of notebooks."""
    texts = [
        "\n".join(c.source for c in nbformat.read(p, as_version=4).cells)
        if p.suffix == ".ipynb"
        else p.read_text(encoding="utf-8")
        for p in paths
    ]
    return {line.strip() for text in texts for line in text.splitlines()}


def outside_markers(path: Path) -> set[str]:
    """Lines of an instructors' notebook outside its solution and hidden-test regions: what
    nbgrader releases to students."""
    kept, inside = set(), False
    for cell in nbformat.read(path, as_version=4).cells:
        for line in cell.source.splitlines():
            if re.search(r"### BEGIN (SOLUTION|HIDDEN TESTS)", line):
                inside = True
            elif re.search(r"### END (SOLUTION|HIDDEN TESTS)", line):
                inside = False
            elif not inside:
                kept.add(line.strip())
    return kept


def secret_lines() -> set[str]:
    """Lines of the sentiment lab's reference answer and of the hidden checks' verdicts, but for
    those the public parts also have (the lab library, the two worked labs, the lab's own stubs)."""
    public = lines_of(*(ROOT / "coursekit").rglob("*.py"), *(ROOT / "labs").glob("nmt*/*.ipynb"))
    public |= outside_markers(ROOT / "solutions" / "sentiment" / "sentiment.ipynb")
    hidden = lines_of(*(ROOT / "autograder" / "coursegrader" / "hidden").glob("*.py"))
    secret = {line.strip() for line in reference_answer("sentiment").splitlines()} | hidden
    return {
        line
        for line in secret - public
        if len(line) > 30 and not line.startswith(('"""', "#", "from ", "import ", "return "))
    }


def test_no_answer_hidden_check_or_grader_code_is_in_the_bundle(built):
    forbidden = {"BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "coursegrader."}
    secret = secret_lines()
    assert len(secret) > 10, secret
    for name in shipped(built):
        if name.endswith((".gz", ".ttf")):
            continue
        text = (built / name).read_text(encoding="utf-8")
        found = sorted(f for f in forbidden | secret if f in text)
        assert not found, f"{name} holds {found[:3]}"


def test_the_declared_dependencies_are_the_tested_pins_and_spare_colabs_tensorflow(built):
    project = tomllib.loads((built / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = bundle.pins()
    assert not any(name.startswith(("tensorflow", "keras")) for name in project["dependencies"])
    assert "sacrebleu" in " ".join(project["dependencies"])
    assert set(project["optional-dependencies"]["laptop"]) <= set(pins.values())
    assert {"tensorflow", "keras", "jupyterlab", "nbgrader"} <= {
        re.split(r"[=\[]", p)[0] for p in project["optional-dependencies"]["laptop"]
    }


def lab_imports() -> list[str]:
    """Every import statement of the released labs' code cells."""
    found = set()
    for path in sorted((ROOT / "labs").glob("*/*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                for line in "".join(cell["source"]).splitlines():
                    if re.match(r"(from\s+\S+\s+)?import\s+\S", line):
                        found.add(line.strip())
    return sorted(found)


@pytest.mark.integration  # a fresh venv and a pip install: ~15 s
def test_one_install_line_makes_the_lab_library_and_the_labs_imports_work(built, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # The tested pins, offline: this environment's packages (but not its editable installs, whose
    # .pth files a path listed in a .pth file does not run: no coursegrader, no repository coursekit).
    Path(purelib, "tested-pins.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--no-index", "--no-build-isolation", "-e", f"{built}[laptop]"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    script = "\n".join(
        [
            "import importlib.util, coursekit",
            f"assert coursekit.ROOT == __import__('pathlib').Path({str(built)!r}), coursekit.ROOT",
            "assert importlib.util.find_spec('coursegrader') is None, 'the grader is importable'",
            *lab_imports(),
            "from coursekit import data",
            "for name in data.expected_checksums():",
            "    assert data.verified_path(name).parent == coursekit.ROOT / 'data'  # checksums match",
            "print('ok')",
        ]
    )
    ran = subprocess.run(
        [python, "-c", script], capture_output=True, text=True, timeout=600, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}
    )
    assert ran.returncode == 0 and ran.stdout.strip().endswith("ok"), ran.stdout[-2000:] + ran.stderr[-3000:]
