"""Send-time context of job-alert digests: the jobs a queued digest names, once per batch.

A digest row in the outbox stays small: its context holds `interest_id` (the
first interest it covers), `interest_ids` (every interest the digest covers;
default: that one; empty for a digest of saved searches only), `search_ids` (the
saved searches it covers, if any), `job_searches` (per listed job, keyed by its id
as text, the saved searches it matched), `job_ids` (at most 10, newest first) and
`more_count`. The one-click link leaves every interest and search it covers.
Titles, locations, interest names and the searches' words are read when it is
sent, so a job closed meanwhile is left out, and a digest whose jobs have all
closed is skipped. So are the interests and saved searches the candidate has
since left or paused: a job that matched only those is dropped, and the "matched"
line and the footer name only the interests and searches still subscribed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple
from urllib.parse import quote, urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.models import JobPosting, job_interests
from jobs.search_criteria import describe, saved_criteria
from mailer.campaigns import TEST_SUBJECT_PREFIX
from mailer.config import MailSettings
from mailer.eligibility import checked, saved_search_states, subscription_states
from mailer.i18n import (
    is_right_to_left,
    language_note,
    list_separators,
    message_locales,
    translations,
)
from mailer.models import OutboxMessage
from preferences.clock import now
from preferences.db import among
from preferences.interest_texts import interest_texts_by_locale
from preferences.models import Interest, SavedSearch, SubscriptionStatus


def _ids(value: object) -> list[int]:
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


def _interest_ids(message: OutboxMessage) -> list[int]:
    listed = _ids(message.context.get("interest_ids"))
    primary = message.context.get("interest_id")
    return listed or ([primary] if isinstance(primary, int) else [])


class DigestJob(NamedTuple):
    """One job of a digest as the templates read it.

    Attributes, not dict keys: Jinja tries `getattr` first, and on a dict each
    `job.title` would raise and catch an AttributeError before finding the key.
    """

    title: str
    location: str | None
    url: str
    # The interests it matched, by name (in the reader's language where translated).
    matched: list[str]
    # The saved searches it matched, in words: "your search “python” in Berlin".
    searches: list[str] = []
    # "(in English)" after the title: the posting is written in another language than
    # the reader's (`mailer.i18n.language_note`); empty when it is theirs.
    language_note: str = ""


def _job_searches(message: OutboxMessage) -> dict[int, list[int]]:
    """Per listed job, the saved searches it matched (context keys are text: JSON)."""
    raw = message.context.get("job_searches")
    if not isinstance(raw, dict):
        return {}
    return {int(job): _ids(ids) for job, ids in raw.items() if str(job).isdigit()}


def _slug(interest: Any) -> str:
    return interest.slug if interest is not None else ""


def _reason(interest_names: list[str], searches: list[str], company: str, locale: str) -> str:
    """The footer's "why you get this": the interests, and the saved searches in words.

    In the reader's language (`locale`); interest names and search words stay as written.
    """
    _ = translations(locale).gettext
    comma, semicolon = list_separators(locale)
    parts = [comma.join(interest_names)] if interest_names else []
    if len(searches) == 1:
        parts.append(_("your saved search %(search)s") % {"search": searches[0]})
    elif searches:
        parts.append(_("your saved searches %(searches)s") % {"searches": semicolon.join(searches)})
    what = (
        _("%(interests)s and %(searches)s") % {"interests": parts[0], "searches": parts[1]}
        if len(parts) == 2
        else "".join(parts)
    )
    return _("You subscribed to job alerts for %(what)s at %(company)s.") % {
        "what": what,
        "company": company,
    }


def isolate(words: str, locale: str) -> str:
    """`words` as one unit inside right-to-left text (a search's own quotes keep their order)."""
    return f"\u2068{words}\u2069" if is_right_to_left(locale) else words


def digest_context(
    session: Session, messages: Sequence[OutboxMessage], settings: MailSettings
) -> dict[int, dict[str, Any] | str]:
    """Per outbox id: the digest's open jobs with what they matched, and the footer reason."""
    job_ids = {j for m in messages for j in _ids(m.context.get("job_ids"))}
    search_ids = {s for m in messages for s in _ids(m.context.get("search_ids"))}
    at = now()
    searches = {
        row.id: row
        for row in session.execute(
            select(
                SavedSearch.id,
                SavedSearch.candidate_id,
                SavedSearch.query,
                SavedSearch.location,
                SavedSearch.workplace,
                SavedSearch.employment_type,
                SavedSearch.interest_id,
            ).where(among(session, SavedSearch.id, search_ids))
        )
    }
    interest_ids = {i for m in messages for i in _interest_ids(m)} | {
        row.interest_id for row in searches.values() if row.interest_id is not None
    }
    jobs = {
        row.id: row
        for row in session.execute(
            select(JobPosting.id, JobPosting.title, JobPosting.location, JobPosting.language).where(
                among(session, JobPosting.id, job_ids),
                JobPosting.posted_at <= at,
                (JobPosting.closed_at.is_(None)) | (JobPosting.closed_at > at),
            )
        )
    }
    tags: dict[int, set[int]] = defaultdict(set)
    for job_id, interest_id in session.execute(
        select(job_interests.c.job_id, job_interests.c.interest_id).where(
            among(session, job_interests.c.job_id, jobs)
        )
    ):
        tags[job_id].add(interest_id)
    interests = {
        row.id: row
        for row in session.execute(
            select(Interest.id, Interest.name, Interest.slug, Interest.position).where(
                among(session, Interest.id, interest_ids)
            )
        )
    }
    pairs = {
        (m.candidate_id, i)
        for m in messages
        if m.candidate_id is not None
        for i in _interest_ids(m)
    }
    # The worker's send-time check of this batch read the states and languages already.
    check = checked(session, messages)
    if check is None:
        states = subscription_states(session, pairs)
        search_states = saved_search_states(session, search_ids)
        locales = message_locales(session, messages, settings.locales)
    else:
        states = {pair: check.subscriptions[pair] for pair in pairs if pair in check.subscriptions}
        # A search of a row without a candidate (a recruiter's test) covers nothing anyway.
        search_states = check.searches
        stored = {cid: owner.locale for cid, owner in check.candidates.items()}
        locales = message_locales(session, messages, settings.locales, stored=stored)
    still_subscribed = {
        pair
        for pair, (status, paused_until) in states.items()
        if status is SubscriptionStatus.SUBSCRIBED and (paused_until is None or paused_until <= at)
    }
    live_searches = {
        search_id
        for search_id, (_owner, status, paused_until) in search_states.items()
        if status is SubscriptionStatus.SUBSCRIBED and (paused_until is None or paused_until <= at)
    }
    base = settings.base_url
    # Interest names in each reader's language: one query for the whole batch.
    names_in = interest_texts_by_locale(
        session,
        locales.values(),
        default_locale=settings.default_locale,
        interest_ids=interests,
    )
    contexts: dict[int, dict[str, Any] | str] = {}
    # Readers of one digest (same language, interests still covered, jobs, count, no
    # saved search) get the same context: worked out once per batch (`_shared_key`).
    shared: dict[tuple[object, ...], dict[str, Any] | str] = {}
    for message in messages:
        locale = locales[message.id]
        _ = translations(locale).gettext
        names = names_in[locale]
        # A recruiter's test digest (no candidate; the worker lets it through only to an
        # active recruiter's address) covers every interest it names.
        test = message.candidate_id is None and message.context.get("test") is True
        covered = [
            interests[i]
            for i in _interest_ids(message)
            if i in interests and (test or (message.candidate_id, i) in still_subscribed)
        ]
        covered.sort(key=lambda row: (row.position, row.name))
        # A saved search counts while it is the candidate's, subscribed and not paused.
        covered_searches = {
            s: saved_criteria(searches[s], _slug(interests.get(searches[s].interest_id)))
            for s in _ids(message.context.get("search_ids"))
            if s in searches
            and searches[s].candidate_id == message.candidate_id
            and s in live_searches
        }
        key = None if covered_searches else _shared_key(message, locale, covered, test)
        if key is not None and key in shared:
            known = shared[key]
            contexts[message.id] = known if isinstance(known, str) else dict(known)
            continue
        search_words = {
            s: isolate(
                describe(criteria, names.name(interests[searches[s].interest_id]), _)
                if searches[s].interest_id in interests
                else describe(criteria, gettext=_),
                locale,
            )
            for s, criteria in covered_searches.items()
        }
        job_searches = _job_searches(message)
        listed = []
        for job_id in _ids(message.context.get("job_ids")):
            job = jobs.get(job_id)
            if job is None:
                continue
            matched = [names.name(row) for row in covered if row.id in tags[job.id]]
            found = [
                _("your search %(search)s") % {"search": search_words[s]}
                for s in sorted(job_searches.get(job_id, []))
                if s in search_words
            ]
            if not matched and not found:
                continue  # it matched only interests or searches the candidate has left since
            note = language_note(job.language, settings.default_locale, locale)
            listed.append(
                DigestJob(job.title, job.location, f"{base}/jobs/{job.id}", matched, found, note)
            )
        if not covered and not covered_searches:
            contexts[message.id] = "every interest of this digest was left or paused"
            continue
        if not listed:
            contexts[message.id] = "every job in this digest has closed"
            if key is not None:
                shared[key] = contexts[message.id]
            continue
        more = message.context.get("more_count")
        if covered:
            more_url = f"{base}/jobs?interest={quote(covered[0].slug)}"
        else:
            first = covered_searches[min(covered_searches)]
            more_url = f"{base}/jobs?{urlencode(first.query_args())}"
        context: dict[str, Any] = {
            "jobs": listed,
            "more_count": more if isinstance(more, int) and more > 0 else 0,
            "more_url": more_url,
            "reason": _reason(
                [names.name(row) for row in covered],
                [search_words[s] for s in sorted(search_words)],
                settings.company_name,
                locale,
            ),
        }
        if test:
            # Nobody subscribed to it: say so, as a campaign test does.
            context["subject_prefix"] = TEST_SUBJECT_PREFIX
            context["reason"] = (
                "This is a test of a job alert, sent to you from the recruiter console; "
                "each subscriber's footer names the interests they subscribed to and has "
                "their own Manage preferences and Unsubscribe links."
            )
        contexts[message.id] = context
        if key is not None:
            # A copy per reader: the worker adds each reader's own values to it.
            shared[key] = context
            contexts[message.id] = dict(context)
    return contexts


def _shared_key(
    message: OutboxMessage, locale: str, covered: Sequence[Any], test: bool
) -> tuple[object, ...]:
    """What a digest's context depends on when it covers no saved search.

    The language, the interests still covered (in order), the jobs listed and the
    count of the rest: with no search covered, a job's searches print nothing.
    """
    more = message.context.get("more_count")
    return (
        locale,
        tuple(row.id for row in covered),
        tuple(_ids(message.context.get("job_ids"))),
        # The type too: True and 1 are equal keys but print apart.
        (type(more), more) if isinstance(more, int) else None,
        test,
    )
