"""Findings (mtl.finding): one structure, rendered as Markdown for the app and as
plain text for the CLI, so neither strips the other's markup."""

from __future__ import annotations

from mtl.finding import Finding, em, strong


def test_a_finding_renders_as_markdown_and_as_plain_text():
    f = Finding(strong("click"), " and ", strong("like"), " conflict; the ", em("efficiency paradox"), ".")
    assert f.markdown() == "**click** and **like** conflict; the *efficiency paradox*."
    assert f.text() == "click and like conflict; the efficiency paradox."


def test_names_with_markup_characters_stay_literal_in_markdown():
    """A task such as ``long_view`` or a method ``a*b`` must not turn into emphasis (or LaTeX with ``$``)."""
    f = Finding(strong("long_view"), " costs $2 * n")
    assert f.markdown() == r"**long\_view** costs \$2 \* n"
    assert f.text() == "long_view costs $2 * n"


def test_findings_are_built_by_appending_text_parts_or_findings():
    f = Finding(strong("A"), " leads") + ", ahead of B" + Finding(".")
    assert f.text() == "A leads, ahead of B." and f.markdown() == "**A** leads, ahead of B."
    assert Finding("", "x", "") == Finding("x")  # empty parts are dropped
