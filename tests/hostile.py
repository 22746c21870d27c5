"""Hypothesis strategies for hostile and careless input: text, numbers, dates and URLs.

Shared by the property-based tests of the stored-text rule and of every boundary that takes
input (console forms, imports, the API, candidate forms).
"""

from __future__ import annotations

from hypothesis import strategies as st

# What breaks things: NUL and other controls, line breaks of every kind, lone surrogates,
# bidi and zero-width marks, quotes and markup, non-BMP characters, the replacement character.
NASTY_CHARACTERS = [
    "\x00",
    "\x01",
    "\x08",
    "\x1b",
    "\x7f",
    "\x85",
    "\x9f",
    "\t",
    "\n",
    "\r",
    "\v",
    "\f",
    "\x1c",
    "\x1f",
    "\u2028",
    "\u2029",
    "\ud800",
    "\udfff",
    "\u200b",
    "\u200d",
    "\u202e",
    "\ufeff",
    "\ufffd",
    "\uffff",
    "😀",
    "'",
    '"',
    "<",
    ">",
    "&",
    "%",
    "_",
    "\\",
    ";",
    ",",
    " ",
]

# Any character, plus controls, surrogates, format characters and separators on purpose
# (Hypothesis leaves surrogates out unless asked for them).
characters = st.one_of(
    st.sampled_from(NASTY_CHARACTERS),
    st.characters(),
    st.characters(categories=["Cc", "Cs", "Cf", "Zl", "Zp"]),
)


def hostile_text(*, max_size: int = 40) -> st.SearchStrategy[str]:
    """Short text mixing ordinary letters with control characters, surrogates and markup."""
    return st.text(st.one_of(characters, st.characters(codec="ascii")), max_size=max_size)


def postable_text(value: str) -> str:
    """`value` without lone surrogates: what a form post or a UTF-8 file can carry."""
    return "".join(c for c in value if not 0xD800 <= ord(c) <= 0xDFFF)


def postable(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """The strategy's strings without lone surrogates."""
    return strategy.map(postable_text)


def form_text(*, max_size: int = 40) -> st.SearchStrategy[str]:
    """Hostile text that a form post can carry."""
    return postable(hostile_text(max_size=max_size))


# Dates and times as people and programs write them, well-formed or not, near and far.
hostile_datetimes = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+23:59",
            "9999-12-31",
            "0001-01-01",
            "2026-02-30",
            "2026-11-30T24:00",
            "2026-11-30T09:00Z",
            "tomorrow",
            "",
            " ",
            "2026-11-30T09:00\x00",
        ]
    ),
    hostile_text(max_size=30),
)

# URLs: valid, almost valid and broken ones (brackets, ports, schemes, whitespace, controls).
hostile_urls = st.one_of(
    st.sampled_from(
        [
            "https://[::1/",
            "https://[::1]/apply",
            "https://[zz]/",
            "https://example.com:99999/",
            "https://example.com:-1/",
            "https://exa mple.com/",
            "https://",
            "https:///path",
            "https://user:pw@example.com/",
            "javascript:alert(1)",
            "http://example.com/",
            "https://example.com/\x00",
            "https://例え.テスト/応募",
            "HTTPS://EXAMPLE.COM/",
        ]
    ),
    hostile_text(max_size=30).map(lambda s: "https://" + s),
    hostile_text(max_size=30),
)

# JSON values of every type, numbers huge and tiny included.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text(),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(hostile_text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
