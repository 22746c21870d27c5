"""Job feeds: managing them and their interest rules, and syncing one into the postings.

A sync is idempotent by (feed, external id): it creates what is new, updates what
changed, closes what left the feed, and writes nothing for what did not change. The
posting's reference is `<feed name>-<external id>`. Each sync leaves a `FeedSync`
record, its report; three failures in a row mark the feed as failing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from jobs.feed_models import (
    FAILING_AFTER,
    Feed,
    FeedKind,
    FeedPosting,
    FeedRule,
    FeedSync,
    RuleField,
    SyncStatus,
)
from jobs.models import JobPosting
from jobs.posting_admin import MAX_REFERENCE, MAX_URL
from jobs.scheduler import PeriodicTask
from portal.config import Settings
from portal.console.feed_fetch import (
    FeedError,
    Fetched,
    FetchPolicy,
    check_feed_url,
    fetch_feed,
)
from portal.console.feed_formats import FeedItem, parse_feed
from portal.console.job_records import (
    InterestIndex,
    InvalidJob,
    find_posting,
    save_job,
    split_list,
    validate_job,
)
from portal.errors import PortalError
from preferences.clock import now
from preferences.db import session_scope
from preferences.interests import active_interests
from preferences.models import Interest, InterestStatus
from preferences.text import TextKind, UnstorableText, clean_text

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
MIN_INTERVAL = 5
MAX_INTERVAL = 7 * 24 * 60
MAX_RULE_VALUE = 120
SCHEDULER_CHECK_SECONDS = 60.0
KIND_LABELS = {
    FeedKind.GREENHOUSE: "Greenhouse job board",
    FeedKind.LEVER: "Lever postings",
    FeedKind.JSON: "JSON file (import format)",
    FeedKind.CSV: "CSV file (import format)",
}
RULE_LABELS = {
    RuleField.DEPARTMENT: "Department is",
    RuleField.TEAM: "Team is",
    RuleField.KEYWORD: "Title or description has the word",
}

Fetcher = Callable[..., Fetched]


class FeedsError(PortalError):
    """A feed or rule that can't be saved or found."""


class FeedNotFound(FeedsError):
    """No feed has this id or name."""


class InvalidFeed(FeedsError):
    """Fields that break a rule; `errors` maps each field to a sentence for the form."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def feed_policy(settings: Settings) -> FetchPolicy:
    """How feeds are fetched, from FEED_ALLOWED_HOSTS, FEED_MAX_MB and FEED_FETCH_SECONDS."""
    return FetchPolicy(
        allowed_hosts=settings.feed_allowed_hosts,
        max_bytes=settings.feed_max_mb * 1024 * 1024,
        timeout=settings.feed_fetch_seconds,
    )


# --- managing feeds ---------------------------------------------------------------------


@dataclass(frozen=True)
class FeedInput:
    """A feed as typed in the console or given to the CLI (text, checked by `save_feed`)."""

    name: str
    kind: str
    url: str
    interval_minutes: str = "60"
    enabled: bool = True


def _checked(
    session: Session, data: FeedInput, policy: FetchPolicy, feed_id: int | None
) -> tuple[str, FeedKind, str, int]:
    errors: dict[str, str] = {}
    name = data.name.strip().lower()
    if feed_id is None:
        if not NAME_PATTERN.fullmatch(name):
            errors["name"] = (
                "Enter a name of 1 to 40 lowercase letters, digits and hyphens, such as "
                "greenhouse-main (it starts each posting's reference)."
            )
        elif session.scalar(select(Feed.id).where(Feed.name == name)) is not None:
            errors["name"] = f"A feed named {name} already exists; choose another name."
    try:
        kind = FeedKind(data.kind.strip().lower())
    except ValueError:
        errors["kind"] = "Choose the kind of feed: Greenhouse, Lever, JSON or CSV."
        kind = FeedKind.JSON
    url = data.url.strip()
    try:
        url = clean_text(url, TextKind.LINE)
    except UnstorableText as exc:
        errors["url"] = f"The URL {exc.reason}."
    if "url" not in errors:
        if not url:
            errors["url"] = "Enter the URL of the feed, starting with https://."
        elif len(url) > MAX_URL:
            errors["url"] = f"Enter a URL of at most {MAX_URL} characters."
        else:
            try:
                check_feed_url(url, policy)
            except FeedError as exc:
                errors["url"] = f"This URL can't be used: {exc}."
    raw_interval = str(data.interval_minutes).strip()
    interval = 0
    if raw_interval.isascii() and raw_interval.isdigit() and len(raw_interval) < 7:
        interval = int(raw_interval)
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        errors["interval_minutes"] = (
            f"Enter how often to sync, in whole minutes from {MIN_INTERVAL} to {MAX_INTERVAL}."
        )
    if errors:
        raise InvalidFeed(errors)
    return name, kind, url, interval


def create_feed(session: Session, data: FeedInput, policy: FetchPolicy) -> Feed:
    """Add a feed; raise InvalidFeed naming every bad field."""
    name, kind, url, interval = _checked(session, data, policy, None)
    feed = Feed(name=name, kind=kind, url=url, interval_minutes=interval, enabled=data.enabled)
    session.add(feed)
    session.flush()
    return feed


def update_feed(session: Session, feed_id: int, data: FeedInput, policy: FetchPolicy) -> Feed:
    """Change a feed's kind, URL, interval and whether it runs (its name stays)."""
    feed = get_feed(session, feed_id)
    _name, kind, url, interval = _checked(session, data, policy, feed_id)
    if (kind, url) != (feed.kind, feed.url):
        # Another source: its validators say nothing about it.
        feed.etag = feed.last_modified = None
    feed.kind, feed.url, feed.interval_minutes = kind, url, interval
    feed.enabled = data.enabled
    session.flush()
    return feed


def get_feed(session: Session, feed_id: int) -> Feed:
    feed = session.get(Feed, feed_id)
    if feed is None:
        raise FeedNotFound(f"no feed with id {feed_id}")
    return feed


def feed_named(session: Session, name: str) -> Feed:
    feed = session.scalar(select(Feed).where(Feed.name == name.strip().lower()))
    if feed is None:
        raise FeedNotFound(f"no feed named {name!r}")
    return feed


@dataclass(frozen=True)
class FeedSummary:
    feed: Feed
    last_sync: FeedSync | None
    postings: int


def list_feeds(session: Session) -> list[FeedSummary]:
    """Every feed by name, with its latest sync and how many postings it brought."""
    feeds = session.scalars(select(Feed).order_by(Feed.name)).all()
    counts = dict(
        session.execute(
            select(FeedPosting.feed_id, func.count()).group_by(FeedPosting.feed_id)
        ).all()
    )
    return [
        FeedSummary(feed, latest_sync(session, feed.id), counts.get(feed.id, 0)) for feed in feeds
    ]


def latest_sync(session: Session, feed_id: int) -> FeedSync | None:
    return session.scalar(
        select(FeedSync)
        .where(FeedSync.feed_id == feed_id)
        .order_by(FeedSync.started_at.desc(), FeedSync.id.desc())
        .limit(1)
    )


def recent_syncs(session: Session, feed_id: int, limit: int = 10) -> list[FeedSync]:
    return list(
        session.scalars(
            select(FeedSync)
            .where(FeedSync.feed_id == feed_id)
            .order_by(FeedSync.started_at.desc(), FeedSync.id.desc())
            .limit(limit)
        )
    )


def failing_feed_names(session: Session) -> list[str]:
    """Names of the feeds whose last three syncs (or more) failed."""
    return list(
        session.scalars(
            select(Feed.name).where(Feed.consecutive_failures >= FAILING_AFTER).order_by(Feed.name)
        )
    )


# --- rules ----------------------------------------------------------------------------


def add_rule(session: Session, feed_id: int, field: str, value: str, interest_id: str) -> FeedRule:
    """Add "postings whose `field` matches `value` get this interest"; InvalidFeed if bad."""
    feed = get_feed(session, feed_id)
    errors: dict[str, str] = {}
    try:
        rule_field = RuleField(field)
    except ValueError:
        errors["rule_field"] = "Choose what the rule looks at: department, team or keyword."
        rule_field = RuleField.KEYWORD
    try:
        text = clean_text(value, TextKind.LINE)
    except UnstorableText as exc:
        errors["rule_value"] = f"The value {exc.reason}."
        text = ""
    if "rule_value" not in errors and not text:
        errors["rule_value"] = "Enter the department, team or keyword to match."
    elif len(text) > MAX_RULE_VALUE:
        errors["rule_value"] = f"Enter at most {MAX_RULE_VALUE} characters."
    interest = None
    if interest_id.isascii() and interest_id.isdigit() and len(interest_id) < 10:
        interest = next(iter(active_interests(session, [int(interest_id)])), None)
    if interest is None:
        errors["rule_interest"] = "Choose the interest these postings get."
    if not errors:
        assert interest is not None
        duplicate = session.scalar(
            select(FeedRule.id).where(
                FeedRule.feed_id == feed.id,
                FeedRule.field == rule_field,
                func.lower(FeedRule.value) == text.lower(),
                FeedRule.interest_id == interest.id,
            )
        )
        if duplicate is not None:
            errors["rule_value"] = "This feed already has that rule."
    if errors:
        raise InvalidFeed(errors)
    assert interest is not None
    rule = FeedRule(feed_id=feed.id, field=rule_field, value=text, interest_id=interest.id)
    session.add(rule)
    session.flush()
    return rule


def delete_rule(session: Session, feed_id: int, rule_id: int) -> None:
    rule = session.get(FeedRule, rule_id)
    if rule is None or rule.feed_id != feed_id:
        raise FeedNotFound(f"feed {feed_id} has no rule {rule_id}")
    session.delete(rule)
    session.flush()


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", text.casefold())) + " "


def rule_interests(rules: Sequence[FeedRule], item: FeedItem) -> list[Interest]:
    """The active interests of the rules `item` matches: department and team by equal name
    (any of a Greenhouse job's departments counts as a team), keywords as whole words."""
    title = item.values.get("title")
    description = item.values.get("description")
    text = _words(f"{title if isinstance(title, str) else ''} "
                  f"{description if isinstance(description, str) else ''}")  # fmt: skip
    teams = {t.strip().casefold() for t in item.team.split(";") if t.strip()}
    found: list[Interest] = []
    for rule in rules:
        wanted = rule.value.strip().casefold()
        if rule.field is RuleField.DEPARTMENT:
            hit = item.department.strip().casefold() == wanted
        elif rule.field is RuleField.TEAM:
            hit = wanted in teams
        else:
            hit = _words(wanted).strip() != "" and _words(wanted) in text
        interest = rule.interest
        if hit and interest.status is InterestStatus.ACTIVE and interest not in found:
            found.append(interest)
    return found


# --- syncing ----------------------------------------------------------------------------


@dataclass
class _Tally:
    created: int = 0
    updated: int = 0
    closed: int = 0
    unchanged: int = 0

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def _with_rule_interests(values: dict[str, object], interests: list[Interest]) -> None:
    if not interests:
        return
    raw = values.get("interests")
    try:
        names = split_list(raw)
    except UnstorableText:
        return  # validate_job reports it
    if names is None:
        return
    known = {n.casefold() for n in names}
    values["interests"] = names + [i.slug for i in interests if i.slug.casefold() not in known]


def _apply(session: Session, feed: Feed, items: list[FeedItem]) -> tuple[_Tally, list[list[str]]]:
    tally = _Tally()
    rejected: list[list[str]] = []
    index = InterestIndex(session)
    rules = session.scalars(
        select(FeedRule)
        .where(FeedRule.feed_id == feed.id)
        .options(selectinload(FeedRule.interest))
        .order_by(FeedRule.id)
    ).all()
    links = {
        link.external_id: link
        for link in session.scalars(
            select(FeedPosting)
            .where(FeedPosting.feed_id == feed.id)
            .options(selectinload(FeedPosting.job).selectinload(JobPosting.interests))
        )
    }
    seen: dict[str, str] = {}
    for item in items:
        if item.external_id is not None:
            if item.external_id in seen:
                rejected.append(
                    [item.where, f"id {item.external_id!r} is repeated ({seen[item.external_id]})"]
                )
                continue
            seen[item.external_id] = item.where
        if item.problem is not None or item.external_id is None:
            rejected.append([item.where, item.problem or "has no id"])
            continue
        reference = f"{feed.name}-{item.external_id}"
        if len(reference) > MAX_REFERENCE:
            limit = MAX_REFERENCE - len(feed.name) - 1
            rejected.append([item.where, f"id: is longer than {limit} characters"])
            continue
        link = links.get(item.external_id)
        values = dict(item.values)
        values["reference"] = reference
        if link is not None and item.posted_at_on_create:
            values.pop("posted_at", None)
        _with_rule_interests(values, rule_interests(rules, item))
        try:
            fields = validate_job(values, index)
        except InvalidJob as exc:
            rejected.append([item.where, str(exc)])
            continue
        if link is None:
            if find_posting(session, reference) is not None:
                rejected.append(
                    [item.where, f"reference {reference!r} belongs to a posting not from this feed"]
                )
                continue
            job, outcome = save_job(session, fields)
            session.add(FeedPosting(feed_id=feed.id, external_id=item.external_id, job_id=job.id))
            tally.count(outcome)
            continue
        reopened = False
        if link.removed_at is not None:
            # Back in the feed: reopen it if this feed closed it (a recruiter's close stands).
            if link.job.closed_at == link.removed_at:
                link.job.closed_at = None
                reopened = True
            link.removed_at = None
        _job, outcome = save_job(session, fields)
        tally.count("updated" if reopened else outcome)
    closed_at = now()
    for external_id, link in links.items():
        if external_id in seen or link.removed_at is not None:
            continue
        job = link.job
        if job.closed_at is None or job.closed_at > closed_at:
            job.closed_at = closed_at
            link.removed_at = closed_at
            tally.closed += 1
        else:
            link.removed_at = closed_at - timedelta(microseconds=1)  # closed before; not ours
    session.flush()
    return tally, rejected


def sync_feed(
    session: Session, feed: Feed, policy: FetchPolicy, *, fetch: Fetcher = fetch_feed
) -> FeedSync:
    """Fetch `feed` and bring its postings in line; return the sync's record (flushed).

    A 304 records a sync and writes nothing else. A failure (network, size, time,
    payload) writes no posting, counts towards the failing mark and is in the record.
    """
    started = now()
    record = FeedSync(feed_id=feed.id, started_at=started, status=SyncStatus.OK, rejected=[])
    try:
        fetched = fetch(feed.url, policy, etag=feed.etag, last_modified=feed.last_modified)
        if fetched.not_modified:
            record.status = SyncStatus.NOT_MODIFIED
        else:
            items = parse_feed(feed.kind, fetched.body)
            with session.begin_nested():
                tally, rejected = _apply(session, feed, items)
            record.created, record.updated = tally.created, tally.updated
            record.closed, record.unchanged = tally.closed, tally.unchanged
            record.rejected = rejected
            feed.etag, feed.last_modified = fetched.etag, fetched.last_modified
    except FeedError as exc:
        _failed(feed, record, str(exc))
    except Exception as exc:
        # Whatever went wrong was rolled back with the savepoint; the feed counts a failure.
        log.exception("feed sync failed", extra={"feed": feed.name})
        _failed(feed, record, f"unexpected error ({type(exc).__name__})")
    else:
        feed.consecutive_failures = 0
    feed.last_synced_at = started
    record.finished_at = now()
    session.add(record)
    session.flush()
    log.info(
        "feed synced",
        extra={
            "feed": feed.name,
            "status": record.status.value,
            # "created" is a LogRecord attribute, so every count gets a prefix.
            "postings_created": record.created,
            "postings_updated": record.updated,
            "postings_closed": record.closed,
            "postings_unchanged": record.unchanged,
            "rows_rejected": len(record.rejected),
        },
    )
    return record


def _failed(feed: Feed, record: FeedSync, error: str) -> None:
    record.status = SyncStatus.FAILED
    record.error = error[:2000]
    feed.consecutive_failures += 1
    if feed.consecutive_failures >= FAILING_AFTER:
        log.warning(
            "feed failing",
            extra={"feed": feed.name, "failures": feed.consecutive_failures, "error": error},
        )


def due_feed_ids(session: Session) -> list[int]:
    """Enabled feeds never synced, or whose interval has passed since their last sync."""
    at = now()
    return [
        feed.id
        for feed in session.scalars(select(Feed).where(Feed.enabled).order_by(Feed.id))
        if feed.last_synced_at is None
        or feed.last_synced_at + timedelta(minutes=feed.interval_minutes) <= at
    ]


def sync_due_feeds(sessions: sessionmaker[Session], policy: FetchPolicy) -> list[FeedSync]:
    """Sync every due feed, each in its own transaction."""
    with session_scope(sessions) as session:
        due = due_feed_ids(session)
    records = []
    for feed_id in due:
        with session_scope(sessions) as session:
            feed = session.get(Feed, feed_id)
            if feed is not None and feed.enabled:
                records.append(sync_feed(session, feed, policy))
    return records


def feeds_task(policy: FetchPolicy) -> PeriodicTask:
    """The scheduler's check for due feeds, every minute (registered by `run` and `scheduler`)."""
    return PeriodicTask(
        "sync-feeds", SCHEDULER_CHECK_SECONDS, lambda sessions: sync_due_feeds(sessions, policy)
    )
