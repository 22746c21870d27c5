"""The /jobs search page: form, counts per choice, chips, empty state, links keeping the search."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from jobs.posting_fields import EmploymentType, Workplace
from preferences.clock import now
from tests.hostile import NASTY_CHARACTERS
from tests.portal.helpers import add_interest, add_job

JOB_LINK = re.compile(r'<a href="/jobs/(\d+)">([^<]*)</a>')


def titles(page: str) -> list[str]:
    return [html.unescape(title) for _, title in JOB_LINK.findall(page)]


def option(page: str, name: str, value: str) -> str:
    """The text of one option of the filter select `name`, with its `selected` mark."""
    select = re.search(rf'<select id="f-{name}" name="{name}">(.*?)</select>', page, re.S)
    assert select is not None, name
    found = re.search(rf'<option value="{value}"( selected)?\s*>([^<]*)</option>', select.group(1))
    assert found is not None, (name, value)
    return html.unescape(found.group(2)) + (" [selected]" if found.group(1) else "")


def hrefs(page: str, text: str) -> list[str]:
    """The hrefs of links whose visible text contains `text`."""
    links = re.findall(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', page, re.S)
    return [
        html.unescape(href)
        for href, inner in links
        if text in html.unescape(re.sub(r"<[^>]+>", "", inner))
    ]


@pytest.fixture
def board(sessions: sessionmaker[Session]) -> None:
    """Five open jobs with places, workplaces, types and areas, and one closed."""
    at = now()
    with sessions.begin() as session:
        eng = add_interest(session, "Software Engineering", slug="software", position=1)
        design = add_interest(session, "Design", slug="design", position=2)

        def job(title: str, hours: float, **facts: Any) -> None:
            posting = add_job(
                session,
                title,
                interests=facts.pop("interests", []),
                location=facts.pop("location", "Berlin, Germany"),
                description=facts.pop("description", "A role on a friendly team."),
                posted_at=at - timedelta(hours=hours),
                closed_at=facts.pop("closed_at", None),
            )
            for name, value in facts.items():
                setattr(posting, name, value)

        job(
            "Python Engineer",
            2,
            interests=[eng],
            workplace=Workplace.REMOTE,
            employment_type=EmploymentType.FULL_TIME,
        )
        job(
            "Senior Python Developer",
            30,
            interests=[eng],
            workplace=Workplace.HYBRID,
            employment_type=EmploymentType.FULL_TIME,
            location="London, United Kingdom",
        )
        job(
            "Product Designer",
            100,
            interests=[design],
            workplace=Workplace.REMOTE,
            employment_type=EmploymentType.CONTRACT,
            description="Python scripting is a plus.",
        )
        job(
            "Data Intern",
            24 * 20,
            workplace=Workplace.ON_SITE,
            employment_type=EmploymentType.INTERNSHIP,
            location="Leeds, United Kingdom",
        )
        job("Office Manager", 24 * 40, location="Leeds, United Kingdom")
        job("Python Closed", 5, closed_at=at - timedelta(minutes=1), workplace=Workplace.REMOTE)


def test_search_lists_ranked_matches_with_the_form_filled(client: FlaskClient, board: None) -> None:
    """Keywords rank title matches first; the form shows what was searched."""
    page = client.get("/jobs?q=python").text
    assert titles(page) == ["Python Engineer", "Senior Python Developer", "Product Designer"]
    assert "3 open roles matching “python”" in page
    assert 'value="python"' in page
    assert "Python Closed" not in page


def test_options_show_counts_given_the_other_filters(client: FlaskClient, board: None) -> None:
    """Each select option says how many jobs it would show with the rest of the search."""
    page = client.get("/jobs?q=python&workplace=remote").text
    assert titles(page) == ["Python Engineer", "Product Designer"]
    assert option(page, "workplace", "remote") == "Remote (2) [selected]"
    assert option(page, "workplace", "hybrid") == "Hybrid (1)"
    assert option(page, "workplace", "on_site") == "On site (0)"
    assert option(page, "type", "full_time") == "Full time (1)"
    assert option(page, "type", "contract") == "Contract (1)"
    assert option(page, "interest", "software") == "Software Engineering (1)"
    assert option(page, "interest", "design") == "Design (1)"
    assert option(page, "posted", "24h") == "Past 24 hours (1)"
    assert option(page, "posted", "7d") == "Past week (2)"


def test_popular_locations_link_with_counts(client: FlaskClient, board: None) -> None:
    """The most common places are links with their counts that keep the rest of the search."""
    page = client.get("/jobs?type=full_time").text
    assert 'Berlin, Germany <span class="count">(1)</span>' in page
    (link,) = hrefs(page, "London, United Kingdom")
    assert link == "/jobs?location=London,+United+Kingdom&type=full_time"
    followed = client.get(link).text
    assert titles(followed) == ["Senior Python Developer"]


def test_chips_remove_one_filter_each_and_clear_all(client: FlaskClient, board: None) -> None:
    """Each active filter is a chip whose Remove link keeps every other filter."""
    page = client.get(
        "/jobs?q=python&location=berlin&workplace=remote&type=full_time&interest=software&posted=7d"
    ).text
    assert titles(page) == ["Python Engineer"]
    removes = {
        label: hrefs(page, f"Remove {label}")
        for label in (
            "“python”",
            "In berlin",
            "Remote",
            "Full time",
            "Software Engineering",
            "Past week",
        )
    }
    assert removes["“python”"] == [
        "/jobs?location=berlin&workplace=remote&type=full_time&interest=software&posted=7d"
    ]
    assert removes["Remote"] == [
        "/jobs?q=python&location=berlin&type=full_time&interest=software&posted=7d"
    ]
    assert removes["Past week"] == [
        "/jobs?q=python&location=berlin&workplace=remote&type=full_time&interest=software"
    ]
    assert all(len(links) == 1 for links in removes.values()), removes
    assert hrefs(page, "Clear all") == ["/jobs"]


def test_empty_state_offers_to_remove_each_filter(client: FlaskClient, board: None) -> None:
    """No match: the page says so and links to the search without each filter."""
    response = client.get("/jobs?q=python&workplace=on_site&posted=24h")
    assert response.status_code == 200
    page = response.text
    assert titles(page) == []
    assert "No open jobs match your search." in page
    # Removing the workplace brings the remote Python Engineer back.
    # A chip and a line of the empty state, both to the same search.
    links = hrefs(page, "Remove On site")
    assert set(links) == {"/jobs?q=python&posted=24h"}
    without_workplace = links[0]
    assert titles(client.get(without_workplace).text) == ["Python Engineer"]
    assert "/jobs" in hrefs(page, "Clear all")


def test_pagination_keeps_every_argument(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """Next and Previous carry the whole search along."""
    at = now()
    with sessions.begin() as session:
        for n in range(25):
            posting = add_job(session, f"Nurse {n:02d}", posted_at=at - timedelta(hours=n))
            posting.workplace = Workplace.ON_SITE
    first = client.get("/jobs?q=nurse&workplace=on_site&location=germany").text
    assert len(titles(first)) == 20
    assert (
        'rel="next" href="/jobs?q=nurse&amp;location=germany&amp;workplace=on_site&amp;page=2"'
        in first
    )
    second = client.get("/jobs?q=nurse&location=germany&workplace=on_site&page=2").text
    assert titles(second) == [f"Nurse {n:02d}" for n in range(20, 25)]
    assert (
        'rel="prev" href="/jobs?q=nurse&amp;location=germany&amp;workplace=on_site&amp;page=1"'
        in second
    )


def test_unknown_values_are_dropped_with_a_note(client: FlaskClient, board: None) -> None:
    """A filter value the site does not know is left out, and the page says so politely."""
    response = client.get("/jobs?workplace=moon&type=gig&posted=1y&q=python")
    assert response.status_code == 200
    page = response.text
    assert titles(page) == ["Python Engineer", "Senior Python Developer", "Product Designer"]
    assert "“moon” is not a workplace we know" in html.unescape(page)
    assert "“gig” is not a job type we know" in html.unescape(page)


def test_the_form_works_without_javascript(client: FlaskClient, board: None) -> None:
    """The search is a plain GET form with labelled fields, and empty fields change nothing."""
    page = client.get("/jobs").text
    assert re.search(r'<form class="job-search"[^>]*method="get"[^>]*action="/jobs"', page)
    for field_id, label in (
        ("q", "Keywords"),
        ("location", "Location"),
        ("f-workplace", "Workplace"),
        ("f-type", "Job type"),
        ("f-interest", "Area"),
        ("f-posted", "Date posted"),
    ):
        assert f'<label for="{field_id}">{label}</label>' in page
    assert "<legend>Filter jobs</legend>" in page
    submitted = client.get("/jobs?q=&location=&workplace=&type=&interest=&posted=").text
    assert len(titles(submitted)) == 5
    assert "Clear all" not in submitted


def test_atom_alternate_link_stays(client: FlaskClient, board: None) -> None:
    """The page still names its Atom feed (per area when one is chosen)."""
    page = client.get("/jobs?interest=design").text
    assert 'type="application/atom+xml"' in page
    assert 'href="/jobs.atom?interest=design"' in page


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(["q", "location", "workplace", "type", "interest", "posted", "page"]),
        st.lists(
            st.sampled_from([*NASTY_CHARACTERS, "a", "NEAR", "*", "(", "-", "OR", "python"]),
            max_size=12,
        ).map("".join),
    )
)
def test_hostile_arguments_never_fail(
    client: FlaskClient, board: None, args: dict[str, str]
) -> None:
    """Any mix of odd characters and FTS syntax in any argument answers 200, never a 500."""
    # Lone surrogates go out as the invalid UTF-8 bytes a hostile client can send.
    query = "&".join(
        f"{name}={quote(value.encode('utf-8', 'surrogatepass'))}" for name, value in args.items()
    )
    response = client.get(f"/jobs?{query}")
    assert response.status_code == 200, args


@pytest.mark.parametrize(
    "args",
    [
        {"q": '"'},
        {"q": "python*"},
        {"q": "NEAR(python"},
        {"q": "-python"},
        {"q": "(("},
        {"q": "x" * 5000},
        {"location": "%"},
        {"location": "_"},
        {"location": "\\"},
        {"interest": "\x00"},
        {"q": "a " * 50},
        {"page": "99999"},
    ],
)
def test_odd_arguments_answer_a_page(
    client: FlaskClient, board: None, args: dict[str, str]
) -> None:
    """FTS syntax, wildcards, NULs and very long values answer 200."""
    response = client.get("/jobs", query_string=args)
    assert response.status_code == 200
