"""Importing job postings and candidates from CSV or JSON files.

Each import is all or nothing: every row is checked first, and a file with any
bad row stores nothing and raises `ImportRejected` listing every problem with
its line number. Only then are rows written, in the caller's transaction
(flushed, never committed).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.console.job_records import (
    JOB_FIELDS,
    JSON_DECODER,
    REQUIRED_JOB_FIELDS,
    InterestIndex,
    InvalidJob,
    JobFields,
    JsonNumberTooLong,
    field_label,
    interest_names,
    parse_time,
    save_job,
    time_problem,
    validate_job,
)
from portal.errors import PortalError
from preferences.addresses import normalize_email
from preferences.clock import TimeOutOfRange, now
from preferences.errors import InvalidEmail
from preferences.events import consent_events, record_events
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Frequency,
    Interest,
    MassEmail,
    MassEmailStatus,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from preferences.subscriptions import add_candidate
from preferences.suppressions import suppressions_among
from preferences.text import TextKind, UnstorableText, clean_text

CANDIDATE_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "interests",
    "mass_email",
    "consent_source",
    "consent_at",
)
REQUIRED_CANDIDATE_FIELDS = ("email",)
# The consent was given elsewhere, in words we never saw; the event says so.
IMPORT_WORDING_VERSION = "import"
MAX_NAME = 100
MAX_CONSENT_SOURCE = 200

Progress = Callable[[int, int], None]
# The reasons a well-formed file without a row is refused (a feed may be empty).
NO_ROWS = "the file has a header but no rows"
EMPTY_LIST = "the list is empty"

_SUPPRESSION_WORDS = {
    SuppressionReason.HARD_BOUNCE: "the address bounced",
    SuppressionReason.COMPLAINT: "the person reported our mail as spam",
    SuppressionReason.MANUAL: "the address was suppressed by hand",
    SuppressionReason.ERASURE: "the person's data was erased at their request",
    SuppressionReason.RETENTION_EXPIRED: (
        "the person was anonymized when their retention period ended unanswered; "
        "only they can join again, through the connect form"
    ),
}


class ImportRejected(PortalError):
    """A file with bad rows; nothing was stored. `errors`: (line number, reason), by line."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = sorted(errors, key=lambda e: e[0])
        first = self.errors[0] if self.errors else (0, "")
        super().__init__(
            f"{len(self.errors)} problem(s); the first, on line {first[0]}: {first[1]}"
        )


@dataclass
class ImportReport:
    """What an import did. `skipped` holds (line number, reason) for rows left out on purpose."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + len(self.skipped)


@dataclass(frozen=True)
class Row:
    """One row of a file: the line it starts on and its values by column name."""

    line: int
    values: dict[str, Any]


# --- reading files ---------------------------------------------------------------


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportRejected(
            [(line, "the file is not UTF-8 text (save it as CSV UTF-8 or JSON)")]
        ) from None


def _format_of(filename: str, text: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".csv", ".txt"):
        return "csv"
    if not suffix:
        return "json" if text.lstrip().startswith(("[", "{")) else "csv"
    raise ImportRejected([(1, f"{suffix} files can't be imported; use a .csv or .json file")])


def _csv_rows(
    text: str, columns: tuple[str, ...], required: tuple[str, ...]
) -> tuple[list[Row], list[tuple[int, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [(1, f"the header is not valid CSV: {exc}")]
    if header is None or not any(h.strip() for h in header):
        return [], [(1, f"the file has no header row; expected: {','.join(columns)}")]
    names = [h.strip().lower() for h in header]
    problems: list[str] = []
    unknown = [n for n in names if n not in columns]
    if unknown:
        problems.append(f"unknown column(s) {', '.join(map(repr, unknown))}")
    missing = [n for n in required if n not in names]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    if problems:
        return [], [(1, f"wrong header: {'; '.join(problems)}; expected: {','.join(columns)}")]
    rows: list[Row] = []
    errors: list[tuple[int, str]] = []
    start = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append((start, f"not valid CSV: {exc}"))
            break
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(names):
            errors.append((line, f"has {len(record)} fields, the header has {len(names)}"))
            continue
        rows.append(Row(line, dict(zip(names, record, strict=True))))
    if not rows and not errors:
        errors.append((1, NO_ROWS))
    return rows, errors


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _json_items(text: str) -> Iterator[tuple[int, object]]:
    """Each element of a top-level JSON array with the line it starts on."""
    decoder = JSON_DECODER
    at = _skip_space(text, 0)
    if at >= len(text) or text[at] != "[":
        line = text.count("\n", 0, at) + 1
        raise ImportRejected([(line, "a JSON import must be a list of objects: [{…}, {…}]")])
    at = _skip_space(text, at + 1)
    if at < len(text) and text[at] == "]":
        return
    while True:
        line = text.count("\n", 0, at) + 1
        try:
            item, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError as exc:
            raise ImportRejected([(exc.lineno, f"not valid JSON: {exc.msg}")]) from None
        except RecursionError:
            raise ImportRejected([(line, "not valid JSON: nested too deeply")]) from None
        except JsonNumberTooLong as exc:
            raise ImportRejected([(line, f"not valid JSON here: {exc}")]) from None
        yield line, item
        at = _skip_space(text, at)
        if at < len(text) and text[at] == ",":
            at = _skip_space(text, at + 1)
            continue
        if at < len(text) and text[at] == "]":
            break
        line = text.count("\n", 0, at) + 1
        raise ImportRejected([(line, "not valid JSON: expected ',' or ']' between objects")])
    rest = _skip_space(text, at + 1)
    if rest < len(text):
        line = text.count("\n", 0, rest) + 1
        raise ImportRejected([(line, "not valid JSON: text after the closing ']'")])


def _json_rows(text: str) -> tuple[list[Row], list[tuple[int, str]]]:
    rows: list[Row] = []
    errors: list[tuple[int, str]] = []
    for line, item in _json_items(text):
        if isinstance(item, dict):
            rows.append(Row(line, item))
        else:
            errors.append((line, "each element of the list must be an object"))
    if not rows and not errors:
        errors.append((1, EMPTY_LIST))
    return rows, errors


def read_rows(
    data: bytes, filename: str, columns: tuple[str, ...], required: tuple[str, ...]
) -> tuple[list[Row], list[tuple[int, str]]]:
    """The file's rows, and the rows that could not be read (checked along with the rest).

    Raises ImportRejected if no row can be read (an empty file, a wrong header, not JSON).
    """
    if not data.strip():
        raise ImportRejected([(1, "the file is empty")])
    text = _decode(data)
    if _format_of(filename, text) == "json":
        rows, errors = _json_rows(text)
    else:
        rows, errors = _csv_rows(text, columns, required)
    if errors and not rows:
        raise ImportRejected(errors)
    return rows, errors


def _field_errors(line: int, fields: Mapping[str, str]) -> list[tuple[int, str]]:
    return [(line, f"{name}: {reason}") for name, reason in fields.items()]


# --- jobs ------------------------------------------------------------------------


def import_jobs(
    session: Session, data: bytes, filename: str, *, on_progress: Progress | None = None
) -> ImportReport:
    """Create or update postings (by reference) from a CSV or JSON file, all or nothing.

    CSV columns: reference,title,description,location,apply_url,interests,posted_at, and
    any of `jobs.posting_fields.DETAIL_FIELDS`; `interests` is a `;`-separated list of
    names or slugs. JSON: a list of objects
    with the same keys (`interests` a list or a `;` string).
    """
    rows, errors = read_rows(data, filename, JOB_FIELDS, REQUIRED_JOB_FIELDS)
    index = InterestIndex(session)
    valid: list[JobFields] = []
    first_line: dict[str, int] = {}
    for row in rows:
        try:
            job = validate_job(row.values, index)
        except InvalidJob as exc:
            errors.extend(_field_errors(row.line, exc.fields))
            continue
        seen = first_line.setdefault(job.reference, row.line)
        if seen != row.line:
            errors.append((row.line, f"reference {job.reference!r} is repeated (line {seen})"))
            continue
        valid.append(job)
    if errors:
        raise ImportRejected(errors)
    report = ImportReport()
    for done, job in enumerate(valid, start=1):
        _, outcome = save_job(session, job)
        setattr(report, outcome, getattr(report, outcome) + 1)
        if on_progress is not None:
            on_progress(done, len(valid))
    return report


# --- candidates ------------------------------------------------------------------


@dataclass(frozen=True)
class _CandidateRow:
    line: int
    email: str
    first_name: str
    last_name: str
    phone: str | None
    interests: list[Interest]
    mass_email: bool
    consent_source: str
    consent_at: datetime | None


def _phone(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _str(values: Mapping[str, Any], name: str, errors: dict[str, str]) -> str:
    """The field as one line of text by the stored-text rule; "" (and a reason) if it is not."""
    value = values.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[name] = "must be text"
        return ""
    try:
        return clean_text(value, TextKind.LINE)
    except UnstorableText as exc:
        errors[name] = exc.reason
        return ""


def _candidate_row(
    row: Row, index: InterestIndex, region: str
) -> tuple[_CandidateRow | None, dict[str, str]]:
    errors: dict[str, str] = {}
    values = row.values
    for name in sorted(set(values) - set(CANDIDATE_FIELDS)):
        errors[field_label(name)] = "is not a known field"
    raw_email = _str(values, "email", errors)
    email = ""
    if not raw_email and "email" not in errors:
        errors["email"] = "is required"
    elif raw_email:
        try:
            email = normalize_email(raw_email)
        except InvalidEmail as exc:
            errors["email"] = f"{raw_email!r} is not a valid address ({exc.reason})"
    names = {}
    for name in ("first_name", "last_name"):
        names[name] = _str(values, name, errors)
        if len(names[name]) > MAX_NAME:
            errors[name] = f"is longer than {MAX_NAME} characters"
    raw_phone = _str(values, "phone", errors)
    phone = _phone(raw_phone, region) if raw_phone else None
    if raw_phone and phone is None:
        errors["phone"] = f"{raw_phone!r} is not a phone number (add the country code)"
    interests, problems = index.resolve(interest_names(values.get("interests"), errors))
    if problems:
        errors["interests"] = "; ".join(problems)
    raw_mass = values.get("mass_email")
    mass_email = False
    if isinstance(raw_mass, bool):
        mass_email = raw_mass
    elif isinstance(raw_mass, str) and raw_mass.strip().lower() in ("yes", "no", ""):
        mass_email = raw_mass.strip().lower() == "yes"
    elif raw_mass is not None:
        errors["mass_email"] = f"{raw_mass!r} must be yes or no"
    source = _str(values, "consent_source", errors)
    if len(source) > MAX_CONSENT_SOURCE:
        errors["consent_source"] = f"is longer than {MAX_CONSENT_SOURCE} characters"
    raw_at = _str(values, "consent_at", errors)
    consent_at: datetime | None = None
    if raw_at:
        try:
            consent_at = parse_time(raw_at)
        except ValueError as exc:
            late = isinstance(exc, TimeOutOfRange) and exc.late
            errors["consent_at"] = (
                f"{raw_at!r} is in the future"
                if late
                else time_problem(raw_at, exc, "2025-03-01T09:00Z")
            )
        else:
            if consent_at > now():
                errors["consent_at"] = f"{raw_at!r} is in the future"
    elif (interests or mass_email) and "consent_at" not in errors:
        errors["consent_at"] = "is required when the row subscribes or opts in to mass email"
    if errors:
        return None, errors
    return (
        _CandidateRow(
            row.line,
            email,
            names["first_name"],
            names["last_name"],
            phone,
            interests,
            mass_email,
            source,
            consent_at,
        ),
        {},
    )


def _grant(
    session: Session,
    candidate: Candidate,
    row: _CandidateRow,
    scope: ConsentScope,
    interest: Interest | None,
    detail: dict[str, Any],
) -> None:
    # Written directly rather than through preferences.subscriptions, which
    # stamps events with the current time: an import records when consent was given.
    session.add(
        ConsentEvent(
            candidate_id=candidate.id,
            scope=scope,
            interest_id=interest.id if interest is not None else None,
            action=ConsentAction.GRANT,
            source=ConsentSource.IMPORT,
            wording_version=IMPORT_WORDING_VERSION,
            detail={
                "consent_source": row.consent_source,
                "imported_at": now().isoformat(),
                **detail,
            },
            occurred_at=row.consent_at,
        )
    )
    # The grant is news for other systems as any other (`subscription.changed`,
    # `mass_email.changed`), stamped when it was imported.
    emitted = consent_events(
        scope,
        ConsentAction.GRANT,
        ConsentSource.IMPORT,
        interest_id=interest.id if interest is not None else None,
        detail=detail,
    )
    record_events(
        session,
        [(kind, candidate.public_id, data) for kind, data in emitted],
        source=ConsentSource.IMPORT.value,
    )


def _apply_candidate(session: Session, row: _CandidateRow) -> str:
    """Create or complete one candidate; never undoes a choice they made since."""
    candidate = session.scalar(select(Candidate).where(Candidate.email == row.email))
    created = candidate is None
    changed = False
    if candidate is None:
        candidate = Candidate(
            email=row.email,
            first_name=row.first_name,
            last_name=row.last_name,
            phone_e164=row.phone,
            # Retention counts from when the person last acted: for an imported pool,
            # when they gave the consent the file records (else from today).
            last_active_at=row.consent_at or now(),
        )
        add_candidate(session, candidate, source=ConsentSource.IMPORT.value)
    else:
        # Fill in what is missing; a profile the person edited is theirs.
        for name, value in (
            ("first_name", row.first_name),
            ("last_name", row.last_name),
            ("phone_e164", row.phone),
        ):
            if value and not getattr(candidate, name):
                setattr(candidate, name, value)
                changed = True
    have = set(
        session.scalars(
            select(Subscription.interest_id).where(Subscription.candidate_id == candidate.id)
        )
    )
    for interest in row.interests:
        # An existing row, even unsubscribed, is a newer choice than the imported one.
        if interest.id in have:
            continue
        session.add(
            Subscription(
                candidate_id=candidate.id,
                interest_id=interest.id,
                status=SubscriptionStatus.SUBSCRIBED,
                frequency=Frequency.DAILY,
            )
        )
        _grant(
            session,
            candidate,
            row,
            ConsentScope.INTEREST,
            interest,
            {"status": "subscribed", "frequency": Frequency.DAILY.value},
        )
        changed = True
    if row.mass_email and session.get(MassEmailStatus, candidate.id) is None:
        session.add(MassEmailStatus(candidate_id=candidate.id, status=MassEmail.OPTED_IN))
        _grant(session, candidate, row, ConsentScope.MASS_EMAIL, None, {})
        changed = True
    session.flush()
    if created:
        return "created"
    return "updated" if changed else "unchanged"


def import_candidates(
    session: Session,
    data: bytes,
    filename: str,
    *,
    phone_region: str = "US",
    on_progress: Progress | None = None,
) -> ImportReport:
    """Create candidates from a CSV (or JSON) file of an existing talent pool, all or nothing.

    CSV columns: email,first_name,last_name,phone,interests,mass_email,consent_source,
    consent_at. Idempotent by (normalized) email: a known candidate only gains what
    is missing (empty profile fields, interests never subscribed to, a mass-email
    choice never made). Subscriptions start confirmed; consent events have source
    `import`, the given time, and `consent_source` in their detail. Suppressed and
    erased addresses are skipped, not imported, and reported in `skipped`.
    """
    rows, errors = read_rows(data, filename, CANDIDATE_FIELDS, REQUIRED_CANDIDATE_FIELDS)
    index = InterestIndex(session)
    valid: list[_CandidateRow] = []
    first_line: dict[str, int] = {}
    for row in rows:
        parsed, problems = _candidate_row(row, index, phone_region)
        if parsed is None:
            errors.extend(_field_errors(row.line, problems))
            continue
        seen = first_line.setdefault(parsed.email, row.line)
        if seen != row.line:
            errors.append((row.line, f"email {parsed.email!r} is repeated (line {seen})"))
            continue
        valid.append(parsed)
    if errors:
        raise ImportRejected(errors)
    suppressed = suppressions_among(session, [row.email for row in valid])
    erased = set(
        session.scalars(
            select(Candidate.email).where(
                Candidate.email.in_([row.email for row in valid]),
                Candidate.status == CandidateStatus.DELETED,
            )
        )
    )
    report = ImportReport()
    for done, item in enumerate(valid, start=1):
        reason = suppressed.get(item.email)
        if reason is not None:
            report.skipped.append((item.line, f"{item.email}: {_SUPPRESSION_WORDS[reason]}"))
        elif item.email in erased:
            report.skipped.append(
                (item.line, f"{item.email}: {_SUPPRESSION_WORDS[SuppressionReason.ERASURE]}")
            )
        else:
            outcome = _apply_candidate(session, item)
            setattr(report, outcome, getattr(report, outcome) + 1)
        if on_progress is not None:
            on_progress(done, len(valid))
    return report
