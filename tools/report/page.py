"""Render the report page from the run results with the Jinja2 templates in ``templates/``.

All HTML comes from the templates (autoescaped); Python only gathers values (:mod:`.sections`,
:mod:`.verdict`). The page is one self-contained file: the CSS is inlined, figures are data URIs,
the CJK characters it uses are embedded as a font subset, and LaTeX in the templates (``{% filter
math %}``, ``|math``) becomes MathML, so the page opens offline, formulas included, and can be mailed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2
from markupsafe import Markup

from coursekit.mathml import text_with_math

from .collect import RunResult
from .font import cjk_font_subset
from .formatting import DASH, FILTERS
from .machine import machine_info
from .sections import about_section, attention_section, curves_section, results_section, sentiment_section
from .verdict import judge

TEMPLATES = Path(__file__).resolve().parent / "templates"

TITLES = {
    "results": "Results",
    "curves": "Training curves",
    "attention": "Attention",
    "sentiment": "Sentiment",
    "about": "About",
}
"""The sections in page order, as the navigation bar names them."""


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.filters["math"] = text_with_math
    env.globals["DASH"] = DASH
    return env


def context(
    results: Sequence[RunResult], profile: str, command: str | None = None, machine: Mapping[str, str] | None = None
) -> dict:
    """Everything the templates show, section by section (None for a section with nothing to show)."""
    machine = machine_info() if machine is None else machine
    verdict = judge(results, profile)
    sections = {
        "results": results_section(results, verdict),
        "curves": curves_section(results),
        "attention": attention_section(results),
        "sentiment": sentiment_section(results),
        "about": about_section(results, profile, machine),
    }
    return {
        "profile": profile,
        "date": machine.get("Date", ""),
        "run_count": len(results),
        "command": command or f"make report PROFILE={profile}",
        "verdict": verdict,
        "nav": [(key, title) for key, title in TITLES.items() if sections[key] is not None],
        **sections,
    }


def render(
    results: Sequence[RunResult], profile: str, command: str | None = None, machine: Mapping[str, str] | None = None
) -> str:
    """The whole report as one HTML string."""
    env = environment()
    values = context(results, profile, command, machine)
    content = env.get_template("content.html.j2").render(values)
    return env.get_template("index.html.j2").render(values, content=Markup(content), font=cjk_font_subset(content))


def write_report(
    results: Sequence[RunResult],
    out: Path,
    profile: str,
    command: str | None = None,
    machine: Mapping[str, str] | None = None,
) -> Path:
    """Render the report into ``out`` (replaced at once, never left half written)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = render(results, profile, command, machine)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
