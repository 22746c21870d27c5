"""The interests console: login, CSRF, create, edit, reorder, retire and merge (with its email)."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jobs.models import AlertSchedule, JobPosting
from jobs.posting_admin import merge_interest
from mailer.config import SmtpTarget
from mailer.models import MessageKind, OutboxMessage
from mailer.outbox import enqueue
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from portal.config import Settings
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentEvent,
    ConsentSource,
    Interest,
    InterestStatus,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import get_or_create_candidate, subscribe, unsubscribe
from tests.portal.helpers import add_interest, add_job, ask_first, confirm, csrf_token, login


def _signed_in(client: FlaskClient, recruiter: tuple[str, str]) -> str:
    assert login(client, *recruiter).status_code == 302
    page = client.get("/admin/interests/")
    assert page.status_code == 200
    return csrf_token(page.text)


def _interests(sessions: sessionmaker[Session]) -> list[tuple[str, int, str]]:
    with sessions() as s:
        rows = s.execute(select(Interest.name, Interest.position, Interest.status))
        return sorted(((n, p, st.value) for n, p, st in rows), key=lambda r: (r[1], r[0]))


def test_interests_need_a_recruiter_login(client: FlaskClient) -> None:
    """Signed out, every interests page redirects to the login page and nothing is stored."""
    assert client.get("/admin/interests/").status_code == 302
    response = client.post("/admin/interests/", data={"name": "Sneaky"})
    assert response.status_code in (302, 400)
    assert "/admin/login" in response.headers.get("Location", "/admin/login")
    response = client.get("/admin/interests/1/edit")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_create_needs_the_csrf_token(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A create without the CSRF token is refused and stores nothing."""
    _signed_in(client, recruiter)
    response = client.post("/admin/interests/", data={"name": "Design"})
    assert response.status_code == 400
    assert _interests(sessions) == []


def test_create_edit_and_list_in_order(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Created interests go to the end of the list; editing keeps the slug."""
    token = _signed_in(client, recruiter)
    for name in ("Design", "Data Science"):
        response = client.post(
            "/admin/interests/",
            data={"csrf_token": token, "name": name, "details": "d", "keywords": "a, b,a"},
        )
        assert response.status_code == 302
    page = client.get("/admin/interests/")
    assert page.text.index("Design") < page.text.index("Data Science")
    assert "Added Data Science." in page.text
    with sessions() as s:
        ds = s.scalars(select(Interest).where(Interest.name == "Data Science")).one()
        assert ds.slug == "data-science" and ds.keywords == ["a", "b"]
        ds_id = ds.id
    edit = client.get(f"/admin/interests/{ds_id}/edit")
    assert 'value="Data Science"' in edit.text
    response = client.post(
        f"/admin/interests/{ds_id}/edit",
        data={"csrf_token": token, "name": "Data & AI", "details": "New", "keywords": "ml"},
    )
    assert response.status_code == 302
    with sessions() as s:
        ds = s.get_one(Interest, ds_id)
        assert (ds.name, ds.slug, ds.details, ds.keywords) == (
            "Data & AI",
            "data-science",
            "New",
            ["ml"],
        )


def test_bad_input_is_refused_with_a_message_and_nothing_stored(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A duplicate or blank name gets a clear message and leaves the interests unchanged."""
    with session_scope(sessions) as s:
        add_interest(s, "Design", position=1)
    token = _signed_in(client, recruiter)
    before = _interests(sessions)
    response = client.post("/admin/interests/", data={"csrf_token": token, "name": "design"})
    assert response.status_code == 400
    assert "An interest called &#39;design&#39; already exists." in response.text
    response = client.post("/admin/interests/", data={"csrf_token": token, "name": "!!!"})
    assert response.status_code == 400
    assert "Use at least one letter or digit." in response.text
    response = client.post(
        "/admin/interests/", data={"csrf_token": token, "name": "X", "keywords": "k" * 61}
    )
    assert response.status_code == 400
    assert "Each keyword can be at most 60 characters." in response.text
    assert _interests(sessions) == before


def test_move_up_and_down_and_retire(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Move buttons swap neighbours; a retired interest leaves the candidates' list."""
    with session_scope(sessions) as s:
        a = add_interest(s, "Alpha", position=1).id
        add_interest(s, "Beta", position=2)
        c = add_interest(s, "Gamma", position=3).id
    token = _signed_in(client, recruiter)
    url = f"/admin/interests/{c}/move"
    assert client.post(url, data={"csrf_token": token, "direction": "up"}).status_code == 302
    assert [n for n, _, _ in _interests(sessions)] == ["Alpha", "Gamma", "Beta"]
    url = f"/admin/interests/{a}/move"
    assert client.post(url, data={"csrf_token": token, "direction": "down"}).status_code == 302
    assert [n for n, _, _ in _interests(sessions)] == ["Gamma", "Alpha", "Beta"]
    response = client.post(url, data={"csrf_token": token, "direction": "sideways"})
    assert response.status_code == 400 and "Move an interest up or down." in response.text
    assert [n for n, _, _ in _interests(sessions)] == ["Gamma", "Alpha", "Beta"]
    response = client.post(
        f"/admin/interests/{a}/retire", data={"csrf_token": token, "confirm": "yes"}
    )
    assert response.status_code == 302
    with sessions() as s:
        assert s.get_one(Interest, a).status is InterestStatus.RETIRED
    assert "Alpha" not in client.get("/connect/interests").text


def test_retire_without_confirmation_asks_and_changes_nothing(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Retire first asks (nothing changes); an unticked box says what to do; ticked, it retires."""
    with session_scope(sessions) as s:
        a = add_interest(s, "Alpha", position=1).id
    token = _signed_in(client, recruiter)
    url = f"/admin/interests/{a}/retire"
    said, unticked = ask_first(client, url, token)
    assert "Retire Alpha?" in said and "Nothing has changed yet." in said
    assert 'name="confirm" value="yes"' in said and 'name="step" value="confirm"' in said
    assert "Tick the box to confirm. Nothing has been retired." in unticked
    with sessions() as s:
        assert s.get_one(Interest, a).status is InterestStatus.ACTIVE
    done = confirm(client, url, token)
    assert done.status_code == 302
    with sessions() as s:
        assert s.get_one(Interest, a).status is InterestStatus.RETIRED


def test_merge_without_confirmation_changes_nothing_and_says_so(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A merge posted without the ticked box moves nothing, keeps the choice and asks to tick it."""
    with session_scope(sessions) as s:
        source = add_interest(s, "Analytics", position=1)
        target = add_interest(s, "Data Science", position=2)
        _subscribed(s, "ana@example.com", source)
        source_id, target_id = source.id, target.id
    token = _signed_in(client, recruiter)
    response = client.post(
        f"/admin/interests/{source_id}/merge", data={"csrf_token": token, "target": target_id}
    )
    assert response.status_code == 400
    assert "Tick the box to confirm. Nothing has been merged." in response.text
    assert f'<option selected value="{target_id}">' in response.text
    with sessions() as s:
        assert s.get_one(Interest, source_id).merged_into_id is None
        assert s.scalar(select(Subscription.interest_id)) == source_id
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def _subscribed(s: Session, email: str, interest: Interest) -> Candidate:
    candidate, _ = get_or_create_candidate(s, email, first_name=email.split("@")[0])
    subscribe(s, candidate, interest, source=ConsentSource.CONNECT_FORM, confirmed=True)
    return candidate


def test_merge_moves_subscribers_history_and_jobs_and_emails_each_candidate_once(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Merging A into B moves subscriptions and consent, retags jobs, and queues one email each."""
    with session_scope(sessions) as s:
        source = add_interest(s, "Analytics", position=1)
        target = add_interest(s, "Data Science", position=2)
        other = add_interest(s, "Design", position=3)
        only_a = _subscribed(s, "ana@example.com", source)
        both = _subscribed(s, "bo@example.com", source)
        subscribe(s, both, target, source=ConsentSource.CONNECT_FORM, confirmed=True)
        gone = _subscribed(s, "cy@example.com", source)
        unsubscribe(s, gone, source, source=ConsentSource.PREFERENCE_CENTER)
        _subscribed(s, "di@example.com", other)
        job = add_job(s, "Analyst", interests=[source, other])
        both_job = add_job(s, "Scientist", interests=[source, target])
        schedule = AlertSchedule(name="Daily", all_interests=False, cron="0 8 * * *")
        schedule.interests = [source]
        s.add(schedule)
        s.flush()
        ids = (source.id, target.id, only_a.id, both.id, gone.id, job.id, both_job.id, schedule.id)
    source_id, target_id, a_id, both_id, gone_id, job_id, both_job_id, schedule_id = ids
    with sessions() as s:
        history = s.scalar(
            select(func.count())
            .select_from(ConsentEvent)
            .where(ConsentEvent.interest_id == source_id)
        )
    token = _signed_in(client, recruiter)
    page = client.get(f"/admin/interests/{source_id}/merge")
    assert page.status_code == 200 and "3 subscriptions" in page.text
    response = client.post(
        f"/admin/interests/{source_id}/merge",
        data={"csrf_token": token, "target": target_id, "confirm": "yes"},
    )
    assert response.status_code == 302
    assert "2 candidates will be told by email" in client.get("/admin/interests/").text
    with sessions() as s:
        merged = s.get_one(Interest, source_id)
        assert merged.merged_into_id == target_id and merged.status is InterestStatus.RETIRED
        subs = {
            (c, st)
            for c, st in s.execute(
                select(Subscription.candidate_id, Subscription.status).where(
                    Subscription.interest_id.in_([source_id, target_id])
                )
            )
        }
        assert subs == {
            (a_id, SubscriptionStatus.SUBSCRIBED),
            (both_id, SubscriptionStatus.SUBSCRIBED),
            (gone_id, SubscriptionStatus.UNSUBSCRIBED),
        }
        left = s.scalar(
            select(func.count())
            .select_from(ConsentEvent)
            .where(ConsentEvent.interest_id == source_id)
        )
        assert left == 0
        merge_events = s.scalars(
            select(ConsentEvent).where(ConsentEvent.detail["merged_from"].as_integer() == source_id)
        ).all()
        assert sorted(e.candidate_id for e in merge_events) == sorted([a_id, both_id, gone_id])
        assert all(
            e.source is ConsentSource.ADMIN and e.interest_id == target_id for e in merge_events
        )
        moved = s.scalar(
            select(func.count())
            .select_from(ConsentEvent)
            .where(ConsentEvent.interest_id == target_id)
        )
        assert moved >= history + len(merge_events)
        mail = s.scalars(select(OutboxMessage).order_by(OutboxMessage.candidate_id)).all()
        assert [(m.candidate_id, m.kind, m.template) for m in mail] == [
            (a_id, MessageKind.INTEREST_MERGED, "interest_merged"),
            (both_id, MessageKind.INTEREST_MERGED, "interest_merged"),
        ]
        assert mail[0].context == {"from_interest": "Analytics", "to_interest": "Data Science"}
        tags = {j.id: sorted(i.name for i in j.interests) for j in s.scalars(select(JobPosting))}
        assert tags == {job_id: ["Data Science", "Design"], both_job_id: ["Data Science"]}
        assert [i.id for i in s.get_one(AlertSchedule, schedule_id).interests] == [target_id]
    # The source is gone from the candidates' choices; merging it again is refused.
    response = client.post(
        f"/admin/interests/{source_id}/merge",
        data={"csrf_token": token, "target": target_id, "confirm": "yes"},
    )
    assert response.status_code == 400 and "Analytics was already merged." in response.text
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_merge_into_itself_or_an_unknown_interest_changes_nothing(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A merge target that is the source, or not offered, is refused and nothing moves."""
    with session_scope(sessions) as s:
        source = add_interest(s, "Analytics", position=1)
        retired = add_interest(s, "Old", position=2, status=InterestStatus.RETIRED)
        _subscribed(s, "ana@example.com", source)
        source_id, retired_id = source.id, retired.id
    token = _signed_in(client, recruiter)
    for target in (source_id, retired_id, 9999, "x"):
        response = client.post(
            f"/admin/interests/{source_id}/merge", data={"csrf_token": token, "target": target}
        )
        assert response.status_code == 400
        assert "Not a valid choice" in response.text
    with sessions() as s:
        assert s.get_one(Interest, source_id).merged_into_id is None
        assert s.scalar(select(Subscription.interest_id)) == source_id
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_merge_email_is_delivered_once_per_candidate(
    sessions: sessionmaker[Session], settings: Settings, smtp_server: MailSink
) -> None:
    """The worker sends each subscribed candidate one "interest merged" email over real SMTP."""
    with session_scope(sessions) as s:
        source = add_interest(s, "Analytics", position=1)
        target = add_interest(s, "Data Science", position=2)
        _subscribed(s, "ana@example.com", source)
        both = _subscribed(s, "bo@example.com", source)
        subscribe(s, both, target, source=ConsentSource.CONNECT_FORM, confirmed=True)
        source_id, target_id = source.id, target.id
    with session_scope(sessions) as s:
        merge_interest(s, source_id, target_id)
    with session_scope(sessions) as s:
        # Queueing again for the same merge adds nothing (one dedupe key per candidate).
        for candidate_id in s.scalars(select(Candidate.id)):
            assert not enqueue(
                s,
                kind=MessageKind.INTEREST_MERGED,
                template="interest_merged",
                to_address="x@example.com",
                dedupe_key=f"interest-merged:{source_id}:{candidate_id}",
            )
    worker = OutboxWorker(
        sessions,
        lambda: SmtpSender(SmtpTarget.from_url(f"{smtp_server.url}?timeout=5")),
        settings.mail_settings(),
    )
    worker.run_once()
    assert isinstance(smtp_server.store, MemoryStore)
    messages = smtp_server.store.wait_for(2)
    assert sorted(m.envelope_to for m in messages) == [("ana@example.com",), ("bo@example.com",)]
    for m in messages:
        parsed = message_from_bytes(m.data, policy=default)
        assert parsed["Subject"] == "Your Acme job alerts for Analytics are now Data Science"
        assert "List-Unsubscribe" not in parsed  # transactional, not bulk
    worker.run_once()
    assert len(smtp_server.store.messages) == 2
