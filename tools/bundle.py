"""`make student-bundle`: the labs for Colab and laptops, without the answers.

Students outside the course's JupyterHub need the released labs and what they import, and nothing
else of this repository: ``solutions/`` holds the reference answers and the hidden checks' cells,
``autograder/`` the grader and its hidden verdicts, the git history all of it. The bundle is a
folder (and a zip of it) with exactly:

* ``labs/<lab>/<lab>.ipynb``: the released notebooks, as ``make release`` wrote them;
* ``coursekit/``: the lab library the notebooks import (its Python files);
* ``data/``: the data sets its SHA256SUMS lists, with their README and checksums; ``fonts/``;
* ``pyproject.toml``: the lab library as a package with the labs' dependencies, so that one line
  installs everything. The base dependencies are unpinned except sacrebleu: Colab's preinstalled
  TensorFlow, Keras, NumPy and friends are kept (reinstalling them breaks a Colab runtime), and
  BLEU is computed the course's way. The ``laptop`` extra pins the versions the course is tested
  with (environment.yml), TensorFlow and JupyterLab included;
* ``nbgrader_config.py``: Validate's time limit (nbgrader's 30 s per cell would stop it in the
  training cell), read where JupyterLab or ``nbgrader validate`` starts in the bundle's folder;
* ``README.md``: the install lines.

The package must be installed in editable mode (``pip install -e``): the lab library finds
``data/`` and ``fonts/`` next to itself.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tomllib
from pathlib import Path

from coursekit import ROOT

NAME = "seq2seq-attention-labs"
#: what the labs and the lab library import (pip names), in the base dependencies, unpinned
RUNTIME = ("numpy", "pandas", "scikit-learn", "matplotlib", "termcolor")
#: pinned even in the base: not in Colab, and part of how a lab is scored
PINNED = ("sacrebleu",)
#: only in the laptop extra: what Colab already has, and JupyterLab with nbgrader's Validate
LAPTOP = ("tensorflow", "keras", "jupyterlab", "nbgrader", "ipykernel")
PACKAGES = ("coursekit", "coursekit.checks", "coursekit.nmt")

PYPROJECT = """\
# The labs of the seq2seq-with-attention course and their lab library (made by `make student-bundle`).
#   Colab:  %pip install -e <this folder>   (TensorFlow is already there and is kept)
#   laptop: pip install -e "<this folder>[laptop]"   (the tested versions, TensorFlow and JupyterLab)
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
description = "Labs on attention in sequence-to-sequence models (TensorFlow), and their lab library"
requires-python = ">=3.11"
dependencies = {base}

[project.optional-dependencies]
laptop = {laptop}

[tool.setuptools]
packages = {packages}
"""

NBGRADER_CONFIG = '''\
"""Validate's time limit for the labs: the longest cell of the profile COURSE_PROFILE selects."""

c = get_config()  # noqa: F821 - provided by nbgrader

try:
    from coursekit import profiles

    c.Validator.Execute.timeout = profiles.validate_cell_timeout()
except (ImportError, ValueError):  # the lab library is not installed yet, or a misspelt profile
    c.Validator.Execute.timeout = 3600
'''

README = """\
# Labs: sequence-to-sequence learning with attention (TensorFlow)

Three notebooks in `labs/`: `nmt` (Bahdanau attention, Chinese to English), `nmt_luong` (Luong
attention, the same task) and `sentiment` (IMDB reviews; you implement Luong attention).

**Colab.** Upload `{name}.zip` to the session's files, then in a notebook cell:

    !unzip -q {name}.zip && pip install -q -e {name}

Restart the session (Runtime, Restart session) so that Python sees the lab library, and open a
notebook from `{name}/labs/` (File, Upload notebook, or from Drive). TensorFlow is already installed
in Colab and is not installed again.

**Laptop** (Python 3.11 or later):

    python -m venv .venv && .venv/bin/pip install -e "{name}[laptop]"
    cd {name} && ../.venv/bin/jupyter lab

Validate (the button in JupyterLab's toolbar) runs the whole notebook and lists the visible checks
that fail. Hand in the `.ipynb` the way your course asks.
"""


def pins(environment: Path = ROOT / "environment.yml") -> dict[str, str]:
    """{name: "name==version"} of the pinned pip lines of environment.yml."""
    found = re.findall(r"^\s*-\s*([A-Za-z0-9_.\-\[\]]+)==(\S+)\s*$", environment.read_text(encoding="utf-8"), re.M)
    return {name.split("[")[0].lower(): f"{name}=={version}" for name, version in found}


def files(root: Path = ROOT) -> dict[str, Path]:
    """{path in the bundle: source}: the released labs, the lab library, the data, the fonts."""
    chosen = {
        f"labs/{p.parent.name}/{p.name}": p for p in sorted(root.glob("labs/*/*.ipynb")) if p.stem == p.parent.name
    }
    chosen |= {
        p.relative_to(root).as_posix(): p
        for p in sorted((root / "coursekit").rglob("*.py"))
        if "__pycache__" not in p.parts
    }
    listed = [line.split()[-1] for line in (root / "data" / "SHA256SUMS").read_text().splitlines() if line.strip()]
    chosen |= {f"data/{name}": root / "data" / name for name in ("README.md", "SHA256SUMS", *listed)}
    chosen |= {f"fonts/{p.name}": p for p in sorted((root / "fonts").iterdir()) if p.is_file()}
    return chosen


def pyproject(root: Path = ROOT) -> str:
    pinned = pins(root / "environment.yml")
    version = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    base = [*RUNTIME, *(pinned[name] for name in PINNED)]
    laptop = [pinned[name] for name in (*LAPTOP, *RUNTIME)]
    return PYPROJECT.format(
        name=NAME, version=version, base=_toml(base), laptop=_toml(laptop), packages=_toml(list(PACKAGES))
    )


def _toml(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def build(out: Path, root: Path = ROOT) -> Path:
    """Write ``out/<NAME>/`` and ``out/<NAME>.zip``; return the folder."""
    folder = Path(out) / NAME
    if folder.exists():
        shutil.rmtree(folder)
    for rel, source in files(root).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, folder / rel)
    (folder / "pyproject.toml").write_text(pyproject(root), encoding="utf-8")
    (folder / "nbgrader_config.py").write_text(NBGRADER_CONFIG, encoding="utf-8")
    (folder / "README.md").write_text(README.format(name=NAME), encoding="utf-8")
    shutil.make_archive(str(Path(out) / NAME), "zip", root_dir=out, base_dir=NAME)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursetools.bundle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="where to write it (default dist/)")
    args = parser.parse_args(argv)
    folder = build(args.out)
    print(f"student bundle: {folder} and {folder}.zip ({len(files())} files; no solutions, no grader)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
