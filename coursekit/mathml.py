"""LaTeX formulas in text, turned into MathML: math any browser typesets offline, with no script or CDN.

In the text, ``$...$`` is an inline formula, ``$$...$$`` a displayed one, and ``\\$`` a plain dollar
sign. As in Markdown, an inline formula starts with a non-space after its ``$`` and ends with a
non-space before its ``$``, which must not be followed by a digit, so "$5 or $6" stays text.

For the course's HTML pages (``make report``; the grader's feedback pages can use it too): the result
is :class:`markupsafe.Markup`, ready for a Jinja2 template with autoescaping (``env.filters["math"] =
text_with_math``). Needs ``latex2mathml`` (pinned in environment.yml), imported only when a formula
is converted.
"""

from __future__ import annotations

import html
import re

from markupsafe import Markup, escape

_FORMULA = re.compile(
    r"(?<!\\)\$\$(?P<display>.+?)(?<!\\)\$\$"
    r"|(?<![\\$])\$(?P<inline>[^\s$](?:[^$]*?[^\s\\$])?)\$(?!\d)",
    re.S,
)


def latex_to_mathml(latex: str, display: bool = False) -> Markup:
    """One LaTeX formula as a ``<math>`` element (``display="block"`` for a displayed formula).

    Raises latex2mathml's exceptions for LaTeX it cannot read (``x^``, an unclosed ``\\left(``).
    """
    from xml.etree.ElementTree import tostring

    from latex2mathml.converter import convert_to_element

    element = convert_to_element(latex.strip(), display="block" if display else "inline")
    element.attrib.pop("xmlns", None)  # HTML puts <math> in the MathML namespace by itself
    # serialised as XML, text such as \texttt{<start>} stays escaped (latex2mathml's convert() unescapes
    # its output, and the text would vanish as an unknown tag); character references stay as they are
    return Markup(re.sub(r"&amp;(#x[0-9A-Fa-f]+;)", r"&\1", tostring(element, encoding="unicode")))


def text_with_math(text) -> Markup:
    """``text`` as HTML, with every ``$...$`` / ``$$...$$`` formula in it converted to MathML.

    Plain text is escaped; text that is already markup (has ``__html__``, such as the body of a Jinja2
    ``{% filter math %}`` block) is kept as it is, and its formulas are read with HTML entities
    decoded (``&lt;`` is ``<``). A formula latex2mathml cannot convert is left as written, escaped.
    """
    is_markup = hasattr(text, "__html__")
    source = str(text.__html__()) if is_markup else str(text)

    def prose(part: str) -> str:
        return (part if is_markup else str(escape(part))).replace("\\$", "$")

    out, end = [], 0
    for match in _FORMULA.finditer(source):
        out.append(prose(source[end : match.start()]))
        display = match.group("display") is not None
        latex = match.group("display") if display else match.group("inline")
        try:
            out.append(latex_to_mathml(html.unescape(latex) if is_markup else latex, display))
        except Exception:  # noqa: BLE001 - a formula that does not convert stays readable as LaTeX
            out.append(prose(match.group(0)))
        end = match.end()
    out.append(prose(source[end:]))
    return Markup("".join(out))
