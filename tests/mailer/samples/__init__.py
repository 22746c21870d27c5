"""Sample bounces and complaint reports, written the way real mail servers write them.

They name the placeholder return path `SAMPLE_VERP` (well formed, signed by no key)
and, in the headers-only ARF report, the placeholder one-click token `SAMPLE_TOKEN`;
`sample` swaps in real ones.

Each file follows its MTA's real format (Postfix, Exim, Sendmail, qmail, Exchange,
Google, Yahoo; headers, DSN parts, the wording of their diagnostics) with our own
test addresses and hosts. `tests/mailer/test_bounce_classes.py` (`SAMPLE_SET`)
lists every file with the outcome it must have; a new file must be added there.
"""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent
SAMPLE_VERP = "bounces+1-aaaaaaaaaaaaaaaa@acme.example.com"
SAMPLE_TOKEN = "ONE-CLICK-TOKEN"

HARD_5_1_1 = "postfix_hard_5_1_1.eml"
DELAYED_4_2_2 = "postfix_delayed_4_2_2.eml"
OVER_QUOTA_5_2_2 = "gmail_over_quota_5_2_2.eml"
YAHOO_ARF = "yahoo_arf_abuse.eml"
MICROSOFT_ARF = "microsoft_arf_headers_only.eml"
OUT_OF_OFFICE = "out_of_office.eml"


def sample(name: str, *, verp: str | None = None, token: str | None = None) -> bytes:
    """The sample's bytes with CRLF line ends, placeholders replaced when given."""
    raw = (SAMPLES / name).read_bytes()
    if verp is not None:
        raw = raw.replace(SAMPLE_VERP.encode(), verp.encode())
    if token is not None:
        raw = raw.replace(SAMPLE_TOKEN.encode(), token.encode())
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
