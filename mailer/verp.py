"""VERP return paths: ``bounces+<token>@<domain>``, one per outbox row.

The token is the outbox row id in base 36, a hyphen, and the first 80 bits of
HMAC-SHA256 over that id, keyed by the newest secret key, in lower-case base 32
(16 characters). So a bounce maps to exactly one message (and so one recipient and
candidate), and nobody can make up the return path of a message sent to someone
else. Every key in `secret_keys` verifies, so a key rotation keeps the return paths
of mail already sent working as long as the old key stays in the list.

Only lower-case letters and digits are used: some MTAs lower-case the local part on
the way back, and `parse_verp` folds case before checking. The longest local part
(an id near 2**63) is 38 octets, within SMTP's 64.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from functools import lru_cache

from mailer.config import MailSettings

VERP_PREFIX = "bounces"
_MAC_BYTES = 10  # 80 bits: 16 base-32 characters without padding
# The MAC is over a labelled message, so a VERP tag can never double as any other
# value signed with the same secret keys.
_LABEL = b"talentconnect-verp\x00"
_TOKEN = re.compile(r"([0-9a-z]{1,13})-([a-z2-7]{16})")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    digits = ""
    while number:
        number, remainder = divmod(number, 36)
        digits = _DIGITS[remainder] + digits
    return digits or "0"


def _mac(key: str, id36: str) -> str:
    digest = hmac.new(key.encode("utf-8"), _LABEL + id36.encode("ascii"), hashlib.sha256)
    return base64.b32encode(digest.digest()[:_MAC_BYTES]).decode("ascii").lower()


@lru_cache(maxsize=64)
def _ascii_domain(domain: str) -> str:
    domain = domain.strip().rstrip(".").lower()
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:  # not a valid IDN; compared as given
        return domain


def bounce_mailbox(settings: MailSettings) -> str:
    """The plain bounce address, ``bounces@<domain>``: the return path without a token.

    Mail goes out with it only when no secret key is configured; it is also the
    address to register with mailbox providers' complaint feedback loops.
    """
    return f"{VERP_PREFIX}@{_ascii_domain(settings.return_path_domain)}"


def verp_address(settings: MailSettings, outbox_id: int) -> str:
    """The return path (SMTP envelope sender) for the outbox row `outbox_id`.

    Without secret keys there is nothing to sign with, and the plain
    `bounce_mailbox` is returned instead.
    """
    if outbox_id <= 0:
        raise ValueError(f"an outbox id is positive, not {outbox_id}")
    if not settings.secret_keys:
        return bounce_mailbox(settings)
    id36 = _base36(outbox_id)
    token = f"{id36}-{_mac(settings.secret_keys[0], id36)}"
    return f"{VERP_PREFIX}+{token}@{_ascii_domain(settings.return_path_domain)}"


def parse_verp(settings: MailSettings, address: str) -> int | None:
    """The outbox id of a VERP `address`, or None if it is not one we signed.

    The domain must be the return-path domain; case does not matter anywhere.
    """
    local, at, domain = address.strip().strip("<>").strip().rpartition("@")
    if not at or _ascii_domain(domain) != _ascii_domain(settings.return_path_domain):
        return None
    prefix, plus, token = local.lower().partition("+")
    if prefix != VERP_PREFIX or not plus:
        return None
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    id36, mac = match.groups()
    # Every key is tried, without stopping early, so timing says nothing about which.
    valid = False
    for key in settings.secret_keys:
        valid |= hmac.compare_digest(_mac(key, id36), mac)
    outbox_id = int(id36, 36)
    return outbox_id if valid and outbox_id > 0 else None
