"""RFC 8058 one-click unsubscribe over HTTP: POST in both encodings, GET changes nothing."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from mailer.eligibility import skip_reason
from mailer.models import MessageKind, OutboxMessage
from mailer.outbox import enqueue
from portal.config import Settings
from portal.web.links import one_click_url
from preferences.clock import frozen, now
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Interest,
    InterestStatus,
    MassEmail,
    MassEmailStatus,
    Subscription,
)
from preferences.subscriptions import get_or_create_candidate, opt_in_mass_email, subscribe
from preferences.tokens import LIFETIMES, LinkPurpose, make_link_token, read_link_token
from tests.portal.helpers import add_interest

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
BOUNDARY = "----tc-one-click-boundary"
MULTIPART_BODY = (
    f"--{BOUNDARY}\r\n"
    'Content-Disposition: form-data; name="List-Unsubscribe"\r\n'
    "\r\n"
    "One-Click\r\n"
    f"--{BOUNDARY}--\r\n"
)
ENCODINGS = {
    "urlencoded": ("application/x-www-form-urlencoded", ONE_CLICK_BODY),
    "multipart": (f"multipart/form-data; boundary={BOUNDARY}", MULTIPART_BODY),
}
CLIENT_IP = "203.0.113.9"


@dataclass(frozen=True)
class Ana:
    """The seeded candidate: subscribed to two interests and opted in to mass email."""

    candidate_id: int
    public_id: str
    engineering_id: int
    design_id: int


@dataclass(frozen=True)
class State:
    """Everything a one-click request may change, read from the database."""

    subscriptions: dict[int, str]
    mass_email: str | None
    events: list[tuple[str, int | None, str, str, str | None]]


@pytest.fixture
def ana(sessions: sessionmaker[Session]) -> Ana:
    with session_scope(sessions) as session:
        candidate, _ = get_or_create_candidate(session, "ana@example.com", first_name="Ana")
        engineering = add_interest(session, "Engineering")
        design = add_interest(session, "Design")
        for interest in (engineering, design):
            subscribe(
                session, candidate, interest, source=ConsentSource.CONNECT_FORM, confirmed=True
            )
        opt_in_mass_email(session, candidate, source=ConsentSource.CONNECT_FORM)
        return Ana(candidate.id, candidate.public_id, engineering.id, design.id)


def state(sessions: sessionmaker[Session], ana: Ana) -> State:
    with session_scope(sessions) as session:
        subs = session.scalars(
            select(Subscription).where(Subscription.candidate_id == ana.candidate_id)
        )
        mass = session.get(MassEmailStatus, ana.candidate_id)
        events = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id))
        return State(
            subscriptions={s.interest_id: s.status.value for s in subs},
            mass_email=mass.status.value if mass is not None else None,
            events=[
                (e.scope.value, e.interest_id, e.action.value, e.source.value, e.ip_address)
                for e in events
            ],
        )


def link_path(settings: Settings, sessions: sessionmaker[Session], ana: Ana, list_ref: str) -> str:
    """The path of the one-click URL that would go into an email for `list_ref`."""
    with session_scope(sessions) as session:
        candidate = session.get_one(Candidate, ana.candidate_id)
        url = one_click_url(settings, candidate, list_ref)
    assert url.startswith(settings.base_url + "/unsubscribe/")
    return url.removeprefix(settings.base_url)


def one_click_post(client: FlaskClient, path: str, encoding: str) -> TestResponse:
    content_type, body = ENCODINGS[encoding]
    return client.post(
        path, data=body, content_type=content_type, environ_base={"REMOTE_ADDR": CLIENT_IP}
    )


def page_text(response: TestResponse) -> str:
    """The visible words of a page, whitespace collapsed, entities decoded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.text)))


def assert_no_server_error(response: TestResponse) -> None:
    assert response.status_code < 500, response.text
    assert "Location" not in response.headers


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_one_click_post_unsubscribes_that_interest_with_200_and_no_redirect(
    app: Flask,
    settings: Settings,
    sessions: sessionmaker[Session],
    ana: Ana,
    encoding: str,
) -> None:
    """A cookie-less mail-client POST answers 200, no redirect, and stops only that interest."""
    path = link_path(settings, sessions, ana, f"interest:{ana.engineering_id}")
    before = state(sessions, ana)
    client = app.test_client(use_cookies=False)
    response = one_click_post(client, path, encoding)
    assert response.status_code == 200, response.text
    assert "Location" not in response.headers
    assert "Set-Cookie" not in response.headers
    assert "You're unsubscribed" in page_text(response)
    assert "job alerts for Engineering" in page_text(response)
    after = state(sessions, ana)
    assert after.subscriptions == {
        ana.engineering_id: "unsubscribed",
        ana.design_id: "subscribed",
    }
    assert after.mass_email == before.mass_email == "opted_in"
    assert after.events[len(before.events) :] == [
        ("interest", ana.engineering_id, "withdraw", "one_click", CLIENT_IP)
    ]


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_a_second_post_also_answers_200_and_records_nothing_new(
    app: Flask,
    settings: Settings,
    sessions: sessionmaker[Session],
    ana: Ana,
    encoding: str,
) -> None:
    """One-click is idempotent: repeating the POST (mail clients retry) is a 200 no-op."""
    path = link_path(settings, sessions, ana, f"interest:{ana.engineering_id}")
    first = one_click_post(app.test_client(use_cookies=False), path, encoding)
    assert first.status_code == 200
    after_first = state(sessions, ana)
    second = one_click_post(app.test_client(use_cookies=False), path, encoding)
    assert second.status_code == 200
    assert "Location" not in second.headers
    assert "already unsubscribed" in page_text(second)
    assert state(sessions, ana) == after_first


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_the_mass_email_link_only_opts_out_of_mass_email(
    app: Flask,
    settings: Settings,
    sessions: sessionmaker[Session],
    ana: Ana,
    encoding: str,
) -> None:
    """A campaign's link opts out of mass email and leaves every job alert on."""
    path = link_path(settings, sessions, ana, "mass_email")
    before = state(sessions, ana)
    response = one_click_post(app.test_client(use_cookies=False), path, encoding)
    assert response.status_code == 200
    assert "Location" not in response.headers
    after = state(sessions, ana)
    assert after.mass_email == "opted_out"
    assert after.subscriptions == before.subscriptions
    assert set(after.subscriptions.values()) == {"subscribed"}
    assert after.events[len(before.events) :] == [
        ("mass_email", None, "withdraw", "one_click", CLIENT_IP)
    ]


def test_get_changes_nothing_and_offers_a_confirm_button(
    client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], ana: Ana
) -> None:
    """A GET (a mail scanner's prefetch) shows the question and a button, and writes nothing."""
    path = link_path(settings, sessions, ana, f"interest:{ana.engineering_id}")
    before = state(sessions, ana)
    for _ in range(3):
        response = client.get(path)
        assert response.status_code == 200
        assert client.head(path).status_code == 200
    assert state(sessions, ana) == before
    text = page_text(response)
    assert "Unsubscribe from job alerts for Engineering?" in text
    assert re.search(r"<h1>\s*Unsubscribe from job alerts for Engineering\?\s*</h1>", response.text)
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', response.text, re.S)
    assert form is not None
    assert html.unescape(form.group(1)) == path
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in form.group(2)
    assert '<button class="button button-primary" type="submit">Unsubscribe</button>' in form.group(
        2
    )
    assert response.headers["Cache-Control"] == "no-store"


def test_the_get_page_links_to_the_candidates_preference_center(
    client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], ana: Ana
) -> None:
    """The confirm page links to the full preference center with a valid preferences token."""
    response = client.get(link_path(settings, sessions, ana, "mass_email"))
    assert response.status_code == 200
    match = re.search(
        re.escape(settings.base_url) + r'/preferences/([^"]+)"', html.unescape(response.text)
    )
    assert match is not None, response.text
    data = read_link_token(settings.secret_keys, LinkPurpose.PREFERENCES, match.group(1))
    assert data.public_id == ana.public_id
    # Opting out of mass email warns about missed interview news on the same page.
    assert "You may miss notifications about interviews" in page_text(response)


def test_the_confirm_button_on_the_get_page_unsubscribes(
    client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], ana: Ana
) -> None:
    """Posting the GET page's own form (a browser click, no CSRF token) unsubscribes."""
    path = link_path(settings, sessions, ana, f"interest:{ana.design_id}")
    page = client.get(path)
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', page.text, re.S)
    assert form is not None
    fields = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2))
    )
    assert "csrf_token" not in fields
    response = client.post(html.unescape(form.group(1)), data=fields)
    assert response.status_code == 200
    assert state(sessions, ana).subscriptions[ana.design_id] == "unsubscribed"


def test_a_mail_clients_post_gets_the_outcome_without_the_sites_layout(
    app: Flask, client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], ana: Ana
) -> None:
    """Nobody reads the answer to an RFC 8058 POST: it says what changed, and no more.

    The confirm page's button (a person) gets the full page, with the way back to the
    preference center."""
    machine_path = link_path(settings, sessions, ana, f"interest:{ana.engineering_id}")
    machine = one_click_post(app.test_client(use_cookies=False), machine_path, "urlencoded")
    assert machine.status_code == 200
    assert " ".join(page_text(machine).split()) == (
        "Unsubscribed You're unsubscribed We won't send you job alerts for Engineering any "
        "more. This takes effect at once."
    )
    assert machine.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in machine.headers
    assert '<html lang="en"' in machine.text

    person_path = link_path(settings, sessions, ana, f"interest:{ana.design_id}")
    form = re.search(r"<form method=\"post\"[^>]*>(.*?)</form>", client.get(person_path).text, re.S)
    assert form is not None
    fields = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(1))
    )
    assert fields == {"List-Unsubscribe": "One-Click", "from_page": "1"}
    person = client.post(person_path, data=fields)
    assert person.status_code == 200
    assert "We won't send you job alerts for Design any more" in page_text(person)
    assert "Manage your email preferences" in page_text(person)
    assert len(person.text) > 3 * len(machine.text)
    assert state(sessions, ana).subscriptions == {
        ana.engineering_id: "unsubscribed",
        ana.design_id: "unsubscribed",
    }


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"List-Unsubscribe": "Yes"},
        {"list-unsubscribe": "One-Click"},
        {"unsubscribe": "1"},
    ],
)
def test_a_post_without_the_one_click_field_changes_nothing(
    client: FlaskClient,
    settings: Settings,
    sessions: sessionmaker[Session],
    ana: Ana,
    body: dict[str, str],
) -> None:
    """Without List-Unsubscribe=One-Click the POST is a friendly 400 and nothing changes."""
    path = link_path(settings, sessions, ana, f"interest:{ana.engineering_id}")
    before = state(sessions, ana)
    response = client.post(path, data=body)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "Nothing was changed" in page_text(response)
    assert state(sessions, ana) == before


def test_a_tampered_token_is_a_friendly_400(
    client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], ana: Ana
) -> None:
    """Changing one character of the signature, or a garbage token, gets the 400 page."""
    path = link_path(settings, sessions, ana, f"interest:{ana.engineering_id}")
    last = path[-1]
    tampered = path[:-5] + ("A" if path[-5] != "A" else "B") + path[-4:]
    assert tampered[-1] == last
    before = state(sessions, ana)
    for bad in (
        tampered,
        "/unsubscribe/garbage",
        "/unsubscribe/a.b.c",
        "/unsubscribe/" + "x" * 2100,
    ):
        for method in ("GET", "POST"):
            response = client.open(
                bad, method=method, data=ONE_CLICK_BODY, content_type=ENCODINGS["urlencoded"][0]
            )
            assert_no_server_error(response)
            assert response.status_code == 400, (bad, method)
            assert "This unsubscribe link doesn't work" in page_text(response)
    assert state(sessions, ana) == before


def test_a_token_made_for_another_purpose_is_a_400(
    client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], ana: Ana
) -> None:
    """A valid preferences-center token does not work as a one-click token."""
    with session_scope(sessions) as session:
        candidate = session.get_one(Candidate, ana.candidate_id)
        token = make_link_token(
            settings.secret_keys, LinkPurpose.PREFERENCES, candidate, l="mass_email"
        )
    before = state(sessions, ana)
    response = client.post(
        f"/unsubscribe/{token}", data=ONE_CLICK_BODY, content_type=ENCODINGS["urlencoded"][0]
    )
    assert response.status_code == 400
    assert state(sessions, ana) == before


def test_an_expired_token_offers_a_new_link_with_410(
    client: FlaskClient,
    settings: Settings,
    sessions: sessionmaker[Session],
    ana: Ana,
) -> None:
    """A link older than its lifetime gets the "email me a new link" page, and changes nothing."""

    with frozen(now() - timedelta(seconds=LIFETIMES[LinkPurpose.ONE_CLICK] + 60)):
        path = link_path(settings, sessions, ana, f"interest:{ana.engineering_id}")
    before = state(sessions, ana)
    for method in ("GET", "POST"):
        response = client.open(
            path, method=method, data=ONE_CLICK_BODY, content_type=ENCODINGS["urlencoded"][0]
        )
        assert response.status_code == 410
        assert "Location" not in response.headers
        assert "This unsubscribe link has expired." in page_text(response)
        assert "Email me a new link" in page_text(response)
    assert state(sessions, ana) == before


def test_a_revoked_token_is_a_400(
    client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], ana: Ana
) -> None:
    """After token_version is bumped ("sign me out everywhere"), old links stop working."""
    path = link_path(settings, sessions, ana, f"interest:{ana.engineering_id}")
    with session_scope(sessions) as session:
        session.get_one(Candidate, ana.candidate_id).token_version += 1
    before = state(sessions, ana)
    for method in ("GET", "POST"):
        response = client.open(
            path, method=method, data=ONE_CLICK_BODY, content_type=ENCODINGS["urlencoded"][0]
        )
        assert response.status_code == 400
        assert "This unsubscribe link doesn't work" in page_text(response)
    assert state(sessions, ana) == before


def test_a_deleted_candidates_link_is_a_400(
    client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], ana: Ana
) -> None:
    """An erased candidate's one-click link answers 400, never 500."""
    path = link_path(settings, sessions, ana, "mass_email")
    with session_scope(sessions) as session:
        session.get_one(Candidate, ana.candidate_id).status = CandidateStatus.DELETED
    response = client.post(path, data=ONE_CLICK_BODY, content_type=ENCODINGS["urlencoded"][0])
    assert response.status_code == 400


@pytest.mark.parametrize("list_ref", ["bogus", "interest:0", "interest:987654", None])
def test_an_unknown_list_is_a_friendly_400(
    client: FlaskClient,
    settings: Settings,
    sessions: sessionmaker[Session],
    ana: Ana,
    list_ref: str | None,
) -> None:
    """A validly signed token naming no list we have answers 400 and changes nothing."""
    with session_scope(sessions) as session:
        candidate = session.get_one(Candidate, ana.candidate_id)
        extra = {} if list_ref is None else {"l": list_ref}
        token = make_link_token(settings.secret_keys, LinkPurpose.ONE_CLICK, candidate, **extra)
    before = state(sessions, ana)
    for method in ("GET", "POST"):
        response = client.open(
            f"/unsubscribe/{token}",
            method=method,
            data=ONE_CLICK_BODY,
            content_type=ENCODINGS["urlencoded"][0],
        )
        assert response.status_code == 400
        assert "This unsubscribe link doesn't work" in page_text(response)
    assert state(sessions, ana) == before


def test_a_retired_interest_is_a_400_pointing_to_the_preference_center(
    client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], ana: Ana
) -> None:
    """A link for an interest retired since the email went out explains and links onward."""
    path = link_path(settings, sessions, ana, f"interest:{ana.design_id}")
    with session_scope(sessions) as session:
        session.get_one(Interest, ana.design_id).status = InterestStatus.RETIRED
    before = state(sessions, ana)
    response = client.post(path, data=ONE_CLICK_BODY, content_type=ENCODINGS["urlencoded"][0])
    assert response.status_code == 400
    assert "This list has closed" in page_text(response)
    assert f"{settings.base_url}/preferences/" in response.text
    assert state(sessions, ana) == before


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_queued_mail_for_the_unsubscribed_list_is_skipped_at_send_time(
    app: Flask,
    settings: Settings,
    sessions: sessionmaker[Session],
    ana: Ana,
    encoding: str,
) -> None:
    """Alerts queued before the one-click are refused by the worker's check; others still go."""
    with session_scope(sessions) as session:
        for key, kind, interest_id in (
            ("alert-eng", MessageKind.JOB_ALERT, ana.engineering_id),
            ("alert-design", MessageKind.JOB_ALERT, ana.design_id),
            ("campaign", MessageKind.CAMPAIGN, None),
        ):
            enqueue(
                session,
                kind=kind,
                template="job_alert" if interest_id else "campaign",
                to_address="ana@example.com",
                dedupe_key=key,
                candidate_id=ana.candidate_id,
                context={"interest_id": interest_id} if interest_id else {},
            )

    def reasons() -> dict[str, str | None]:
        with session_scope(sessions) as session:
            rows = session.scalars(select(OutboxMessage))
            return {row.dedupe_key: skip_reason(session, row) for row in rows}

    assert reasons() == {"alert-eng": None, "alert-design": None, "campaign": None}
    client = app.test_client(use_cookies=False)
    eng = link_path(settings, sessions, ana, f"interest:{ana.engineering_id}")
    assert one_click_post(client, eng, encoding).status_code == 200
    after = reasons()
    assert after["alert-eng"] == "candidate is not subscribed to this interest"
    assert after["alert-design"] is None
    assert after["campaign"] is None
    mass = link_path(settings, sessions, ana, "mass_email")
    assert one_click_post(client, mass, encoding).status_code == 200
    assert reasons()["campaign"] == "candidate is opted out of mass email"


def test_consent_events_say_one_click(
    client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], ana: Ana
) -> None:
    """The recorded event names the one-click source, the withdraw action and the scope."""
    path = link_path(settings, sessions, ana, "mass_email")
    client.post(path, data=ONE_CLICK_BODY, content_type=ENCODINGS["urlencoded"][0])
    with session_scope(sessions) as session:
        event = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
        assert event is not None
        assert (event.scope, event.action, event.source) == (
            ConsentScope.MASS_EMAIL,
            ConsentAction.WITHDRAW,
            ConsentSource.ONE_CLICK,
        )
        assert session.get_one(MassEmailStatus, ana.candidate_id).status is MassEmail.OPTED_OUT


def test_the_confirm_page_of_one_interest_speaks_of_its_alerts_only(
    client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], ana: Ana
) -> None:
    """An interest link's confirm page names the interest and has no mass-email warning."""
    response = client.get(link_path(settings, sessions, ana, f"interest:{ana.engineering_id}"))
    text = page_text(response)
    assert "You will stop getting job alerts for Engineering." in text
    assert "You may miss notifications about interviews" not in text


def test_a_digest_link_of_several_interests_leaves_exactly_those(
    app: Flask, client: FlaskClient, settings: Settings, sessions: sessionmaker[Session], ana: Ana
) -> None:
    """GET names every interest and changes nothing; the one-click POST withdraws each once."""
    with session_scope(sessions) as session:
        sales = add_interest(session, "Sales")
        candidate = session.get_one(Candidate, ana.candidate_id)
        subscribe(session, candidate, sales, source=ConsentSource.CONNECT_FORM, confirmed=True)
        sales_id = sales.id
    ids = sorted([ana.engineering_id, ana.design_id])
    path = link_path(settings, sessions, ana, "interests:" + ".".join(map(str, ids)))
    before = state(sessions, ana)
    page = client.get(path)
    assert page.status_code == 200
    text = page_text(page)
    assert "Unsubscribe from job alerts for Design and Engineering?" in text
    assert "all the areas of interest this email was about" in text
    assert "You may miss notifications about interviews" not in text
    assert state(sessions, ana) == before
    response = one_click_post(app.test_client(use_cookies=False), path, "urlencoded")
    assert response.status_code == 200, response.text
    assert "We won't send you job alerts for Design and Engineering any more" in page_text(response)
    after = state(sessions, ana)
    assert after.subscriptions == {
        ana.engineering_id: "unsubscribed",
        ana.design_id: "unsubscribed",
        sales_id: "subscribed",
    }
    assert after.mass_email == "opted_in"
    assert sorted(after.events[len(before.events) :]) == sorted(
        ("interest", i, "withdraw", "one_click", CLIENT_IP) for i in ids
    )
    again = one_click_post(app.test_client(use_cookies=False), path, "urlencoded")
    assert again.status_code == 200
    assert state(sessions, ana).events == after.events


# --- behind a reverse proxy: PROXY_HOPS ----------------------------------------------

PROXY_IP = "10.0.0.2"


@pytest.mark.parametrize(
    ("hops", "forwarded_for", "recorded"),
    [
        (0, "203.0.113.9", PROXY_IP),  # no proxy trusted: the header is ignored
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "198.51.100.66, 203.0.113.9", "203.0.113.9"),  # a forged entry on the left
        (2, "198.51.100.66, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
    ],
    ids=["untrusted", "one-proxy", "forged-left-entry", "two-proxies"],
)
def test_the_consent_record_takes_the_client_address_proxy_hops_from_the_right(
    tmp_path: Any,
    database_url: str,
    sessions: sessionmaker[Session],
    ana: Ana,
    hops: int,
    forwarded_for: str,
    recorded: str,
) -> None:
    """With PROXY_HOPS=n the client is the n-th X-Forwarded-For entry from the right; with
    0 (the default) the header is ignored and the peer (the proxy) is recorded."""
    from portal.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, database_url, PROXY_HOPS=str(hops))
    app = create_app(settings)
    try:
        path = link_path(settings, sessions, ana, "mass_email")
        response = app.test_client(use_cookies=False).post(
            path,
            data=ONE_CLICK_BODY,
            content_type="application/x-www-form-urlencoded",
            headers={"X-Forwarded-For": forwarded_for},
            environ_base={"REMOTE_ADDR": PROXY_IP},
        )
        assert response.status_code == 200, response.text
        assert state(sessions, ana).events[-1] == (
            "mass_email",
            None,
            "withdraw",
            "one_click",
            recorded,
        )
    finally:
        app.extensions["talentconnect"].engine.dispose()


def test_behind_a_trusted_proxy_each_client_has_its_own_rate_limit(
    tmp_path: Any, database_url: str, sessions: sessionmaker[Session], ana: Ana
) -> None:
    """With PROXY_HOPS=1 two visitors behind one proxy spend separate CONNECT_RATE_LIMIT
    budgets on the preference Save; with 0 they share the proxy's."""
    from portal.app import create_app
    from portal.views.preferences import link_form_token
    from tests.conftest import make_settings

    def codes(hops: int) -> list[int]:
        settings = make_settings(
            tmp_path, database_url, PROXY_HOPS=str(hops), CONNECT_RATE_LIMIT="2 per minute"
        )
        with session_scope(sessions) as session:
            candidate = session.get_one(Candidate, ana.candidate_id)
            token = make_link_token(settings.secret_keys, LinkPurpose.PREFERENCES, candidate)
        save = {
            "csrf_token": link_form_token(token, settings.secret_keys[0]),
            "interest": [str(ana.engineering_id), str(ana.design_id)],
        }
        app = create_app(settings)
        try:
            client = app.test_client(use_cookies=False)
            return [
                client.post(
                    f"/preferences/{token}",
                    data=save,
                    headers={"X-Forwarded-For": visitor},
                    environ_base={"REMOTE_ADDR": PROXY_IP},
                ).status_code
                for visitor in ("203.0.113.9", "203.0.113.9", "198.51.100.7", "198.51.100.7")
            ]
        finally:
            app.extensions["talentconnect"].engine.dispose()

    assert codes(1) == [200, 200, 200, 200]
    assert codes(0) == [200, 200, 429, 429]


def test_proxy_hops_must_be_a_small_whole_number(tmp_path: Any, database_url: str) -> None:
    """A bad PROXY_HOPS stops start-up with a message naming the setting."""
    from portal.config import ConfigError
    from tests.conftest import make_settings

    for bad in ("-1", "6", "two"):
        with pytest.raises(ConfigError, match="TALENTCONNECT_PROXY_HOPS"):
            make_settings(tmp_path, database_url, PROXY_HOPS=bad)
