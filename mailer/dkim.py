"""DKIM signing (RFC 6376, relaxed/relaxed) of the exact bytes handed to the relay.

dkimpy canonicalizes the header fields and body, the parts a verifier must
reproduce byte for byte. The signature itself is made with `cryptography`:
dkimpy signs RSA in pure Python (about 7 ms a message, against 0.3 ms) and needs
PyNaCl for Ed25519. So `sign` assembles the DKIM-Signature field here, hashes the
signed fields as dkimpy's `hash_headers` does (the last instance of each name
in h= order, bottom up) and passes the hash to the key; dkimpy has no hook for
the signing step, and this leaves dkimpy itself unpatched. A CRLF message (what
`mailer.message` builds) is split into fields here; anything else goes through
dkimpy's `rfc822_parse`. Only the signed fields are canonicalized, each through
dkimpy's relaxed canonicalization, and a field seen before (From, List-Id,
MIME-Version: the same in every message of a run) is not canonicalized again.
`rfc822_parse` and the canonicalization class are not documented API: the tests
check every signature with dkimpy's own `verify`, so a change there fails loudly.

The key is loaded and checked once, when the settings load; a signer signs from
any number of threads.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import dkim  # type: ignore[import-untyped]
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from dkim.canonicalization import CanonicalizationPolicy  # type: ignore[import-untyped]

from mailer.errors import MailerError
from preferences.clock import now

MIN_RSA_BITS = 2048
# Signed when present, in this order (RFC 8058 requires the List-Unsubscribe pair).
SIGNED_HEADERS: tuple[bytes, ...] = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)
_RELAXED = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
_DNS_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*")
_FOLD_AT = 78
# A field name as dkimpy's parser reads it: printable ASCII up to the first colon.
_FIELD_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+")

PrivateKey = RSAPrivateKey | Ed25519PrivateKey


class DkimError(MailerError, ValueError):
    """A DKIM domain, selector or key that cannot be used to sign."""


def check_dns_name(value: str, what: str) -> str:
    """Return `value` if it is an ASCII DNS name (a domain or a selector); else raise."""
    if not _DNS_NAME.fullmatch(value) or len(value) > 253:
        raise DkimError(
            f"{value!r} is not a valid {what} (ASCII DNS labels; write an internationalized "
            "domain in its xn-- form)"
        )
    return value


def load_private_key(path: Path) -> PrivateKey:
    """Read an unencrypted PEM private key: RSA of at least 2048 bits, or Ed25519."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise DkimError(f"cannot read {path}: {exc.strerror or exc}") from None
    return private_key_from_pem(pem, source=str(path))


def private_key_from_pem(pem: bytes, *, source: str = "the key") -> PrivateKey:
    """Parse and check a PEM private key (PKCS#1 or PKCS#8)."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise DkimError(f"{source} is encrypted; store it without a passphrase") from None
    except (ValueError, UnsupportedAlgorithm):
        raise DkimError(f"{source} is not a PEM private key") from None
    if isinstance(key, RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise DkimError(
                f"{source} is a {key.key_size}-bit RSA key; DKIM needs at least {MIN_RSA_BITS}"
            )
        return key
    if isinstance(key, Ed25519PrivateKey):
        return key
    raise DkimError(f"{source} is neither an RSA nor an Ed25519 key")


@dataclass(frozen=True)
class DkimSigner:
    """Signs messages for `domain` with the key published at `selector._domainkey.domain`."""

    domain: str
    selector: str
    key: PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        check_dns_name(self.domain, "DKIM domain")
        check_dns_name(self.selector, "DKIM selector")
        if isinstance(self.key, RSAPrivateKey) and self.key.key_size < MIN_RSA_BITS:
            raise DkimError(f"RSA keys need at least {MIN_RSA_BITS} bits")

    @classmethod
    def from_key_file(cls, path: Path, *, domain: str, selector: str) -> DkimSigner:
        return cls(domain=domain, selector=selector, key=load_private_key(path))

    @property
    def algorithm(self) -> str:
        return "rsa-sha256" if isinstance(self.key, RSAPrivateKey) else "ed25519-sha256"

    @property
    def dns_name(self) -> str:
        """Where the public key is published as a TXT record."""
        return f"{self.selector}._domainkey.{self.domain}"

    def dns_record(self) -> str:
        """The TXT record to publish at `dns_name` (RFC 6376 section 3.6.1, RFC 8463)."""
        public = self.key.public_key()
        if isinstance(self.key, RSAPrivateKey):
            der = public.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode('ascii')}"

    def sign(self, message: bytes, *, crlf: bool = False) -> bytes:
        """Return `message` (CRLF bytes) with a DKIM-Signature field prepended.

        The signature covers these very bytes, so they must go to the relay unchanged.
        `crlf`: the caller vouches that every line ends in CRLF (`mailer.message` builds
        them so), which spares counting the line ends of the whole message.
        """
        headers, body = _split(message, crlf=crlf)
        body_hash = base64.b64encode(hashlib.sha256(_relaxed_body(body)).digest())
        present = {name.lower() for name, _value in headers}
        if b"from" not in present:
            raise DkimError("a message without a From header cannot be signed")
        names = [name for name in SIGNED_HEADERS if name in present]
        # Each name twice: the second, absent instance forbids adding another one on the
        # way (RFC 6376 section 8.15), such as a second From or List-Unsubscribe.
        signed = names + names
        tags = (
            "v=1;",
            f"a={self.algorithm};",
            "c=relaxed/relaxed;",
            f"d={self.domain};",
            f"s={self.selector};",
            f"t={int(now().timestamp())};",
        )
        # h= may fold after each colon (always two or more names: From is signed twice).
        h_tag = [(b" ", b"h=" + signed[0] + b":")]
        h_tag += [(b"", name + b":") for name in signed[1:-1]]
        h_tag.append((b"", signed[-1] + b";"))
        # b= comes last and empty: the field is hashed that way, then the value appended.
        template, width = _fold(
            [(b" ", tag.encode("ascii")) for tag in tags]
            + h_tag
            + [(b" ", b"bh=" + body_hash + b";"), (b" ", b"b=")],
            start=len(b"DKIM-Signature:"),
        )
        hasher = hashlib.sha256()
        for name, value in _select(headers, signed):
            hasher.update(_relaxed_field(name, value))
        # The signature field itself: relaxed, without its trailing CRLF, b= empty.
        ((name, value),) = _RELAXED.canonicalize_headers([(b"DKIM-Signature", template)])
        hasher.update(name + b":" + value.rstrip())
        signature = base64.b64encode(self._sign_digest(hasher.digest()))
        # Folding inside b= is allowed; verifiers drop the white space.
        room, step = max(_FOLD_AT - width, 0), _FOLD_AT - 1
        lines = [signature[:room]]
        lines += [signature[i : i + step] for i in range(room, len(signature), step)]
        return b"DKIM-Signature:" + template + b"\r\n\t".join(lines) + b"\r\n" + message

    def _sign_digest(self, digest: bytes) -> bytes:
        if isinstance(self.key, RSAPrivateKey):
            return self.key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
        # RFC 8463: Ed25519 signs the SHA-256 hash of the canonicalized headers.
        return self.key.sign(digest)


def _split(message: bytes, *, crlf: bool = False) -> tuple[list[list[bytes]], bytes]:
    """dkimpy's (headers, CRLF body) of `message`, without splitting a CRLF body into lines.

    Each header is [name, value], the value as dkimpy keeps it: everything after the
    colon, continuation lines included, each line ending in CRLF.
    """
    end = message.find(b"\r\n\r\n")
    if end < 0 or (not crlf and message.count(b"\n") != message.count(b"\r\n")):
        # Bare LF line ends: dkimpy rewrites every line, so let it.
        headers, body = dkim.rfc822_parse(message)
        return headers, body
    headers = []
    for line in message[:end].split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and headers:
            headers[-1][1] += line + b"\r\n"
            continue
        name, colon, value = line.partition(b":")
        if not colon or not _FIELD_NAME.fullmatch(name):
            # Not a plain field: dkimpy's parser decides (and raises where it should).
            headers, _empty = dkim.rfc822_parse(message[: end + 4])
            break
        headers.append([name, value + b"\r\n"])
    return headers, message[end + 4 :]


def _select(headers: list[list[bytes]], names: list[bytes]) -> list[list[bytes]]:
    """The fields h= names, in its order: for a repeated name, the next instance up
    (RFC 6376 section 5.4.2); a name with no instance left selects nothing."""
    selected = []
    below: dict[bytes, int] = {}
    for wanted in names:
        i = below.get(wanted, len(headers))
        while i > 0:
            i -= 1
            if headers[i][0].lower() == wanted:
                selected.append(headers[i])
                break
        below[wanted] = i
    return selected


@lru_cache(maxsize=256)
def _relaxed_field(name: bytes, value: bytes) -> bytes:
    """`name:value` + CRLF in relaxed canonical form, as hashed for a signed field."""
    ((canonical_name, canonical_value),) = _RELAXED.canonicalize_headers([(name, value)])
    return bytes(canonical_name) + b":" + bytes(canonical_value)


def _relaxed_body(body: bytes) -> bytes:
    """The relaxed canonical body (RFC 6376 section 3.4.4).

    Our base64 bodies are canonical already (no tabs, no runs of spaces, no trailing
    white space or blank lines): a few substring checks prove it, and save dkimpy's
    regular expressions over the whole body, which cost more than the RSA signature.
    """
    if (
        len(body) > 2
        and body.endswith(b"\r\n")
        and not body.endswith(b"\r\n\r\n")
        and b"\t" not in body
        and _spaces_canonical(body)
    ):
        return body
    canonical: bytes = _RELAXED.canonicalize_body(body)
    return canonical


# Spaces looked at one by one before searching for "  " and " CRLF" instead.
_FEW_SPACES = 32


def _spaces_canonical(body: bytes) -> bool:
    """Whether no space in `body` is followed by another or by CR (no "  ", no " CRLF").

    A base64 body has spaces only in its parts' few header lines: finding each (one
    byte, memchr) is quicker than searching the whole body for two- and three-byte
    strings. A space before a lone CR also answers False: the caller then canonicalizes,
    which gives the same bytes for a body already canonical.
    """
    at = body.find(b" ")
    for _ in range(_FEW_SPACES):
        if at < 0:
            return True
        if body[at + 1 : at + 2] in (b" ", b"\r"):
            return False
        at = body.find(b" ", at + 1)
    return at < 0 or (b"  " not in body and b" \r\n" not in body)


def _fold(pieces: list[tuple[bytes, bytes]], *, start: int) -> tuple[bytes, int]:
    """Join (separator, text) pieces, starting a new line before one that would pass 78 columns.

    Returns the joined bytes and the width of their last line.
    """
    out: list[bytes] = []
    width = start
    for separator, text in pieces:
        if out and width + len(separator) + len(text) > _FOLD_AT:
            out.append(b"\r\n\t" + text)
            width = 1 + len(text)
        else:
            out.append(separator + text)
            width += len(separator) + len(text)
    return b"".join(out), width
