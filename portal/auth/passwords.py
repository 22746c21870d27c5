"""Password hashing shared by candidate and recruiter sign-in."""

from __future__ import annotations

import secrets

from werkzeug.security import check_password_hash, generate_password_hash

# Checked when there is no stored hash, so a login costs one key derivation either way.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """Hash a password with Werkzeug's default KDF (scrypt)."""
    return generate_password_hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check `password` against `stored_hash`, spending the same time when there is none."""
    ok = check_password_hash(stored_hash or _DUMMY_HASH, password)
    return ok and stored_hash is not None
