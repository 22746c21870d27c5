"""What a delivery failure says about the address: one rule for DSNs and SMTP replies.

A receiving server refuses mail for many reasons, and only some of them mean the
address is gone. `classify_failure` reads the RFC 3463 enhanced status code
(X.Y.Z) *and* the server's diagnostic text, because many servers send a generic
code (Exim's DSNs always say ``Status: 5.0.0``; Postfix writes 5.0.0 when the
remote reply had no enhanced code) and put the reason only in the text.

Categories, tried in this order (the first that matches wins):

1. **policy**: spam, reputation, block lists, authentication, "policy", "blocked",
   "unsolicited", "spamhaus" … or any X.7.x code not about greylisting. The
   sender's problem: recorded and reported, never counted against the address.
2. **throttled**: greylisting ("greylist", "try again later"): soft.
3. **mailbox full**: X.2.2, X.3.1, "quota", "storage", "mailbox full": soft.
4. **too large**: X.3.4, X.2.3, "too large", "size limit", "maximum … message
   size", and a bare 552 reply: soft.
5. **throttled**: rate limits ("rate", "too many", "throttled"): soft.
6. **address**: X.1.x (but X.1.5, a success, and X.1.7/X.1.8, which are about the
   *sender's* address), X.2.1 (mailbox disabled), or text such as "user unknown",
   "does not exist", "unrouteable address", "domain not found".
7. **other**: anything else.

Only an *address* failure that is permanent (class 5, and not a delay) suppresses;
an address failure with a 4.x.x code is soft. Everything else is soft, except
policy. The order is deliberate: text that names a policy, a full mailbox or a
size limit wins over an address code, because wrongly suppressing a working
address loses a subscriber for good, while missing a dead one costs a few more
soft bounces until its score suppresses it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

# How much diagnostic text is read; remote servers can be wordy.
MAX_CLASSIFIED_CHARS = 2000

# An enhanced status code in text: "5.1.1", "550-5.7.1", "(#5.2.2)"; not inside an IP
# address or a version number (no digit or dot on either side).
_ENHANCED = re.compile(r"(?<!\d)(?<!\d\.)([245])\.(\d{1,3})\.(\d{1,3})(?!\d|\.\d)")
_STATUS = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\s*$")
# A basic SMTP reply code: "550 ", "552-", "smtp; 554 "; not part of a longer number.
_REPLY = re.compile(r"(?<!\d)(?<!\d\.)([45][0-5]\d)(?=[\s-]|$)")


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_POLICY_TEXT = _words(
    r"\bspam",
    r"unsolicited",
    r"\bblock(?:ed|ing)?\b",
    r"block\s*list",
    r"black\s*list",
    r"deny\s*list",
    r"(?:is|are|was|been)\s+listed",
    r"spamhaus",
    r"spamcop",
    r"barracuda",
    r"\bsorbs\b",
    r"\b(?:dns)?rbl\b",
    r"reputation",
    r"polic(?:y|ies)",
    r"\bdmarc\b",
    r"\bspf\b",
    r"\bdkim\b",
    r"unauthenticated",
    r"complaints?\b",
    r"administratively",
    r"prohibited",
    r"\bbanned\b",
    r"not\s+authori[sz]ed",
    r"relay(?:ing)?\s+(?:access\s+)?denied",
    r"sender\s+(?:address\s+)?(?:rejected|denied|blocked)",
    r"client\s+host\s+rejected",
    r"helo\s+command\s+rejected",
    r"reverse\s+dns",
    r"\bptr\b",
    r"\bvirus",
    r"malware",
    r"phish",
    r"\bjunk\b",
    r"\[ts[s]?\d\d\]",  # Yahoo's TSS/TS error codes
    r"abuse",
    r"suspicious",
)
_GREYLIST_TEXT = _words(
    r"gr[ea]y[\s-]?list",
    r"try\s+(?:again\s+)?later",
    r"come\s+back\s+later",
)
_FULL_TEXT = _words(
    r"quota",
    r"storage",
    r"(?:mailbox|inbox|mail\s*box|mail\s+folder)\s+(?:is\s+)?full",
    r"full\s+mailbox",
    r"mailbox\s+size\s+limit",
    r"insufficient\s+(?:system\s+)?space",
    r"disk\s+full",
)
_TOO_LARGE_TEXT = _words(
    r"too\s+(?:large|big|long)",
    r"size\s+limit",
    r"message\s+size",
    r"size\s+exceeds",
    r"maximum\s+(?:\w+\s+){0,2}(?:message\s+)?size",
    r"message\s+length\s+exceeds",
    r"exceeds?\s+(?:the\s+)?(?:fixed\s+)?maximum",
)
_RATE_TEXT = _words(
    r"\brate\b",
    r"rate[\s-]?limit",
    r"too\s+many",
    r"throttl",
    r"slow\s+down",
    r"too\s+fast",
    r"temporarily\s+deferred",
    r"try\s+again\s+in",
)
_ADDRESS_TEXT = _words(
    r"user\s+unknown",
    r"unknown\s+(?:user|recipient|mailbox|address|local\s+part)",
    r"recipient\s+unknown",
    r"no\s+such\s+(?:user|recipient|mailbox|address|domain|person)",
    r"no\s+mailbox\s+here",
    r"mailbox\s+(?:not\s+found|unavailable|does\s+not\s+exist)",
    r"recipient\s*not\s*found",
    r"address\s+not\s+found",
    r"(?:does\s+not|doesn'?t)\s+(?:exist|have\s+an?\s+[\w.-]+\s+account)",
    r"not\s+a\s+valid\s+(?:recipient|mailbox|address|user)",
    r"invalid\s+(?:recipient|mailbox|address|user)",
    r"(?:account|mailbox)\b[^.;]{0,40}?\b(?:is|has\s+been)\s+(?:disabled|deactivated|closed|inactive)",
    r"(?:account|mailbox)\s+(?:disabled|deactivated|closed|inactive)",
    r"unrout(?:e)?able\s+(?:address|domain)",
    r"(?:host\s+or\s+)?domain\s+(?:name\s+)?not\s+found",
    r"no\s+mx\s+(?:record|for)",
    r"null\s+mx",
    r"bad\s+destination",
)


class BounceCategory(enum.StrEnum):
    """Why a message was refused, as far as the server's answer tells."""

    ADDRESS = "address"
    MAILBOX_FULL = "mailbox_full"
    TOO_LARGE = "too_large"
    THROTTLED = "throttled"
    POLICY = "policy"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    BounceCategory.ADDRESS: "address does not work",
    BounceCategory.MAILBOX_FULL: "mailbox full",
    BounceCategory.TOO_LARGE: "message too large",
    BounceCategory.THROTTLED: "greylisted or rate-limited",
    BounceCategory.POLICY: "refused by policy, spam filter or reputation",
    BounceCategory.OTHER: "other failure",
}


class Verdict(enum.StrEnum):
    """What a failure does to the address."""

    SUPPRESS = "suppress"  # the address does not work: stop mailing it
    SOFT = "soft"  # may pass later: scored, suppressed only when it keeps failing
    POLICY = "policy"  # the sender's problem: recorded and reported, the address untouched


@dataclass(frozen=True)
class Classification:
    """The category and verdict of one failure, and the enhanced code it was read with."""

    category: BounceCategory
    verdict: Verdict
    # The enhanced code that counted: the Status field, or one found in the text
    # when the Status was missing or generic (X.0.0); empty when there was none.
    status: str


def enhanced_code(status: str, diagnostic: str) -> str:
    """The most specific enhanced code: `status`, unless it is missing or X.0.0."""
    given = _STATUS.match(status or "")
    code = ".".join(given.groups()) if given else ""
    if code and not code.endswith(".0.0"):
        return code
    for found in _ENHANCED.finditer(diagnostic[:MAX_CLASSIFIED_CHARS]):
        if found.group(1) != "2":  # 2.x.x is success: a version number, more likely
            return ".".join(found.groups())
    return code


def reply_code(diagnostic: str) -> int | None:
    """The first basic SMTP reply code (4xx or 5xx) in the diagnostic text, if any."""
    found = _REPLY.search(diagnostic[:MAX_CLASSIFIED_CHARS])
    return int(found.group(1)) if found else None


def _category(code: str, reply: int | None, text: str) -> BounceCategory:
    subject_detail = code.partition(".")[2]  # "1.1" of "5.1.1"
    subject = subject_detail.partition(".")[0]
    if _POLICY_TEXT.search(text):
        return BounceCategory.POLICY
    if _GREYLIST_TEXT.search(text):
        return BounceCategory.THROTTLED
    if _FULL_TEXT.search(text) or subject_detail in ("2.2", "3.1"):
        return BounceCategory.MAILBOX_FULL
    if _TOO_LARGE_TEXT.search(text) or subject_detail in ("3.4", "2.3"):
        return BounceCategory.TOO_LARGE
    if _RATE_TEXT.search(text) or subject_detail == "4.5":
        return BounceCategory.THROTTLED
    if subject == "7" or subject_detail in ("1.7", "1.8"):
        return BounceCategory.POLICY
    if _ADDRESS_TEXT.search(text) or (subject == "1" and subject_detail != "1.5"):
        return BounceCategory.ADDRESS
    if subject_detail == "2.1":
        return BounceCategory.ADDRESS
    if not code and reply == 552:
        return BounceCategory.TOO_LARGE
    return BounceCategory.OTHER


def classify_failure(
    status: str = "",
    diagnostic: str = "",
    *,
    reply: int | None = None,
    delayed: bool = False,
) -> Classification:
    """Classify one failed (or, with `delayed`, still retried) delivery.

    `status` is the DSN's Status field (or empty), `diagnostic` the server's text
    (a DSN's Diagnostic-Code, an SMTP reply, a plain-text bounce's reason) and
    `reply` the SMTP reply code when it is known apart from the text.
    """
    text = " ".join(diagnostic[:MAX_CLASSIFIED_CHARS].split())
    code = enhanced_code(status, text)
    basic = reply if reply is not None else reply_code(text)
    category = _category(code, basic, text)
    if code:
        permanent = code.startswith("5")
    elif basic is not None:
        permanent = basic >= 500
    else:
        permanent = True  # a failure report that says nothing more: it did fail
    if category is BounceCategory.POLICY:
        verdict = Verdict.POLICY
    elif category is BounceCategory.ADDRESS and permanent and not delayed:
        verdict = Verdict.SUPPRESS
    else:
        verdict = Verdict.SOFT
    return Classification(category, verdict, code)
