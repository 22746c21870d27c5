"""`talentconnect bounces serve` and `bounces read`, run as real processes, and their settings."""

from __future__ import annotations

import mailbox
import re
import signal
import smtplib
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import MailSettings
from mailer.models import MessageKind, OutboxMessage
from mailer.outbox import enqueue
from mailer.sink import free_port
from mailer.verp import verp_address
from portal.config import ConfigError
from preferences.db import session_scope
from preferences.models import Candidate, ConsentEvent, ConsentSource
from preferences.subscriptions import opt_in_mass_email
from preferences.suppressions import is_suppressed
from tests.conftest import make_settings
from tests.mailer.samples import HARD_5_1_1, OUT_OF_OFFICE, YAHOO_ARF, sample
from tests.portal.helpers import clean_env, run_cli, running_cli

KEYS = "bounce-cli-key-" + "c" * 32
ANA = "ana@example.com"


def seed(sessions: sessionmaker[Session]) -> int:
    """Commit Ana (opted in to mass email) and one campaign row for her; return the row id."""
    with session_scope(sessions) as session:
        candidate = Candidate(email=ANA, first_name="Ana")
        session.add(candidate)
        session.flush()
        opt_in_mass_email(session, candidate, source=ConsentSource.CONNECT_FORM)
        enqueue(
            session,
            kind=MessageKind.CAMPAIGN,
            template="welcome",
            to_address=ANA,
            dedupe_key="campaign:1:ana",
            candidate_id=candidate.id,
        )
    with sessions() as session:
        return session.scalars(select(OutboxMessage.id)).one()


def mail_settings(tmp_path: Path, database_url: str, **overrides: str) -> MailSettings:
    return make_settings(tmp_path, database_url, SECRET_KEYS=KEYS, **overrides).mail_settings()


def bounce_events(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return [
            e.source.value
            for e in session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.source.in_([ConsentSource.BOUNCE, ConsentSource.COMPLAINT]))
                .order_by(ConsentEvent.id)
            )
        ]


def suppressed(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        return is_suppressed(session, ANA)


def test_bounces_serve_suppresses_on_a_dsn_and_stops_on_sigterm(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """The listener takes BOUNCE_DOMAIN's signed return paths, refuses others, exits 0 on TERM."""
    outbox_id = seed(sessions)
    verp = verp_address(
        mail_settings(tmp_path, database_url, BOUNCE_DOMAIN="bounces.acme.example.com"), outbox_id
    )
    assert verp.endswith("@bounces.acme.example.com")
    port = free_port()
    env = clean_env(
        INSTANCE_DIR=str(tmp_path / "instance"),
        DATABASE_URL=database_url,
        SECRET_KEYS=KEYS,
        BOUNCE_DOMAIN="bounces.acme.example.com",
    )
    with running_cli(["bounces", "serve", "--port", str(port)], env=env, cwd=tmp_path) as proc:
        proc.wait_for_output(r"bounce listener listening", timeout=30)
        assert "bounce_mailbox=bounces@bounces.acme.example.com" in proc.stderr()
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            local, _, domain = verp.partition("@")
            unsigned = f"{local.rsplit('-', 1)[0]}-{'a' * 16}@{domain}"
            for refused in (unsigned, "bounces+1@acme.example.com", "careers@acme.example.com"):
                with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
                    client.sendmail("", [refused], sample(HARD_5_1_1, verp=refused))
                ((code, _text),) = info.value.recipients.values()
                assert code == 550, refused
            client.sendmail("", [verp], sample(HARD_5_1_1, verp=verp))
        proc.signal(signal.SIGTERM)
        assert proc.wait(15) == 0, proc.output()
        assert "Traceback" not in proc.output()
        assert "Running detector" not in proc.output()  # flufl.bounce kept quiet
        assert re.search(r'msg="bounce processed" outcome=hard_bounce_suppressed', proc.stderr())
        assert re.search(r"msg=stopped\b", proc.stderr()), proc.stderr()
    assert suppressed(sessions)
    assert bounce_events(sessions) == ["bounce"]


def make_maildir(path: Path, verp: str) -> None:
    box = mailbox.Maildir(path, create=True)
    box.add(sample(HARD_5_1_1, verp=verp))
    box.add(sample(OUT_OF_OFFICE, verp=verp))
    box.add(b"\xff\xfe\x00 not mail at all \x80\r\n")


def test_bounces_read_processes_a_maildir_once_and_summarizes(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Every message is read once; a second run skips them all; the summary says so."""
    outbox_id = seed(sessions)
    verp = verp_address(mail_settings(tmp_path, database_url), outbox_id)
    make_maildir(tmp_path / "Maildir", verp)
    env = clean_env(
        INSTANCE_DIR=str(tmp_path / "instance"), DATABASE_URL=database_url, SECRET_KEYS=KEYS
    )
    first = run_cli(["bounces", "read", str(tmp_path / "Maildir")], env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert re.search(r"hard_bounce_suppressed\s*│\s*1", first.stdout), first.stdout
    assert re.search(r"not_a_report \(ignored\)\s*│\s*2", first.stdout), first.stdout
    assert "3 message(s) processed, 0 already seen and skipped" in first.stdout
    assert "Traceback" not in first.stderr
    assert "Running detector" not in first.stderr
    assert suppressed(sessions)
    assert bounce_events(sessions) == ["bounce"]
    assert list((tmp_path / "Maildir" / "new").iterdir()) == []

    second = run_cli(["bounces", "read", str(tmp_path / "Maildir")], env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "0 message(s) processed, 3 already seen and skipped" in second.stdout
    assert bounce_events(sessions) == ["bounce"]


def test_bounces_read_applies_a_complaint_from_the_feedback_loop_mailbox(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """An ARF report delivered to bounces@ in a Maildir opts Ana out by the return path inside."""
    outbox_id = seed(sessions)
    verp = verp_address(mail_settings(tmp_path, database_url), outbox_id)
    mailbox.Maildir(tmp_path / "fbl", create=True).add(sample(YAHOO_ARF, verp=verp))
    env = clean_env(
        INSTANCE_DIR=str(tmp_path / "instance"), DATABASE_URL=database_url, SECRET_KEYS=KEYS
    )
    result = run_cli(["bounces", "read", str(tmp_path / "fbl")], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"complaint_applied\s*│\s*1", result.stdout), result.stdout
    assert suppressed(sessions)
    assert bounce_events(sessions) == ["complaint"]


def test_bounces_read_refuses_a_folder_that_is_not_a_maildir(tmp_path: Path) -> None:
    """A plain folder is a usage error (exit 2) saying what is missing, before settings load."""
    (tmp_path / "plain").mkdir()
    env = clean_env(INSTANCE_DIR=str(tmp_path / "instance"))
    result = run_cli(["bounces", "read", str(tmp_path / "plain")], env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "is not a Maildir" in result.stderr
    assert "Traceback" not in result.stderr


def test_bounce_settings_default_to_the_sending_domain_and_mailman_numbers(
    tmp_path: Path,
) -> None:
    """BOUNCE_DOMAIN defaults to MAIL_FROM's domain; score 5 and 7 stale days reach MailSettings."""
    defaults = make_settings(tmp_path, "sqlite://")
    assert (
        defaults.bounce_domain,
        defaults.bounce_score_threshold,
        defaults.bounce_stale_days,
    ) == ("acme.example.com", 5.0, 7)
    custom = make_settings(
        tmp_path,
        "sqlite://",
        MAIL_FROM="Jobs <jobs@exämple.test>",
        BOUNCE_SCORE_THRESHOLD="2.5",
        BOUNCE_STALE_DAYS="14",
    ).mail_settings()
    assert custom.return_path_domain == "xn--exmple-cua.test"
    assert (custom.bounce_score_threshold, custom.bounce_stale_days) == (2.5, 14)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BOUNCE_DOMAIN", "not a domain"),
        ("BOUNCE_DOMAIN", "bounces@acme.example.com"),
        ("BOUNCE_SCORE_THRESHOLD", "0"),
        ("BOUNCE_SCORE_THRESHOLD", "lots"),
        ("BOUNCE_STALE_DAYS", "0"),
    ],
)
def test_malformed_bounce_settings_stop_start_up(tmp_path: Path, name: str, value: str) -> None:
    """A bad bounce setting is a ConfigError naming the variable."""
    with pytest.raises(ConfigError) as info:
        make_settings(tmp_path, "sqlite://", **{name: value})
    assert info.value.variable == f"TALENTCONNECT_{name}"
