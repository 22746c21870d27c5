"""Enter in any candidate-facing form does its primary action, never Back or a side action.

A browser submits a form on Enter with the form's first submit button (HTML's implicit
submission). These tests read every candidate-facing page's forms and check that, in
each form with more than one submit button, the first one names the primary action.
tests/browser/test_enter_key.py presses Enter in a real browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from portal.auth.accounts import set_password
from preferences.db import session_scope
from preferences.models import ConsentSource
from preferences.subscriptions import get_or_create_candidate, subscribe
from preferences.tokens import LinkPurpose, make_link_token
from tests.conftest import TEST_SECRET

from .helpers import add_interest, csrf_token

PASSWORD = "a long enough passphrase"


@dataclass
class Form:
    """One <form>: its submit buttons in document order, as (name=value, classes, label)."""

    submits: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def primary(self) -> tuple[str, str, str]:
        primaries = [b for b in self.submits if "button-primary" in b[1].split()]
        assert len(primaries) == 1, self.submits
        return primaries[0]


class FormReader(HTMLParser):
    """Collect each form's submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._button: dict[str, str | None] | None = None
        self._label: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._form = Form()
            self.forms.append(self._form)
        elif tag == "button" and self._form is not None and a.get("type", "submit") == "submit":
            self._button, self._label = a, []
        elif tag == "input" and self._form is not None and a.get("type") == "submit":
            self._add(a, a.get("value") or "")

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._label.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "button" and self._button is not None:
            self._add(self._button, " ".join("".join(self._label).split()))
            self._button = None

    def _add(self, a: dict[str, str | None], label: str) -> None:
        assert self._form is not None
        action = f"{a.get('name') or ''}={a.get('value') or ''}"
        self._form.submits.append((action, a.get("class") or "", label))


def forms_of(html: str) -> list[Form]:
    reader = FormReader()
    reader.feed(html)
    return reader.forms


@pytest.fixture
def member(sessions: sessionmaker[Session]) -> dict[str, Any]:
    """Ana, with a password and Design alerts, and her signed preferences and confirm links."""
    with session_scope(sessions) as session:
        design = add_interest(session, "Design", position=1)
        add_interest(session, "Sales", position=2)
        candidate, _ = get_or_create_candidate(session, "ana@example.com", first_name="Ana")
        set_password(candidate, PASSWORD)
        subscribe(session, candidate, design, source=ConsentSource.CONNECT_FORM, confirmed=False)
        return {
            "preferences": make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, candidate),
            "confirm": make_link_token(
                [TEST_SECRET], LinkPurpose.CONFIRM_EMAIL, candidate, i=[design.id]
            ),
        }


def candidate_pages(client: FlaskClient, member: dict[str, Any]) -> dict[str, str]:
    """Every candidate-facing page with a form, signed out then signed in."""
    paths = [
        "/connect/details",
        "/connect/interests",
        "/connect/resume",
        "/connect/review",
        "/connect/confirm/resend",
        f"/connect/confirm/{member['confirm']}",
        "/login",
        "/login/forgot",
        "/preferences/resend",
        f"/preferences/{member['preferences']}",
    ]
    pages = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        pages[path] = response.text
    login = client.get("/login").text
    signed_in = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(login),
            "email": "ana@example.com",
            "password": PASSWORD,
            "action": "password",
        },
    )
    assert signed_in.status_code == 302
    for path in ("/dashboard", "/dashboard/profile", "/dashboard/preferences", "/dashboard/delete"):
        response = client.get(path)
        assert response.status_code == 200, path
        pages[path] = response.text
    return pages


def test_the_first_submit_button_of_every_form_is_its_primary_action(
    client: FlaskClient, member: dict[str, Any]
) -> None:
    """In each form with several submit buttons, Enter's button (the first) is the primary one."""
    several = []
    for path, html in candidate_pages(client, member).items():
        for form in forms_of(html):
            if len(form.submits) < 2:
                continue
            several.append(path)
            first, primary = form.submits[0], form.primary
            assert first[0] == primary[0] and first[2] == primary[2], (path, form.submits)
            # The copy is neither seen, nor reached by Tab, nor read out.
            assert "visually-hidden" in first[1].split(), (path, first)
    # The forms this is about: the connect steps and the login form.
    assert sorted(set(several)) == sorted(
        ["/connect/details", "/connect/interests", "/connect/resume", "/connect/review", "/login"]
    )


@pytest.mark.parametrize(
    ("path", "primary"),
    [
        ("/connect/details", "action=continue"),
        ("/connect/interests", "action=continue"),
        ("/connect/resume", "action=upload"),
        ("/connect/review", "action=submit"),
        ("/login", "action=password"),
    ],
)
def test_back_and_side_actions_keep_their_place_after_the_default(
    client: FlaskClient, path: str, primary: str
) -> None:
    """Seen and tabbed to, Back (or the sign-in link) still comes before the primary button."""
    (form,) = forms_of(client.get(path).text)
    visible = [b for b in form.submits if "visually-hidden" not in b[1].split()]
    assert visible[-1][0] == primary and "button-primary" in visible[-1][1]
    assert visible[-2][0] in ("action=back", "action=link")
    assert "button-secondary" in visible[-2][1]
