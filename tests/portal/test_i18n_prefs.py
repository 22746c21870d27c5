"""The preference center, the one-click unsubscribe pages and the dashboard in es, de, fr, ar."""

# French is written with its typographic apostrophe (U+2019), as in the catalog.
# ruff: noqa: RUF001

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from babel.dates import format_date
from babel.lists import format_list
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from portal.auth.accounts import set_password
from portal.config import Settings
from portal.web.links import one_click_url
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import (
    Candidate,
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
from preferences.tokens import LinkPurpose, make_link_token
from tests.conftest import TEST_SECRET

from .helpers import add_interest, csrf_token

LANGS = ("es", "de", "fr", "ar")
EMAIL = "ana@example.com"
PASSWORD = "a long enough passphrase"

# What each page says in each language (from the catalogs), and English it must not say.
WORDS: dict[str, dict[str, str]] = {
    "es": {
        "heading": "Tus preferencias de correo",
        "warning": "<strong>Antes de desactivarlo:</strong> podrías perderte avisos",
        "continues": "Lo que seguirás recibiendo: mensajes personales sobre las candidaturas",
        "stops": "Lo que dejarás de recibir: boletines, invitaciones a eventos",
        "not_saved": "Todavía no se ha guardado nada.",
        "yes_stop": "Sí, dejar de recibirlos y guardar",
        "saved": "Guardado.",
        "started": "Se activaron las alertas de empleo de Sales, en cuanto se publican las "
        "ofertas.",
        "stopped_mass": "Se detuvieron los correos ocasionales.",
        "pause_error": "La pausa de Design debe terminar después de hoy.",
        "fix_this": "Corrige esto",
        "frequency": "Frecuencia y pausa: a diario, en pausa hasta el ",
        "wording": "Sí, quiero recibir correos ocasionales sobre Acme, eventos y oportunidades "
        "profesionales. Puedo darme de baja en cualquier momento.",
        "unsub_confirm": "¿Darte de baja de las alertas de empleo de Engineering?",
        "unsub_mass": "¿Darte de baja de los correos masivos?",
        "unsub_button": ">Darme de baja</button>",
        "unsub_done": "Ya no te enviaremos las alertas de empleo de Engineering.",
        "unavailable": "Esta lista se ha cerrado",
        "welcome": "Hola de nuevo, Ana",
        "signed_in": "Sesión iniciada como",
        "recommended": "Recomendados para ti",
        "resume_hint": "PDF, Word (.docx) o texto sin formato, hasta",
        "profile": "Edita tu perfil",
        "delete": "Se borrarán tu perfil, tus archivos de currículum y tus suscripciones",
        "tick": "Marca la casilla para confirmar.",
        "undo": "Puedes deshacerlo durante",
    },
    "de": {
        "heading": "Ihre E-Mail-Einstellungen",
        "warning": "<strong>Bevor Sie das abschalten:</strong> Ihnen könnten Benachrichtigungen",
        "continues": "Was Sie weiterhin erhalten: persönliche Nachrichten zu Ihren Bewerbungen",
        "stops": "Was endet: Newsletter, Einladungen zu Veranstaltungen",
        "not_saved": "Noch ist nichts gespeichert.",
        "yes_stop": "Ja, beenden und speichern",
        "saved": "Gespeichert.",
        "started": "Job-Alerts für Sales gestartet, sobald Stellen veröffentlicht werden.",
        "stopped_mass": "Gelegentliche E-Mails beendet.",
        "pause_error": "Die Pause für Design muss nach dem heutigen Tag enden.",
        "fix_this": "Bitte korrigieren Sie Folgendes",
        "frequency": "Häufigkeit und Pause: täglich, pausiert bis ",
        "wording": "Ja, senden Sie mir gelegentlich E-Mails über Acme, Veranstaltungen und "
        "berufliche Chancen. Ich kann mich jederzeit abmelden.",
        "unsub_confirm": "Job-Alerts für Engineering abbestellen?",
        "unsub_mass": "Massen-E-Mails abbestellen?",
        "unsub_button": ">Abmelden</button>",
        "unsub_done": "Wir senden Ihnen keine Job-Alerts für Engineering mehr.",
        "unavailable": "Diese Liste wurde geschlossen",
        "welcome": "Willkommen zurück, Ana",
        "signed_in": "Angemeldet als",
        "recommended": "Empfehlungen für Sie",
        "resume_hint": "PDF, Word (.docx) oder reiner Text, bis zu",
        "profile": "Profil bearbeiten",
        "delete": "Dadurch werden Ihr Profil, Ihre Lebenslauf-Dateien und Ihre Abonnements",
        "tick": "Kreuzen Sie das Kästchen zur Bestätigung an.",
        "undo": "Tage lang rückgängig machen.",
    },
    "fr": {
        "heading": "Vos préférences e-mail",
        "warning": "<strong>Avant de désactiver cette option :</strong> vous risquez de manquer",
        "continues": "Ce que vous recevrez toujours : les messages individuels concernant",
        "stops": "Ce qui s’arrête : les newsletters, les invitations à des événements",
        "not_saved": "Rien n’est encore enregistré.",
        "yes_stop": "Oui, les arrêter et enregistrer",
        "saved": "Enregistré.",
        "started": "Alertes emploi pour Sales activées, dès la publication des offres.",
        "stopped_mass": "E-mails occasionnels arrêtés.",
        "pause_error": "La pause pour Design doit se terminer après aujourd’hui.",
        "fix_this": "Veuillez corriger ceci",
        "frequency": "Fréquence et pause : chaque jour, suspendues jusqu’au ",
        "wording": "Oui, envoyez-moi des e-mails occasionnels sur Acme, ses événements et ses "
        "opportunités de carrière. Je peux me désabonner à tout moment.",
        "unsub_confirm": "Se désabonner des alertes emploi pour Engineering ?",
        "unsub_mass": "Se désabonner des e-mails groupés ?",
        "unsub_button": ">Se désabonner</button>",
        "unsub_done": "Nous ne vous enverrons plus les alertes emploi pour Engineering.",
        "unavailable": "Cette liste est fermée",
        "welcome": "Bon retour parmi nous, Ana",
        "signed_in": "Connecté en tant que",
        "recommended": "Recommandé pour vous",
        "resume_hint": "PDF, Word (.docx) ou texte brut, jusqu’à",
        "profile": "Modifier votre profil",
        "delete": "Votre profil, vos fichiers de CV et vos abonnements seront effacés",
        "tick": "Cochez la case pour confirmer.",
        "undo": "Vous pouvez annuler cette modification pendant",
    },
    "ar": {
        "heading": "تفضيلات بريدك الإلكتروني",
        "warning": "<strong>قبل أن توقف هذا الخيار:</strong> قد تفوتك إشعارات",
        "continues": "ما ستظل تتلقاه: الرسائل الفردية المتعلقة بأي طلب توظيف تقدّمه",
        "stops": "ما سيتوقف: النشرات الإخبارية، ودعوات الفعاليات",
        "not_saved": "لم يُحفظ أي شيء بعد.",
        "yes_stop": "نعم، أوقفها واحفظ",
        "saved": "تم الحفظ.",
        "started": "تم بدء تنبيهات الوظائف الخاصة بـ Sales، فور نشر الوظائف.",
        "stopped_mass": "تم إيقاف الرسائل العرضية.",
        "pause_error": "يجب أن ينتهي الإيقاف المؤقت لـ Design بعد اليوم.",
        "fix_this": "يُرجى تصحيح ما يلي",
        "frequency": "عدد مرات الإرسال والإيقاف المؤقت: يوميًا، متوقفة مؤقتًا حتى ",
        "wording": "نعم، أرسلوا إليّ رسائل عرضية حول Acme والفعاليات والفرص المهنية. "
        "يمكنني إلغاء الاشتراك في أي وقت.",
        "unsub_confirm": "هل تريد إلغاء الاشتراك في تنبيهات الوظائف الخاصة بـ Engineering؟",
        "unsub_mass": "هل تريد إلغاء الاشتراك في رسائل البريد الإلكتروني الجماعية؟",
        "unsub_button": ">إلغاء الاشتراك</button>",
        "unsub_done": "لن نرسل إليك تنبيهات الوظائف الخاصة بـ Engineering بعد الآن.",
        "unavailable": "تم إغلاق هذه القائمة",
        "welcome": "مرحبًا بعودتك يا Ana",
        "signed_in": "تم تسجيل الدخول باسم",
        "recommended": "موصى بها لك",
        "resume_hint": "ملف PDF أو Word (.docx) أو نص عادي، بحجم أقصاه",
        "profile": "تعديل ملفك الشخصي",
        "delete": "سيؤدي هذا إلى مسح ملفك الشخصي وملفات سيرتك الذاتية واشتراكاتك",
        "tick": "حدّد المربع للتأكيد.",
        "undo": "يمكنك التراجع عن ذلك خلال",
    },
}
# English source text of the same pages: none of it may show through a translation.
ENGLISH = {
    "center": (
        "Your email preferences",
        "Before you turn this off",
        "What you will still receive",
        "What stops:",
        "Job alerts",
        "Occasional emails",
        "Send me occasional emails",
        "Frequency and pause",
        "How often",
        "Pause alerts until",
        "Saved searches",
        "Daily digest",
        "Yes, send me occasional emails",
    ),
    "unsubscribe": (
        "Unsubscribe from",
        "Your other subscriptions stay as they are",
        "Email subscriptions",
        "Manage all your email preferences",
    ),
    "dashboard": (
        "Welcome back",
        "Signed in as",
        "Your emails",
        "Your profile",
        "Your resume",
        "Recommended for you",
        "Sign me out everywhere",
        "Download my data",
        "Saved searches",
    ),
}


def text_of(response: TestResponse) -> str:
    """The page's words, tags removed, whitespace collapsed (for 'no English' checks)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.text)))


def assert_no_english(response: TestResponse, page: str) -> None:
    words = text_of(response)
    shown = [source for source in ENGLISH[page] if source in words]
    assert not shown, f"English left on the page: {shown}"


@dataclass(frozen=True)
class Member:
    """Ana: subscribed to Design and Engineering, not to Sales, opted in to mass email."""

    id: int
    token: str
    design: int
    sales: int
    engineering: int


@pytest.fixture
def member(sessions: sessionmaker[Session]) -> Member:
    with session_scope(sessions) as session:
        design = add_interest(session, "Design", position=1)
        sales = add_interest(session, "Sales", position=2)
        engineering = add_interest(session, "Engineering", position=3)
        candidate, _ = get_or_create_candidate(session, EMAIL, first_name="Ana")
        set_password(candidate, PASSWORD)
        for interest in (design, engineering):
            subscribe(
                session, candidate, interest, source=ConsentSource.CONNECT_FORM, confirmed=True
            )
        opt_in_mass_email(session, candidate, source=ConsentSource.CONNECT_FORM)
        token = make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, candidate)
        return Member(candidate.id, token, design.id, sales.id, engineering.id)


def stored(sessions: sessionmaker[Session], member: Member) -> tuple[Any, ...]:
    """Everything a Save may change: subscriptions, mass-email status, consent events."""
    with session_scope(sessions) as session:
        subs = sorted(
            (s.interest_id, s.status.value, s.frequency.value, s.paused_until)
            for s in session.scalars(
                select(Subscription).where(Subscription.candidate_id == member.id)
            )
        )
        mass = session.get_one(MassEmailStatus, member.id).status
        events = session.scalar(select(func.count()).select_from(ConsentEvent))
        return tuple(subs), mass, events


def open_center(client: FlaskClient, member: Member, lang: str) -> TestResponse:
    page = client.get(f"/preferences/{member.token}?lang={lang}")
    assert page.status_code == 200
    return page


def post_center(client: FlaskClient, member: Member, lang: str, form: dict[str, Any]) -> Any:
    page = open_center(client, member, lang)
    return client.post(
        f"/preferences/{member.token}?lang={lang}",
        data={"csrf_token": csrf_token(page.text), **form},
    )


@pytest.mark.parametrize("lang", LANGS)
def test_the_signed_preference_center_and_its_mass_email_warning_are_translated(
    client: FlaskClient, member: Member, lang: str
) -> None:
    """The page, the inline warning and what continues read in the language; no English left."""
    page = open_center(client, member, lang)
    words = WORDS[lang]
    assert f'<html lang="{lang}"' in page.text
    for key in ("heading", "warning", "continues", "stops"):
        assert words[key] in page.text, key
    assert_no_english(page, "center")


@pytest.mark.parametrize("lang", LANGS)
def test_turning_mass_email_off_asks_first_then_saves_with_a_translated_summary(
    client: FlaskClient, sessions: sessionmaker[Session], member: Member, lang: str
) -> None:
    """The confirm step, then Save's flash-like summary, are in the page's language."""
    keep = {"interest": [str(member.design), str(member.engineering)]}
    before = stored(sessions, member)
    step = post_center(client, member, lang, keep)
    assert step.status_code == 200
    assert WORDS[lang]["not_saved"] in step.text and WORDS[lang]["yes_stop"] in step.text
    assert_no_english(step, "center")
    assert stored(sessions, member) == before  # the step saved nothing

    done = post_center(
        client,
        member,
        lang,
        {
            "interest": [str(member.design), str(member.engineering), str(member.sales)],
            f"frequency-{member.sales}": "instant",
            "confirm_mass_email_off": "yes",
        },
    )
    assert done.status_code == 200
    for key in ("saved", "started", "stopped_mass", "undo"):
        assert WORDS[lang][key] in done.text, key
    assert "Started job alerts" not in done.text and "Stopped occasional" not in done.text
    with session_scope(sessions) as session:
        assert session.get_one(MassEmailStatus, member.id).status is MassEmail.OPTED_OUT


@pytest.mark.parametrize("lang", LANGS)
def test_opting_in_records_the_wording_the_person_saw(
    client: FlaskClient, sessions: sessionmaker[Session], member: Member, lang: str
) -> None:
    """The consent event of an opt-in keeps the translated text shown beside the box."""
    keep = [str(member.design), str(member.engineering)]
    post_center(client, member, lang, {"interest": keep, "confirm_mass_email_off": "yes"})
    page = open_center(client, member, lang)
    assert f"{WORDS[lang]['wording']}" in html.unescape(page.text)
    post_center(client, member, lang, {"interest": keep, "mass_email": "yes"})
    with session_scope(sessions) as session:
        event = session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.scope == ConsentScope.MASS_EMAIL)
            .order_by(ConsentEvent.id.desc())
        ).first()
        assert event is not None and event.source is ConsentSource.PREFERENCE_CENTER
        assert event.detail is not None and event.detail["wording"] == WORDS[lang]["wording"]


@pytest.mark.parametrize("lang", LANGS)
def test_a_bad_pause_date_is_refused_in_the_language_and_changes_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], member: Member, lang: str
) -> None:
    """A pause ending today is a translated field error; nothing stored changes."""
    before = stored(sessions, member)
    response = post_center(
        client,
        member,
        lang,
        {
            "interest": [str(member.design), str(member.sales)],
            f"pause-{member.design}": now().date().isoformat(),
            "mass_email": "yes",
        },
    )
    assert response.status_code == 400
    assert WORDS[lang]["pause_error"] in response.text
    assert WORDS[lang]["fix_this"] in response.text
    assert "must end after today" not in response.text and "Please fix" not in response.text
    assert stored(sessions, member) == before


@pytest.mark.parametrize("lang", LANGS)
def test_a_pause_shows_its_end_in_the_locales_date_format(
    client: FlaskClient, member: Member, lang: str
) -> None:
    """A paused interest's summary gives the day as the language writes dates."""
    day = (now() + timedelta(days=40)).date()
    post_center(
        client,
        member,
        lang,
        {
            "interest": [str(member.design), str(member.engineering)],
            f"pause-{member.design}": day.isoformat(),
            "mass_email": "yes",
        },
    )
    page = open_center(client, member, lang)
    expected = WORDS[lang]["frequency"] + format_date(day, "medium", locale=lang)
    assert expected in html.unescape(page.text)


def test_arabic_keeps_the_address_left_to_right_inside_the_sentence(
    client: FlaskClient, member: Member
) -> None:
    """In Arabic the page reads right to left and the address sits in its own <bdi>."""
    page = open_center(client, member, "ar")
    assert '<html lang="ar" dir="rtl">' in page.text
    assert f"<strong><bdi>{EMAIL}</bdi></strong>" in page.text
    english = open_center(client, member, "en")
    # The English sentence is as it was (the page frame isolates the company name in
    # every language).
    assert f"<strong>{EMAIL}</strong>" in english.text


def one_click_path(app_settings: Settings, sessions: sessionmaker[Session], ref: str) -> str:
    with session_scope(sessions) as session:
        candidate = session.scalars(select(Candidate)).one()
        url = one_click_url(app_settings, candidate, ref)
    return url.removeprefix(app_settings.base_url)


@pytest.mark.parametrize("lang", LANGS)
def test_one_click_confirm_and_done_pages_are_translated(
    client: FlaskClient,
    settings: Settings,
    sessions: sessionmaker[Session],
    member: Member,
    lang: str,
) -> None:
    """The GET confirm page and the page after the POST speak the language."""
    path = one_click_path(settings, sessions, f"interest:{member.engineering}")
    confirm = client.get(f"{path}?lang={lang}")
    assert confirm.status_code == 200
    assert WORDS[lang]["unsub_confirm"] in html.unescape(confirm.text)
    assert WORDS[lang]["unsub_button"] in confirm.text
    assert_no_english(confirm, "unsubscribe")
    done = client.post(
        f"{path}?lang={lang}",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert done.status_code == 200
    assert WORDS[lang]["unsub_done"] in html.unescape(done.text)
    assert "You're unsubscribed" not in html.unescape(done.text)

    mass = client.get(f"{one_click_path(settings, sessions, 'mass_email')}?lang={lang}")
    assert WORDS[lang]["unsub_mass"] in html.unescape(mass.text)
    assert "You may miss notifications" not in mass.text


@pytest.mark.parametrize("lang", LANGS)
def test_the_unavailable_list_page_is_translated(
    client: FlaskClient,
    settings: Settings,
    sessions: sessionmaker[Session],
    member: Member,
    lang: str,
) -> None:
    """A link for a retired interest explains, in the language, where to go instead."""
    path = one_click_path(settings, sessions, f"interest:{member.design}")
    with session_scope(sessions) as session:
        session.get_one(Interest, member.design).status = InterestStatus.RETIRED
    response = client.get(f"{path}?lang={lang}")
    assert response.status_code == 400
    assert WORDS[lang]["unavailable"] in response.text
    assert "This list has closed" not in response.text
    assert "Manage your email preferences" not in response.text


def log_in(client: FlaskClient) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page.text),
            "email": EMAIL,
            "password": PASSWORD,
            "action": "password",
        },
    )
    assert response.status_code == 302


@pytest.mark.parametrize("lang", LANGS)
def test_the_dashboard_pages_are_translated(client: FlaskClient, member: Member, lang: str) -> None:
    """Home, profile and the delete confirmation are in the language chosen with ?lang=."""
    log_in(client)
    home = client.get(f"/dashboard?lang={lang}")
    assert home.status_code == 200
    for key in ("welcome", "signed_in", "recommended", "resume_hint"):
        assert WORDS[lang][key] in home.text, key
    assert_no_english(home, "dashboard")
    profile = client.get(f"/dashboard/profile?lang={lang}")
    assert WORDS[lang]["profile"] in profile.text and "Edit your profile" not in profile.text
    delete = client.get(f"/dashboard/delete?lang={lang}")
    assert WORDS[lang]["delete"] in delete.text
    assert "This erases your profile" not in delete.text


@pytest.mark.parametrize("lang", LANGS)
def test_deleting_without_the_tick_is_refused_in_the_language(
    client: FlaskClient, sessions: sessionmaker[Session], member: Member, lang: str
) -> None:
    """The delete form's error is translated, and the account is still there."""
    log_in(client)
    page = client.get(f"/dashboard/delete?lang={lang}")
    response = client.post(
        f"/dashboard/delete?lang={lang}", data={"csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 400
    assert WORDS[lang]["tick"] in response.text
    assert "Tick the box to confirm." not in response.text
    with session_scope(sessions) as session:
        assert session.get_one(Candidate, member.id).password_hash is not None


@pytest.mark.parametrize("lang", LANGS)
def test_the_dashboards_preference_page_saves_in_the_language(
    client: FlaskClient, member: Member, lang: str
) -> None:
    """The logged-in copy of the preference form lists its changes in the language too."""
    log_in(client)
    page = client.get(f"/dashboard/preferences?lang={lang}")
    assert WORDS[lang]["heading"] in page.text
    response = client.post(
        f"/dashboard/preferences?lang={lang}",
        data={
            "csrf_token": csrf_token(page.text),
            "interest": [str(member.design), str(member.engineering), str(member.sales)],
            f"frequency-{member.sales}": "instant",
            "mass_email": "yes",
        },
    )
    assert response.status_code == 200
    assert WORDS[lang]["started"] in response.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_digests_several_interests_are_joined_as_the_language_joins_them(
    client: FlaskClient,
    settings: Settings,
    sessions: sessionmaker[Session],
    member: Member,
    lang: str,
) -> None:
    """A link leaving Design and Engineering names both, joined with the language's "and"."""
    low, high = sorted((member.design, member.engineering))
    ref = f"interests:{low}.{high}"
    page = client.get(f"{one_click_path(settings, sessions, ref)}?lang={lang}")
    assert page.status_code == 200
    both = format_list(["Design", "Engineering"], locale=lang)
    assert both in html.unescape(page.text)
    assert "Design and Engineering" not in page.text
