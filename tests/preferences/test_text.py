"""The stored-text rule (`preferences.text`) and the stored-time range (`preferences.clock`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preferences.clock import EARLIEST, LATEST, TimeOutOfRange, utc_in_range
from preferences.text import TextKind, UnstorableText, clean_text, is_clean_line, scrub_text
from tests.hostile import hostile_text

LINE, TEXT = TextKind.LINE, TextKind.TEXT
# Every character the rule refuses, and every whitespace control it normalises.
REFUSED = [
    *(chr(c) for c in range(0x00, 0x09)),
    *(chr(c) for c in range(0x0E, 0x1C)),
    "\x7f",
    *(chr(c) for c in range(0x80, 0x85)),
    *(chr(c) for c in range(0x86, 0xA0)),
    *(chr(c) for c in range(0x202A, 0x202F)),
    *(chr(c) for c in range(0x2066, 0x206A)),
    "\ud800",
    "\udfff",
]
WHITESPACE_CONTROLS = ["\t", "\n", "\v", "\f", "\r", "\x1c", "\x1d", "\x1e", "\x1f", "\x85"]
LINE_BREAKS = ["\n", "\v", "\f", "\r", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", REFUSED, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("kind", [LINE, TEXT])
def test_control_characters_and_lone_surrogates_are_refused_by_name(
    char: str, kind: TextKind
) -> None:
    """NUL, every other C0 control but whitespace, DEL, C1 but NEL, bidi embeddings, overrides
    and isolates, and lone surrogates raise UnstorableText naming the code point; scrub_text
    drops them instead."""
    with pytest.raises(UnstorableText) as info:
        clean_text(f"Data{char} Science", kind)
    assert info.value.char == char
    assert info.value.code_point == f"U+{ord(char):04X}"
    assert info.value.code_point in info.value.reason
    assert info.value.code_point in info.value.message
    assert isinstance(info.value, ValueError)
    assert scrub_text(f"Data{char} Science", kind) == "Data Science"


@pytest.mark.parametrize("char", [*WHITESPACE_CONTROLS, "\u2028", "\u2029"])
def test_single_line_fields_fold_tabs_and_line_breaks_into_one_space(char: str) -> None:
    """A tab or any line break, with the spaces around it, becomes one space; ends are trimmed."""
    assert clean_text(f" Data {char}{char} Science{char}", LINE) == "Data Science"
    assert clean_text(f"Data{char}Science", LINE) == "Data Science"


def test_single_line_fields_keep_inner_spaces_and_format_characters() -> None:
    """Plain spaces inside a line stay as typed; ZWJ/ZWNJ and bidi marks are text, not controls."""
    assert clean_text("R  1", LINE) == "R  1"
    # Persian "I want" (a zero-width non-joiner inside), a ZWJ emoji, a right-to-left mark.
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    assert clean_text(f"{persian} 👩\u200d💻 \u200f", LINE) == f"{persian} 👩\u200d💻 \u200f"
    assert clean_text("josé", LINE) == "josé"


def test_multi_line_fields_keep_lf_and_tab_and_normalise_other_breaks() -> None:
    """CRLF, CR, VT, FF, NEL, U+2028/9 and FS/GS/RS become LF; TAB stays; US is a space."""
    text = "One\r\nTwo\rThree\vFour\fFive\x85Six\u2028Seven\u2029Eight\x1eNine\tTab\x1fUS"
    assert clean_text(text, TEXT) == (
        "One\nTwo\nThree\nFour\nFive\nSix\nSeven\nEight\nNine\tTab US"
    )
    assert clean_text("\n\n  Para one\n\nPara two  \n", TEXT) == "Para one\n\nPara two"


def test_is_clean_line_accepts_only_text_cleaning_would_leave_alone() -> None:
    """A key is usable as it is only when cleaning would not change it."""
    assert is_clean_line("R-1 two")
    assert not is_clean_line(" R-1")
    assert not is_clean_line("R\n1")
    assert not is_clean_line("R\x00")
    assert not is_clean_line("R\ud800")


@given(st.one_of(st.text(), hostile_text(max_size=200)), st.sampled_from([LINE, TEXT]))
def test_whatever_is_accepted_can_be_stored_and_is_stable(value: str, kind: TextKind) -> None:
    """Any text either raises UnstorableText or comes back encodable as UTF-8, free of refused
    characters, single-line for LINE, and unchanged by cleaning again."""
    try:
        cleaned = clean_text(value, kind)
    except UnstorableText as exc:
        assert exc.char in value
        cleaned = scrub_text(value, kind)
    cleaned.encode("utf-8")  # no lone surrogate survives
    assert "\x00" not in cleaned
    assert all(ord(c) >= 0x20 or c in "\t\n" for c in cleaned)
    assert not any(0x7F <= ord(c) <= 0x9F for c in cleaned)
    assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in cleaned)
    if kind is LINE:
        assert len(cleaned.splitlines()) <= 1 and "\t" not in cleaned
        assert is_clean_line(cleaned)
    assert clean_text(cleaned, kind) == cleaned
    assert cleaned == cleaned.strip()


def test_stored_times_must_lie_between_1970_and_2100() -> None:
    """utc_in_range converts to UTC, and refuses times out of range or past datetime's limits."""
    berlin = timezone(timedelta(hours=1))
    assert utc_in_range(datetime(2026, 11, 30, 10, 0, tzinfo=berlin)) == datetime(
        2026, 11, 30, 9, 0, tzinfo=UTC
    )
    assert utc_in_range(EARLIEST) == EARLIEST
    far_west = timezone(-timedelta(hours=23, minutes=59))
    far_east = timezone(timedelta(hours=23, minutes=59))
    for at in (
        datetime.max.replace(tzinfo=far_west),  # 9999-12-31T23:59:59-23:59 overflows UTC
        datetime.min.replace(tzinfo=far_east),
        LATEST,
        EARLIEST - timedelta(microseconds=1),
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    ):
        with pytest.raises(TimeOutOfRange):
            utc_in_range(at)
    with pytest.raises(ValueError, match="aware"):
        utc_in_range(datetime(2026, 1, 1))
