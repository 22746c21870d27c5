"""Parsing resume text into suggested fields, skills and interests."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.config import PROFILE_FIELD_NAMES
from portal.resumes import CONTACT_FIELDS, InterestKeywords, ParsedResume, parse_resume

INTERESTS = [
    InterestKeywords(1, "Software Engineering", ["python", "go", "C", "C++", "javascript"]),
    InterestKeywords(2, "Data & Analytics", ["sql", "machine learning", "python"]),
    InterestKeywords(3, "Sales", ["salesforce", "quota"]),
    InterestKeywords(4, "Finance", ["fp&a", ".net", "  "]),
]


def test_contact_fields_are_the_connect_form_fields() -> None:
    """ParsedResume's fields are exactly the profile fields the connect form knows."""
    assert CONTACT_FIELDS == PROFILE_FIELD_NAMES


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("Call (415) 555-2671", "US", "+14155552671"),
        ("Phone: 415.555.0123", "US", "+14155550123"),
        ("Tel 020 7946 0958", "GB", "+442079460958"),
        ("Tel 020 7946 0958", "US", None),
        ("Mobil +49 30 12345678", "US", "+493012345678"),
        ("+33 6 12 34 56 78", "FR", "+33612345678"),
        ("+91 98765 43210", "US", "+919876543210"),
        ("+55 11 91234-5678", "US", "+5511912345678"),
        ("2015 - 2019 at Acme, San Francisco, CA 94105", "US", None),
    ],
)
def test_phone_is_e164_using_the_default_region(
    text: str, region: str, expected: str | None
) -> None:
    """Numbers without a country code use the default region; output is E.164."""
    assert parse_resume(text, [], default_region=region).phone == expected


def test_internationalized_email_is_accepted() -> None:
    """An address with non-ASCII local part and domain is found and normalized."""
    parsed = parse_resume("José\nContact: josé@exämple.test.", [])
    assert parsed.email == "josé@exämple.test"


def test_invalid_addresses_are_skipped_for_the_first_valid_one() -> None:
    """Things shaped like addresses but invalid are passed over."""
    text = "a..b@example.com, jane@localhost, 'jane.doe@example.org'"
    assert parse_resume(text, []).email == "jane.doe@example.org"


def test_email_digits_are_not_read_as_a_phone_number() -> None:
    """Digits inside an address never become the phone number."""
    assert parse_resume("jane4155552671@example.com", []).phone is None


def test_skills_and_suggested_interests() -> None:
    """Keywords match as whole words, case-insensitively; their interests are suggested."""
    text = "Skills: PYTHON, Machine\nLearning, C++ and FP&A. I moved here two years ago."
    parsed = parse_resume(text, INTERESTS)
    assert parsed.skills == ["python", "C++", "machine learning", "fp&a"]
    assert parsed.suggested_interest_ids == [1, 2, 4]


def test_keywords_do_not_match_inside_words() -> None:
    """ "go" is not in "ago", "C" is not in "C++" or "C#", ".net" is not in "ASP.NETX"."""
    parsed = parse_resume("Long ago I wrote C# and C++ for ASP.NETX", INTERESTS)
    assert "go" not in parsed.skills
    assert "C" not in parsed.skills
    assert ".net" not in parsed.skills


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("José Álvarez-Núñez\nEngineer", "José", "Álvarez-Núñez"),
        ("Zoë O'Brien", "Zoë", "O'Brien"),
        ("Zoë O\u2019Brien", "Zoë", "O\u2019Brien"),
        ("JOSÉ ÁLVAREZ-NÚÑEZ", "José", "Álvarez-Núñez"),
        ("Curriculum Vitae\nAna de la Cruz", "Ana", "de la Cruz"),
        ("Resume\nName: Jane Q. Doe", "Jane", "Doe"),
        ("Berlin, Germany\nLukas Müller", "Lukas", "Müller"),
        ("Jane Doe, MBA | Product Manager", "Jane", "Doe"),
        ("Senior Software Engineer\nJane Doe", "Jane", "Doe"),
        ("Dr. Anna-Lena Becker", "Anna-Lena", "Becker"),
        ("Sam Lee (they/them)", "Sam", "Lee"),
        ("Fatima El Amrani | fatima@example.ma | linkedin.com/in/fe", "Fatima", "El Amrani"),
    ],
)
def test_name_heuristics(text: str, first: str, last: str) -> None:
    """Accents, apostrophes, capitals, particles, labels, titles and pronouns are handled."""
    parsed = parse_resume(text, [])
    assert (parsed.first_name, parsed.last_name) == (first, last)


def test_no_name_when_nothing_looks_like_one() -> None:
    """Headings and sentences are not taken for a name."""
    parsed = parse_resume("EXPERIENCE\nbuilt things with python since 2010", [])
    assert parsed.first_name is None and parsed.last_name is None


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("Jane Doe\nSan Francisco, CA 94105 • jane@example.com", "San Francisco, CA"),
        ("Jane Doe\nLocation: Lisbon", "Lisbon, Portugal"),
        ("Jane Doe\nLocation: Middle Earth", "Middle Earth"),
        ("Jane Doe\nBased in Rio de Janeiro, Brazil", "Rio de Janeiro, Brazil"),
        ("Jane Doe\nAddress: 123 Main St, Springfield, IL 62701", "Springfield, IL"),
        ("Jane Doe\n10115 Berlin, Germany", "Berlin, Germany"),
        ("Jane Doe\nCuritiba, PR, Brazil", "Curitiba, PR, Brazil"),
        ("Jane Doe\nPune, Maharashtra | +91 98765 43210", "Pune, Maharashtra"),
        ("Jane Doe\nAccountant, Tailspin Toys, 2018 - 2024. GAAP, audit.", None),
        ("Jane Doe\nWorked in Boston, or nearby", None),
    ],
)
def test_location_heuristics(text: str, location: str | None) -> None:
    """Labelled and "City, Region" locations are found; job lines and prose are not."""
    assert parse_resume(text, []).location == location


def test_links_are_normalized() -> None:
    """LinkedIn, GitHub and a personal site come back as absolute canonical URLs."""
    text = (
        "Jane Doe\nuk.linkedin.com/in/jane-doe/ | http://www.github.com/janedoe/dotfiles\n"
        "www.janedoe.dev/work/. Also at https://twitter.com/jane"
    )
    parsed = parse_resume(text, [])
    assert parsed.linkedin_url == "https://www.linkedin.com/in/jane-doe"
    assert parsed.github_url == "https://github.com/janedoe"
    assert parsed.portfolio_url == "https://www.janedoe.dev/work/"


def test_email_domain_is_not_taken_for_a_website() -> None:
    """jane@janedoe.dev does not make https://janedoe.dev the portfolio."""
    assert parse_resume("Jane Doe\njane@janedoe.dev", []).portfolio_url is None


def test_as_dict_is_json_safe_and_round_trips() -> None:
    """as_dict survives JSON (Resume.parsed_fields) and from_dict rebuilds the same value."""
    parsed = parse_resume("Zoë O'Brien\nParis, France\nzoe@example.fr\nPython", INTERESTS)
    data = json.loads(json.dumps(parsed.as_dict()))
    assert ParsedResume.from_dict(data) == parsed
    assert data["failed"] is False


def test_from_dict_drops_garbage() -> None:
    """Wrongly typed or unknown values in stored JSON are ignored, not trusted."""
    parsed = ParsedResume.from_dict(
        {"email": 5, "phone": "", "skills": ["sql", 3], "suggested_interest_ids": [1, "2", True]}
        | {"unknown": "x", "failed": "yes"}
    )
    assert parsed == ParsedResume(skills=["sql"], suggested_interest_ids=[1])
    assert ParsedResume.from_dict(None) == ParsedResume()


FRAGMENTS = st.sampled_from(
    [
        "José Álvarez-Núñez",
        "ZOË O'BRIEN",
        "Name:",
        "Location:",
        "Based in",
        "Address: 1 Main St,",
        "Berlin, Germany",
        ", CA 94105",
        "+49 30 12345678",
        "(415) 555-2671",
        "+",
        "josé@exämple.test",
        "@",
        "a@b",
        "..@..",
        "linkedin.com/in/",
        "github.com/",
        "https://",
        "www.",
        ".dev",
        "Portfolio:",
        " | ",
        " • ",
        "\n",
        "\r\n",
        "\t",
        "\x00",
        "\ud800",
        "ﬁ",
        "\u202e",
        "C++",
        "python",
    ]
)
RESUME_LIKE = st.lists(st.one_of(FRAGMENTS, st.text(max_size=12)), max_size=60).map("".join)
ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=400)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(ANY_TEXT, RESUME_LIKE), region=st.sampled_from(["US", "GB", "ZZ", "", "xx"]))
def test_parse_resume_never_raises(text: str, region: str) -> None:
    """Any string at all, surrogates and control characters included, parses without error."""
    parsed = parse_resume(text, INTERESTS, default_region=region)
    json.dumps(parsed.as_dict())
    for name in CONTACT_FIELDS:
        value = getattr(parsed, name)
        assert value is None or (isinstance(value, str) and value)


@pytest.fixture(scope="module")
def warm_parser() -> None:
    """Build what the parser builds once per process (the gazetteer), outside any timing."""
    parse_resume("Jane Doe\nBerlin, Germany\njane@example.com", INTERESTS)


@pytest.mark.parametrize(
    "text",
    [
        "a" * 100_000,
        "a@" * 50_000,
        "a." * 50_000,
        "1 " * 50_000,
        "www." * 25_000,
        "Aa " * 33_000,
        "Aa, " * 25_000,
        "+1" * 50_000,
        "https://" + "a" * 100_000,
    ],
    ids=["letters", "at-signs", "dots", "digits", "www", "words", "commas", "plus", "url"],
)
def test_pathological_text_parses_quickly(text: str, warm_parser: None) -> None:
    """Long runs that defeat naive regexes (quadratic backtracking) still parse in linear time.

    Linear, each takes well under a second (`bench/resume_parse.py` times such input);
    quadratic backtracking over 100,000 characters takes minutes. The bound leaves a
    loaded machine room, as the test is about the kind of growth, not about speed.
    """
    started = time.perf_counter()
    parse_resume(text, INTERESTS)
    assert time.perf_counter() - started < 10
