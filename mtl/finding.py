"""A finding: a sentence the library says about a result, with its emphasis kept as
structure, so each front end renders it its own way (Markdown in the app, plain
text in a terminal) instead of stripping another's markup."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

# Characters Streamlit's Markdown would read as markup in a task or method name.
_MARKUP = re.compile(r"([\\`*_$])")


@dataclass(frozen=True)
class Emphasis:
    """Words to stress: bold (``strong``) or italic."""

    text: str
    strong: bool = True


def strong(text: str) -> Emphasis:
    return Emphasis(text, strong=True)


def em(text: str) -> Emphasis:
    return Emphasis(text, strong=False)


@dataclass(frozen=True, init=False)
class Finding:
    """Plain text and :class:`Emphasis` parts, in reading order;
    ``Finding("a ", strong("b")) + " c"`` appends."""

    parts: tuple[str | Emphasis, ...]

    def __init__(self, *parts: str | Emphasis) -> None:
        object.__setattr__(self, "parts", tuple(p for p in parts if p))

    def __add__(self, other: str | Emphasis | Finding) -> Finding:
        return Finding(*self.parts, *(other.parts if isinstance(other, Finding) else (other,)))

    def text(self) -> str:
        """Plain text, for a terminal or a log."""
        return "".join(p.text if isinstance(p, Emphasis) else p for p in self.parts)

    def markdown(self) -> str:
        """Markdown, with the parts' own markup characters escaped."""
        out = []
        for p in self.parts:
            if isinstance(p, Emphasis):
                mark = "**" if p.strong else "*"
                out.append(mark + _escape(p.text) + mark)
            else:
                out.append(_escape(p))
        return "".join(out)


    def html(self) -> str:
        """HTML, for a report: the text escaped, emphasis as ``<strong>``/``<em>``."""
        out = []
        for p in self.parts:
            if isinstance(p, Emphasis):
                tag = "strong" if p.strong else "em"
                out.append(f"<{tag}>{html.escape(p.text)}</{tag}>")
            else:
                out.append(html.escape(p))
        return "".join(out)


def _escape(text: str) -> str:
    return _MARKUP.sub(r"\\\1", text)
