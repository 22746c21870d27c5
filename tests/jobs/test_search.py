"""Job search in the database: keywords ranked by the full-text index, filters, facets, sync."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from jobs.models import JobPosting
from jobs.posting_fields import EmploymentType, Workplace
from jobs.search import SearchResult, fts5_query, search_jobs, search_tokens
from jobs.search_criteria import Posted, SearchCriteria, read_criteria
from jobs.search_ddl import PG_VECTOR_INDEX
from portal.migrate import upgrade
from preferences.clock import FrozenClock
from preferences.db import make_engine, make_session_factory, session_scope
from preferences.models import Interest

from .support import T0

Make = Callable[..., JobPosting]


@pytest.fixture
def job(db_session: Session, clock: FrozenClock) -> Make:
    """Make an open posting `age` before T0; any JobPosting field may be given."""
    numbers = count(1)

    def make(title: str, *, age: timedelta = timedelta(days=1), **fields: Any) -> JobPosting:
        closed_in = fields.pop("closed_in", None)
        n = next(numbers)
        posting = JobPosting(
            reference=f"S-{n:04d}",
            title=title,
            description=fields.pop("description", ""),
            location=fields.pop("location", ""),
            apply_url="https://jobs.example.com/apply",
            posted_at=T0 - age,
            closed_at=T0 + closed_in if closed_in is not None else None,
            **fields,
        )
        db_session.add(posting)
        db_session.flush()
        return posting

    return make


def search(session: Session, **criteria: Any) -> SearchResult:
    page = criteria.pop("page", 1)
    per_page = criteria.pop("per_page", 20)
    return search_jobs(session, SearchCriteria(**criteria), page=page, per_page=per_page)


def titles(result: SearchResult) -> list[str]:
    return [posting.title for posting in result.jobs]


def test_title_match_ranks_above_description_match(db_session: Session, job: Make) -> None:
    """A word in the title ranks a posting above one with the word only in its text, even newer."""
    job("Office Manager", description="You will organise our Python meetups.", age=timedelta(0))
    job("Python Developer", description="Build services.", age=timedelta(days=5))
    job("Account Executive", description="Sell.")
    result = search(db_session, q="python")
    assert titles(result) == ["Python Developer", "Office Manager"]
    assert result.total == 2


def test_every_word_must_match_and_case_and_stems_do_not_count(
    db_session: Session, job: Make
) -> None:
    """All keywords must match (implicit AND), case-insensitively, with English stemming."""
    job("Senior Python Engineer", description="Distributed systems and APIs.")
    job("Data Analyst", description="SQL and python notebooks.")
    job("Account Executive", description="Engineering sales.")
    assert sorted(titles(search(db_session, q="PYTHON"))) == [
        "Data Analyst",
        "Senior Python Engineer",
    ]
    assert titles(search(db_session, q="python engineering")) == ["Senior Python Engineer"]
    assert titles(search(db_session, q="python rust")) == []
    assert titles(search(db_session, q="notebook")) == ["Data Analyst"]


def test_without_keywords_newest_first(db_session: Session, job: Make) -> None:
    """No keywords: every open job, newest first, ties broken by the newer row."""
    job("Old", age=timedelta(days=9))
    job("Twin A", age=timedelta(days=2))
    job("Twin B", age=timedelta(days=2))
    job("New", age=timedelta(hours=1))
    assert titles(search(db_session)) == ["New", "Twin B", "Twin A", "Old"]


def test_equal_ranks_fall_back_to_newest(db_session: Session, job: Make) -> None:
    """Postings that match equally well come newest first."""
    for n, days in enumerate((5, 1, 3)):
        job(f"Welder {n}", description="Same text.", age=timedelta(days=days))
    assert titles(search(db_session, q="welder")) == ["Welder 1", "Welder 2", "Welder 0"]


def test_closed_and_future_postings_are_not_found(db_session: Session, job: Make) -> None:
    """Closed postings and postings not yet published never match, nor count in facets."""
    job("Python Open", workplace=Workplace.REMOTE)
    job("Python Closed", closed_in=timedelta(seconds=-1), workplace=Workplace.REMOTE)
    job("Python Future", age=timedelta(hours=-1), workplace=Workplace.REMOTE)
    job("Python Closing Later", closed_in=timedelta(hours=2))
    result = search(db_session, q="python")
    assert sorted(titles(result)) == ["Python Closing Later", "Python Open"]
    assert result.facets.workplace == {Workplace.REMOTE: 1}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"location": "berlin"}, ["Berlin Dev", "Berlin Remote Designer"]),
        ({"location": "Germany"}, ["Berlin Dev", "Berlin Remote Designer", "Munich Intern"]),
        ({"location": "lin"}, []),
        ({"workplace": Workplace.REMOTE}, ["Berlin Remote Designer", "Lisbon Contractor"]),
        ({"employment_type": EmploymentType.INTERNSHIP}, ["Munich Intern"]),
        ({"interest": "design"}, ["Berlin Remote Designer"]),
        ({"interest": "no-such-area"}, []),
        ({"posted": Posted.DAY}, ["Berlin Dev"]),
        ({"posted": Posted.WEEK}, ["Berlin Dev", "Berlin Remote Designer"]),
        ({"posted": Posted.MONTH}, ["Berlin Dev", "Berlin Remote Designer", "Lisbon Contractor"]),
        ({"location": "berlin", "workplace": Workplace.REMOTE}, ["Berlin Remote Designer"]),
        ({"q": "designer", "location": "Portugal"}, []),
        (
            {"q": "contractor", "workplace": Workplace.REMOTE, "posted": Posted.MONTH},
            ["Lisbon Contractor"],
        ),
    ],
)
def test_filters_and_their_combinations(
    db_session: Session, job: Make, filters: dict[str, Any], expected: list[str]
) -> None:
    """Each filter keeps what it says; filters combine with AND."""
    design = Interest(name="Design", slug="design")
    db_session.add(design)
    job(
        "Berlin Dev",
        location="Berlin, Germany",
        workplace=Workplace.ON_SITE,
        employment_type=EmploymentType.FULL_TIME,
        age=timedelta(hours=3),
    )
    job(
        "Berlin Remote Designer",
        location="Berlin, Germany",
        workplace=Workplace.REMOTE,
        interests=[design],
        age=timedelta(days=3),
    )
    job(
        "Lisbon Contractor",
        location="Lisbon, Portugal",
        workplace=Workplace.REMOTE,
        employment_type=EmploymentType.CONTRACT,
        age=timedelta(days=20),
    )
    job(
        "Munich Intern",
        location="Munich, Bavaria, Germany",
        employment_type=EmploymentType.INTERNSHIP,
        age=timedelta(days=60),
    )
    result = search(db_session, **filters)
    assert sorted(titles(result)) == sorted(expected)
    assert result.total == len(expected)


def test_facets_count_each_value_with_the_other_filters(db_session: Session, job: Make) -> None:
    """A facet counts jobs per value with every other filter applied, but not its own."""
    eng = Interest(name="Engineering", slug="engineering")
    db_session.add(eng)
    job(
        "Python A",
        location="Berlin, Germany",
        workplace=Workplace.REMOTE,
        employment_type=EmploymentType.FULL_TIME,
        interests=[eng],
        age=timedelta(hours=2),
    )
    job(
        "Python B",
        location="Berlin, Germany",
        workplace=Workplace.HYBRID,
        employment_type=EmploymentType.FULL_TIME,
        age=timedelta(days=2),
    )
    job(
        "Python C",
        location="London",
        workplace=Workplace.REMOTE,
        employment_type=EmploymentType.CONTRACT,
        interests=[eng],
        age=timedelta(days=10),
    )
    job("Python D", location="London", age=timedelta(days=40))
    job("Cook", location="Berlin, Germany", workplace=Workplace.REMOTE)

    result = search(db_session, q="python", workplace=Workplace.REMOTE)
    assert sorted(titles(result)) == ["Python A", "Python C"]
    facets = result.facets
    # Workplace ignores its own filter: all python jobs by workplace.
    assert facets.workplace == {Workplace.REMOTE: 2, Workplace.HYBRID: 1}
    # The others count only remote python jobs.
    assert facets.employment_type == {EmploymentType.FULL_TIME: 1, EmploymentType.CONTRACT: 1}
    assert facets.interest == {"engineering": 2}
    assert facets.posted == {Posted.DAY: 1, Posted.WEEK: 1, Posted.MONTH: 2}
    assert facets.locations == [("Berlin, Germany", 1), ("London", 1)]

    by_place = search(db_session, q="python", location="london").facets
    assert by_place.locations == [("Berlin, Germany", 2), ("London", 2)]
    assert by_place.workplace == {Workplace.REMOTE: 1}

    everything = search(db_session).facets
    assert everything.locations == [("Berlin, Germany", 3), ("London", 2)]
    assert everything.workplace == {Workplace.REMOTE: 3, Workplace.HYBRID: 1}


def test_top_locations_are_bounded_and_most_common_first(db_session: Session, job: Make) -> None:
    """The location facet lists the ten most common places, most jobs first."""
    for n in range(12):
        for _ in range(n + 1):
            job(f"Role in {n}", location=f"City {n:02d}")
    places = search(db_session).facets.locations
    assert places == [(f"City {n:02d}", n + 1) for n in range(11, 1, -1)]


@pytest.mark.parametrize(
    "typed",
    [
        '"',
        '"python',
        "python*",
        "NEAR(python dev)",
        "-python",
        "(python",
        "python)",
        "python OR",
        "AND",
        "title:python",
        "^python",
        "python + dev",
        "{python}",
        "'",
        "\\",
    ],
)
def test_fts_syntax_is_plain_text(db_session: Session, job: Make, typed: str) -> None:
    """Quotes, stars, NEAR, minus, brackets and column filters typed by a visitor never fail
    the search; they are searched as the words they contain."""
    job("Python Dev", description="Near the river, or the title and a dev role.")
    job("Cook")
    result = search(db_session, q=typed)
    assert "Cook" not in titles(result)
    if "python" in typed:
        assert titles(result) == ["Python Dev"]


@pytest.mark.parametrize("typed", ["%", "!!! ???", "--", "_", "😀", "the", "and or not"])
def test_queries_without_searchable_words_match_nothing_and_never_fail(
    db_session: Session, job: Make, typed: str
) -> None:
    """Punctuation alone matches nothing; stop words alone do not fail either."""
    job("The Cook", description="And or not.")
    job("Python Dev")
    result = search(db_session, q=typed)
    assert "Python Dev" not in titles(result)


def test_tokens_follow_fts5_unicode61() -> None:
    """Keywords split where FTS5's unicode61 splits: at anything but letters and digits."""
    assert search_tokens("C++/Go, Ünïcode_x 3D") == ["C", "Go", "Ünïcode", "x", "3D"]
    assert fts5_query(['"python', "NEAR(a", "-"]) == '"python" "NEAR" "a"'
    assert fts5_query(["%", "*"]) is None


def test_updates_and_deletes_keep_the_index_in_step(db_session: Session, job: Make) -> None:
    """A retitled posting is found by its new title only; a deleted one is gone."""
    posting = job("Gardener", description="Plants.")
    other = job("Beekeeper", description="Bees.")
    assert titles(search(db_session, q="gardener")) == ["Gardener"]
    posting.title = "Florist"
    posting.description = "Flowers."
    db_session.flush()
    assert titles(search(db_session, q="gardener")) == []
    assert titles(search(db_session, q="plants")) == []
    assert titles(search(db_session, q="florist")) == ["Florist"]
    assert titles(search(db_session, q="flowers")) == ["Florist"]
    # Closing touches no indexed text; the posting stays findable once reopened.
    other.closed_at = T0 - timedelta(minutes=1)
    db_session.flush()
    assert titles(search(db_session, q="bees")) == []
    other.closed_at = None
    db_session.flush()
    assert titles(search(db_session, q="bees")) == ["Beekeeper"]
    db_session.delete(posting)
    db_session.flush()
    assert titles(search(db_session, q="florist")) == []
    assert titles(search(db_session)) == ["Beekeeper"]


def test_language_aware_stemming(db_session: Session, job: Make, backend: str) -> None:
    """A German posting is stemmed as German on PostgreSQL ("Entwicklerinnen" finds
    "Entwickler"); a posting without a language is English ("engineers" finds "engineering")."""
    job(
        "Softwareentwickler",
        description="Wir suchen Entwickler für unsere Plattform.",
        language="de-DE",
    )
    job("Platform engineering lead", description="Lead the team.")
    assert titles(search(db_session, q="engineers")) == ["Platform engineering lead"]
    found = titles(search(db_session, q="Plattformen"))
    if backend == "postgresql":
        assert found == ["Softwareentwickler"]
        vector = db_session.scalar(
            text("SELECT search_vector::text FROM job_postings WHERE language = 'de-DE'")
        )
        assert "'plattform':" in vector
    assert titles(search(db_session, q="entwickler")) == ["Softwareentwickler"]


def test_paging_through_matches(db_session: Session, job: Make) -> None:
    """Pages of a keyword search follow the ranking; the total counts every match."""
    for n in range(7):
        job(f"Nurse {n}", age=timedelta(hours=n))
    job("Doctor")
    first = search(db_session, q="nurse", per_page=3)
    third = search(db_session, q="nurse", per_page=3, page=3)
    past = search(db_session, q="nurse", per_page=3, page=9)
    assert (first.total, first.pages, first.has_next, first.has_prev) == (7, 3, True, False)
    assert titles(first) == ["Nurse 0", "Nurse 1", "Nurse 2"]
    assert titles(third) == ["Nurse 6"]
    assert (third.has_next, third.has_prev) == (False, True)
    assert (titles(past), past.total) == ([], 7)


def test_read_criteria_feeds_search(db_session: Session, job: Make) -> None:
    """The `/jobs` reader's criteria search as given: odd values are dropped, not fatal."""
    job("Remote Python Dev", workplace=Workplace.REMOTE)
    criteria, notes = read_criteria({"q": "python", "workplace": "Remote", "type": "gig"})
    assert notes
    assert titles(search_jobs(db_session, criteria)) == ["Remote Python Dev"]


def test_migration_indexes_existing_postings_and_downgrades(empty_database_url: str) -> None:
    """Migration 0014 indexes postings that exist before it, and its downgrade removes the index."""
    from portal.migrate import alembic_config

    engine: Engine = make_engine(empty_database_url)
    try:
        upgrade(engine, "0013")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO job_postings (reference, title, description, location, "
                    "apply_url, posted_at, created_at, updated_at, department) VALUES "
                    "('M-1', 'Lighthouse keeper', 'Keep the light.', '', 'https://x.example', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '')"
                )
            )
        upgrade(engine)
        with session_scope(make_session_factory(engine)) as session:
            found = search_jobs(session, SearchCriteria(q="lighthouse"))
            assert [j.title for j in found.jobs] == ["Lighthouse keeper"]
        from alembic import command

        with engine.begin() as conn:
            config = alembic_config(str(engine.url.render_as_string(hide_password=False)))
            config.attributes["connection"] = conn
            command.downgrade(config, "0013")
        names = inspect(engine)
        assert "job_search" not in names.get_table_names()
        columns = {c["name"] for c in names.get_columns("job_postings")}
        assert "search_vector" not in columns
        indexes = {i["name"] for i in names.get_indexes("job_postings")}
        assert PG_VECTOR_INDEX not in indexes
        upgrade(engine)
        with session_scope(make_session_factory(engine)) as session:
            assert session.scalar(select(JobPosting.title)) == "Lighthouse keeper"
            found = search_jobs(session, SearchCriteria(q="keeper"))
            assert [j.title for j in found.jobs] == ["Lighthouse keeper"]
    finally:
        engine.dispose()
