"""The example payloads: one per event type, the real envelope, and docs/WEBHOOKS.md shows them."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from portal.webhooks.examples import example_event, example_payloads
from portal.webhooks.payloads import payload_bytes
from portal.webhooks.signing import new_secret, secret_key, signature_header
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
            name in ("bounce.hard", "bounce.soft_limit", "complaint.received")
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


def _doc_snippet(defines: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run the doc's Python block that defines `defines` in `namespace`; return it."""
    for block in re.findall(r"```python\n(.*?)```", DOC, re.S):
        if f"def {defines}(" in block:
            exec(compile(block, "docs/WEBHOOKS.md", "exec"), namespace)  # noqa: S102 (our doc)
            return namespace
    raise AssertionError(f"docs/WEBHOOKS.md has no Python block defining {defines}")


def _signed(keys: list[bytes], at: int) -> tuple[bytes, dict[str, str]]:
    """An example event's body and headers as the worker signs them with `keys`."""
    event = example_event(EventType.CANDIDATE_UNSUBSCRIBED)
    body = payload_bytes(event)
    headers = {
        "webhook-id": event.public_id,
        "webhook-timestamp": str(at),
        "webhook-signature": signature_header(keys, event.public_id, at, body),
    }
    return body, headers


def test_the_docs_recipes_verify_our_signatures_across_a_rotation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The doc's hand-made check and its standardwebhooks snippet accept what we sign (either
    secret during a rotation) and refuse a changed body, a stranger's secret and a replay."""
    old, new = new_secret(), new_secret()
    stamp = int(time.time())
    body, headers = _signed([secret_key(new), secret_key(old)], stamp)
    valid = _doc_snippet("valid", {})["valid"]
    for secret in (old, new):
        assert valid(secret, body, headers)
    assert not valid(new_secret(), body, headers)
    assert not valid(new, body.replace(b"one_click", b"two_click"), headers)
    stale_body, stale = _signed([secret_key(new)], stamp - 3600)
    assert not valid(new, stale_body, stale)

    handled: list[tuple[str, dict[str, Any]]] = []
    for secret in (old, new):
        monkeypatch.setenv("TALENT_CONNECT_WEBHOOK_SECRET", secret)
        receive = _doc_snippet(
            "receive",
            {"already_seen": lambda _id: False, "handle": lambda t, d: handled.append((t, d))},
        )
        assert receive["receive"](body, headers) == 200
        assert receive["receive"](stale_body, stale) == 400
    assert handled == [(json.loads(body)["type"], json.loads(body)["data"])] * 2


def test_the_openapi_webhooks_section_shows_each_example_and_it_fits_the_schema() -> None:
    """Each event's entry in the OpenAPI `webhooks` section carries its example payload, and
    the example validates against the request schema the entry declares."""
    import jsonschema_rs

    from portal.views.api_openapi import openapi_document

    webhooks = openapi_document("https://careers.example.com/api/v1", "600 per minute")["webhooks"]
    assert set(webhooks) == {t.value for t in EventType}
    for name, entry in webhooks.items():
        content = entry["post"]["requestBody"]["content"]["application/json"]
        assert content["example"] == example_payloads()[name]
        validator = jsonschema_rs.Draft202012Validator(content["schema"])
        errors = [e.message for e in validator.iter_errors(content["example"])]
        assert errors == [], name
    # The schema is strict enough to fail: a wrong type name or status is refused.
    entry = webhooks["alert_run.finished"]["post"]["requestBody"]["content"]["application/json"]
    wrong = {**entry["example"], "data": {**entry["example"]["data"], "status": "finished"}}
    assert not jsonschema_rs.Draft202012Validator(entry["schema"]).is_valid(wrong)
