"""A posting's optional facts (`jobs.posting_fields`): the rules, closing by valid_through,
and the words a job page shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobs.models import JobPosting
from jobs.posting_admin import PostingDraft, PostingRejected, close_posting_now, save_posting
from jobs.posting_fields import (
    DetailsRejected,
    EmploymentType,
    SalaryPeriod,
    Workplace,
    details_as_text,
    language_tag,
    place_text,
    read_details,
    salary_text,
)
from jobs.postings import list_open_jobs
from preferences.clock import frozen


def problems(raw: dict[str, object], posted_at: datetime | None = None) -> dict[str, str]:
    with pytest.raises(DetailsRejected) as info:
        read_details(raw, posted_at)
    return {name: p.reason for name, p in info.value.problems.items()}


def test_nothing_given_is_nothing_stored() -> None:
    """Every fact is optional: blank text and missing keys read as not given."""
    details = read_details({"employment_type": " ", "department": "", "salary_min": None})
    assert details.values() == {
        "employment_type": None,
        "workplace": None,
        "department": "",
        "salary_min": None,
        "salary_max": None,
        "salary_currency": None,
        "salary_period": None,
        "valid_through": None,
        "language": None,
    }


def test_choices_accept_the_ways_people_write_them() -> None:
    """ "Full-time", "full time" and "FULL_TIME" are all full_time; "On-site" is on_site."""
    for written in ("Full-time", "full time", "FULL_TIME", "full_time"):
        assert (
            read_details({"employment_type": written}).employment_type is EmploymentType.FULL_TIME
        )
    assert read_details({"workplace": "On-site"}).workplace is Workplace.ON_SITE
    assert problems({"employment_type": "freelance", "workplace": 3}) == {
        "employment_type": "must be one of full_time, part_time, contract, temporary, internship",
        "workplace": "must be one of on_site, hybrid, remote",
    }


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ("55000", Decimal("55000")),
        ("55,000", Decimal("55000")),
        ("1,250,000.5", Decimal("1250000.5")),
        (" 27.50 ", Decimal("27.50")),
        (55000, Decimal("55000")),
        (27.5, Decimal("27.5")),
        (0, Decimal("0")),
    ],
)
def test_salary_amounts_from_text_or_numbers(written: object, amount: Decimal) -> None:
    details = read_details(
        {"salary_min": written, "salary_currency": "eur", "salary_period": "Year"}
    )
    assert details.salary_min == amount
    assert details.salary_currency == "EUR"
    assert details.salary_period is SalaryPeriod.YEAR


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("55.000,00", "must be an amount like 55000 or 27.50"),
        ("1.234", "must be an amount like 55000 or 27.50"),
        (1.234, "must be an amount like 55000 or 27.50"),
        ("abc", "must be an amount like 55000 or 27.50"),
        (True, "must be an amount like 55000 or 27.50"),
        (float("nan"), "must be an amount like 55000 or 27.50"),
        (float("inf"), "must be an amount like 55000 or 27.50"),
        (1e-300, "must be an amount like 55000 or 27.50"),
        ("5e4", "must be an amount like 55000 or 27.50"),
        (-1, "must be from 0 to 9999999999.99"),
        (1e308, "must be from 0 to 9999999999.99"),
        ("10000000000", "must be from 0 to 9999999999.99"),
    ],
)
def test_bad_salary_amounts_are_named(written: object, reason: str) -> None:
    assert problems({"salary_max": written, "salary_currency": "EUR", "salary_period": "year"}) == {
        "salary_max": reason
    }


def test_a_salary_needs_its_currency_and_period_and_a_sane_range() -> None:
    assert problems({"salary_min": "50000"}) == {
        "salary_currency": "is required with a salary",
        "salary_period": "is required with a salary (hour, month or year)",
    }
    assert problems(
        {
            "salary_min": "70000",
            "salary_max": "50000",
            "salary_currency": "EUR",
            "salary_period": "year",
        }
    ) == {"salary_max": "must not be less than salary_min"}
    assert problems({"salary_currency": "EUR"}) == {
        "salary_min": "is required with a salary currency or period"
    }
    assert problems({"salary_min": "1", "salary_currency": "EURO", "salary_period": "year"}) == {
        "salary_currency": "must be an ISO 4217 currency code like EUR or USD"
    }
    assert problems({"salary_min": "1", "salary_currency": "EUR", "salary_period": "week"}) == {
        "salary_period": "must be one of hour, month, year"
    }


@pytest.mark.parametrize(
    ("written", "tag"),
    [
        ("en", "en"),
        ("de-ch", "de-CH"),
        ("pt_BR", "pt-BR"),
        ("zh-Hant-TW", "zh-Hant-TW"),
        ("AR", "ar"),
        ("english", None),
        ("xx", None),
        ("de-", None),
        ("en-US-" + "x" * 40, None),
        ("", None),
    ],
)
def test_languages_are_bcp47_tags_written_canonically(written: str, tag: str | None) -> None:
    assert language_tag(written) == tag


def test_an_unknown_language_is_refused_with_an_example() -> None:
    assert problems({"language": "Deutsch"}) == {
        "language": "must be a language tag like en, de or pt-BR"
    }


def test_valid_through_a_date_means_the_end_of_that_day_and_must_follow_posting() -> None:
    posted = datetime(2026, 12, 1, 9, tzinfo=UTC)
    details = read_details({"valid_through": "2027-01-31"}, posted)
    assert details.valid_through == datetime(2027, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)
    exact = read_details({"valid_through": "2027-01-31T12:00+01:00"}, posted)
    assert exact.valid_through == datetime(2027, 1, 31, 11, tzinfo=UTC)
    assert problems({"valid_through": "2026-11-30"}, posted) == {
        "valid_through": "must be later than posted_at"
    }
    assert problems({"valid_through": "next week"}) == {
        "valid_through": "'next week' is not an ISO 8601 date or date-time (like 2027-01-31T23:59Z)"
    }
    assert problems({"valid_through": "2150-01-01"}) == {
        "valid_through": "'2150-01-01' is not between 1970 and 2099"
    }


def test_department_follows_the_stored_text_rule() -> None:
    assert read_details({"department": "  Platform\tEngineering "}).department == (
        "Platform Engineering"
    )
    assert problems({"department": "x" * 121}) == {"department": "is longer than 120 characters"}
    assert "department" in problems({"department": "Eng\x00"})


def test_every_problem_is_reported_at_once_with_console_wording() -> None:
    with pytest.raises(DetailsRejected) as info:
        read_details({"workplace": "moon", "language": "??", "salary_min": "x"})
    messages = {name: p.message for name, p in info.value.problems.items()}
    assert messages == {
        "workplace": "Choose one of: on_site, hybrid, remote.",
        "language": "Enter a language tag like en, de or pt-BR.",
        "salary_min": "Enter an amount like 55000 or 27.50 (digits, at most two decimals).",
    }


# --- stored postings ---------------------------------------------------------------------


def draft(**details: str) -> PostingDraft:
    return PostingDraft(
        reference="R-1",
        title="Data Engineer",
        description="Build pipelines.",
        location="Leeds",
        apply_url="https://jobs.example.com/r-1",
        posted_at="2026-12-01T09:00",
        interest_ids=(),
        details=details,
    )


def test_console_save_stores_the_facts(db_session: Session) -> None:
    job = save_posting(
        db_session,
        draft(
            employment_type="part_time",
            workplace="hybrid",
            department="Data",
            salary_min="40000",
            salary_max="52000.50",
            salary_currency="gbp",
            salary_period="year",
            language="en-GB",
        ),
    )
    db_session.expire_all()
    assert (job.employment_type, job.workplace, job.department) == (
        EmploymentType.PART_TIME,
        Workplace.HYBRID,
        "Data",
    )
    assert (job.salary_min, job.salary_max, job.salary_currency, job.salary_period) == (
        Decimal("40000"),
        Decimal("52000.50"),
        "GBP",
        SalaryPeriod.YEAR,
    )
    assert job.language == "en-GB"
    assert details_as_text(job)["salary_max"] == "52000.50"


def test_console_save_with_bad_facts_stores_nothing_and_words_each(db_session: Session) -> None:
    with pytest.raises(PostingRejected) as info:
        save_posting(db_session, draft(salary_min="lots", language="Klingon", title=""))
    assert info.value.errors["salary_min"].startswith("Enter an amount")
    assert info.value.errors["language"] == "Enter a language tag like en, de or pt-BR."
    assert db_session.scalar(select(func.count()).select_from(JobPosting)) == 0


def test_valid_through_closes_the_posting_and_moving_it_reopens(db_session: Session) -> None:
    """Past valid_through the posting is closed everywhere the open filter applies."""
    with frozen(datetime(2026, 12, 10, 12, tzinfo=UTC)):
        job = save_posting(db_session, draft(valid_through="2026-12-05"))
        assert not job.is_open
        assert job.closed_at == job.valid_through
        assert list_open_jobs(db_session).jobs == []
        save_posting(db_session, draft(valid_through="2026-12-31"), job.id)
        assert job.is_open
        assert [j.reference for j in list_open_jobs(db_session).jobs] == ["R-1"]
        save_posting(db_session, draft(), job.id)
        assert job.closed_at is None and job.is_open


def test_a_recruiters_close_outlasts_a_later_valid_through(db_session: Session) -> None:
    with frozen(datetime(2026, 12, 10, 12, tzinfo=UTC)) as clock:
        job = save_posting(db_session, draft(valid_through="2026-12-31"))
        close_posting_now(db_session, job.id)
        closed = job.closed_at
        clock.advance(timedelta(minutes=5))
        save_posting(db_session, draft(valid_through="2027-01-31"), job.id)
        assert job.closed_at == closed and not job.is_open


# --- words on the job page ---------------------------------------------------------------


def facts(**values: object) -> SimpleNamespace:
    base: dict[str, object] = {
        "location": "",
        "workplace": None,
        "salary_min": None,
        "salary_max": None,
        "salary_currency": None,
        "salary_period": None,
    }
    base.update(values)
    return SimpleNamespace(**base)


def test_place_reads_as_people_say_it() -> None:
    assert place_text(facts(workplace=Workplace.REMOTE)) == "Remote"
    assert place_text(facts(workplace=Workplace.HYBRID, location="Leeds")) == "Hybrid · Leeds"
    assert place_text(facts(workplace=Workplace.ON_SITE, location="Berlin")) == "Berlin"
    assert place_text(facts(workplace=Workplace.ON_SITE)) == "On site"
    assert place_text(facts(location="Lisbon")) == "Lisbon"
    assert place_text(facts()) == "Location flexible"


def test_salary_is_formatted_for_the_locale() -> None:
    year = {"salary_currency": "EUR", "salary_period": SalaryPeriod.YEAR}
    both = facts(salary_min=Decimal("55000"), salary_max=Decimal("70000"), **year)
    assert salary_text(both, "en") == "€55,000\u2013€70,000 a year"
    assert salary_text(both, "de") == "55.000\u00a0€\u201370.000\u00a0€ a year"
    hourly = facts(
        salary_min=Decimal("27.5"), salary_currency="USD", salary_period=SalaryPeriod.HOUR
    )
    assert salary_text(hourly, "en-US") == "from $27.50 an hour"
    assert salary_text(facts(salary_max=Decimal("90000"), **year), "en") == "up to €90,000 a year"
    assert salary_text(facts(), "en") is None
