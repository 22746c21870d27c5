"""Signed links in queued mail: rows keep a recipe, the worker signs it when it sends."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import SmtpTarget
from mailer.links import LinkNotSigned, sign_links, signed_link
from mailer.models import MessageKind, OutboxStatus
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from preferences.clock import FrozenClock
from preferences.db import session_scope
from preferences.models import Candidate
from preferences.tokens import InvalidLink, LinkPurpose, read_link_token

from .support import SETTINGS, add_candidate, outbox, queue

KEY = "mail-test-key-" + "k" * 32
SIGNING = dataclasses.replace(SETTINGS, secret_keys=(KEY,))
# An itsdangerous token: payload.timestamp.signature, URL-safe base64.
TOKEN = re.compile(r"[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{16,}")


class _Holder:
    public_id = "pub-123"
    token_version = 3


PREFS = signed_link(LinkPurpose.PREFERENCES, "/preferences/", _Holder())


def test_a_recipe_holds_no_token_and_signs_into_a_working_link() -> None:
    """The recipe is plain data; signing it makes a URL whose token reads back its claims."""
    recipe = signed_link(LinkPurpose.LOGIN, "/login/link/", _Holder(), u="2026-11-02")
    assert TOKEN.search(json.dumps(recipe)) is None
    context = {"login_url": recipe, "first_name": "Ana"}
    sign_links(context, public_id="pub-123", secret_keys=[KEY], base_url="https://c.example")
    url = context["login_url"]
    assert url.startswith("https://c.example/login/link/") and context["first_name"] == "Ana"
    data = read_link_token([KEY], LinkPurpose.LOGIN, url.rsplit("/", 1)[1])
    assert (data.public_id, data.token_version, data.extra) == ("pub-123", 3, {"u": "2026-11-02"})
    with pytest.raises(InvalidLink):
        read_link_token([KEY], LinkPurpose.PREFERENCES, url.rsplit("/", 1)[1])


@pytest.mark.parametrize(
    ("recipe", "public_id", "keys", "reason"),
    [
        (signed_link(LinkPurpose.PREFERENCES, "/preferences/", _Holder()), "p", [], "SECRET_KEYS"),
        (
            signed_link(LinkPurpose.PREFERENCES, "/preferences/", _Holder()),
            None,
            [KEY],
            "no longer",
        ),
        ({"signed_link": {"purpose": "nope", "path": "/x/", "v": 1}}, "p", [KEY], "purpose"),
        ({"signed_link": {"purpose": "preferences", "path": 7, "v": 1}}, "p", [KEY], "malformed"),
    ],
)
def test_a_recipe_that_cannot_be_signed_is_refused(
    recipe: dict[str, object], public_id: str | None, keys: list[str], reason: str
) -> None:
    """No keys, no candidate or a malformed recipe: `LinkNotSigned`, never a half-made URL."""
    with pytest.raises(LinkNotSigned, match=reason):
        sign_links({"url": recipe}, public_id=public_id, secret_keys=keys, base_url="https://c")


def test_a_path_must_be_a_folder() -> None:
    """A recipe's path starts and ends with a slash, so the token is its own segment."""
    with pytest.raises(ValueError, match="starts and ends"):
        signed_link(LinkPurpose.LOGIN, "/login/link", _Holder())


def _worker(sessions: sessionmaker[Session], sink: MailSink, settings: object) -> OutboxWorker:
    target = SmtpTarget.from_url(f"{sink.url}?timeout=5")
    return OutboxWorker(sessions, lambda: SmtpSender(target), settings, worker_id="w")  # type: ignore[arg-type]


def test_the_worker_signs_the_link_at_send_time_and_the_row_never_holds_it(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """The email carries a working sign-in link; the row, queued or sent, holds no token."""
    ana = add_candidate(sessions, "ana@example.com", first_name="Ana")
    with session_scope(sessions) as session:
        candidate = session.get(Candidate, ana)
        assert candidate is not None
        recipe = signed_link(LinkPurpose.LOGIN, "/login/link/", candidate, u="stamp")
        public_id = candidate.public_id
    queue(
        sessions,
        "ana@example.com",
        "login:ana",
        kind=MessageKind.LOGIN_LINK,
        template="login_link",
        candidate_id=ana,
        context={"login_url": recipe},
    )
    assert TOKEN.search(json.dumps(outbox(sessions)["login:ana"].context)) is None
    assert _worker(sessions, smtp_server, SIGNING).run_once().sent == 1
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    text = next(received.parsed().iter_parts()).get_content()
    (token,) = re.findall(r"https://careers\.acme\.example\.com/login/link/(\S+)", text)
    data = read_link_token([KEY], LinkPurpose.LOGIN, token)
    assert (data.public_id, data.extra) == (public_id, {"u": "stamp"})
    row = outbox(sessions)["login:ana"]
    assert row.status is OutboxStatus.SENT
    assert token not in json.dumps(row.context) and TOKEN.search(json.dumps(row.context)) is None


def test_a_row_whose_link_cannot_be_signed_fails_with_a_reason(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """Without SECRET_KEYS the worker sends no link-less email: the row fails and says why."""
    ana = add_candidate(sessions, "ana@example.com")
    queue(
        sessions,
        "ana@example.com",
        "prefs:ana",
        kind=MessageKind.LOGIN_LINK,
        template="preference_link",
        candidate_id=ana,
        context={
            "preferences_url": signed_link(LinkPurpose.PREFERENCES, "/preferences/", _Holder())
        },
    )
    result = _worker(sessions, smtp_server, SETTINGS).run_once()
    assert (result.claimed, result.failed, result.sent) == (1, 1, 0)
    row = outbox(sessions)["prefs:ana"]
    assert row.status is OutboxStatus.FAILED
    assert row.last_error == "link not signed: no SECRET_KEYS to sign the link with"
    assert isinstance(smtp_server.store, MemoryStore) and smtp_server.store.messages == []
