"""Look-alike domains in the console: punycode beside a domain whose label mixes scripts."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker

from mailer.models import MessageKind
from mailer.outbox import enqueue
from portal.auth.recruiters import set_recruiter
from portal.console.idn import address_markup, label_mixes_scripts, mixed_script_domain
from preferences.db import session_scope
from preferences.models import RecruiterRole
from tests.portal.helpers import login, sample_email

CYRILLIC_A = "\u0430"  # looks like the Latin "a"
GREEK_ALPHA = "\u03b1"


@pytest.mark.parametrize(
    ("address", "punycode"),
    [
        (f"ana@{CYRILLIC_A}pple.com", "xn--pple-43d.com"),
        (f"ana@{GREEK_ALPHA}pple.com", "xn--pple-zld.com"),
        ("ana@paypa\u04cf.com", "xn--paypa-iof.com"),  # Cyrillic palochka for "l"
        ("ana@xn--pple-43d.com", "xn--pple-43d.com"),  # stored as an A-label already
        (f"ana@mail.{CYRILLIC_A}cme.example", "mail.xn--cme-5cd.example"),
    ],
)
def test_a_label_that_mixes_scripts_gets_its_punycode(address: str, punycode: str) -> None:
    """Latin mixed with Cyrillic or Greek in one label: the A-label is given."""
    assert mixed_script_domain(address) == punycode


@pytest.mark.parametrize(
    "address",
    [
        "ana@example.com",
        "josé@exämple.test",  # Latin with accents: one script
        "ana@пример.рф",  # all Cyrillic, label by label
        "ana@пример.com",  # a Cyrillic label beside a Latin one
        "ana@日本語ひらがなカタカナ.jp",  # Han, Hiragana and Katakana together: Japanese
        "ana@한국어中文.kr",  # Hangul with Han: Korean
        "ana@ex-ample1.com",
        "not an address",
        "",
    ],
)
def test_a_domain_in_one_script_per_label_is_left_alone(address: str) -> None:
    """Single-script labels (and the usual CJK mixes) get no warning."""
    assert mixed_script_domain(address) is None


def test_digits_hyphens_and_marks_belong_to_no_script() -> None:
    """Only letters count: digits, hyphens and combining marks never make a label mixed."""
    assert not label_mixes_scripts("a1-b2")
    assert not label_mixes_scripts("cafe\u0301")
    assert label_mixes_scripts(f"c{CYRILLIC_A}fe")


def test_the_filter_escapes_and_marks_up() -> None:
    """The `address` filter escapes the address and adds the punycode in a warning span."""
    plain = address_markup("<b>@example.com")
    assert isinstance(plain, Markup) and str(plain) == "&lt;b&gt;@example.com"
    warned = str(address_markup(f"ana@{CYRILLIC_A}pple.com"))
    assert warned.startswith(f"ana@{CYRILLIC_A}pple.com <span class=")
    assert "<code>xn--pple-43d.com</code>" in warned and "mixes scripts" in warned
    assert str(address_markup(None)) == ""


def test_the_send_log_shows_the_punycode_of_a_look_alike(
    client: FlaskClient, sessions: sessionmaker[Session], recruiter: tuple[str, str]
) -> None:
    """Searching the send log for a look-alike address shows its xn-- form; a real IDN doesn't."""
    with session_scope(sessions) as session:
        for n, address in enumerate((f"ana@{CYRILLIC_A}pple.com", "josé@exämple.test")):
            enqueue(
                session,
                kind=MessageKind.WELCOME,
                template="welcome",
                to_address=address,
                dedupe_key=f"welcome:{n}",
            )
    login(client, *recruiter)
    page = client.get("/admin/reports/send-log", query_string={"email": "ana@xn--pple-43d.com"})
    assert page.status_code == 200
    assert f"1 message to ana@{CYRILLIC_A}pple.com <span" in page.text
    assert "<code>xn--pple-43d.com</code>" in page.text
    honest = client.get("/admin/reports/send-log", query_string={"email": "josé@exämple.test"})
    assert "1 message to josé@exämple.test," in honest.text and "xn--" not in honest.text


def test_the_mail_sink_shows_the_punycode_of_a_look_alike(
    client: FlaskClient, sessions: sessionmaker[Session], settings: object
) -> None:
    """The development mail viewer lists a look-alike recipient with its xn-- form."""
    from mailer.sink import MaildirStore
    from portal.config import Settings

    assert isinstance(settings, Settings)
    with sessions.begin() as session:
        set_recruiter(session, "boss@acme.example.com", password="p" * 20, role=RecruiterRole.ADMIN)
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    store = MaildirStore(settings.mail_sink_dir)
    look_alike = f"ana@{CYRILLIC_A}pple.com"
    store.add("b@acme.example.com", [look_alike], sample_email(to="ana@xn--pple-43d.com"))
    login(client, "boss@acme.example.com", "p" * 20)
    page = client.get("/admin/mail")
    assert page.status_code == 200
    assert f"{look_alike} <span" in page.text and "xn--pple-43d.com" in page.text
