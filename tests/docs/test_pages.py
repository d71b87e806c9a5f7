"""The README and docs/ stay current: every link and anchor leads somewhere, every `make` target
and course variable they name exists, the README stays short, and no development note is left."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coursegrader.course import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", "")).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_leads_to_a_page_and_heading_that_exist(page):
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.exists(), f"{page.name} links to {target}, which does not exist"
        if anchor:
            assert anchor in anchors(dest), f"{page.name} links to {target}: no such heading"


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_make_target_named_exists(page):
    named = set(re.findall(r"`make ([a-z][a-z-]*)", page.read_text(encoding="utf-8")))
    assert named - make_targets() == set(), f"{page.name} names targets the Makefile lacks"


def course_variables() -> set[str]:
    code = [p for d in ("autograder", "coursekit", "tools", "tests") for p in (ROOT / d).rglob("*.py")]
    code = [p for p in code if p.name != "test_pages.py"] + [ROOT / "Makefile"]
    return {v for p in code for v in re.findall(r"\b(COURSE_[A-Z_]+)\b", p.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_course_variable_named_is_read_somewhere(page):
    named = set(re.findall(r"\b(COURSE_[A-Z_]+)\b", page.read_text(encoding="utf-8")))
    assert named - course_variables() == set(), f"{page.name} names variables no code reads"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_development_notes(page):
    text = page.read_text(encoding="utf-8")
    notes = re.findall(r"commit [0-9a-f]{7}|\b(?:main|at) \(?[0-9a-f]{7}\)?|the issue's|issue \d+\b", text)
    assert not notes, f"{page.name}: {notes}"


def test_the_readme_is_short_and_links_every_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    linked = {Path(t.partition("#")[0]).name for t in LINK.findall(readme)}
    assert {p.name for p in PAGES[1:]} <= linked, "a page under docs/ is not reachable from the README"
