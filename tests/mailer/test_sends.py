"""Send keys: each kind of bulk send builds and parses its dedupe keys in one place."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import jobs.alerts
from jobs.alerts import ALERT_RUN
from jobs.run_reports import alert_run_rows
from mailer.campaign_admin import campaign_rows
from mailer.models import MessageKind, OutboxMessage
from mailer.outbox import enqueue
from mailer.reputation import send_key
from mailer.sends import CAMPAIGN, SendKind, send_kinds
from preferences.models import Candidate
from preferences.subscriptions import get_or_create_candidate


@pytest.mark.parametrize(("kind", "name"), [(CAMPAIGN, "campaign"), (ALERT_RUN, "alert-run")])
def test_a_kind_builds_and_parses_its_own_keys(kind: SendKind, name: str) -> None:
    """prefix, dedupe_key, send_key and send_id agree, for campaigns and alert runs alike."""
    key = kind.dedupe_key(12, 345)
    assert key == f"{name}:12:345"
    assert kind.prefix(12) == f"{name}:12:"
    assert kind.send_key(key) == kind.prefix(12) == send_key(key)
    assert kind.send_id(key) == 12
    assert kind.send_id(kind.prefix(12)) == 12


def test_a_kind_parses_no_other_key() -> None:
    """Another kind's keys, test sends and 1:1 mail belong to no send of this kind."""
    for other in ("alert-run:7:9", "campaign-test:12:3:1.5", "welcome:9", "campaign:x:1", ""):
        assert CAMPAIGN.send_id(other) is None
        assert CAMPAIGN.send_key(other) is None
    assert ALERT_RUN.send_id("campaign:12:345") is None
    assert send_key("campaign-test:12:3:1.5") is None


def test_alert_runs_use_their_kind() -> None:
    """jobs builds a digest's key with ALERT_RUN, registered with mailer when jobs is imported."""
    assert jobs.alerts.dedupe_key(7, 9) == ALERT_RUN.dedupe_key(7, 9) == "alert-run:7:9"
    assert {k.name for k in send_kinds()} == {"campaign", "alert-run"}


def test_sql_keys_match_python_keys(db_session: Session) -> None:
    """A key built in SQL (a campaign's INSERT … SELECT) equals the one built in Python, and the
    rows of each send are picked by their own kind's prefix."""
    candidate, _ = get_or_create_candidate(db_session, "ana@example.com")
    built = db_session.scalar(
        select(CAMPAIGN.dedupe_key_sql(3, Candidate.id)).where(Candidate.id == candidate.id)
    )
    assert built == CAMPAIGN.dedupe_key(3, candidate.id)
    for key in (built, ALERT_RUN.dedupe_key(3, candidate.id), ALERT_RUN.dedupe_key(31, 1)):
        enqueue(
            db_session,
            kind=MessageKind.CAMPAIGN,
            template="campaign",
            to_address="ana@example.com",
            dedupe_key=key,
        )
    db_session.flush()

    def keys(condition: object) -> list[str]:
        return list(db_session.scalars(select(OutboxMessage.dedupe_key).where(condition)))

    assert keys(campaign_rows(3)) == [built]
    assert keys(alert_run_rows(3)) == [f"alert-run:3:{candidate.id}"]


@pytest.mark.parametrize(
    ("module", "kinds"),
    [
        ("mailer.worker", ["campaign"]),
        ("jobs.models", ["campaign", "alert-run"]),
        ("portal.cli.main", ["campaign", "alert-run"]),
    ],
)
def test_importing_jobs_registers_the_alert_run_kind(module: str, kinds: list[str]) -> None:
    """In a fresh interpreter, the worker alone knows campaigns; anything that imports jobs
    (the `talentconnect` command that runs the worker does) knows alert runs too."""
    script = (
        f"import {module}\n"
        "from mailer.sends import send_kinds\n"
        "print(','.join(kind.name for kind in send_kinds()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip().split(",") == kinds
