"""Reading, keying and wording job searches (jobs.search_criteria)."""

from __future__ import annotations

import pytest

from jobs.posting_fields import EmploymentType, Workplace
from jobs.search_criteria import (
    MAX_QUERY,
    MAX_QUERY_WORDS,
    Posted,
    SearchCriteria,
    criteria_key,
    describe,
    read_criteria,
)


def test_read_criteria_takes_every_filter_and_normalises_spacing() -> None:
    """Each parameter lands in its field; whitespace runs collapse and choices accept labels."""
    criteria, notes = read_criteria(
        {
            "q": "  python \t developer ",
            "location": " Berlin ",
            "workplace": "Remote",
            "type": "full-time",
            "interest": "Software-Engineering",
            "posted": "7d",
        }
    )
    assert notes == []
    assert criteria == SearchCriteria(
        q="python developer",
        location="Berlin",
        workplace=Workplace.REMOTE,
        employment_type=EmploymentType.FULL_TIME,
        interest="software-engineering",
        posted=Posted.WEEK,
    )


def test_unknown_choices_are_dropped_with_a_note_never_an_error() -> None:
    """A shared link with a stale or hostile value still opens: the filter is left out and named."""
    criteria, notes = read_criteria({"workplace": "moon", "type": "x" * 500, "posted": "1y"})
    assert criteria == SearchCriteria()
    assert len(notes) == 3
    assert all(len(note) < 120 for note in notes)


def test_control_characters_are_dropped_and_long_text_is_cut() -> None:
    """NUL and other controls never reach the database; over-long keywords are shortened."""
    criteria, notes = read_criteria({"q": "py\x00thon\u202e " + "a" * 500})
    assert "\x00" not in criteria.q and "\u202e" not in criteria.q
    assert len(criteria.q) <= MAX_QUERY
    assert notes


def test_only_the_first_words_are_searched() -> None:
    """More than MAX_QUERY_WORDS words are cut, with a note."""
    words = [f"w{i}" for i in range(MAX_QUERY_WORDS + 4)]
    criteria, notes = read_criteria({"q": " ".join(words)})
    assert criteria.words == words[:MAX_QUERY_WORDS]
    assert any("words" in note for note in notes)


def test_query_args_round_trip_through_read_criteria() -> None:
    """The URL form of a search reads back as the same search."""
    criteria = SearchCriteria(
        q="data", location="Leeds", workplace=Workplace.HYBRID, posted=Posted.DAY
    )
    assert read_criteria(criteria.query_args()) == (criteria, [])
    assert criteria.query_args() == {
        "q": "data",
        "location": "Leeds",
        "workplace": "hybrid",
        "posted": "24h",
    }


def test_without_removes_one_filter_by_its_parameter_name() -> None:
    """`without("type")` clears the employment type; an unknown name is a programming error."""
    criteria = SearchCriteria(q="go", employment_type=EmploymentType.CONTRACT)
    assert criteria.without("type") == SearchCriteria(q="go")
    assert criteria.without("q") == SearchCriteria(employment_type=EmploymentType.CONTRACT)
    with pytest.raises(ValueError):
        criteria.without("salary")


def test_a_search_can_alert_only_when_something_besides_age_narrows_it() -> None:
    """ "Posted in the past day" alone is no alert; the alert form drops the window."""
    assert not SearchCriteria().can_alert()
    assert not SearchCriteria(posted=Posted.DAY).can_alert()
    with_words = SearchCriteria(q="rust", posted=Posted.DAY)
    assert with_words.can_alert()
    assert with_words.for_alert() == SearchCriteria(q="rust")


def test_criteria_key_ignores_case_and_spacing_but_not_filters() -> None:
    """Two spellings of one search share a key; a different filter does not."""
    a = SearchCriteria(q="Python  Developer", location="berlin")
    b = SearchCriteria(q="python developer", location="BERLIN")
    assert criteria_key(a) == criteria_key(b)
    assert len(criteria_key(a)) == 64
    assert criteria_key(a) != criteria_key(SearchCriteria(q="python developer"))
    assert criteria_key(a) != criteria_key(
        SearchCriteria(q="python developer", location="berlin", workplace=Workplace.REMOTE)
    )


def test_describe_words_the_search_as_digests_and_pages_show_it() -> None:
    """Keywords quoted, the place after "in", then the filters' labels and the interest's name."""
    criteria = SearchCriteria(
        q="python",
        location="Berlin",
        workplace=Workplace.REMOTE,
        employment_type=EmploymentType.FULL_TIME,
        interest="software-engineering",
    )
    assert describe(criteria, "Software Engineering") == (
        "“python” in Berlin · Remote · Full time · Software Engineering"
    )
    assert describe(SearchCriteria(location="Leeds")) == "in Leeds"
    assert describe(SearchCriteria(interest="design")) == "design"
    assert describe(SearchCriteria()) == "all open jobs"
