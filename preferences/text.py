"""The one rule for text that is stored: no control characters, no lone surrogates, and one line
where one line is meant.

Every boundary that stores text a person or a program sent (the console and candidate forms,
the REST API, the file imports, the CLI) passes it through `clean_text` with the field's kind:

- `TextKind.LINE`, single-line fields (names, subjects, titles, references, locations, URLs,
  interest names): a tab or a line break (CR, LF, VT, FF, the separators FS, GS, RS, US, NEL,
  U+2028, U+2029), with any spaces around it, becomes one space.
- `TextKind.TEXT`, multi-line fields (descriptions, details, campaign bodies): CRLF and every
  other line break become LF; tabs stay; FS, GS and RS end a line too, and US becomes a space.

Both kinds are stripped at their ends. What is whitespace is normalised, silently: a tab or a
line break pasted into a title is formatting, not content. What has no meaning in text is
**refused**, with `UnstorableText` naming the character, never silently dropped: NUL and the
other C0 control characters, DEL and the C1 controls (U+0080 to U+009F, but NEL), the
bidirectional embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069, which
can make a name or a subject read as something else), and lone surrogates (U+D800 to U+DFFF
on their own, which only a JSON ``\\ud800`` escape can produce and no database or mail header
can carry). The person sees a message at the field and can fix the source of the text;
nothing is half-stored. Other format characters (zero-width joiners and non-joiners, the
left-to-right and right-to-left marks) are text in many scripts and are kept.

`scrub_text` applies the same rule without refusing: it drops what `clean_text` would refuse.
It is the second line of defence for text that was stored before the rule, or that reaches a
place where nothing can be refused any more (a subject line at send time, a lookup key).
"""

from __future__ import annotations

import re
from enum import Enum

from preferences.errors import PreferencesError

# Whitespace control characters: str.isspace() is true for each, and str.splitlines() breaks at
# each but TAB and US. They are normalised, never refused.
_BREAKS = "\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAKS = re.compile(f"[\t\x1f{_BREAKS}]+")
_TEXT_BREAK = re.compile(f"\r\n|[{_BREAKS}]")
# Everything else in C0 and C1, DEL, the bidirectional embeddings, overrides and isolates
# (which can make a name read as something else), and the surrogate code points.
_REFUSED = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


class TextKind(Enum):
    """How a stored text field treats line breaks."""

    LINE = "line"
    TEXT = "text"


class UnstorableText(PreferencesError, ValueError):
    """Text holding a character the rule refuses; `char` is the first such character."""

    def __init__(self, char: str) -> None:
        self.char = char
        self.code_point = f"U+{ord(char):04X}"
        if 0xD800 <= ord(char) <= 0xDFFF:
            what = f"an unpaired surrogate ({self.code_point}), which is not valid Unicode text"
        elif _BIDI.match(char):
            what = f"the bidirectional control character {self.code_point}"
        else:
            what = f"the control character {self.code_point}"
        #: A clause for messages such as "title: contains …".
        self.reason = f"contains {what}"
        super().__init__(self.reason)

    @property
    def message(self) -> str:
        """A sentence for a form field: what to do about it."""
        if 0xD800 <= ord(self.char) <= 0xDFFF:
            return f"Remove the invalid character {self.code_point} (an unpaired surrogate)."
        if _BIDI.match(self.char):
            return f"Remove the bidirectional control character {self.code_point}."
        return f"Remove the control character {self.code_point}; it cannot be stored or sent."


def unstorable(value: str) -> UnstorableText | None:
    """The refusal `clean_text` would raise for `value`, or None."""
    found = _REFUSED.search(value)
    return UnstorableText(found.group()) if found is not None else None


def _normalise(value: str, kind: TextKind) -> str:
    if kind is TextKind.LINE:
        # Split rather than a regex with \s* around the break: linear on any input.
        parts = (part.strip() for part in _LINE_BREAKS.split(value))
        return " ".join(part for part in parts if part)
    return _TEXT_BREAK.sub("\n", value).replace("\x1f", " ").strip()


def clean_text(value: str, kind: TextKind = TextKind.LINE) -> str:
    """The text to store for `value`, stripped, with its whitespace normalised for `kind`.

    Raises `UnstorableText` for a control character or a lone surrogate.
    """
    problem = unstorable(value)
    if problem is not None:
        raise problem
    return _normalise(value, kind)


def scrub_text(value: str, kind: TextKind = TextKind.LINE) -> str:
    """Like `clean_text`, but drops the characters `clean_text` refuses instead of raising."""
    return _normalise(_REFUSED.sub("", value), kind)


def is_clean_line(value: str) -> bool:
    """Whether `value` is already one stored line: `clean_text` would return it unchanged.

    For keys taken as they are (a reference in a URL), where cleaning would name another record.
    """
    return unstorable(value) is None and _normalise(value, TextKind.LINE) == value
