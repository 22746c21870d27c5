"""The preference center's model: a candidate's whole email state, read and applied at once."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, exists, select
from sqlalchemy.orm import Session

from preferences.clock import now
from preferences.errors import InvalidTransition
from preferences.interest_texts import translated_name
from preferences.interests import DISPLAY_ORDER, IS_ACTIVE, active_interests
from preferences.models import (
    Candidate,
    ConsentSource,
    Frequency,
    Interest,
    MassEmail,
    MassEmailStatus,
    SavedSearch,
    Subscription,
    SubscriptionStatus,
)
from preferences.phrases import N_, Phrase, PhraseDate, PhraseInterest
from preferences.retention import touch_activity
from preferences.subscriptions import (
    confirm_subscription,
    consent_batch,
    hold_subscriptions,
    mass_email_status,
    opt_in_mass_email,
    opt_out_mass_email,
    pause_subscription,
    set_frequency,
    subscribe,
    unsubscribe,
)
from preferences.tokens import LinkOwner

# How each frequency reads in a sentence, matching the form's wording.
FREQUENCY_WORDS = {
    Frequency.INSTANT: Phrase(N_("as jobs are posted")),
    Frequency.DAILY: Phrase(N_("in a daily digest")),
    Frequency.WEEKLY: Phrase(N_("in a weekly digest")),
}
# What a Save says when it turns mass email on or off, in the box's words.
MASS_EMAIL_ON = Phrase(N_("Started occasional emails: newsletters, events, hiring news."))
MASS_EMAIL_OFF = Phrase(N_("Stopped occasional emails."))
# How far ahead a pause chosen on the page may end.
MAX_PAUSE_DAYS = 366


@dataclass(frozen=True)
class ShownWordings:
    """The versions (`preferences.wordings`) of the consent texts the page showed.

    None for a text it did not show: its events name the default wording instead.
    """

    job_alerts: str | None = None
    mass_email: str | None = None


@dataclass
class InterestChoice:
    """What the candidate wants for one interest."""

    subscribed: bool
    frequency: Frequency = Frequency.DAILY
    paused_until: datetime | None = None
    pending: bool = False  # subscribed but waiting for the email confirmation

    def as_dict(self) -> dict[str, Any]:
        return {
            "s": self.subscribed,
            "f": self.frequency.value,
            "p": self.paused_until.isoformat() if self.paused_until else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InterestChoice:
        paused = data.get("p")
        return cls(
            subscribed=bool(data.get("s")),
            frequency=Frequency(data.get("f", "daily")),
            paused_until=datetime.fromisoformat(paused) if isinstance(paused, str) else None,
        )


@dataclass
class PreferenceState:
    """Every interest choice plus the mass-email opt-in."""

    interests: dict[int, InterestChoice] = field(default_factory=dict)
    mass_email: bool = False

    def as_dict(self) -> dict[str, Any]:
        """A compact JSON-safe form, small enough to sign into an Undo link."""
        return {"i": {str(k): v.as_dict() for k, v in self.interests.items()}, "m": self.mass_email}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreferenceState:
        raw = data.get("i")
        if not isinstance(raw, dict):
            raw = {}
        return cls(
            interests={int(k): InterestChoice.from_dict(v) for k, v in raw.items() if k.isdigit()},
            mass_email=bool(data.get("m")),
        )


class InterestOption(NamedTuple):
    """An interest as the preference form shows it."""

    id: int
    name: str


def _choice(
    status: SubscriptionStatus | None, frequency: Frequency | None, paused_until: datetime | None
) -> InterestChoice:
    """One interest's choice from its subscription row's columns (all None: no row)."""
    if status is None or status is SubscriptionStatus.UNSUBSCRIBED:
        return InterestChoice(subscribed=False, frequency=frequency or Frequency.DAILY)
    return InterestChoice(
        subscribed=True,
        frequency=frequency or Frequency.DAILY,
        paused_until=paused_until,
        pending=status is SubscriptionStatus.UNCONFIRMED,
    )


def _mass_email(session: Session, candidate: Candidate | LinkOwner) -> bool:
    return mass_email_status(session, candidate) is MassEmail.OPTED_IN


# The candidate's subscriptions, each row with their mass-email status (`current_state`).
_SUBSCRIPTIONS_READ = select(
    Subscription,
    select(MassEmailStatus.status)
    .where(MassEmailStatus.candidate_id == bindparam("candidate_id"))
    .scalar_subquery(),
).where(Subscription.candidate_id == bindparam("candidate_id"))
# The same, the subscriptions (only) locked FOR UPDATE on PostgreSQL.
_SUBSCRIPTIONS_LOCKED = _SUBSCRIPTIONS_READ.with_for_update(of=Subscription)


def current_state(
    session: Session, candidate: Candidate, interests: list[Interest], *, lock: bool = False
) -> PreferenceState:
    """Read the candidate's state for `interests` (usually the active ones).

    `lock`: the state a change is about to be made from. The subscriptions are read
    FOR UPDATE (PostgreSQL; SQLite's write transaction already excludes other writers),
    so a concurrent one-click cannot slip in between this read and the writes, which use
    the rows loaded here instead of reading each again.
    """
    rows = session.execute(
        _SUBSCRIPTIONS_LOCKED if lock else _SUBSCRIPTIONS_READ, {"candidate_id": candidate.id}
    ).all()
    subs = {sub.interest_id: sub for sub, _mass in rows}
    if lock:
        hold_subscriptions(session, subs.values())
    # The mass-email status comes on each subscription row; with none, one query for it.
    mass_email = rows[0][1] is MassEmail.OPTED_IN if rows else _mass_email(session, candidate)
    state = PreferenceState(mass_email=mass_email)
    for interest in interests:
        sub = subs.get(interest.id)
        state.interests[interest.id] = (
            _choice(sub.status, sub.frequency, sub.paused_until)
            if sub
            else _choice(None, None, None)
        )
    return state


# The preference page's one query: every active interest with the candidate's
# subscription to it (if any) and, on each row, their mass-email status and whether
# they keep any saved search (most keep none: the page then needs no query for them).
_CENTER_ROWS = (
    select(
        Interest.id,
        Interest.name,
        Subscription.status,
        Subscription.frequency,
        Subscription.paused_until,
        select(MassEmailStatus.status)
        .where(MassEmailStatus.candidate_id == bindparam("candidate_id"))
        .scalar_subquery(),
        exists()
        .where(
            SavedSearch.candidate_id == bindparam("candidate_id"),
            SavedSearch.status != SubscriptionStatus.UNSUBSCRIBED,
        )
        .label("keeps_searches"),
    )
    .outerjoin(
        Subscription,
        and_(
            Subscription.interest_id == Interest.id,
            Subscription.candidate_id == bindparam("candidate_id"),
        ),
    )
    .where(*IS_ACTIVE)
    .order_by(*DISPLAY_ORDER)
)


# The same, with each interest's name in a locale (`translation_tags`), else its own.
_CENTER_ROWS_TRANSLATED = _CENTER_ROWS.with_only_columns(
    _CENTER_ROWS.selected_columns[0],
    translated_name("tag", "language"),
    *_CENTER_ROWS.selected_columns[2:],
)


def _center_rows(
    session: Session, candidate: Candidate | LinkOwner, tags: tuple[str, ...]
) -> Sequence[Any]:
    if tags:
        return (
            session.connection()
            .execute(
                _CENTER_ROWS_TRANSLATED,
                {"candidate_id": candidate.id, "tag": tags[0], "language": tags[-1]},
            )
            .all()
        )
    return session.connection().execute(_CENTER_ROWS, {"candidate_id": candidate.id}).all()


def apply_state(
    session: Session,
    candidate: Candidate,
    interests: list[Interest],
    desired: PreferenceState,
    *,
    source: ConsentSource,
    ip_address: str | None = None,
    before: PreferenceState | None = None,
    mass_email_wording: str | None = None,
    wordings: ShownWordings | None = None,
) -> list[str]:
    """Make the stored state match `desired`; return a sentence (a `Phrase`) per change made.

    Reaching the preference center proves control of the mailbox (a signed link
    or a login), so a subscription chosen here is confirmed at once. `before` is
    the current state when the caller has already read it; `mass_email_wording`
    is the consent text shown next to the mass-email box, kept in an opt-in's event;
    `wordings` the versions of the texts the page showed, named by every event.
    """
    shown = wordings or ShownWordings()
    if before is None:
        before = current_state(session, candidate, interests)
    changes: list[str] = []  # each a Phrase
    with consent_batch(session):  # the consent events of all changes: one INSERT
        for interest in interests:
            want = desired.interests.get(interest.id)
            have = before.interests[interest.id]
            if want is None:
                continue
            try:
                changes += _apply_interest(
                    session,
                    candidate,
                    interest,
                    want,
                    have,
                    source=source,
                    ip_address=ip_address,
                    wording_version=shown.job_alerts,
                )
            except InvalidTransition:
                # Changed by another request since `before` was read (a one-click unsubscribe
                # between reading and writing): that later choice stands, nothing is re-done.
                continue
        if desired.mass_email != before.mass_email:
            if desired.mass_email:
                opt_in_mass_email(
                    session,
                    candidate,
                    source=source,
                    ip_address=ip_address,
                    wording=mass_email_wording,
                    wording_version=shown.mass_email,
                )
                changes.append(MASS_EMAIL_ON)
            else:
                opt_out_mass_email(
                    session,
                    candidate,
                    source=source,
                    ip_address=ip_address,
                    wording_version=shown.mass_email,
                )
                changes.append(MASS_EMAIL_OFF)
    return changes


def _apply_interest(
    session: Session,
    candidate: Candidate,
    interest: Interest,
    want: InterestChoice,
    have: InterestChoice,
    *,
    source: ConsentSource,
    ip_address: str | None,
    wording_version: str | None = None,
) -> list[str]:
    """Make one interest's subscription match `want`; return a sentence per change."""
    changes: list[str] = []
    events: dict[str, Any] = {
        "source": source,
        "ip_address": ip_address,
        "wording_version": wording_version,
    }
    if not want.subscribed:
        if have.subscribed and unsubscribe(session, candidate, interest, **events):
            changes.append(
                Phrase(
                    N_("Stopped job alerts for %(name)s."),
                    name=PhraseInterest(interest.id, interest.name),
                )
            )
        return changes
    if not have.subscribed:
        subscribe(session, candidate, interest, frequency=want.frequency, confirmed=True, **events)
        changes.append(
            Phrase(
                N_("Started job alerts for %(name)s, %(frequency)s."),
                name=PhraseInterest(interest.id, interest.name),
                frequency=FREQUENCY_WORDS[want.frequency],
            )
        )
    elif have.pending:
        confirm_subscription(session, candidate, interest, **events)
        changes.append(
            Phrase(
                N_("Confirmed job alerts for %(name)s."),
                name=PhraseInterest(interest.id, interest.name),
            )
        )
    if have.subscribed and want.frequency is not have.frequency:
        set_frequency(session, candidate, interest, want.frequency, **events)
        changes.append(
            Phrase(
                N_("%(name)s alerts now arrive %(frequency)s."),
                name=PhraseInterest(interest.id, interest.name),
                frequency=FREQUENCY_WORDS[want.frequency],
            )
        )
    if want.paused_until != (have.paused_until if have.subscribed else None):
        pause_subscription(session, candidate, interest, want.paused_until, **events)
        changes.append(
            Phrase(
                N_("Paused %(name)s alerts until %(day)s."),
                name=PhraseInterest(interest.id, interest.name),
                day=PhraseDate(want.paused_until),
            )
            if want.paused_until
            else Phrase(
                N_("Resumed %(name)s alerts."), name=PhraseInterest(interest.id, interest.name)
            )
        )
    return changes


@dataclass(frozen=True)
class CenterPage:
    """What the preference page shows: the active interests in order, and a choice for each."""

    interests: list[InterestOption]
    state: PreferenceState
    # Whether the candidate keeps a saved search, when the page was read (None: not known).
    keeps_searches: bool | None = field(default=None, compare=False)


def center_page(
    session: Session, candidate: Candidate | LinkOwner, tags: tuple[str, ...] = ()
) -> CenterPage:
    """The preference page as stored now: the active interests and the candidate's state
    for each, in one query.

    With `tags` (`preferences.interest_texts.translation_tags`: a locale's stored tags,
    best first), the interests' names are that locale's where one is stored.

    This is what the preference page shows; reading it must stay cheap, because
    an alert run ends with many candidates opening their links at once.
    """
    rows = _center_rows(session, candidate, tags)
    if not rows:  # no active interest: only the mass-email choice is left
        return CenterPage([], PreferenceState(mass_email=_mass_email(session, candidate)))
    state = PreferenceState(mass_email=rows[0][5] is MassEmail.OPTED_IN)
    options = []
    for interest_id, name, status, frequency, paused_until, _mass, _keeps in rows:
        options.append(InterestOption(interest_id, name))
        state.interests[interest_id] = _choice(status, frequency, paused_until)
    return CenterPage(options, state, keeps_searches=bool(rows[0][6]))


# The mass-email box's name, and the field saying the person confirmed turning it off
# (the JavaScript dialog adds it; without JavaScript the page's confirm step's button sends it).
MASS_EMAIL_FIELD = "mass_email"
CONFIRM_OFF_FIELD = "confirm_mass_email_off"
# The box's name before it became a positive choice: a page loaded before that change.
STALE_FIELDS = ("mass_email_optout",)
STALE_FORM = Phrase(
    N_(
        "This page was out of date, so nothing was saved. Check your choices below, "
        "then save again."
    )
)
BAD_MASS_EMAIL = Phrase(
    N_(
        "We couldn't read your choice for occasional emails, so nothing was saved. "
        "Tick the box to get them or leave it empty, then save again."
    )
)
PAUSE_TOO_LONG = Phrase(N_("Alerts can be paused for up to a year."))


@dataclass(frozen=True)
class CenterForm:
    """The preference form as posted, unchecked: `fields` by input name, `chosen` the ticked ids.

    `mass_email` is the posted value of the box ("yes" when ticked, None when not
    sent); `confirmed_off` says the person confirmed turning mass email off.
    """

    fields: Mapping[str, str]
    chosen: Collection[str]
    mass_email: str | None = None
    confirmed_off: bool = False


@dataclass(frozen=True)
class SaveOutcome:
    """What a Save or an Undo did, and the page to show after it.

    With `errors` or `confirm_off` nothing was applied and `page` is the form as
    posted (the stored page, for a stale form). `undo` is the state from before,
    when something changed: what an Undo puts back.
    """

    page: CenterPage
    changes: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    undo: PreferenceState | None = None
    # Nothing applied yet: the form turns mass email off and that needs a yes first.
    confirm_off: bool = False


def read_form(
    form: CenterForm, interests: list[Interest], *, today: date
) -> tuple[PreferenceState, dict[str, str]]:
    """The desired state the form asks for, with a message per bad field.

    A frequency the menu does not offer reads as daily; a pause end is read
    only for a ticked interest and must be a date after `today`, within a year.
    """
    errors: dict[str, str] = {}
    if form.mass_email not in (None, "yes"):
        errors[MASS_EMAIL_FIELD] = BAD_MASS_EMAIL
    state = PreferenceState(mass_email=form.mass_email == "yes")
    chosen = set(form.chosen)
    for interest in interests:
        key = str(interest.id)
        raw_frequency = form.fields.get(f"frequency-{key}", "daily")
        frequency = (
            Frequency(raw_frequency)
            if raw_frequency in {f.value for f in Frequency}
            else Frequency.DAILY
        )
        paused_until = None
        raw_pause = (form.fields.get(f"pause-{key}") or "").strip()
        if raw_pause and key in chosen:
            try:
                day = date.fromisoformat(raw_pause)
            except ValueError:
                errors[f"pause-{key}"] = Phrase(
                    N_("Enter the pause end for %(name)s as a date."),
                    name=PhraseInterest(interest.id, interest.name),
                )
            else:
                if day <= today:
                    errors[f"pause-{key}"] = Phrase(
                        N_("The pause for %(name)s must end after today."),
                        name=PhraseInterest(interest.id, interest.name),
                    )
                elif day > today + timedelta(days=MAX_PAUSE_DAYS):
                    errors[f"pause-{key}"] = PAUSE_TOO_LONG
                else:
                    paused_until = datetime.combine(day, time.min, tzinfo=UTC)
        state.interests[interest.id] = InterestChoice(
            subscribed=key in chosen, frequency=frequency, paused_until=paused_until
        )
    return state, errors


def save_center(
    session: Session,
    candidate: Candidate,
    form: CenterForm,
    *,
    source: ConsentSource,
    ip_address: str | None = None,
    mass_email_wording: str | None = None,
    wordings: ShownWordings | None = None,
) -> SaveOutcome:
    """Apply a Save of the preference form; a bad field applies nothing and says why.

    A form from an older version of the page (a stale field) applies nothing and
    shows the stored page: what it meant cannot be told. Turning mass email off
    applies nothing until the form says the person confirmed it.
    """
    interests = active_interests(session)
    if any(name in form.fields for name in STALE_FIELDS):
        return SaveOutcome(center_page(session, candidate), errors={MASS_EMAIL_FIELD: STALE_FORM})
    desired, errors = read_form(form, interests, today=now().date())
    options = [InterestOption(i.id, i.name) for i in interests]
    if errors:
        return SaveOutcome(CenterPage(options, desired), errors=errors)
    # A Save is the person's own act: it moves their last activity (one UPDATE), and as
    # the first write it takes the write lock before the state the change starts from is
    # read (see `current_state`).
    touch_activity(session, candidate.id)
    before = current_state(session, candidate, interests, lock=True)
    if before.mass_email and not desired.mass_email and not form.confirmed_off:
        return SaveOutcome(CenterPage(options, desired), confirm_off=True)
    return _apply_and_read(
        session,
        candidate,
        interests,
        desired,
        source,
        ip_address,
        before=before,
        mass_email_wording=mass_email_wording,
        wordings=wordings,
    )


def restore_center(
    session: Session,
    candidate: Candidate,
    previous: PreferenceState,
    *,
    source: ConsentSource,
    ip_address: str | None = None,
    mass_email_wording: str | None = None,
    wordings: ShownWordings | None = None,
) -> SaveOutcome:
    """Put back `previous` (the state an Undo link carries) for the interests still active.

    A pause that has ended since is not restored: a pause must end in the future.
    """
    interests = active_interests(session)
    for choice in previous.interests.values():
        if choice.paused_until is not None and choice.paused_until <= now():
            choice.paused_until = None
    return _apply_and_read(
        session,
        candidate,
        interests,
        previous,
        source,
        ip_address,
        mass_email_wording=mass_email_wording,
        wordings=wordings,
    )


def _apply_and_read(
    session: Session,
    candidate: Candidate,
    interests: list[Interest],
    desired: PreferenceState,
    source: ConsentSource,
    ip_address: str | None,
    *,
    before: PreferenceState | None = None,
    mass_email_wording: str | None = None,
    wordings: ShownWordings | None = None,
) -> SaveOutcome:
    """Apply `desired`, then read the page back; the state from before is the Undo.

    A Save or an Undo is the person's own act (a page's button, never a link's GET),
    so it moves their last activity, changes or none: one UPDATE in the same transaction,
    made before `before` is read (by the caller when it passes `before`).
    """
    if before is None:
        touch_activity(session, candidate.id)
        before = current_state(session, candidate, interests, lock=True)
    changes = apply_state(
        session,
        candidate,
        interests,
        desired,
        source=source,
        ip_address=ip_address,
        before=before,
        mass_email_wording=mass_email_wording,
        wordings=wordings,
    )
    return SaveOutcome(center_page(session, candidate), changes, undo=before if changes else None)
