"""Campaign bodies and their send-time context, read once per campaign and batch.

Recruiters write campaign bodies in Markdown. `body_html` renders it and then
sanitizes the result with an allow-list (nh3): only text formatting, lists,
headings, quotes, code, tables, images and http(s)/mailto links survive, so no
script, event handler, style or `javascript:` URL ever reaches a recipient.
`body_text` turns that same HTML into the plain-text part: readable text, not
Markdown (links as "text (url)", images as their alt text, list items with
"- " or "1. ").

Content rules, checked when a campaign is saved and again before it is sent,
tested or dispatched (`content_problem`): every image needs alt text (blind
readers and clients that block images see only that), and the whole email's
HTML, rendered as the worker sends it, may be at most `MAX_EMAIL_HTML_BYTES`.
Gmail clips a message whose HTML passes about 102 KB behind a "View entire
message" link, which hides the unsubscribe link and the postal address of the
footer. Sizes are counted in bytes of the HTML part as it travels, decoded from
base64 (UTF-8, CRLF line ends), with KB = 1,000 bytes, so the 100 KB limit stays
below Gmail's 102 KB whichever unit it means.

A *test* row (context `"test": true`, no candidate) goes to a recruiter's own
address: its subject says "[Test]" and its footer links point at the console,
because there is no candidate to sign unsubscribe links for. Eligibility lets
such a row through only when its address belongs to an active recruiter.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import markdown
import nh3
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailer.config import MailSettings
from mailer.i18n import (
    LOCALE_KEY,
    SOURCE_LOCALE,
    candidate_locales,
    matching_locale,
    message_locale,
    translations,
)
from mailer.models import Campaign, CampaignStatus, CampaignVariant, OutboxMessage
from mailer.outbox import Hold
from mailer.render import Renderer
from mailer.reputation import PAUSE_REASON
from preferences.models import CandidateStatus, new_public_id
from preferences.tokens import LinkOwner, LinkPurpose, make_link_token

TEST_SUBJECT_PREFIX = "[Test] "
ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "hr",
        "i",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "strong",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Removed with everything inside them, not just unwrapped to their text.
DROPPED_WITH_CONTENT = frozenset({"script", "style"})
# The most HTML one campaign email may have (UTF-8 bytes; KB = 1,000 bytes).
MAX_EMAIL_HTML_BYTES = 100_000


def body_html(body: str) -> Markup:
    """The campaign's Markdown body as sanitized HTML, safe to insert into the email."""
    # Raw HTML in the Markdown passes through `markdown` untouched; the
    # allow-list below is what makes the result safe, whatever was typed.
    rendered = markdown.markdown(body.replace("\r\n", "\n"), extensions=["extra", "sane_lists"])
    cleaned = nh3.clean(
        rendered,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704 - sanitized by the allow-list just above


# --- the plain-text part ---------------------------------------------------------------

_VOID = frozenset({"br", "hr", "img"})
_BLOCKS = frozenset({"blockquote", "h1", "h2", "h3", "h4", "hr", "ol", "p", "pre", "table", "ul"})
_SPACE = re.compile(r"\s+")


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[_Node | str]


class _TreeBuilder(HTMLParser):
    """A small tree of the sanitized body (nh3's output is well formed)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("", {}, [])
        self._open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {k: v or "" for k, v in attrs}, [])
        self._open[-1].children.append(node)
        if tag not in _VOID:
            self._open.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open[-1].children.append(_Node(tag, {k: v or "" for k, v in attrs}, []))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(data)


def _tree(html: str) -> _Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def _walk(node: _Node) -> list[_Node]:
    found: list[_Node] = []
    for child in node.children:
        if isinstance(child, _Node):
            found.append(child)
            found.extend(_walk(child))
    return found


def _raw_text(node: _Node | str) -> str:
    if isinstance(node, str):
        return node
    return "".join(_raw_text(child) for child in node.children)


def _inline(node: _Node | str) -> str:
    """Inline content as text: white space collapsed, <br> a line break, links "text (url)"."""
    if isinstance(node, str):
        return _SPACE.sub(" ", node)
    if node.tag == "br":
        return "\n"
    if node.tag == "img":
        return node.attrs.get("alt", "").strip()
    if node.tag in _BLOCKS or node.tag in ("li", "tr"):
        # A block where inline content was expected (a list inside a link): keep its text.
        return " " + "\n".join(_blocks(node.children)) + " "
    text = "".join(_inline(child) for child in node.children)
    if node.tag == "a":
        href = node.attrs.get("href", "").strip()
        label = " ".join(text.split())
        if href and href not in (label, f"mailto:{label}"):
            return f"{label} ({href})" if label else href
    return text


def _paragraph(pieces: list[str]) -> str:
    lines = "".join(pieces).split("\n")
    return "\n".join(" ".join(line.split()) for line in lines).strip("\n")


def _indent(text: str, first: str, rest: str) -> str:
    lines = text.split("\n")
    return "\n".join([first + lines[0]] + [rest + line if line else line for line in lines[1:]])


def _blocks(children: list[_Node | str]) -> list[str]:
    """Paragraph-level text of `children`, one string per block."""
    out: list[str] = []
    pieces: list[str] = []

    def flush() -> None:
        text = _paragraph(pieces)
        if text.strip():
            out.append(text)
        pieces.clear()

    for child in children:
        if isinstance(child, str) or child.tag not in _BLOCKS:
            pieces.append(_inline(child))
            continue
        flush()
        if child.tag == "pre":
            out.append(_raw_text(child).strip("\n"))
        elif child.tag == "hr":
            out.append("----")
        elif child.tag == "blockquote":
            inner = "\n\n".join(_blocks(child.children))
            out.append("\n".join(f"> {line}" if line else ">" for line in inner.split("\n")))
        elif child.tag in ("ul", "ol"):
            items = [c for c in child.children if isinstance(c, _Node) and c.tag == "li"]
            lines = []
            for number, item in enumerate(items, 1):
                marker = f"{number}. " if child.tag == "ol" else "- "
                content = "\n".join(_blocks(item.children))
                lines.append(_indent(content, marker, " " * len(marker)))
            out.append("\n".join(lines))
        elif child.tag == "table":
            rows = [n for n in _walk(child) if n.tag == "tr"]
            out.append(
                "\n".join(
                    " | ".join(
                        _paragraph([_inline(cell)]).replace("\n", " ")
                        for cell in row.children
                        if isinstance(cell, _Node) and cell.tag in ("td", "th")
                    )
                    for row in rows
                )
            )
        else:  # p, h1-h4
            text = _paragraph([_inline(c) for c in child.children])
            if text.strip():
                out.append(text)
    flush()
    return out


def body_text(body: str) -> str:
    """The campaign's Markdown body as readable plain text, for the text/plain part.

    Rendered and cleaned exactly like `body_html`, then written out: headings and
    paragraphs as text, emphasis dropped, links as "text (url)", images as their
    alt text, list items after "- " or "1. ", quotes after "> ".
    """
    return html_text(body_html(body))


def html_text(html: str) -> str:
    """`body_text` of HTML that `body_html` made."""
    return "\n\n".join(_blocks(_tree(str(html)).children))


# --- content rules ----------------------------------------------------------------------


def images_without_alt(html: str) -> list[str]:
    """The address (src) of every image in `html` whose alt text is missing or blank."""
    return [
        node.attrs.get("src", "").strip() or "(an image with no address)"
        for node in _walk(_tree(html))
        if node.tag == "img" and not node.attrs.get("alt", "").strip()
    ]


@dataclass(frozen=True)
class EmailSize:
    """The size of a campaign email's HTML as sent, against `MAX_EMAIL_HTML_BYTES`."""

    html_bytes: int

    @property
    def too_large(self) -> bool:
        return self.html_bytes > MAX_EMAIL_HTML_BYTES

    @property
    def kb(self) -> str:
        """The size in KB (1,000 bytes) with one decimal, e.g. "12.3 KB"."""
        return f"{self.html_bytes / 1000:,.1f} KB"

    @property
    def limit_kb(self) -> str:
        return f"{MAX_EMAIL_HTML_BYTES / 1000:,.0f} KB"


def footer_reason(settings: MailSettings, locale: str = SOURCE_LOCALE) -> str:
    """The footer's "why you get this", in the reader's language."""
    _ = translations(locale).gettext
    return _("You opted in to emails from the %(company)s talent community.") % {
        "company": settings.company_name
    }


def campaign_context(settings: MailSettings, subject: str, body: str) -> dict[str, Any]:
    """What the campaign template needs beyond the recipient's links, as the worker sends it."""
    html = body_html(body)
    return {
        **settings.base_context(),
        "subject": subject,
        "body_text": html_text(html),
        "body_html": html,
        "reason": footer_reason(settings),
    }


def email_size(
    settings: MailSettings, subject: str, body: str, *, renderer: Renderer | None = None
) -> EmailSize:
    """The HTML size of the campaign email as the worker would send it to one recipient.

    The footer links are signed for a stand-in recipient, so they are as long as
    a real recipient's; nothing else in the campaign email depends on who gets it.
    """
    context = campaign_context(settings, subject, body)
    owner = LinkOwner(0, new_public_id(), 1, CandidateStatus.ACTIVE, "")
    if settings.secret_keys:
        unsubscribe = make_link_token(
            settings.secret_keys, LinkPurpose.ONE_CLICK, owner, l="mass_email"
        )
        preferences = make_link_token(settings.secret_keys, LinkPurpose.PREFERENCES, owner)
        context["unsubscribe_url"] = f"{settings.base_url}/unsubscribe/{unsubscribe}"
        context["preferences_url"] = f"{settings.base_url}/preferences/{preferences}"
    else:
        context["unsubscribe_url"] = context["preferences_url"] = f"{settings.base_url}/"
    html = (renderer or Renderer()).render("campaign", context).html
    # As the part travels: UTF-8 with CRLF line ends (mailer.message writes it so).
    wire = html.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    return EmailSize(len(wire.encode("utf-8")))


def content_problem(
    body: str, settings: MailSettings | None, subject: str = "", *, renderer: Renderer | None = None
) -> str | None:
    """Why this body may not be sent (an image without alt text, an email too large), or None.

    Without `settings` only the body's own rules are checked.
    """
    missing = images_without_alt(str(body_html(body)))
    if missing:
        listed = ", ".join(missing)
        return (
            f"Add alt text to {'this image' if len(missing) == 1 else 'these images'}: "
            f"{listed}. Write what the image shows between the brackets, as in "
            "![Our team at the Berlin office](https://…)."
        )
    if settings is not None:
        size = email_size(settings, subject, body, renderer=renderer)
        if size.too_large:
            return (
                f"This email would be {size.kb} of HTML, over the {size.limit_kb} limit: "
                "Gmail cuts off larger emails and hides the unsubscribe link and postal address. "
                "Shorten the message, or link to a web page for the rest."
            )
    return None


def is_test(message: OutboxMessage) -> bool:
    """Whether `message` is a campaign test sent to a recruiter, not to a candidate."""
    return message.context.get("test") is True and message.candidate_id is None


def usable_variants(campaign: Campaign, locales: Collection[str]) -> dict[str, CampaignVariant]:
    """The campaign's variants by locale, those in a supported locale only."""
    return {v.locale: v for v in campaign.variants if v.locale in locales}


def variant_locale(requested: object, variants: Mapping[str, object]) -> str | None:
    """The locale of the variant a reader of `requested` gets; None: the default."""
    return matching_locale(requested, variants)


def campaign_parts(
    session: Session, messages: Sequence[OutboxMessage], settings: MailSettings
) -> dict[int, dict[str, Any] | str | Hold]:
    """Per outbox id: subject, bodies and footer reason; a cancelled campaign is a skip.

    Each reader gets the variant of their language, or the default (module docstring).
    A paused campaign's rows are held (`Hold`): not sent, not lost.
    """
    ids = {m.context.get("campaign_id") for m in messages}
    campaigns = {
        c.id: c
        for c in session.scalars(
            select(Campaign)
            .where(Campaign.id.in_(ids - {None}))
            .options(selectinload(Campaign.variants))
        )
    }
    variants = {c.id: usable_variants(c, settings.locales) for c in campaigns.values()}
    stored = candidate_locales(
        session, {m.candidate_id for m in messages if m.candidate_id is not None}
    )
    reasons: dict[str, str] = {}
    # Per (campaign, variant locale or None for the default): subject, HTML and text.
    contents: dict[tuple[int, str | None], tuple[str, Markup, str]] = {}
    parts: dict[int, dict[str, Any] | str | Hold] = {}
    for message in messages:
        campaign = campaigns.get(message.context.get("campaign_id"))  # type: ignore[arg-type]
        if campaign is None:
            parts[message.id] = "the campaign no longer exists"
            continue
        test = is_test(message)
        if campaign.status is CampaignStatus.CANCELLED and not test:
            parts[message.id] = "the campaign was cancelled"
            continue
        if campaign.status is CampaignStatus.PAUSED and not test:
            parts[message.id] = Hold(PAUSE_REASON)
            continue
        own = stored.get(message.candidate_id) if message.candidate_id is not None else None
        locale = message_locale(own, message.context, settings.locales)
        if locale not in reasons:
            reasons[locale] = footer_reason(settings, locale)
        requested = own if message.candidate_id is not None else message.context.get(LOCALE_KEY)
        chosen = variant_locale(requested, variants[campaign.id])
        key = (campaign.id, chosen)
        if key not in contents:
            source = campaign if chosen is None else variants[campaign.id][chosen]
            html = body_html(source.body)
            contents[key] = (source.subject, html, html_text(html))
        subject, html, text = contents[key]
        part: dict[str, Any] = {
            "subject": subject,
            "body_text": text,
            "body_html": html,
            "reason": reasons[locale],
        }
        if test:
            console = f"{settings.base_url}/admin/campaigns/{campaign.id}"
            part.update(
                subject=TEST_SUBJECT_PREFIX + subject,
                reason="This is a test send to a recruiter; each recipient's footer "
                "has their own Manage preferences and Unsubscribe links.",
                preferences_url=console,
                unsubscribe_url=console,
            )
        parts[message.id] = part
    return parts
