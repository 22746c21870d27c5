"""ATS HTML descriptions become our Markdown subset, which renders back to safe HTML."""

from __future__ import annotations

from jobs.descriptions import description_html
from jobs.html_markdown import html_to_markdown


def test_kept_structure_paragraphs_lists_emphasis_links() -> None:
    """Paragraphs, nested and numbered lists, bold, italic and links survive the trip."""
    markdown = html_to_markdown(
        "<h2>What you will do</h2><p>Work on <b>tools</b> and <i>docs</i>.<br>Daily.</p>"
        "<ul><li>Python<ul><li>Flask</li></ul></li><li><p>SQL</p></li></ul>"
        "<ol><li>Apply</li><li>Talk</li></ol>"
        '<p>See <a href="https://acme.example.com/a(b)">our site</a>.</p>'
    )
    assert markdown == (
        "**What you will do**\n\nWork on **tools** and *docs*.\nDaily.\n\n"
        "- Python\n    - Flask\n- SQL\n\n1. Apply\n2. Talk\n\n"
        "See [our site](https://acme.example.com/a%28b%29)."
    )
    rendered = str(description_html(markdown))
    assert "<strong>What you will do</strong>" in rendered
    assert '<a href="https://acme.example.com/a%28b%29"' in rendered
    assert "<ol>\n<li>Apply</li>" in rendered


def test_dangerous_markup_is_dropped() -> None:
    """Scripts and styles go with their content; unsafe links and attributes go, text stays."""
    markdown = html_to_markdown(
        "<script>alert(1)</script><style>p{}</style><p onclick='x()'>Hi "
        '<a href="javascript:alert(1)">there</a><img src=x onerror=alert(1)>'
        "<iframe src='https://evil.example.com'>inner</iframe></p>"
    )
    assert markdown == "Hi there"


def test_text_that_looks_like_markdown_stays_text() -> None:
    """Asterisks, brackets and a leading # or 1. in the HTML's text are escaped."""
    markdown = html_to_markdown("<p># 1 team</p><p>2025. A *great* [year]</p><p>- dash</p>")
    rendered = str(description_html(markdown))
    assert rendered == ("<p># 1 team</p>\n<p>2025. A *great* [year]</p>\n<p>- dash</p>")


def test_empty_and_whitespace_only() -> None:
    """Nothing in, nothing out; spaces collapse."""
    assert html_to_markdown("") == ""
    assert html_to_markdown("<p>  </p><div>\n</div>") == ""
    assert html_to_markdown("<p>a   \n  b</p>") == "a b"
