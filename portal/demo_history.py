"""The demo's history: about 200 candidates and 60 days of what they and the portal did.

So the console's reports and charts have real shapes on first open: sign-ups with
weekday bumps, confirmations, alert runs of the schedules with their digests,
two campaigns, preference-center changes (and the emailed links that led to them),
one-click opt-outs after digests and campaigns, and two hard bounces.

The history is simulated in time order, then written in bulk. Every row has the
shape the app writes: consent events as `preferences.subscriptions` records them,
outbox rows with the keys and contexts of `jobs.alerts`, `mailer.campaign_admin`
and the connect flow, bounce events, suppressions and their consent record as
`mailer.bounces` leaves them. Every message is settled in the past (sent, skipped
or refused), so the worker sends none of it again.

Seeded once: the candidates' addresses are fixed (a seeded random generator), and
finding any of them means the history is there.
"""

from __future__ import annotations

import heapq
import itertools
import random
import secrets
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from jobs.alerts import ALERT_TEMPLATE, alert_context, explain_empty_run
from jobs.alerts import dedupe_key as alert_dedupe_key
from jobs.models import (
    AlertRun,
    AlertRunStatus,
    AlertSchedule,
    DigestItem,
    FrequencyClass,
    JobPosting,
    job_interests,
    schedule_interests,
)
from jobs.scheduler import cron_trigger, next_fire_times
from mailer.bounces import smtp_report
from mailer.eligibility import SUPPRESSED
from mailer.links import signed_link
from mailer.models import (
    BounceEvent,
    Campaign,
    CampaignStatus,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
)
from mailer.outbox import DEFAULT_DELIVER_WITHIN
from mailer.reputation import recipient_domain, redact
from mailer.sends import CAMPAIGN
from portal.connect.submit import (
    ALERTS_WORDING,
    MASS_EMAIL_WORDING,
    RESEND_WINDOW_SECONDS,
    VIA_CONFIRMATION,
    Changes,
)
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Frequency,
    Interest,
    InterestStatus,
    MassEmail,
    MassEmailStatus,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from preferences.suppressions import suppress
from preferences.tokens import LinkPurpose
from preferences.wordings import JOB_ALERTS, MASS_EMAIL, SCOPE_KINDS, wording_version

CANDIDATES = 200
HISTORY_DAYS = 60
RANDOM_SEED = 14
DEMO_DOMAINS = ("example.com", "example.org", "example.net")
COMPANY = "Acme"
# The Message-ID domain of the seeded mail (the worker uses the sending domain).
MESSAGE_ID_DOMAIN = "acme.example.com"

FIRST_NAMES = (
    "Amara", "Ben", "Chloé", "Daniel", "Elif", "Farah", "Gabriel", "Hana", "Ines", "Jonas",
    "Kwame", "Lena", "Mateo", "Nadia", "Oliver", "Priya", "Quentin", "Rosa", "Samir", "Tomás",
    "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoë", "Aisha", "Bruno", "Carmen", "Dmitri",
    "Emma", "Felix", "Greta", "Hiroshi", "Isabel", "Jamal", "Keiko", "Luca", "Maya", "Noah",
    "Olga", "Pedro", "Sofia", "Tariq", "Valentina", "William", "Yara", "Zainab", "Anna",
    "Björn", "Chen", "Diego", "Freya", "Ibrahim", "Julia", "Lars", "Mei", "Omar", "Sara",
    "Thandiwe",
)  # fmt: skip
LAST_NAMES = (
    "Adeyemi", "Becker", "Costa", "Dubois", "Eriksson", "Fernández", "García", "Hoffmann",
    "Ivanova", "Jansen", "Kowalski", "Lindqvist", "Müller", "Nakamura", "Okafor", "Patel",
    "Rossi", "Schmidt", "Tanaka", "Umarov", "Virtanen", "Weber", "Öztürk", "Zhang", "Almeida",
    "Brennan", "Chowdhury", "Dimitrov", "Evans", "Fischer", "Gonzalez", "Haddad", "Ito",
    "Kim", "Larsen", "Moreau", "Nowak", "O'Brien", "Petrov", "Quinn", "Rahman", "Santos",
    "Takahashi", "Usman", "Van Dijk", "Wagner", "Xu", "Young", "Zimmermann", "Novak",
)  # fmt: skip
LOCATIONS = (
    "Berlin, Germany", "Hamburg, Germany", "Munich, Germany", "London, United Kingdom",
    "Manchester, United Kingdom", "Amsterdam, Netherlands", "Lisbon, Portugal",
    "Madrid, Spain", "Paris, France", "Warsaw, Poland", "Stockholm, Sweden",
    "New York, NY", "Austin, TX", "Toronto, Canada", "Remote",
)  # fmt: skip
# Relative sign-ups per weekday (Monday first), and interest popularity by position.
WEEKDAY_WEIGHTS = (1.4, 1.5, 1.35, 1.2, 0.9, 0.4, 0.5)
LAUNCH_DAYS, LAUNCH_BOOST = 4, 4.0
INTEREST_WEIGHTS = (10, 7, 4, 4, 5, 4, 3, 3, 3, 3, 2, 5)
CAMPAIGNS = (
    # (day of the history, name, subject, body)
    (
        21,
        "Hiring update",
        "What's new at Acme: teams that are hiring",
        "Hello from Acme!\n\nOur Data and Software Engineering teams are growing, and "
        "we opened new roles in Berlin and London.\n\n- Meet the teams on our blog\n"
        "- Browse every open role on the career site",
    ),
    (
        46,
        "Open evening invitation",
        "Join our online open evening",
        "Meet the people behind our products at our online open evening: short talks, "
        "a Q&A with hiring managers and time for your questions.\n\nSee you there!",
    ),
)

_Row = dict[str, Any]


@dataclass(frozen=True)
class HistoryResult:
    """What seeding the history added (all zero when it was there already)."""

    candidates_created: int = 0
    alert_runs_created: int = 0
    messages_created: int = 0
    opt_outs: int = 0
    bounces: int = 0


@dataclass(frozen=True)
class _Name:
    first: str
    last: str
    email: str


def _ascii(text: str) -> str:
    """A name as letters for an address: accents dropped, other marks removed."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


def demo_names(count: int = CANDIDATES) -> list[_Name]:
    """The demo candidates' names and addresses: the same every time."""
    rng = random.Random(RANDOM_SEED)
    names: list[_Name] = []
    seen: set[str] = set()
    while len(names) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        given, family = _ascii(first), _ascii(last)
        local = rng.choice(
            (
                f"{given}.{family}",
                f"{given}{family}",
                f"{given[0]}.{family}",
                f"{given}_{family}",
                f"{given}.{family}{rng.randint(1, 99)}",
            )
        )
        email = f"{local}@{rng.choice(DEMO_DOMAINS)}"
        if email in seen:
            continue
        seen.add(email)
        names.append(_Name(first, last, email))
    return names


# --- the simulation -------------------------------------------------------------------


@dataclass(eq=False)
class _Person:
    name: _Name
    public_id: str
    location: str
    signed_up: datetime
    frequency: Frequency
    wants_mass_email: bool
    by_provider: bool
    token_version: int = 1
    verified_at: datetime | None = None
    mass_email: MassEmail | None = None
    mass_email_at: datetime | None = None
    suppressed: bool = False
    id: int = 0

    @property
    def email(self) -> str:
        return self.name.email


@dataclass(eq=False)
class _Sub:
    person: _Person
    interest_id: int
    status: SubscriptionStatus
    frequency: Frequency
    created_at: datetime
    updated_at: datetime
    last_alerted_at: datetime | None = None
    paused_until: datetime | None = None


@dataclass
class _Consent:
    person: _Person
    scope: ConsentScope
    action: ConsentAction
    source: ConsentSource
    at: datetime
    interest_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    ip_address: str | None = None


@dataclass
class _Mail:
    person: _Person
    kind: MessageKind
    template: str
    # The dedupe key, "{candidate}" filled in when written (a send's rows: from its kind).
    key: str
    created_at: datetime
    status: OutboxStatus = OutboxStatus.SENT
    context: dict[str, Any] = field(default_factory=dict)
    last_error: str = ""
    send: int = 0  # index into the runs or campaigns it belongs to
    bounce_via: str = ""  # "dsn" or "smtp" for the seeded hard bounces


@dataclass(frozen=True)
class _Job:
    id: int
    posted_at: datetime
    closed_at: datetime | None
    interest_ids: tuple[int, ...]


@dataclass(frozen=True)
class _Schedule:
    id: int
    cron: str
    timezone: str
    frequency_class: FrequencyClass
    interest_ids: frozenset[int] | None  # None: every interest


@dataclass
class _Run:
    schedule_id: int
    started_at: datetime
    finished_at: datetime
    candidates_matched: int
    explanation: str
    digests: list[tuple[_Person, list[int], int, list[int]]]  # person, jobs, total, interests


@dataclass
class _CampaignSend:
    name: str
    subject: str
    body: str
    sent_at: datetime


_CLASS_FREQUENCIES = {
    FrequencyClass.DAILY: (Frequency.DAILY,),
    FrequencyClass.WEEKLY: (Frequency.WEEKLY,),
    FrequencyClass.BOTH: (Frequency.DAILY, Frequency.WEEKLY),
}


class _History:
    """The 60 days, played in time order on plain objects."""

    def __init__(
        self,
        rng: random.Random,
        at: datetime,
        interests: dict[int, str],
        jobs: Sequence[_Job],
        schedules: Sequence[_Schedule],
    ) -> None:
        self.rng = rng
        self.at = at
        self.start = at - timedelta(days=HISTORY_DAYS)
        self.interests = interests
        self.jobs_by_interest: dict[int, list[_Job]] = defaultdict(list)
        for job in jobs:
            for interest_id in job.interest_ids:
                self.jobs_by_interest[interest_id].append(job)
        self.schedules = schedules
        self.people: list[_Person] = []
        self.subs: dict[tuple[int, int], _Sub] = {}
        self.by_person: dict[int, list[_Sub]] = defaultdict(list)
        self.consents: list[_Consent] = []
        self.mails: list[_Mail] = []
        self.runs: list[_Run] = []
        self.campaigns: list[_CampaignSend] = []
        self.digested: set[tuple[int, int]] = set()  # (id(person), job id)
        self.bounces: list[tuple[_Mail, datetime]] = []
        self._queue: list[tuple[datetime, int, Callable[[datetime], object]]] = []
        self._order = itertools.count()

    # --- plumbing

    def later(self, when: datetime, action: Callable[[datetime], object]) -> None:
        if when < self.at - timedelta(minutes=1):
            heapq.heappush(self._queue, (when, next(self._order), action))

    def play(self) -> None:
        while self._queue:
            when, _, action = heapq.heappop(self._queue)
            action(when)

    def _ip(self) -> str:
        # Documentation ranges (RFC 5737), as the form would record a visitor's address.
        return (
            f"{self.rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{self.rng.randint(1, 254)}"
        )

    def _consent(self, person: _Person, when: datetime, **fields: Any) -> None:
        self.consents.append(_Consent(person=person, at=when, **fields))

    def _mail(self, person: _Person, when: datetime, **fields: Any) -> _Mail:
        mail = _Mail(person=person, created_at=when, **fields)
        self.mails.append(mail)
        return mail

    def _live(self, person: _Person) -> list[_Sub]:
        return [s for s in self.by_person[id(person)] if s.status is SubscriptionStatus.SUBSCRIBED]

    # --- people

    def add_people(self, names: Sequence[_Name]) -> None:
        days = [self.start + timedelta(days=d) for d in range(HISTORY_DAYS)]
        # Weekday rhythm, slow growth, and the launch: the community opened 60 days ago.
        weights = [
            WEEKDAY_WEIGHTS[day.weekday()]
            * (0.75 + 0.6 * n / HISTORY_DAYS)
            * (LAUNCH_BOOST if n < LAUNCH_DAYS else 1)
            for n, day in enumerate(days)
        ]
        for name in names:
            day = self.rng.choices(days, weights)[0].replace(hour=0, minute=0, second=0)
            signed_up = day + timedelta(
                hours=self.rng.choice((8, 9, 10, 11, 12, 13, 14, 16, 18, 20, 21, 22)),
                minutes=self.rng.randint(0, 59),
                seconds=self.rng.randint(0, 59),
            )
            if signed_up >= self.at - timedelta(minutes=5):
                signed_up = day + (self.at - day) * self.rng.uniform(0.1, 0.9)
            signed_up = max(signed_up, self.start)
            person = _Person(
                name=name,
                public_id=secrets.token_urlsafe(16),
                location=self.rng.choice(LOCATIONS),
                signed_up=signed_up,
                frequency=Frequency.WEEKLY if self.rng.random() < 0.4 else Frequency.DAILY,
                wants_mass_email=self.rng.random() < 0.5,
                by_provider=self.rng.random() < 0.2,
            )
            self.people.append(person)
            self.later(signed_up, partial(self.sign_up, person))

    def _pick_interests(self) -> list[int]:
        ids = list(self.interests)
        weights = [INTEREST_WEIGHTS[n % len(INTEREST_WEIGHTS)] for n in range(len(ids))]
        wanted = self.rng.choices((1, 2, 3), (0.45, 0.4, 0.15))[0]
        chosen: list[int] = []
        while len(chosen) < min(wanted, len(ids)):
            pick = self.rng.choices(ids, weights)[0]
            if pick not in chosen:
                chosen.append(pick)
        return chosen

    def sign_up(self, person: _Person, when: datetime) -> None:
        """The connect form: subscriptions (confirmed at once after a provider's sign-in)."""
        chosen = self._pick_interests()
        ip = self._ip()
        status = (
            SubscriptionStatus.SUBSCRIBED
            if person.by_provider
            else (SubscriptionStatus.UNCONFIRMED)
        )
        ticked = sorted(
            [f"interest:{i}" for i in chosen]
            + ["alerts"]
            + (["mass_email"] if person.wants_mass_email else [])
        )
        for interest_id in chosen:
            sub = _Sub(person, interest_id, status, person.frequency, when, when)
            self.subs[(id(person), interest_id)] = sub
            self.by_person[id(person)].append(sub)
            self._consent(
                person,
                when,
                scope=ConsentScope.INTEREST,
                interest_id=interest_id,
                action=ConsentAction.GRANT,
                source=ConsentSource.CONNECT_FORM,
                ip_address=ip,
                detail={
                    "status": status.value,
                    "frequency": person.frequency.value,
                    "wording": ALERTS_WORDING,
                    "ticked": ticked,
                    "suggested": False,
                },
            )
        if person.by_provider:
            person.verified_at = when
            if person.wants_mass_email:
                self._opt_in(person, when, ip, {"ticked": ticked})
            self._welcome(person, when)
        else:
            changes = Changes.of(chosen, person.wants_mass_email)
            window = int(when.timestamp()) // RESEND_WINDOW_SECONDS
            self._mail(
                person,
                when,
                kind=MessageKind.CONFIRMATION,
                template="confirmation",
                key=f"confirmation:{{candidate}}:{changes.digest()}:{window}",
                context={
                    "confirm_url": signed_link(
                        LinkPurpose.CONFIRM_EMAIL,
                        "/connect/confirm/",
                        person,
                        **changes.link_extra(),
                    ),
                    "interests": [self.interests[i] for i in chosen],
                    "mass_email": person.wants_mass_email,
                    "verified": False,
                },
            )
            if self.rng.random() < 0.9:
                delay = timedelta(minutes=self.rng.choice((2, 4, 7, 12, 25, 50, 180, 900)))
                self.later(when + delay, partial(self.confirm, person))
        self._plan_changes(person, when)

    def confirm(self, person: _Person, when: datetime) -> None:
        """The confirmation link: subscriptions confirmed, mass email on, a welcome."""
        ip = self._ip()
        for sub in self.by_person[id(person)]:
            if sub.status is SubscriptionStatus.UNCONFIRMED:
                sub.status, sub.updated_at = SubscriptionStatus.SUBSCRIBED, when
                self._consent(
                    person,
                    when,
                    scope=ConsentScope.INTEREST,
                    interest_id=sub.interest_id,
                    action=ConsentAction.CONFIRM,
                    source=ConsentSource.CONNECT_FORM,
                    ip_address=ip,
                )
        if person.wants_mass_email:
            self._opt_in(person, when, ip, VIA_CONFIRMATION)
        person.verified_at = when
        self._welcome(person, when)

    def _welcome(self, person: _Person, when: datetime) -> None:
        self._mail(
            person,
            when,
            kind=MessageKind.WELCOME,
            template="welcome",
            key="welcome:{candidate}",
        )

    def _opt_in(self, person: _Person, when: datetime, ip: str, detail: dict[str, Any]) -> None:
        """The mass-email opt-in the connect flow records, with the wording agreed to."""
        wording = MASS_EMAIL_WORDING.format(company=COMPANY)
        self._mass_email(
            person,
            when,
            MassEmail.OPTED_IN,
            ConsentSource.CONNECT_FORM,
            ip_address=ip,
            detail={"wording": wording, **detail},
        )

    def _mass_email(
        self,
        person: _Person,
        when: datetime,
        status: MassEmail,
        source: ConsentSource,
        *,
        ip_address: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> bool:
        if person.mass_email is status:
            return False
        person.mass_email, person.mass_email_at = status, when
        self._consent(
            person,
            when,
            scope=ConsentScope.MASS_EMAIL,
            action=ConsentAction.GRANT if status is MassEmail.OPTED_IN else ConsentAction.WITHDRAW,
            source=source,
            ip_address=ip_address,
            detail=detail or {},
        )
        return True

    # --- the preference center

    def _plan_changes(self, person: _Person, when: datetime) -> None:
        if self.rng.random() < 0.3:
            after = timedelta(days=self.rng.uniform(1, 40), hours=self.rng.uniform(0, 12))
            self.later(when + after, partial(self.preference_visit, person))

    def preference_visit(self, person: _Person, when: datetime) -> None:
        """A visit to the preference center from an emailed link, and what was saved."""
        live = self._live(person)
        if person.verified_at is None or person.suppressed or not live:
            return
        if self.rng.random() < 0.4:
            # Asked for a fresh link first (the resend page), a few minutes before.
            asked = when - timedelta(minutes=self.rng.randint(2, 15))
            self._mail(
                person,
                asked,
                kind=MessageKind.LOGIN_LINK,
                template="preference_link",
                key=f"preference-link:{{candidate}}:{int(asked.timestamp()) // 600}",
                context={
                    "preferences_url": signed_link(LinkPurpose.PREFERENCES, "/preferences/", person)
                },
            )
        ip = self._ip()
        choice = self.rng.choices(
            ("frequency", "withdraw", "add", "pause", "mass_email", "undo"), (5, 4, 3, 2, 2, 2)
        )[0]
        sub = self.rng.choice(live)
        if choice == "frequency":
            previous = sub.frequency
            sub.frequency = Frequency.DAILY if previous is Frequency.WEEKLY else Frequency.WEEKLY
            sub.updated_at = when
            self._interest_event(
                sub,
                when,
                ConsentAction.CHANGE,
                ip,
                {"frequency": sub.frequency.value, "previous_frequency": previous.value},
            )
        elif choice == "withdraw" or (choice == "mass_email" and not self._mass_off(person, when)):
            self._withdraw(sub, when, ConsentSource.PREFERENCE_CENTER, ip)
        elif choice == "add":
            taken = {s.interest_id for s in self.by_person[id(person)]}
            free = [i for i in self.interests if i not in taken]
            if free:
                new = _Sub(
                    person,
                    self.rng.choice(free),
                    SubscriptionStatus.SUBSCRIBED,
                    sub.frequency,
                    when,
                    when,
                )
                self.subs[(id(person), new.interest_id)] = new
                self.by_person[id(person)].append(new)
                self._interest_event(
                    new,
                    when,
                    ConsentAction.GRANT,
                    ip,
                    {"status": new.status.value, "frequency": new.frequency.value},
                )
        elif choice == "pause":
            sub.paused_until = when + timedelta(days=14)
            sub.updated_at = when
            self._interest_event(
                sub, when, ConsentAction.CHANGE, ip, {"paused_until": sub.paused_until.isoformat()}
            )
        elif choice == "undo":
            # Saved, then Undo a minute later: the opt-out chart counts nothing for it.
            self._withdraw(sub, when, ConsentSource.PREFERENCE_CENTER, ip)
            back = when + timedelta(minutes=1)
            sub.status, sub.updated_at = SubscriptionStatus.SUBSCRIBED, back
            self._interest_event(
                sub,
                back,
                ConsentAction.GRANT,
                ip,
                {"status": sub.status.value, "frequency": sub.frequency.value},
            )

    def _mass_off(self, person: _Person, when: datetime) -> bool:
        return self._mass_email(
            person,
            when,
            MassEmail.OPTED_OUT,
            ConsentSource.PREFERENCE_CENTER,
            ip_address=self._ip(),
        )

    def _interest_event(
        self,
        sub: _Sub,
        when: datetime,
        action: ConsentAction,
        ip: str | None,
        detail: dict[str, Any],
    ) -> None:
        self._consent(
            sub.person,
            when,
            scope=ConsentScope.INTEREST,
            interest_id=sub.interest_id,
            action=action,
            source=ConsentSource.PREFERENCE_CENTER,
            ip_address=ip,
            detail=detail,
        )

    def _withdraw(self, sub: _Sub, when: datetime, source: ConsentSource, ip: str | None) -> None:
        if sub.status is SubscriptionStatus.UNSUBSCRIBED:
            return
        sub.status, sub.updated_at = SubscriptionStatus.UNSUBSCRIBED, when
        self._consent(
            sub.person,
            when,
            scope=ConsentScope.INTEREST,
            interest_id=sub.interest_id,
            action=ConsentAction.WITHDRAW,
            source=source,
            ip_address=ip,
        )

    # --- alert runs

    def plan_runs(self) -> None:
        for schedule in self.schedules:
            trigger = cron_trigger(schedule.cron, schedule.timezone)
            for fire in next_fire_times(trigger, self.start, HISTORY_DAYS * 2):
                if fire < self.at:
                    self.later(fire, partial(self.run, schedule))

    def run(self, schedule: _Schedule, when: datetime) -> None:
        """One firing, matched as `jobs.alerts` does, its digests sent within minutes."""
        frequencies = _CLASS_FREQUENCIES[schedule.frequency_class]
        eligible = [
            s
            for s in self.subs.values()
            if s.status is SubscriptionStatus.SUBSCRIBED
            and s.frequency in frequencies
            and (s.paused_until is None or s.paused_until <= when)
            and (schedule.interest_ids is None or s.interest_id in schedule.interest_ids)
        ]

        def is_open(job: _Job) -> bool:
            return job.posted_at <= when and (job.closed_at is None or job.closed_at > when)

        new: dict[int, tuple[_Person, list[_Job], list[int], list[_Sub]]] = {}
        with_new = 0
        for sub in eligible:
            threshold = sub.last_alerted_at or sub.created_at
            fresh = [
                j
                for j in self.jobs_by_interest[sub.interest_id]
                if j.posted_at > threshold and is_open(j)
            ]
            with_new += bool(fresh)
            unsent = [j for j in fresh if (id(sub.person), j.id) not in self.digested]
            if unsent:
                person, jobs, interest_ids, subs = new.setdefault(
                    id(sub.person), (sub.person, [], [], [])
                )
                jobs.extend(j for j in unsent if j not in jobs)
                interest_ids.append(sub.interest_id)
                subs.append(sub)
        started = when + timedelta(seconds=self.rng.uniform(0.5, 3))
        digests = []
        for person, jobs, interest_ids, subs in new.values():
            jobs.sort(key=lambda j: (j.posted_at, j.id), reverse=True)
            listed = [j.id for j in jobs[:10]]
            self.digested.update((id(person), job_id) for job_id in listed)
            for sub in subs:
                sub.last_alerted_at = when
            digests.append((person, listed, len(jobs), interest_ids))
        explanation = ""
        if not digests:
            people = len({id(s.person) for s in eligible})
            scope = {s.interest_id for s in eligible}
            open_jobs = {j.id for i in scope for j in self.jobs_by_interest[i] if is_open(j)}
            explanation = explain_empty_run(people, len(open_jobs), with_new)
        run = _Run(
            schedule.id,
            started,
            started + timedelta(seconds=self.rng.uniform(0.2, 1.5)),
            len(digests),
            explanation,
            digests,
        )
        self.runs.append(run)
        for person, _, _, interest_ids in digests:
            mail = self._mail(
                person,
                when,
                kind=MessageKind.JOB_ALERT,
                template=ALERT_TEMPLATE,
                key="",
                send=len(self.runs) - 1,
            )
            self._deliver(mail, when)
            if mail.status is OutboxStatus.SENT and self.rng.random() < 0.035:
                # Unsubscribed with the digest's one-click link (it names its interests).
                out = when + timedelta(minutes=self.rng.uniform(20, 2000))
                sub = self.subs[(id(person), self.rng.choice(interest_ids))]
                self.later(out, partial(self._one_click, sub))

    def _deliver(self, mail: _Mail, when: datetime) -> None:
        """The worker's outcome: skipped if suppressed, else sent (one seeded bounce)."""
        person = mail.person
        if person.suppressed:
            mail.status, mail.last_error = OutboxStatus.SKIPPED, SUPPRESSED
            return
        due = self.start + timedelta(days=26 if mail.kind is MessageKind.JOB_ALERT else 0)
        if (
            mail.kind in (MessageKind.JOB_ALERT, MessageKind.CAMPAIGN)
            and when >= due
            and not any(m.kind is mail.kind for m, _ in self.bounces)
            and self.rng.random() < 0.05
        ):
            # An alert bounces back later (a DSN); a campaign is refused at once (SMTP).
            via = "dsn" if mail.kind is MessageKind.JOB_ALERT else "smtp"
            mail.bounce_via = via
            person.suppressed = True
            if via == "smtp":
                # What the worker keeps of the relay's refusal (PermanentSendError).
                mail.status = OutboxStatus.FAILED
                mail.last_error = f"550 {bounce_text(person.email)}"
            self.bounces.append((mail, when + timedelta(minutes=3 if via == "dsn" else 0)))

    def _one_click(self, sub: _Sub, when: datetime) -> None:
        """Unsubscribed with a digest's one-click link (it names the digest's interests)."""
        self._withdraw(sub, when, ConsentSource.ONE_CLICK, None)

    # --- campaigns

    def plan_campaigns(self) -> None:
        for day, name, subject, body in CAMPAIGNS:
            when = (self.start + timedelta(days=day)).replace(hour=9, minute=30, second=0)
            # Sent on a Tuesday, as a recruiter would.
            when += timedelta(days=(1 - when.weekday()) % 7)
            if when < self.at:
                self.later(when, partial(self.campaign, name, subject, body))

    def campaign(self, name: str, subject: str, body: str, when: datetime) -> None:
        self.campaigns.append(_CampaignSend(name, subject, body, when))
        index = len(self.campaigns) - 1
        audience = [
            p
            for p in self.people
            if p.mass_email is MassEmail.OPTED_IN and p.verified_at is not None and not p.suppressed
        ]
        for person in audience:
            mail = self._mail(
                person,
                when,
                kind=MessageKind.CAMPAIGN,
                template="campaign",
                key="",
                send=index,
            )
            self._deliver(mail, when)
            if mail.status is OutboxStatus.SENT and self.rng.random() < 0.08:
                out = when + timedelta(minutes=self.rng.uniform(10, 3000))
                self.later(out, partial(self._one_click_mass_email, person))

    def _one_click_mass_email(self, person: _Person, when: datetime) -> None:
        """Left mass email with a campaign's one-click link."""
        self._mass_email(person, when, MassEmail.OPTED_OUT, ConsentSource.ONE_CLICK)


def bounce_text(address: str) -> str:
    """The receiving server's answer for a demo address that does not exist."""
    return f"5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"


# --- reading the demo company, writing the history ------------------------------------


def _interests(session: Session) -> dict[int, str]:
    return {
        interest_id: name
        for interest_id, name in session.execute(
            select(Interest.id, Interest.name)
            .where(Interest.status == InterestStatus.ACTIVE, Interest.merged_into_id.is_(None))
            .order_by(Interest.position, Interest.id)
        )
    }


def _jobs(session: Session, interest_ids: Sequence[int]) -> list[_Job]:
    tags: dict[int, list[int]] = defaultdict(list)
    for job_id, interest_id in session.execute(
        select(job_interests.c.job_id, job_interests.c.interest_id)
    ):
        if interest_id in interest_ids:
            tags[job_id].append(interest_id)
    return [
        _Job(job_id, posted_at, closed_at, tuple(tags[job_id]))
        for job_id, posted_at, closed_at in session.execute(
            select(JobPosting.id, JobPosting.posted_at, JobPosting.closed_at).order_by(
                JobPosting.id
            )
        )
        if tags[job_id]
    ]


def _schedules(session: Session) -> list[_Schedule]:
    scoped: dict[int, set[int]] = defaultdict(set)
    for schedule_id, interest_id in session.execute(
        select(schedule_interests.c.schedule_id, schedule_interests.c.interest_id)
    ):
        scoped[schedule_id].add(interest_id)
    return [
        _Schedule(
            row.id,
            row.cron,
            row.timezone,
            row.frequency_class,
            None if row.all_interests else frozenset(scoped[row.id]),
        )
        for row in session.execute(
            select(
                AlertSchedule.id,
                AlertSchedule.cron,
                AlertSchedule.timezone,
                AlertSchedule.frequency_class,
                AlertSchedule.all_interests,
            )
            .where(AlertSchedule.enabled.is_(True))
            .order_by(AlertSchedule.id)
        )
    ]


def _insert_returning_ids(
    session: Session, table: Table, rows: list[_Row], key: Sequence[str]
) -> list[int]:
    """Insert `rows` in bulk; their ids in the order given.

    `key` names columns whose values tell the rows apart: each returned id is matched
    back to its row by them. (Asking the database to return the ids in order instead
    makes SQLite run one INSERT per row.)
    """
    if not rows:
        return []
    order = {tuple(row[k] for k in key): n for n, row in enumerate(rows)}
    if len(order) != len(rows):
        raise ValueError(f"{table.name}: {', '.join(key)} don't tell the rows apart")
    columns = [table.c[k] for k in key]
    ids = [0] * len(rows)
    for found in session.execute(insert(table).returning(table.c.id, *columns), rows):
        ids[order[tuple(found[1:])]] = found[0]
    return ids


def _insert(session: Session, model: type[Any], rows: list[_Row]) -> None:
    """Insert `rows` in bulk, NULLs included.

    (An ORM insert leaves out each row's None values, and so splits the rows into one
    statement per run of rows with the same columns set.)
    """
    if rows:
        session.execute(insert(_table(model)), rows)


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _message_id(rng: random.Random) -> str:
    return f"<{rng.getrandbits(96):024x}@{MESSAGE_ID_DOMAIN}>"


def seed_history(
    session: Session, *, at: datetime, recruiter_id: int | None = None
) -> HistoryResult:
    """Seed the demo candidates and their 60 days up to `at`, unless they are there already."""
    names = demo_names()
    emails = [n.email for n in names]
    if session.scalar(select(Candidate.id).where(Candidate.email.in_(emails)).limit(1)):
        return HistoryResult()
    interests = _interests(session)
    if not interests:
        return HistoryResult()
    history = _History(
        random.Random(RANDOM_SEED + 1),
        at,
        interests,
        _jobs(session, list(interests)),
        _schedules(session),
    )
    history.add_people(names)
    history.plan_runs()
    history.plan_campaigns()
    history.play()
    return _write(session, history, recruiter_id)


def _write(session: Session, history: _History, recruiter_id: int | None) -> HistoryResult:
    rng = history.rng
    session.flush()
    people = history.people
    ids = _insert_returning_ids(
        session,
        _table(Candidate),
        [
            {
                "public_id": p.public_id,
                "email": p.email,
                "email_verified_at": p.verified_at,
                "first_name": p.name.first,
                "last_name": p.name.last,
                "location": p.location,
                "locale": "en",
                "timezone": "UTC",
                "token_version": p.token_version,
                "status": CandidateStatus.ACTIVE,
                "created_at": p.signed_up,
                "updated_at": max(
                    [p.signed_up, p.verified_at or p.signed_up, p.mass_email_at or p.signed_up]
                ),
            }
            for p in people
        ],
        key=["email"],
    )
    for person, person_id in zip(people, ids, strict=True):
        person.id = person_id
    run_ids = _insert_returning_ids(
        session,
        _table(AlertRun),
        [
            {
                "schedule_id": r.schedule_id,
                "status": AlertRunStatus.SUCCEEDED,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "candidates_matched": r.candidates_matched,
                "digests_queued": len(r.digests),
                "error": "",
                "explanation": r.explanation,
            }
            for r in history.runs
        ],
        key=["schedule_id", "started_at"],
    )
    campaign_ids = _insert_returning_ids(
        session,
        _table(Campaign),
        [
            {
                "name": c.name,
                "subject": c.subject,
                "body": c.body,
                "audience": {"interest_ids": []},
                "status": CampaignStatus.SENT,
                "sent_at": c.sent_at,
                "created_by_id": recruiter_id,
                "created_at": c.sent_at - timedelta(days=1, hours=3),
            }
            for c in history.campaigns
        ],
        key=["name"],
    )
    _insert(
        session,
        Subscription,
        [
            {
                "candidate_id": s.person.id,
                "interest_id": s.interest_id,
                "status": s.status,
                "frequency": s.frequency,
                "paused_until": s.paused_until,
                "last_alerted_at": s.last_alerted_at,
                "created_at": s.created_at,
                "updated_at": s.updated_at,
            }
            for s in history.subs.values()
        ],
    )
    _insert(
        session,
        MassEmailStatus,
        [
            {"candidate_id": p.id, "status": p.mass_email, "updated_at": p.mass_email_at}
            for p in people
            if p.mass_email is not None
        ],
    )
    digest_items = [
        {
            "candidate_id": person.id,
            "job_id": job_id,
            "alert_run_id": run_id,
            "created_at": run.started_at,
        }
        for run, run_id in zip(history.runs, run_ids, strict=True)
        for person, listed, _, _ in run.digests
        for job_id in listed
    ]
    _insert(session, DigestItem, digest_items)

    contexts: dict[tuple[int, int], dict[str, Any]] = {}
    for run, run_id in zip(history.runs, run_ids, strict=True):
        for person, listed, total, interest_ids in run.digests:
            contexts[id(person), run_id] = alert_context(run_id, listed, total, interest_ids)
    outbox: list[_Row] = []
    for mail in history.mails:
        key, context = mail.key.format(candidate=mail.person.id), mail.context
        if mail.kind is MessageKind.JOB_ALERT:
            run_id = run_ids[mail.send]
            key, context = (
                alert_dedupe_key(run_id, mail.person.id),
                contexts[id(mail.person), run_id],
            )
        elif mail.kind is MessageKind.CAMPAIGN:
            campaign_id = campaign_ids[mail.send]
            key = CAMPAIGN.dedupe_key(campaign_id, mail.person.id)
            context = {"campaign_id": campaign_id}
        sent = mail.status is OutboxStatus.SENT
        outbox.append(
            {
                "dedupe_key": key,
                "kind": mail.kind,
                "template": mail.template,
                "candidate_id": mail.person.id,
                "to_address": mail.person.email,
                "context": context,
                "status": mail.status,
                "attempts": 0 if mail.status is OutboxStatus.SKIPPED else 1,
                "next_attempt_at": mail.created_at,
                "deliver_until": mail.created_at + DEFAULT_DELIVER_WITHIN,
                "last_error": mail.last_error,
                "message_id": _message_id(rng) if sent else None,
                "created_at": mail.created_at,
                "sent_at": mail.created_at + timedelta(seconds=rng.uniform(2, 90))
                if sent
                else None,
            }
        )
    outbox_ids = _insert_returning_ids(session, _table(OutboxMessage), outbox, key=["dedupe_key"])
    outbox_id_of = {id(mail): oid for mail, oid in zip(history.mails, outbox_ids, strict=True)}

    # The demo's people read English, and agreed to the default wordings (as `Acme`'s).
    versions = {
        JOB_ALERTS: wording_version(session, JOB_ALERTS, "en", ALERTS_WORDING),
        MASS_EMAIL: wording_version(
            session, MASS_EMAIL, "en", MASS_EMAIL_WORDING.format(company=COMPANY)
        ),
    }
    consents = [
        {
            "candidate_id": c.person.id,
            "scope": c.scope,
            "interest_id": c.interest_id,
            "action": c.action,
            "source": c.source,
            "wording_version": versions[SCOPE_KINDS[c.scope]],
            "detail": c.detail,
            "ip_address": c.ip_address,
            "occurred_at": c.at,
        }
        for c in history.consents
    ]
    consents += _write_bounces(session, history, outbox_id_of, versions[MASS_EMAIL])
    _insert(session, ConsentEvent, consents)
    session.flush()
    opt_outs = sum(1 for c in history.consents if c.action is ConsentAction.WITHDRAW)
    return HistoryResult(
        candidates_created=len(people),
        alert_runs_created=len(run_ids),
        messages_created=len(outbox_ids),
        opt_outs=opt_outs,
        bounces=len(history.bounces),
    )


def _write_bounces(
    session: Session, history: _History, outbox_id_of: dict[int, int], mass_email_version: str
) -> list[_Row]:
    """The bounce events and suppressions, as `mailer.bounces` records a hard bounce."""
    stops: list[_Row] = []
    for mail, when in history.bounces:
        address = mail.person.email
        report = smtp_report(550, bounce_text(address))
        assert report.category is not None
        outbox_id = outbox_id_of[id(mail)]
        session.execute(
            insert(BounceEvent),
            {
                "outbox_id": outbox_id,
                "category": report.category,
                "domain": recipient_domain(address),
                "status": report.status,
                "diagnostic": redact(report.diagnostic),
                "via": mail.bounce_via,
                "occurred_at": when,
            },
        )
        row = suppress(
            session,
            address,
            SuppressionReason.HARD_BOUNCE,
            detail=f"hard bounce {report.status} {report.diagnostic}".strip(),
        )
        row.created_at = when
        stops.append(
            {
                "candidate_id": mail.person.id,
                "scope": ConsentScope.MASS_EMAIL,
                "interest_id": None,
                "action": ConsentAction.CHANGE,
                "source": ConsentSource.BOUNCE,
                "wording_version": mass_email_version,
                "detail": {
                    "suppressed": "hard_bounce",
                    "status": report.status,
                    "outbox_id": outbox_id,
                },
                "ip_address": None,
                "occurred_at": when,
            }
        )
    return stops
