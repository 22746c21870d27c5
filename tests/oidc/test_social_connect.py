"""The social path through the whole connect flow, against the loopback provider."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import Engine, select

from mailer.models import OutboxMessage
from preferences.db import make_session_factory, session_scope
from preferences.models import Candidate, ConsentEvent, Subscription, SubscriptionStatus
from tests.oidc.helpers import sign_in
from tests.oidc.provider import OidcTestProvider
from tests.portal.helpers import add_interest, csrf_token


def test_verified_social_sign_up_skips_double_opt_in(
    app: Flask, provider: OidcTestProvider, engine: Engine
) -> None:
    """A provider-verified email prefills review and subscribes at once, with a welcome email."""
    sessions = make_session_factory(engine)
    with session_scope(sessions) as session:
        interest_id = add_interest(session, "Design").id
    client = app.test_client()
    response = sign_in(client, provider)
    assert response.headers["Location"].endswith("/connect/interests")
    page = client.get("/connect/interests")
    client.post(
        "/connect/interests",
        data={"csrf_token": csrf_token(page.text), "interest": [str(interest_id)]},
    )
    review = client.get("/connect/review")
    user = provider.user
    assert f'value="{user.given_name}"' in review.text and user.email in review.text
    done = client.post(
        "/connect/review",
        data={
            "csrf_token": csrf_token(review.text),
            "first_name": user.given_name,
            "last_name": user.family_name,
            "email": user.email,
            "interest": [str(interest_id)],
            "alerts": "yes",
            "action": "submit",
        },
    )
    assert done.status_code == 302
    with session_scope(sessions) as session:
        candidate = session.scalars(select(Candidate)).one()
        assert candidate.email_verified_at is not None
        sub = session.scalars(select(Subscription)).one()
        assert sub.status is SubscriptionStatus.SUBSCRIBED
        assert [m.template for m in session.scalars(select(OutboxMessage))] == ["welcome"]
        assert session.scalars(select(ConsentEvent.source)).all()[0].value == "connect_form"
    assert "are on" in client.get("/connect/thanks").text


def test_social_login_signs_a_member_in_and_refuses_strangers(
    app: Flask, provider: OidcTestProvider, engine: Engine
) -> None:
    """The login page's social button opens the dashboard for a member, never for a stranger."""
    from preferences.subscriptions import get_or_create_candidate
    from tests.oidc.helpers import callback_path

    client = app.test_client()
    start = client.get("/connect/social/test?purpose=login")
    stranger = client.get(callback_path(provider.visit(start.headers["Location"])))
    assert stranger.headers["Location"].endswith("/login")
    assert client.get("/dashboard").status_code == 302

    with session_scope(make_session_factory(engine)) as session:
        get_or_create_candidate(session, provider.user.email, first_name="Ada")
    start = client.get("/connect/social/test?purpose=login")
    member = client.get(callback_path(provider.visit(start.headers["Location"])))
    assert member.headers["Location"].endswith("/dashboard")
    assert "Welcome back, Ada" in client.get("/dashboard").text
