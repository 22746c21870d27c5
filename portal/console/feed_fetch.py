"""Fetching a job feed: SSRF-safe (the resume import's guard), bounded in time and size,
and conditional (ETag / Last-Modified), so an unchanged feed costs a 304."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urljoin

import requests

from portal.errors import PortalError
from portal.resumes.netguard import (
    AddressRefused,
    FetchGuard,
    UrlRefused,
    check_outbound_url,
    guarded_session,
    host_key_of_entry,
)

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 64 * 1024


class FeedError(PortalError):
    """A sync that failed as a whole; the message names no secret and may be shown."""


class FeedFetchRefused(FeedError):
    """The URL may not be fetched: scheme, credentials, or a non-public address."""


class FeedFetchFailed(FeedError):
    """The fetch went wrong: HTTP status, network error, too slow or too large."""


@dataclass(frozen=True)
class FetchPolicy:
    """`allowed_hosts` ("host" or "host:port") may be private or loopback and use http://."""

    allowed_hosts: tuple[str, ...] = ()
    max_bytes: int = 20 * 1024 * 1024
    timeout: float = 30.0


@dataclass(frozen=True)
class Fetched:
    """A 200 (`body`, and the validators to send next time) or a 304 (`not_modified`)."""

    not_modified: bool
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None


def check_feed_url(url: str, policy: FetchPolicy) -> str:
    """Refuse a URL we never fetch (`check_outbound_url`); return the host key it names."""
    try:
        return check_outbound_url(url, _allowed(policy), "TALENTCONNECT_FEED_ALLOWED_HOSTS")
    except UrlRefused as exc:
        raise FeedFetchRefused(str(exc)) from None


def _allowed(policy: FetchPolicy) -> set[str]:
    return {host_key_of_entry(h) for h in policy.allowed_hosts}


def fetch_feed(
    url: str,
    policy: FetchPolicy,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched:
    """GET `url` under `policy`, sending the stored validators; raise FeedError subclasses."""
    key = check_feed_url(url, policy)
    guard = FetchGuard(policy.timeout, private_ok=tuple(_allowed(policy)))
    session = guarded_session(guard, plain_http=True)
    headers = {"Accept-Encoding": "identity", "Accept": "application/json, text/csv, */*"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    guard.start()
    try:
        response = _follow(session, url, policy, headers, guard)
        with response:
            if response.status_code == 304:
                return Fetched(not_modified=True, etag=etag, last_modified=last_modified)
            body = _read_body(response, policy, guard)
            return Fetched(
                not_modified=False,
                body=body,
                etag=_header(response, "ETag", 200),
                last_modified=_header(response, "Last-Modified", 100),
            )
    except FeedError:
        raise
    except AddressRefused as exc:
        raise FeedFetchRefused(
            f"{exc.host} is a private or loopback address; add it to "
            "TALENTCONNECT_FEED_ALLOWED_HOSTS to fetch it"
        ) from None
    except Exception as exc:
        # Network failures surface as many types (requests, urllib3, ssl, socket).
        # The read timeout equals the deadline, so either may notice first.
        if guard.expired or isinstance(exc, requests.Timeout | TimeoutError):
            raise FeedFetchFailed(f"timed out after {policy.timeout:g} s") from None
        # Exception texts quote the URL, whose query may hold a key: only the type is kept.
        log.info("feed fetch from %s failed: %s", key, type(exc).__name__)
        raise FeedFetchFailed(f"{type(exc).__name__} while fetching from {key}") from None
    finally:
        guard.stop()
        session.close()


def _header(response: requests.Response, name: str, limit: int) -> str | None:
    value = response.headers.get(name)
    if not value or len(value) > limit or not value.isascii() or not value.isprintable():
        return None
    return value


def _follow(
    session: requests.Session,
    url: str,
    policy: FetchPolicy,
    headers: dict[str, str],
    guard: FetchGuard,
) -> requests.Response:
    """GET, following redirects by hand so each hop is checked like the first."""
    for _hop in range(MAX_REDIRECTS + 1):
        response = session.get(
            url,
            headers=headers,
            allow_redirects=False,
            stream=True,
            timeout=(min(10.0, guard.timeout), guard.timeout),
        )
        if response.status_code in _REDIRECTS:
            location = response.headers.get("Location", "")
            response.close()
            if not location:
                raise FeedFetchFailed("a redirect without a Location")
            url = urljoin(url, location)
            check_feed_url(url, policy)
            continue
        if response.status_code in (200, 304):
            return response
        response.close()
        raise FeedFetchFailed(f"the server answered HTTP {response.status_code}")
    raise FeedFetchFailed(f"more than {MAX_REDIRECTS} redirects")


def _too_large(policy: FetchPolicy) -> FeedFetchFailed:
    return FeedFetchFailed(f"the feed is larger than {policy.max_bytes:,} bytes")


def _read_body(response: requests.Response, policy: FetchPolicy, guard: FetchGuard) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > policy.max_bytes:
        raise _too_large(policy)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(_CHUNK):
        size += len(chunk)
        if size > policy.max_bytes:
            raise _too_large(policy)
        chunks.append(chunk)
    # A body cut short by the deadline must not be read as if it were complete.
    if guard.expired:
        raise FeedFetchFailed(f"timed out after {policy.timeout:g} s")
    return b"".join(chunks)
