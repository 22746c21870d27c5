"""Import a resume from a Google Drive or Dropbox download link, safely."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import requests

from portal.resumes.errors import (
    N_,
    FileTooLarge,
    RemoteFetchFailed,
    RemoteFetchRefused,
    ResumeError,
)
from portal.resumes.netguard import (
    AddressRefused,
    FetchGuard,
    guarded_session,
    host_key,
    host_key_of_entry,
)
from portal.resumes.storage import CHUNK_SIZE, StoredResume, store_upload

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
_CONNECT_TIMEOUT = 10.0
_DISPOSITION_NAME = re.compile(r"filename\*?=(?:UTF-8'[^']*')?\"?([^\";]+)\"?", re.I)
_NOT_SHARED = N_(
    "We couldn't open that file. Please make sure it is shared with anyone who has the "
    "link, or upload it from your device."
)
_TOO_SLOW = N_(
    "Downloading your resume took too long. Please try again, or upload the file from your device."
)


@dataclass(frozen=True)
class _Target:
    url: str
    host: str
    key: str  # "host", or "host:port" when the port is not 443


def fetch_remote(
    url: str,
    upload_dir: Path,
    *,
    allowed_hosts: Sequence[str],
    max_bytes: int,
    timeout: float = 15.0,
    headers: Mapping[str, str] | None = None,
    allow_private_hosts: Sequence[str] = (),
    verify: bool | str = True,
    filename: str | None = None,
) -> StoredResume:
    """Download `url` into `upload_dir` with the checks of `store_upload`, and return it.

    HTTPS only, to `allowed_hosts` ("host" or "host:port") only, redirects included (at most
    5, each checked again); public addresses only unless the host is in `allow_private_hosts`;
    `timeout` bounds the whole fetch (DNS lookups aside) and `max_bytes` its size. `headers`
    (e.g. an OAuth bearer token) go to the first host only, never to a redirect elsewhere.
    Raises ResumeError subclasses and nothing else.
    """
    allowed = {host_key_of_entry(h) for h in allowed_hosts}
    target = _check(url, allowed)
    guard = FetchGuard(timeout, private_ok=allow_private_hosts)
    session = guarded_session(guard)
    guard.start()
    try:
        response = _follow(session, target, allowed, dict(headers or {}), guard, verify)
        with response:
            declared = response.headers.get("Content-Length", "")
            if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
                raise FileTooLarge(max_bytes, f"Content-Length {declared}")
            name = filename or _filename(response, response.url or target.url)
            return store_upload(_Body(response, guard), name, upload_dir, max_bytes=max_bytes)
    except ResumeError:
        raise
    except AddressRefused as exc:
        raise RemoteFetchRefused(str(exc)) from None
    except Exception as exc:
        # Network failures surface as many types (requests, urllib3, ssl, socket); the
        # candidate only needs to know the download failed.
        if guard.expired:
            raise RemoteFetchFailed(f"timed out after {timeout}s", message=_TOO_SLOW) from None
        # Exception texts from requests quote the URL, so only the type is kept.
        log.info("resume download from %s failed: %s", target.key, type(exc).__name__)
        raise RemoteFetchFailed(f"{type(exc).__name__} from {target.key}") from None
    finally:
        guard.stop()
        session.close()


def _follow(
    session: requests.Session,
    target: _Target,
    allowed: set[str],
    headers: dict[str, str],
    guard: FetchGuard,
    verify: bool | str,
) -> requests.Response:
    """GET, following redirects by hand so each hop is checked like the first."""
    first_key = target.key
    request_headers = {"Accept-Encoding": "identity", **headers}
    for _hop in range(MAX_REDIRECTS + 1):
        sent = request_headers if target.key == first_key else {"Accept-Encoding": "identity"}
        response = session.get(
            target.url,
            headers=sent,
            allow_redirects=False,
            stream=True,
            verify=verify,
            timeout=(min(_CONNECT_TIMEOUT, guard.timeout), guard.timeout),
        )
        if response.status_code in _REDIRECTS:
            location = response.headers.get("Location", "")
            response.close()
            if not location:
                raise RemoteFetchFailed("redirect without a Location")
            target = _check(urljoin(target.url, location), allowed)
            continue
        if response.status_code == 200:
            return response
        response.close()
        status = response.status_code
        if status in (401, 403, 404, 410):
            raise RemoteFetchFailed(f"HTTP {status}", message=_NOT_SHARED)
        raise RemoteFetchFailed(f"HTTP {status}")
    raise RemoteFetchFailed(f"more than {MAX_REDIRECTS} redirects")


def _check(url: str, allowed: set[str]) -> _Target:
    """Refuse anything but an https URL on an allowed host, without credentials."""
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise RemoteFetchRefused("malformed URL") from None
    # Details name the host only: shared-link paths and queries work like passwords.
    if parts.scheme.lower() != "https":
        raise RemoteFetchRefused(f"scheme {parts.scheme[:10]!r} is not https")
    if not host or parts.username is not None or parts.password is not None:
        raise RemoteFetchRefused("URL without a host, or with credentials")
    key = host_key(host, port)
    if key not in allowed:
        raise RemoteFetchRefused(f"host {key!r} is not allowed")
    return _Target(url=url, host=host, key=key)


def _filename(response: requests.Response, url: str) -> str:
    """The name the server gives the file, else the last part of the URL path."""
    match = _DISPOSITION_NAME.search(response.headers.get("Content-Disposition", ""))
    if match:
        return unquote(match.group(1))
    last = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return last or "resume"


class _Body:
    """The response body as a readable stream for store_upload, stopping at the deadline."""

    def __init__(self, response: requests.Response, guard: FetchGuard) -> None:
        self._chunks = response.iter_content(CHUNK_SIZE)
        self._guard = guard
        self._buffer = b""

    def read(self, size: int = -1, /) -> bytes:
        if not self._buffer:
            self._buffer = next(self._chunks, b"")
        # A body cut short by the deadline must not be stored as if it were complete.
        if self._guard.expired:
            raise RemoteFetchFailed("deadline passed while reading", message=_TOO_SLOW)
        if size < 0 or size >= len(self._buffer):
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data
