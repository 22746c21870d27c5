"""Sends: the outbox rows of one campaign or one alert run, named by their dedupe-key prefix.

A bulk send queues one row per recipient with the dedupe key
``<kind>:<send id>:<candidate id>``; the prefix up to the second colon
(``campaign:12:``) is the send's key, which names it in reports and in the
reputation alarm (`send_alarms.send_key`). The package that owns a kind makes its
`SendKind` and builds and parses those keys with it alone: `CAMPAIGN` here,
`jobs.alerts.ALERT_RUN` in jobs. Each kind is registered when its module is
imported, so `send_key` can tell a row's send in the worker and the bounce handler
without mailer importing jobs; the `talentconnect` command imports both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import ColumnExpressionArgument, String, literal
from sqlalchemy import cast as sql_cast
from sqlalchemy.sql.elements import ColumnElement

from mailer.models import OutboxMessage


@dataclass(frozen=True)
class SendKind:
    """One kind of bulk send, and the one place its dedupe keys are built and parsed."""

    name: str
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pattern", re.compile(rf"^{re.escape(self.name)}:(\d+):"))

    def prefix(self, send_id: int) -> str:
        """The send's key: the prefix of every dedupe key of its rows (`campaign:12:`)."""
        return f"{self.name}:{send_id}:"

    def dedupe_key(self, send_id: int, candidate_id: int) -> str:
        """The dedupe key of the send's row to one candidate."""
        return f"{self.prefix(send_id)}{candidate_id}"

    def dedupe_key_sql(
        self, send_id: int, candidate_id: ColumnExpressionArgument[int]
    ) -> ColumnElement[str]:
        """`dedupe_key` in SQL, for an INSERT … SELECT over candidates."""
        return literal(self.prefix(send_id), String) + sql_cast(candidate_id, String)

    def send_key(self, dedupe_key: str) -> str | None:
        """The key of the send of this kind that a row's dedupe key belongs to, or None."""
        found = self._pattern.match(dedupe_key)
        return found.group(0) if found else None

    def send_id(self, dedupe_key: str) -> int | None:
        """The id of the send of this kind that a row's dedupe key belongs to, or None."""
        found = self._pattern.match(dedupe_key)
        return int(found.group(1)) if found else None

    def rows(self, send_id: int) -> ColumnElement[bool]:
        """The send's outbox rows, by key prefix (through the key's unique index)."""
        return send_rows(self.prefix(send_id))


_kinds: dict[str, SendKind] = {}


def register_send_kind(kind: SendKind) -> SendKind:
    """Have `send_key` recognise `kind`'s rows; returns `kind`."""
    _kinds[kind.name] = kind
    return kind


def send_kinds() -> tuple[SendKind, ...]:
    """The registered kinds of bulk send."""
    return tuple(_kinds.values())


def send_key(dedupe_key: str) -> str | None:
    """The send an outbox row belongs to (`campaign:12:`), or None (a welcome, a test)."""
    for kind in _kinds.values():
        key = kind.send_key(dedupe_key)
        if key is not None:
            return key
    return None


def send_rows(key: str) -> ColumnElement[bool]:
    """The outbox rows of the send whose key is `key`.

    The colon that ends a key keeps send 1 from matching send 12. On PostgreSQL the
    key's binary collation lets the LIKE use the unique index (migration 0005).
    """
    return OutboxMessage.dedupe_key.like(f"{key}%")


CAMPAIGN = register_send_kind(SendKind("campaign"))
