"""The development mail sink: a real SMTP server that keeps what it receives."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailer.sink import MaildirStore, MailSink, MemoryStore, free_port

RAW = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n"


@pytest.fixture
def maildir_sink(tmp_path: Path) -> Iterator[MailSink]:
    sink = MailSink(MaildirStore(tmp_path / "mail")).start()
    try:
        yield sink
    finally:
        sink.stop()


def test_sink_url_names_its_loopback_port(smtp_server: MailSink) -> None:
    """The sink listens on a loopback port and reports it as an smtp:// URL."""
    assert smtp_server.host == "127.0.0.1"
    assert smtp_server.url == f"smtp://127.0.0.1:{smtp_server.port}"


def test_sink_offers_smtputf8(smtp_server: MailSink) -> None:
    """The sink advertises SMTPUTF8, like a modern relay."""
    with smtplib.SMTP(smtp_server.host, smtp_server.port) as client:
        client.ehlo()
        assert client.has_extn("smtputf8")


def test_memory_store_wait_for_times_out_with_a_count() -> None:
    """wait_for raises TimeoutError saying how many of the wanted messages arrived."""
    with pytest.raises(TimeoutError, match="got 0 of 1 messages"):
        MemoryStore().wait_for(1, timeout=0.01)


def test_memory_store_keeps_order_and_clears() -> None:
    """Messages are kept in arrival order with sequential keys until cleared."""
    memory = MemoryStore()
    memory.add("a@example.com", ["b@example.com"], b"one")
    memory.add("a@example.com", ["c@example.com", "d@example.com"], b"two")
    assert [(m.key, m.envelope_to, m.data) for m in memory.wait_for(2)] == [
        ("1", ("b@example.com",), b"one"),
        ("2", ("c@example.com", "d@example.com"), b"two"),
    ]
    memory.clear()
    assert memory.messages == []


def test_maildir_store_keeps_envelope_and_message(maildir_sink: MailSink) -> None:
    """A message sent to a Maildir sink lists with its envelope and without the sink's headers."""
    with smtplib.SMTP(maildir_sink.host, maildir_sink.port) as client:
        client.sendmail("a@example.com", ["b@example.com", "c@example.com"], RAW)
    assert isinstance(maildir_sink.store, MaildirStore)
    (listed,) = maildir_sink.store.list()
    assert listed.envelope_from == "a@example.com"
    assert listed.envelope_to == ("b@example.com", "c@example.com")
    parsed = listed.parsed()
    assert parsed["Subject"] == "hi"
    assert parsed["X-Sink-Envelope-From"] is None
    assert parsed["X-Sink-Envelope-To"] is None
    fetched = maildir_sink.store.get(listed.key)
    assert fetched is not None
    assert fetched.data == listed.data


def test_maildir_store_keeps_an_internationalized_envelope(maildir_sink: MailSink) -> None:
    """SMTPUTF8 envelope addresses read back as the same Unicode text, not mangled bytes."""
    sender, recipient = "bounces@acme.example.com", "josé@\u0430pple.com"
    with smtplib.SMTP(maildir_sink.host, maildir_sink.port) as client:
        client.ehlo()
        client.sendmail(sender, [recipient, "b@example.com"], RAW, mail_options=["SMTPUTF8"])
    assert isinstance(maildir_sink.store, MaildirStore)
    (listed,) = maildir_sink.store.list()
    assert listed.envelope_to == (recipient, "b@example.com")


@pytest.mark.parametrize("key", ["no-such-key", "../../etc/passwd", "cur/x"])
def test_maildir_store_get_unknown_or_unsafe_key(tmp_path: Path, key: str) -> None:
    """get() returns None for unknown keys and for keys with path separators."""
    assert MaildirStore(tmp_path / "mail").get(key) is None


def test_free_port_is_bindable() -> None:
    """free_port returns a port number a server can listen on."""
    port = free_port()
    assert 1024 <= port <= 65535
    sink = MailSink(MemoryStore(), port=port).start()
    try:
        assert sink.port == port
    finally:
        sink.stop()
