"""The example payloads: one per event type, the real envelope, and docs/WEBHOOKS.md shows them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from portal.webhooks.deliveries import payload_bytes
from portal.webhooks.examples import example_event, example_payloads
from preferences.events import EventType

DOC = (Path(__file__).resolve().parents[2] / "docs" / "WEBHOOKS.md").read_text(encoding="utf-8")


def test_every_event_type_has_an_example_in_the_envelope() -> None:
    """Each EventType has an example with its type, a UTC timestamp and data; nothing personal."""
    examples = example_payloads()
    assert set(examples) == {t.value for t in EventType}
    for name, body in examples.items():
        assert set(body) == {"type", "timestamp", "data"}
        assert body["type"] == name
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["timestamp"])
        assert "@" not in json.dumps(body)
        about_a_candidate = name.startswith(("candidate.", "subscription.", "mass_email.")) or (
            name in ("bounce.hard", "complaint.received")
        )
        assert ("candidate_id" in body["data"]) is about_a_candidate, name


def test_an_example_is_what_payload_bytes_would_send() -> None:
    """The examples come from the sender's own serializer, not a copy of it."""
    for type_ in EventType:
        assert json.loads(payload_bytes(example_event(type_))) == example_payloads()[type_.value]


def test_the_webhooks_doc_names_every_type_and_shows_its_example() -> None:
    """docs/WEBHOOKS.md has a section per type whose JSON block is exactly its example."""
    examples = example_payloads()
    for name, body in examples.items():
        assert f"`{name}`" in DOC or f"### {name}" in DOC, name
        section = DOC.split(f"\n### {name}\n", 1)
        assert len(section) == 2, f"no section for {name}"
        block = re.search(r"```json\n(.*?)\n```", section[1], re.S)
        assert block is not None, name
        assert json.loads(block.group(1)) == body, (
            f"docs/WEBHOOKS.md: the {name} example differs from example_payloads()"
        )
