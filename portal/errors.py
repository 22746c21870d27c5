"""The root of portal's exception tree: every error the portal raises on purpose is a `PortalError`.

The packages below have their own roots (`PreferencesError`, `JobsError`,
`MailerError`); an error keeps a built-in base beside this one (`ValueError`)
where callers rely on catching it as such.
"""

from __future__ import annotations


class PortalError(Exception):
    """Base of the portal's own exceptions."""
