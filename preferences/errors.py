"""The exception tree of the preferences package."""

from __future__ import annotations


class PreferencesError(Exception):
    """Base of every error the preferences package raises on purpose."""


class InvalidEmail(PreferencesError):
    """An address that is not a usable email address."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"{address!r} is not a valid email address: {reason}")
        self.address = address
        self.reason = reason


class NotFound(PreferencesError):
    """A record that the caller named does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"no {kind} {key!r}")
        self.kind = kind
        self.key = key


class InterestUnavailable(PreferencesError):
    """A retired or merged interest cannot take new subscribers."""

    def __init__(self, slug: str, status: str) -> None:
        super().__init__(f"interest {slug!r} is {status} and takes no new subscribers")
        self.slug = slug
        self.status = status


class InvalidTransition(PreferencesError):
    """A change that the record's current state does not allow."""

    def __init__(self, what: str, current: str, wanted: str) -> None:
        super().__init__(f"cannot move {what} from {current} to {wanted}")
        self.what = what
        self.current = current
        self.wanted = wanted


class CandidateDeleted(PreferencesError):
    """The candidate was erased; nothing may be changed or sent."""

    def __init__(self, public_id: str) -> None:
        super().__init__(f"candidate {public_id} has been deleted")
        self.public_id = public_id


class AppendOnlyViolation(PreferencesError):
    """Something tried to change or delete a consent event."""


class TooManySavedSearches(PreferencesError):
    """A candidate already has as many saved searches as the company allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} saved searches per candidate")
        self.limit = limit
