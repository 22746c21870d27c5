"""Job descriptions render as a safe Markdown subset."""

from __future__ import annotations

import pytest

from jobs.descriptions import description_html


def test_paragraphs_lists_and_breaks_keep_their_shape() -> None:
    """A list right after a line of text is a list; single line breaks stay breaks."""
    html = description_html("Intro line\nYou will:\n* ship\n* learn\n\nSteps:\n1. call\n2. meet")
    assert html == (
        "<p>Intro line<br>\nYou will:</p>\n<ul>\n<li>ship</li>\n<li>learn</li>\n</ul>\n"
        "<p>Steps:</p>\n<ol>\n<li>call</li>\n<li>meet</li>\n</ol>"
    )


def test_emphasis_and_links_survive_and_get_safe_rel() -> None:
    html = description_html("**Remote** and *flexible*: [apply](https://jobs.example.com/a)")
    assert "<strong>Remote</strong>" in html and "<em>flexible</em>" in html
    assert (
        '<a href="https://jobs.example.com/a" rel="noopener noreferrer nofollow">apply</a>' in html
    )


@pytest.mark.parametrize(
    ("typed", "absent"),
    [
        ("<script>alert(1)</script>Hi", "<script"),
        ('<b onclick="steal()">x</b>', "<b "),
        ("[x](javascript:alert(1))", "javascript:"),
        ("<img src=x onerror=alert(1)>", "<img"),
        ("<iframe src=https://evil.example></iframe>", "<iframe"),
        ('<a href="https://evil.example">x</a>', '<a href="https://evil'),
    ],
)
def test_typed_markup_is_shown_as_text_never_run(typed: str, absent: str) -> None:
    html = description_html(typed)
    assert absent not in html
    assert "&lt;" in html or "<a rel" in html


def test_old_descriptions_with_blank_lines_still_make_paragraphs() -> None:
    assert description_html("One.\n\nTwo.") == "<p>One.</p>\n<p>Two.</p>"
