"""Mass campaigns for the console: drafts, audiences, scheduling, dispatch and test sends.

A campaign's `audience` JSON is ``{"interest_ids": [...]}``; an empty list means
everyone opted in to mass email. Who would receive it is decided in SQL:

- the candidate is active (not deleted) and has a confirmed address;
- they are opted in to mass email;
- their address is not suppressed (hard bounce, complaint, manual, erasure);
- with interests chosen, they are subscribed to at least one of them.

Dispatch queues the whole audience with one INSERT … SELECT (dedupe key
`mailer.sends.CAMPAIGN.dedupe_key`, context ``{"campaign_id": id}``), so running it
twice, or again after a crash, never queues anyone twice. The worker re-checks
opt-in and suppression when each row is sent.

A campaign may have a variant (subject and body) per supported language besides
its default (`VariantDraft`, `CampaignVariant`); a variant left empty is none, and
its readers get the default. Each filled variant is validated like the default.
The audience preview counts the audience per stored language and says which
variant each language gets (`AudiencePreview.languages`), grouped in SQL.

The content rules of `mailer.campaigns.content_problem` (alt text on every image,
the email's HTML within `MAX_EMAIL_HTML_BYTES`) refuse a save and block Send now,
Schedule, test sends and dispatch; a due campaign that breaks them goes back to
draft instead of being queued. The size needs the sender settings, so it is
checked only where the caller passes `settings`. The rules apply to every variant.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from babel import Locale, UnknownLocaleError
from sqlalchemy import (
    Table,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from mailer.campaigns import (
    campaign_context,
    content_problem,
    footer_reason,
    usable_variants,
    variant_locale,
)
from mailer.config import MailSettings
from mailer.errors import MailerError
from mailer.i18n import LOCALE_KEY, SOURCE_LOCALE, supported_locale
from mailer.models import (
    Campaign,
    CampaignStatus,
    CampaignVariant,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
)
from mailer.outbox import enqueue, enqueue_select
from mailer.render import RenderedEmail, Renderer
from mailer.reputation import skip_held
from mailer.sends import CAMPAIGN
from preferences.clock import LATEST, TimeOutOfRange, now, utc_in_range
from preferences.db import session_scope
from preferences.events import EventType, record_event
from preferences.models import (
    Candidate,
    CandidateStatus,
    Interest,
    InterestStatus,
    MassEmail,
    MassEmailStatus,
    RecruiterUser,
    Subscription,
    SubscriptionStatus,
)
from preferences.suppressions import suppressions_among
from preferences.text import TextKind, UnstorableText, clean_text

log = logging.getLogger("mailer.campaigns")

MAX_NAME = 200
MAX_SUBJECT = 300
MAX_BODY = 100_000
# Addresses hashed and looked up per suppression query.
SUPPRESSION_CHUNK = 5_000
EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
_OUTBOX = cast(Table, OutboxMessage.__table__)


class CampaignError(MailerError):
    """A campaign request that cannot be done; `problems` maps a field to its message."""

    def __init__(self, message: str, problems: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or {}


class CampaignNotFound(CampaignError):
    pass


# --- audience ----------------------------------------------------------------------


class Exclusion:
    """Why a candidate is not in a campaign's audience (first reason that applies)."""

    DELETED = "deleted"
    OPTED_OUT = "opted_out"
    UNCONFIRMED = "unconfirmed"
    SUPPRESSED = "suppressed"
    NOT_INTERESTED = "not_interested"

    LABELS = {
        DELETED: "deleted accounts",
        OPTED_OUT: "opted out of mass email",
        UNCONFIRMED: "unconfirmed address",
        SUPPRESSED: "suppressed or bounced address",
        NOT_INTERESTED: "not subscribed to the chosen interests",
    }


def audience_interest_ids(campaign: Campaign) -> list[int]:
    """The interests a campaign's audience is limited to (empty: everyone opted in)."""
    raw = (campaign.audience or {}).get("interest_ids")
    return sorted({i for i in raw if isinstance(i, int)}) if isinstance(raw, list) else []


def _interested(interest_ids: Sequence[int]) -> ColumnElement[bool]:
    return exists().where(
        Subscription.candidate_id == Candidate.id,
        Subscription.interest_id.in_(interest_ids),
        Subscription.status == SubscriptionStatus.SUBSCRIBED,
    )


def _audience_filter(interest_ids: Sequence[int]) -> list[ColumnElement[bool]]:
    """Conditions on candidates joined to their mass-email status (suppression aside)."""
    conditions: list[ColumnElement[bool]] = [
        Candidate.status == CandidateStatus.ACTIVE,
        Candidate.email_verified_at.is_not(None),
        MassEmailStatus.status == MassEmail.OPTED_IN,
    ]
    if interest_ids:
        conditions.append(_interested(interest_ids))
    return conditions


def _suppressed_locales(session: Session, interest_ids: Sequence[int]) -> dict[int, str]:
    """Audience members whose address is suppressed, with their stored language.

    Suppressions are stored as salted hashes, which SQL cannot compute, so the
    audience's addresses are hashed here in chunks (one query per chunk).
    """
    rows = session.execute(
        select(Candidate.id, Candidate.email, Candidate.locale)
        .join(MassEmailStatus, MassEmailStatus.candidate_id == Candidate.id)
        .where(*_audience_filter(interest_ids))
    )
    found: dict[int, str] = {}
    while chunk := rows.fetchmany(SUPPRESSION_CHUNK):
        by_address = {email: (candidate_id, locale) for candidate_id, email, locale in chunk}
        found.update(by_address[a] for a in suppressions_among(session, by_address))
    return found


def _suppressed_ids(session: Session, interest_ids: Sequence[int]) -> set[int]:
    """Audience members whose address is suppressed."""
    return set(_suppressed_locales(session, interest_ids))


def language_name(locale: str) -> str:
    """A locale's name in English for the console ("es" → "Spanish"); the tag if unknown."""
    try:
        return Locale.parse(locale, sep="-").english_name or locale
    except (ValueError, UnknownLocaleError):
        return locale


@dataclass(frozen=True)
class LanguageCount:
    """Audience members with one stored language, and the variant they get."""

    locale: str
    # The variant's locale; None: the default subject and body.
    variant: str | None
    count: int


@dataclass(frozen=True)
class AudiencePreview:
    """How many would receive a campaign, and how many are left out and why."""

    would_receive: int
    excluded: dict[str, int]
    sample_candidate_id: int | None
    # Who would receive it, per stored language (Candidate.locale), most first.
    languages: tuple[LanguageCount, ...] = ()

    def by_variant(self) -> list[tuple[str | None, int]]:
        """(variant locale, or None for the default; recipients), most first."""
        totals: dict[str | None, int] = {}
        for row in self.languages:
            totals[row.variant] = totals.get(row.variant, 0) + row.count
        return sorted(totals.items(), key=lambda item: (-item[1], item[0] or ""))

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())

    def labelled(self) -> list[tuple[str, str, int]]:
        """(reason, label, count) for every reason, in a fixed order."""
        return [(key, label, self.excluded.get(key, 0)) for key, label in Exclusion.LABELS.items()]


def preview_audience(
    session: Session, interest_ids: Sequence[int], variant_locales: Collection[str] = ()
) -> AudiencePreview:
    """Count the audience and the excluded candidates by reason, in one grouped query.

    The audience is also counted per stored language (grouped by reason and
    `Candidate.locale` in the same query, so only one row per language comes
    back), each with the variant of `variant_locales` its readers get.
    """
    reasons: list[tuple[ColumnElement[bool], str]] = [
        (Candidate.status != CandidateStatus.ACTIVE, Exclusion.DELETED),
        (
            or_(MassEmailStatus.status.is_(None), MassEmailStatus.status != MassEmail.OPTED_IN),
            Exclusion.OPTED_OUT,
        ),
        (Candidate.email_verified_at.is_(None), Exclusion.UNCONFIRMED),
    ]
    if interest_ids:
        reasons.append((~_interested(interest_ids), Exclusion.NOT_INTERESTED))
    reason = case(*reasons, else_=literal("ok"))
    counts: dict[str, int] = {}
    by_locale: dict[str, int] = {}
    for key, locale, count in session.execute(
        select(reason.label("reason"), Candidate.locale, func.count())
        .select_from(Candidate)
        .outerjoin(MassEmailStatus, MassEmailStatus.candidate_id == Candidate.id)
        .group_by(reason, Candidate.locale)
    ):
        counts[key] = counts.get(key, 0) + count
        if key == "ok":
            by_locale[locale] = by_locale.get(locale, 0) + count
    suppressed = _suppressed_locales(session, interest_ids)
    for locale in suppressed.values():
        by_locale[locale] -= 1
    counts[Exclusion.SUPPRESSED] = len(suppressed)
    would_receive = counts.pop("ok", 0) - len(suppressed)
    variants = dict.fromkeys(variant_locales)
    languages = tuple(
        LanguageCount(locale, variant_locale(locale, variants), count)
        for locale, count in sorted(by_locale.items(), key=lambda item: (-item[1], item[0]))
        if count
    )
    sample_query = (
        select(Candidate.id)
        .join(MassEmailStatus, MassEmailStatus.candidate_id == Candidate.id)
        .where(*_audience_filter(interest_ids))
        .order_by(Candidate.id)
        .limit(1)
    )
    if suppressed:
        sample_query = sample_query.where(Candidate.id.not_in(list(suppressed)))
    return AudiencePreview(
        would_receive=would_receive,
        excluded={k: v for k, v in counts.items() if v},
        sample_candidate_id=session.scalar(sample_query),
        languages=languages,
    )


def preview_campaign_audience(
    session: Session, campaign_id: int, locales: Collection[str] | None = None
) -> AudiencePreview:
    """`preview_audience` for a stored campaign, with its variants in `locales`.

    `locales`: the supported ones (`MailSettings.locales`); None counts every variant.
    """
    campaign = get_campaign(session, campaign_id)
    variants = [v.locale for v in campaign.variants if locales is None or v.locale in locales]
    return preview_audience(session, audience_interest_ids(campaign), variants)


# --- drafts ------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantDraft:
    """A campaign's subject and body in one language, as typed; both empty: no variant."""

    locale: str
    subject: str
    body: str

    @property
    def empty(self) -> bool:
        return not self.subject.strip() and not self.body.strip()


@dataclass(frozen=True)
class CampaignDraft:
    """What a recruiter typed into the campaign form."""

    name: str
    subject: str
    body: str
    interest_ids: list[int] = field(default_factory=list)
    # Limit the audience to `interest_ids`; with none chosen that is a mistake, not "everyone".
    by_interest: bool = False
    # The variants in other languages; None leaves a stored campaign's variants as they are.
    variants: tuple[VariantDraft, ...] | None = None


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignNotFound(f"there is no campaign {campaign_id}")
    return campaign


def list_campaigns(session: Session) -> list[Campaign]:
    """Every campaign, newest first."""
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))


def active_interests(session: Session) -> list[Interest]:
    """Interests an audience may be limited to, in their display order."""
    return list(
        session.scalars(
            select(Interest)
            .where(Interest.status == InterestStatus.ACTIVE, Interest.merged_into_id.is_(None))
            .order_by(Interest.position, Interest.name)
        )
    )


def _cleaned(value: str, kind: TextKind, field: str, problems: dict[str, str]) -> str:
    """`value` by the stored-text rule; "" and a message in `problems` if it is refused."""
    try:
        return clean_text(value, kind)
    except UnstorableText as exc:
        problems[field] = exc.message
        return ""


def _content(
    subject: str,
    body: str,
    settings: MailSettings | None,
    problems: dict[str, str],
    locale: str | None = None,
) -> tuple[str, str]:
    """A subject and body cleaned and checked; problems go under "subject"/"body".

    For a variant (`locale`) the keys are "subject-<locale>" and "body-<locale>"
    (the form's field ids) and each message names the language.
    """
    suffix = f"-{locale}" if locale else ""
    which = f"the {language_name(locale)} " if locale else "the "
    subject_key, body_key = f"subject{suffix}", f"body{suffix}"
    subject = " ".join(_cleaned(subject, TextKind.LINE, subject_key, problems).split())
    body = _cleaned(body, TextKind.TEXT, body_key, problems)
    if subject_key in problems:
        pass
    elif not subject:
        problems[subject_key] = f"Enter {which}subject line candidates will see." + (
            f" To send {language_name(locale)} readers the default, leave both fields empty."
            if locale
            else ""
        )
    elif len(subject) > MAX_SUBJECT:
        problems[subject_key] = (
            f"{which[:1].upper()}{which[1:]}subject can be at most {MAX_SUBJECT} characters."
        )
    if body_key in problems:
        pass
    elif not body:
        problems[body_key] = f"Write {which}message (Markdown is fine)." + (
            f" To send {language_name(locale)} readers the default, leave both fields empty."
            if locale
            else ""
        )
    elif len(body) > MAX_BODY:
        problems[body_key] = (
            f"{which[:1].upper()}{which[1:]}message can be at most {MAX_BODY:,} characters."
        )
    elif problem := content_problem(body, settings, subject):
        problems[body_key] = f"{language_name(locale)} version: {problem}" if locale else problem
    return subject, body


def _variant_locale_problem(locale: str, seen: set[str], settings: MailSettings | None) -> bool:
    """Whether a variant's locale is unusable: malformed, repeated or not supported."""
    if not locale or len(locale) > 35 or locale in seen:
        return True
    if settings is not None:
        return locale not in settings.locales
    try:
        Locale.parse(locale, sep="-")
    except (ValueError, UnknownLocaleError):
        return True
    return False


def _validated_variants(
    variants: tuple[VariantDraft, ...] | None,
    settings: MailSettings | None,
    problems: dict[str, str],
) -> tuple[VariantDraft, ...] | None:
    if variants is None:
        return None
    kept: list[VariantDraft] = []
    seen: set[str] = set()
    for variant in variants:
        if _variant_locale_problem(variant.locale, seen, settings):
            problems["variants"] = f"There is no language {variant.locale!r} to write a version in."
            continue
        seen.add(variant.locale)
        if variant.empty:
            continue
        subject, body = _content(variant.subject, variant.body, settings, problems, variant.locale)
        kept.append(VariantDraft(variant.locale, subject, body))
    return tuple(kept)


def _validated(
    session: Session, draft: CampaignDraft, settings: MailSettings | None
) -> CampaignDraft:
    problems: dict[str, str] = {}
    name = " ".join(_cleaned(draft.name, TextKind.LINE, "name", problems).split())
    if "name" in problems:
        pass
    elif not name:
        problems["name"] = "Give the campaign a name (only recruiters see it)."
    elif len(name) > MAX_NAME:
        problems["name"] = f"The name can be at most {MAX_NAME} characters."
    subject, body = _content(draft.subject, draft.body, settings, problems)
    variants = _validated_variants(draft.variants, settings, problems)
    wanted = sorted(set(draft.interest_ids))
    if draft.by_interest and not wanted:
        problems["interest_ids"] = "Tick at least one interest, or choose everyone opted in."
    elif wanted:
        known = {i.id for i in active_interests(session)}
        if any(i not in known for i in wanted):
            problems["interest_ids"] = "Choose interests from the list; one no longer exists."
    if problems:
        raise CampaignError("the campaign has problems", problems)
    return CampaignDraft(name, subject, body, wanted, by_interest=bool(wanted), variants=variants)


def save_draft(
    session: Session,
    draft: CampaignDraft,
    *,
    campaign_id: int | None = None,
    created_by_id: int | None = None,
    settings: MailSettings | None = None,
) -> Campaign:
    """Create a draft, or edit a draft or scheduled campaign. Raises `CampaignError`."""
    clean = _validated(session, draft, settings)
    if campaign_id is None:
        campaign = Campaign(created_by_id=created_by_id, status=CampaignStatus.DRAFT)
        session.add(campaign)
    else:
        campaign = get_campaign(session, campaign_id)
        if campaign.status not in EDITABLE:
            raise CampaignError(f"a {campaign.status.value} campaign can no longer be edited")
    campaign.name, campaign.subject, campaign.body = clean.name, clean.subject, clean.body
    campaign.audience = {"interest_ids": clean.interest_ids}
    if clean.variants is not None:
        _store_variants(campaign, clean.variants)
    session.flush()
    return campaign


def _store_variants(campaign: Campaign, variants: tuple[VariantDraft, ...]) -> None:
    """Make the campaign's variants exactly `variants` (updated in place, others removed)."""
    stored = {v.locale: v for v in campaign.variants}
    wanted = {v.locale: v for v in variants}
    for locale, old in stored.items():
        if locale not in wanted:
            campaign.variants.remove(old)
    for locale, new in wanted.items():
        row = stored.get(locale)
        if row is None:
            row = CampaignVariant(locale=locale, subject=new.subject, body=new.body)
            campaign.variants.append(row)
        else:
            row.subject, row.body = new.subject, new.body


def sendable_problem(campaign: Campaign, settings: MailSettings | None) -> tuple[str, str] | None:
    """The first content rule the default or a variant breaks: (field key, message); or None.

    A variant's problem names its language and is keyed "body-<locale>".
    """
    problem = content_problem(campaign.body, settings, campaign.subject)
    if problem is not None:
        return "body", problem
    for variant in campaign.variants:
        problem = content_problem(variant.body, settings, variant.subject)
        if problem is not None:
            return f"body-{variant.locale}", f"{language_name(variant.locale)} version: {problem}"
    return None


def check_sendable(campaign: Campaign, settings: MailSettings | None) -> None:
    """Raise `CampaignError` (the problem under its body's key) if content rules block sending."""
    found = sendable_problem(campaign, settings)
    if found is not None:
        key, problem = found
        raise CampaignError(problem, {key: problem})


def schedule_campaign(
    session: Session, campaign_id: int, at: datetime, *, settings: MailSettings | None = None
) -> Campaign:
    """Schedule a draft (or move a scheduled campaign) to be sent at `at`."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status not in EDITABLE:
        raise CampaignError(f"a {campaign.status.value} campaign cannot be scheduled")
    check_sendable(campaign, settings)
    if at.tzinfo is None:
        raise CampaignError("the send time needs a timezone", {"send_at": "Choose a timezone."})
    try:
        at = utc_in_range(at)
    except TimeOutOfRange:
        raise CampaignError(
            "the send time is out of range", {"send_at": f"Choose a time before {LATEST:%Y}."}
        ) from None
    if at <= now():
        raise CampaignError(
            "the send time is in the past",
            {"send_at": "Choose a time in the future, or use Send now."},
        )
    campaign.status, campaign.scheduled_at = CampaignStatus.SCHEDULED, at
    session.flush()
    return campaign


def send_now(session: Session, campaign_id: int, *, settings: MailSettings | None = None) -> int:
    """Queue a draft or scheduled campaign for its whole audience now; returns rows queued."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status not in EDITABLE:
        raise CampaignError(f"a {campaign.status.value} campaign cannot be sent again")
    check_sendable(campaign, settings)
    campaign.status, campaign.scheduled_at = CampaignStatus.SCHEDULED, now()
    return _dispatch(session, campaign)


def cancel_campaign(session: Session, campaign_id: int) -> int:
    """Cancel a campaign; messages not sent yet are skipped. Returns how many were pending."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status is CampaignStatus.CANCELLED:
        raise CampaignError("the campaign is already cancelled")
    pending = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            CAMPAIGN.rows(campaign.id),
            OutboxMessage.status.in_(
                (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.HELD)
            ),
        )
    )
    if campaign.status is CampaignStatus.SENT and not pending:
        raise CampaignError("the campaign has already been sent to everyone")
    campaign.status = CampaignStatus.CANCELLED
    # A paused campaign's held rows are out of the queue: settle them here.
    skip_held(session, campaign.id, "the campaign was cancelled")
    session.flush()
    return pending or 0


# --- dispatch ----------------------------------------------------------------------


def campaign_rows(campaign_id: int) -> ColumnElement[bool]:
    """The outbox rows queued for a campaign's audience (not its test sends)."""
    return CAMPAIGN.rows(campaign_id)


def queue_audience(session: Session, campaign: Campaign) -> int:
    """Queue one outbox row per audience member with INSERT … SELECT; returns rows added."""
    interest_ids = audience_interest_ids(campaign)
    suppressed = _suppressed_ids(session, interest_ids)
    audience = (
        select(CAMPAIGN.dedupe_key_sql(campaign.id, Candidate.id), Candidate.id, Candidate.email)
        .join(MassEmailStatus, MassEmailStatus.candidate_id == Candidate.id)
        .where(*_audience_filter(interest_ids))
    )
    if suppressed:
        audience = audience.where(Candidate.id.not_in(suppressed))
    return enqueue_select(
        session,
        audience,
        kind=MessageKind.CAMPAIGN,
        template="campaign",
        context={"campaign_id": campaign.id},
    )


def _dispatch(session: Session, campaign: Campaign) -> int:
    """Queue a due campaign and mark it sent (sending while its rows go in)."""
    campaign.status = CampaignStatus.SENDING
    session.flush()
    queued = queue_audience(session, campaign)
    campaign.status, campaign.sent_at = CampaignStatus.SENT, now()
    session.flush()
    # "Sent" as the console says it: every message queued for the relay. Its recipients
    # are all its rows (a half-dispatched campaign queued some of them before).
    recipients = session.scalar(
        select(func.count()).select_from(OutboxMessage).where(campaign_rows(campaign.id))
    )
    record_event(
        session,
        EventType.CAMPAIGN_SENT,
        data={"campaign_id": campaign.id, "recipients": int(recipients or 0)},
    )
    log.info("campaign queued", extra={"campaign_id": campaign.id, "queued": queued})
    return queued


@dataclass(frozen=True)
class Dispatched:
    campaign_id: int
    queued: int


def due_campaign_ids(session: Session, at: datetime) -> list[int]:
    """Scheduled campaigns whose time has come, and any left half-dispatched (sending)."""
    return list(
        session.scalars(
            select(Campaign.id)
            .where(
                or_(
                    and_(
                        Campaign.status == CampaignStatus.SCHEDULED,
                        Campaign.scheduled_at <= at,
                    ),
                    Campaign.status == CampaignStatus.SENDING,
                )
            )
            .order_by(Campaign.scheduled_at, Campaign.id)
        )
    )


def dispatch_due_campaigns(
    session_factory: sessionmaker[Session],
    *,
    at: datetime | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    settings: MailSettings | None = None,
) -> list[Dispatched]:
    """Queue every due campaign, each in its own transaction. Safe to run again at any time.

    The status change is a conditional UPDATE, so two dispatchers racing (cron and
    the scheduler) queue a campaign once; the dedupe keys guard the rows as well.
    """
    when = at or now()
    with session_scope(session_factory) as session:
        ids = due_campaign_ids(session, when)
    done: list[Dispatched] = []
    for position, campaign_id in enumerate(ids, 1):
        if on_progress is not None:
            on_progress(position - 1, len(ids))
        with session_scope(session_factory) as session:
            claimed = session.execute(
                update(Campaign)
                .where(
                    Campaign.id == campaign_id,
                    Campaign.status.in_((CampaignStatus.SCHEDULED, CampaignStatus.SENDING)),
                )
                .values(status=CampaignStatus.SENDING)
                .returning(Campaign.id)
                .execution_options(synchronize_session=False)
            ).first()
            if claimed is None:
                continue  # cancelled or dispatched meanwhile
            campaign = get_campaign(session, campaign_id)
            try:
                check_sendable(campaign, settings)
            except CampaignError as exc:
                # Queued every minute otherwise; as a draft it waits for the recruiter.
                campaign.status, campaign.scheduled_at = CampaignStatus.DRAFT, None
                session.flush()
                log.warning(
                    "campaign not sent: back to draft",
                    extra={"campaign_id": campaign_id, "reason": str(exc)},
                )
                continue
            done.append(Dispatched(campaign_id, _dispatch(session, campaign)))
    if on_progress is not None:
        on_progress(len(ids), len(ids))
    return done


# --- preview and tests ---------------------------------------------------------------


def render_preview(
    session: Session,
    campaign_id: int,
    settings: MailSettings,
    *,
    renderer: Renderer | None = None,
    candidate_id: int | None = None,
    locale: str | None = None,
) -> RenderedEmail:
    """The campaign as `candidate_id` (or a generic reader) would get it; links are stand-ins.

    With `locale`, as a reader of that language gets it: their variant (or the
    default) in a wrapper and footer of that language. Without, the default in English.
    """
    campaign = get_campaign(session, campaign_id)
    first_name = ""
    if candidate_id is not None:
        candidate = session.get(Candidate, candidate_id)
        first_name = candidate.first_name if candidate is not None else ""
    variants = usable_variants(campaign, settings.locales)
    chosen = variant_locale(locale, variants)
    source: Campaign | CampaignVariant = campaign if chosen is None else variants[chosen]
    console = f"{settings.base_url}/admin/campaigns/{campaign.id}"
    wrapper = supported_locale(locale, settings.locales)
    context = {
        **campaign_context(settings, source.subject, source.body),
        "reason": footer_reason(settings, wrapper),
        "first_name": first_name,
        "preferences_url": console,
        "unsubscribe_url": console,
    }
    return (renderer or Renderer(locales=settings.locales)).render("campaign", context, wrapper)


def send_test(
    session: Session,
    campaign_id: int,
    recruiter_id: int,
    *,
    settings: MailSettings | None = None,
    locale: str | None = None,
) -> str:
    """Queue one test of the campaign to the recruiter's own address; returns that address.

    It is a campaign row with no candidate and ``"test": true`` in its context,
    which eligibility lets through only for an active recruiter's address. With
    `locale` it is the email a reader of that language gets (variant and footer).
    """
    campaign = get_campaign(session, campaign_id)
    recruiter = session.get(RecruiterUser, recruiter_id)
    if recruiter is None or not recruiter.active:
        raise CampaignError("only an active recruiter can receive a test")
    check_sendable(campaign, settings)
    at = now()
    enqueue(
        session,
        kind=MessageKind.CAMPAIGN,
        template="campaign",
        to_address=recruiter.email,
        dedupe_key=f"campaign-test:{campaign.id}:{recruiter.id}:{at.timestamp():.6f}",
        context={
            "campaign_id": campaign.id,
            "test": True,
            # English is what a row without a locale is written in anyway.
            **({LOCALE_KEY: locale} if locale and locale != SOURCE_LOCALE else {}),
        },
        deliver_within=timedelta(hours=1),
    )
    return recruiter.email
