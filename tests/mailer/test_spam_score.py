"""Every email template, as the worker sends it, scores at most 0.0 in SpamAssassin.

Each template is queued in every locale, for a candidate of that language, with the
snapshot sample context (`sample_context` of test_snapshots; a campaign from the
same text written in Markdown), sent by the
real `OutboxWorker` (DKIM off) over SMTP to an aiosmtpd server on loopback, and
the bytes that server received are scored with `spamassassin -L -t`: local tests
only, no network. All messages go to one spamassassin process, which loads the
rules once (about 3 s) and scores them in turn.

Rules: the ones Debian's `spamassassin` package ships in /usr/share/spamassassin,
which load without `sa-update` (pinned with --configpath, so rules an `sa-update`
fetched into /var/lib/spamassassin on a developer's machine do not change the
result); the site configuration in /etc/spamassassin (its .pre files load the
plugins) as the package installs it. Bayes is off, and the user preferences file
and HOME are temporary, so a run learns nothing and keeps no state (spamassassin
still creates an empty ~/.spamassassin in the account's passwd home, its "global
state dir"; no option moves it). Install with `apt-get install spamassassin`
(`.ci/run` does); without it the test skips locally and fails under CI=true.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import SmtpTarget
from mailer.message import build_message_bytes
from mailer.models import Campaign, MessageKind, OutboxMessage
from mailer.render import template_names
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from portal.schema import metadata
from preferences.db import make_engine, make_session_factory, session_scope
from preferences.models import Candidate, ConsentSource, Interest, MassEmail
from preferences.subscriptions import subscribe
from tests.conftest import require_or_skip

from .support import SETTINGS, add_candidate, queue
from .test_snapshots import LOCALES, SAMPLE_CONTEXT, sample_context

# The rules the Debian package ships; elsewhere spamassassin's own default applies.
SHIPPED_RULES = Path("/usr/share/spamassassin")
MAX_SCORE = 0.0
KEYS = ("spam-score-test-key-" + "k" * 30,)
RECIPIENT = "ana@example.com"
# Templates queued under another kind than their own name (as the portal queues them).
KINDS = {
    "connect_existing": MessageKind.CONFIRMATION,
    "preference_link": MessageKind.LOGIN_LINK,
    "saved_search_confirm": MessageKind.CONFIRMATION,
}
# SAMPLE_CONTEXT's campaign body, as a recruiter would type it.
CAMPAIGN_BODY = (
    "## Meet us in Berlin\n\n"
    "Join our **hiring day** on 12 June: talks, interviews and coffee.\n\n"
    "[Save your seat](https://careers.acme.example.com/events/berlin)\n"
)
# A control message: white text on the light body, what mjml-python's <mj-preview> wrote.
CONTROL = "control"
CONTROL_HTML = (
    '<html><body style="background-color:#f4f6f8;">'
    '<div style="display:none;font-size:1px;color:#ffffff;line-height:1px;">Hidden preview</div>'
    "<p>Hello Ana, here are your jobs.</p></body></html>"
)


@dataclass(frozen=True)
class Score:
    """SpamAssassin's verdict on one message."""

    score: float
    rules: dict[str, float]
    report: str


def _spamassassin() -> str:
    path = shutil.which("spamassassin")
    if path is None:
        require_or_skip("spamassassin is not installed (apt-get install spamassassin)")
        raise AssertionError("unreachable")
    return path


def _recipient(locale: str) -> str:
    return RECIPIENT if locale == "en" else RECIPIENT.replace("@", f"+{locale}@")


def _send_every_template(tmp: Path) -> dict[str, bytes]:
    """Queue each template in each locale, run the worker, return what the relay got.

    Keyed by template name (English) or "LOCALE/NAME".
    """
    engine = make_engine(f"sqlite:///{tmp / 'spam.db'}")
    metadata().create_all(engine)
    sessions: sessionmaker[Session] = make_session_factory(engine)
    readers = {
        locale: add_candidate(
            sessions, _recipient(locale), first_name="Ana", mass_email=MassEmail.OPTED_IN
        )
        for locale in LOCALES
    }
    with session_scope(sessions) as session:
        interest = Interest(name="Data Science", slug="data-science")
        campaign = Campaign(
            name="Berlin", subject=SAMPLE_CONTEXT["subject"], body=CAMPAIGN_BODY, audience={}
        )
        session.add_all([interest, campaign])
        session.flush()
        for locale, reader in readers.items():
            candidate = session.get_one(Candidate, reader)
            candidate.locale = locale
            subscribe(session, candidate, interest, source=ConsentSource.IMPORT, confirmed=True)
        interest_id, campaign_id = interest.id, campaign.id
    names = template_names()
    for locale, reader in readers.items():
        for name in names:
            kind = KINDS.get(name) or MessageKind(name)
            context: dict[str, Any] = dict(sample_context(locale))
            if kind.is_bulk:
                # The worker signs this recipient's own links, as for a real send.
                del context["unsubscribe_url"], context["preferences_url"]
            farewell = kind is MessageKind.ACCOUNT_DELETED
            queue(
                sessions,
                _recipient(locale),
                f"spam-score:{_key(locale, name)}",
                kind=kind,
                template=name,
                candidate_id=None if farewell else reader,
                context={
                    **context,
                    "interest_id": interest_id,
                    "campaign_id": campaign_id,
                    **({"locale": locale} if farewell else {}),
                },
                deliver_within=timedelta(hours=1),
            )
    total = len(names) * len(readers)
    sink = MailSink(MemoryStore()).start()
    try:
        worker = OutboxWorker(
            sessions,
            lambda: SmtpSender(SmtpTarget(host=sink.host, port=sink.port, timeout=10)),
            dataclasses.replace(SETTINGS, secret_keys=KEYS),
            batch_size=total,
        )
        result = worker.run_once()
        assert result.sent == total, result
        assert isinstance(sink.store, MemoryStore)
        received = sink.store.wait_for(total)
        with sessions() as session:
            sent = session.execute(select(OutboxMessage.dedupe_key, OutboxMessage.message_id)).all()
    finally:
        sink.stop()
        engine.dispose()
    by_id = {m.parsed()["Message-ID"]: m.data for m in received}
    return {key.removeprefix("spam-score:"): by_id[message_id] for key, message_id in sent}


def _key(locale: str, name: str) -> str:
    return name if locale == "en" else f"{locale}/{name}"


def _control_message() -> bytes:
    return build_message_bytes(
        from_addr=SETTINGS.mail_from,
        to_addr=RECIPIENT,
        subject="Your jobs",
        text="Hello Ana, here are your jobs.",
        html=CONTROL_HTML,
        message_id_domain="acme.example.com",
    ).data


def _score_all(messages: dict[str, bytes], tmp: Path) -> dict[str, Score]:
    """Score every message in one spamassassin process; by the same keys."""
    paths = []
    for number, (name, data) in enumerate(messages.items()):
        path = tmp / f"{number:02d}-{name.replace('/', '-')}.eml"
        path.write_bytes(data)
        paths.append(path)
    command = [_spamassassin(), "-L", "-t", "-x", "-p", str(tmp / "user_prefs")]
    if (SHIPPED_RULES / "50_scores.cf").is_file():
        command += ["-C", str(SHIPPED_RULES)]
    command += ["--cf=use_bayes 0", "--cf=bayes_auto_learn 0", *map(str, paths)]
    # HOME too: its user state (~/.spamassassin, bayes files) would go there otherwise.
    env = {**os.environ, "HOME": str(tmp)}
    done = subprocess.run(command, capture_output=True, timeout=600, check=False, env=env)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    # Each message comes back whole, its X-Spam-* fields first, the report at its end.
    outputs = re.split(rb"(?m)^(?=X-Spam-Checker-Version:)", done.stdout)[1:]
    assert len(outputs) == len(paths), done.stdout[:2000]
    return {name: _verdict(output) for name, output in zip(messages, outputs, strict=True)}


def _verdict(output: bytes) -> Score:
    fields = BytesHeaderParser().parsebytes(output)
    status = " ".join(str(fields["X-Spam-Status"]).split())
    match = re.search(r"score=(-?\d+(?:\.\d+)?)", status)
    assert match is not None, status
    text = output.decode("utf-8", errors="replace")
    report = text[text.find("Content analysis details:") :]
    rules = {
        rule: float(points)
        for points, rule in re.findall(r"(?m)^\s*(-?\d+\.\d+)\s+([A-Z][A-Z0-9_]+)\s", report)
    }
    return Score(float(match.group(1)), rules, report.strip())


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Score]]:
    _spamassassin()
    tmp = tmp_path_factory.mktemp("spam-score")
    messages = _send_every_template(tmp)
    messages[CONTROL] = _control_message()
    yield _score_all(messages, tmp)


def test_scoring_detects_hidden_low_contrast_text(scores: dict[str, Score]) -> None:
    """The harness can fail: white preview text on a light body scores above zero."""
    control = scores[CONTROL]
    assert "HTML_FONT_LOW_CONTRAST" in control.rules, control.report
    assert control.score > MAX_SCORE


@pytest.mark.parametrize("name", template_names())
@pytest.mark.parametrize("locale", LOCALES)
def test_template_scores_at_most_zero(scores: dict[str, Score], locale: str, name: str) -> None:
    """The template, sent by the worker in each locale with its sample context, scores <= 0.0."""
    key = _key(locale, name)
    verdict = scores[key]
    assert verdict.score <= MAX_SCORE, f"{key} scores {verdict.score}:\n{verdict.report}"
