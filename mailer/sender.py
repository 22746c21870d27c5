"""Handing message bytes to an SMTP relay with aiosmtplib.

The sender takes the finished bytes, not a message object, so the relay gets
exactly what was built and DKIM-signed: nothing re-serializes them on the way.

One transaction is aiosmtplib's MAIL and RCPT, then DATA with the payload put in
wire form here (`wire_form`). aiosmtplib's `sendmail` would run two regular
expressions over every message for line endings (once more for the SIZE
parameter) and one for leading dots: a quarter of a worker's CPU on a 20 kB
digest. Our messages are already CRLF throughout, which three `bytes.count`
calls confirm; then doubling leading dots is one `bytes.replace`. A message that
is not in that form goes through aiosmtplib's own normalization first.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

import aiosmtplib
from aiosmtplib.protocol import normalize_message_line_endings

from mailer.config import SmtpTarget
from mailer.errors import PermanentSendError, TransientSendError
from mailer.message import needs_smtputf8


class Sender(Protocol):
    """Something that delivers one message (CRLF bytes) to one recipient, or raises a SendError."""

    async def send(self, message: bytes, *, envelope_from: str, recipient: str) -> None: ...

    async def close(self) -> None: ...


def _classify(
    code: int | None, text: str, *, bounce: bool = False
) -> TransientSendError | PermanentSendError:
    """5xx is permanent, anything else transient; `bounce`: the answer is about the recipient."""
    if code is not None and 500 <= code < 600:
        return PermanentSendError(f"{code} {text}".strip(), code=code, bounce=bounce)
    return TransientSendError(f"{code} {text}".strip() if code else text, code=code)


def wire_form(message: bytes) -> tuple[bytes, int]:
    """The DATA payload for `message` and the SIZE it declares (RFC 5321 4.5.2, RFC 1870).

    Line ends become CRLF, the message ends with one, a leading dot on any line is
    doubled, and the end-of-data line follows. SIZE counts the message as sent,
    before the dots are doubled, as aiosmtplib counts it.
    """
    crlf = message.count(b"\r\n")
    if crlf != message.count(b"\n") or crlf != message.count(b"\r"):
        message = normalize_message_line_endings(message)  # a lone CR or LF somewhere
    elif not message.endswith(b"\r\n"):
        message += b"\r\n"
    size = len(message)
    stuffed = message.replace(b"\n.", b"\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return stuffed + b".\r\n", size


async def _data(client: aiosmtplib.SMTP, payload: bytes) -> None:
    """DATA with a payload already in wire form; raises what aiosmtplib's `data` raises."""
    protocol = client.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    try:
        protocol.write(b"DATA\r\n")
        response = await protocol.read_response()
        if response.code != aiosmtplib.SMTPStatus.start_input:
            raise aiosmtplib.SMTPDataError(response.code, response.message)
        protocol.write(payload)
        response = await protocol.read_response()
        if response.code != aiosmtplib.SMTPStatus.completed:
            raise aiosmtplib.SMTPDataError(response.code, response.message)
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
        client.close()
        raise


class SmtpSender:
    """One reusable aiosmtplib connection to the relay.

    The connection opens on first use and reopens after the relay drops it.
    """

    def __init__(self, target: SmtpTarget) -> None:
        self._target = target
        self._client: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        t = self._target
        client = aiosmtplib.SMTP(
            hostname=t.host,
            port=t.port,
            username=t.username,
            password=t.password,
            use_tls=t.use_tls,
            start_tls=t.start_tls,
            # No per-command timeout: aiosmtplib would start a timer task for every
            # command (a fifth of the CPU of a send). One deadline covers each step below.
            timeout=None,
        )
        try:
            async with asyncio.timeout(t.timeout):
                await client.connect()
                if client.is_ehlo_or_helo_needed:
                    # connect() only greets for STARTTLS or login; greet now so the relay's
                    # extensions (SMTPUTF8) are known before the first send checks them.
                    try:
                        await client.ehlo()
                    except aiosmtplib.SMTPHeloError:
                        await client.helo()
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise PermanentSendError(
                f"relay refused our login: {exc.message}", code=exc.code
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:  # TimeoutError is an OSError
            client.close()
            reason = "no answer in time" if isinstance(exc, TimeoutError) else str(exc)
            raise TransientSendError(f"cannot reach the relay {t.host}:{t.port}: {reason}") from exc
        self._client = client
        return client

    async def send(self, message: bytes, *, envelope_from: str, recipient: str) -> None:
        client = await self._connected()
        options: list[str] = []
        # Raw UTF-8 headers come only with an internationalized address; either needs
        # SMTPUTF8, and only such messages fail when the relay lacks it.
        if needs_smtputf8(envelope_from, recipient) or not message.isascii():
            if not client.supports_extension("smtputf8"):
                raise PermanentSendError(
                    f"the relay does not offer SMTPUTF8, needed for {recipient}"
                )
            options.append("SMTPUTF8")
            if client.supports_extension("8bitmime"):
                options.append("BODY=8BITMIME")
        payload, size = wire_form(message)
        if client.supports_extension("size"):
            options.insert(0, f"SIZE={size}")
        encoding = "utf-8" if "SMTPUTF8" in options else "ascii"
        try:
            async with asyncio.timeout(self._target.timeout):
                await client.mail(envelope_from, options=options, encoding=encoding)
                try:
                    await client.rcpt(recipient, encoding=encoding)
                    await _data(client, payload)
                except aiosmtplib.SMTPResponseException:
                    # Refused: reset the envelope so the connection serves the next message.
                    with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                        await client.rset()
                    raise
        except (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError) as exc:
            # About this recipient or this message: a bounce at send time.
            raise _classify(exc.code, exc.message, bounce=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _classify(exc.code, exc.message) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:  # TimeoutError is an OSError
            # Dropped connection or timeout: the next send reconnects.
            self._client = None
            client.close()
            reason = "the relay did not answer in time" if isinstance(exc, TimeoutError) else exc
            raise TransientSendError(f"connection to the relay failed: {reason}") from exc

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
