"""An example payload of every event type, for docs/WEBHOOKS.md and the OpenAPI document.

Built by `payloads.payload` from in-memory events (nothing is stored), so the examples
have exactly the shape receivers get. Their data matches what the code that records each
type writes (see `preferences.events` and the callers of `record_event`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from portal.webhooks.payloads import payload
from preferences.events import EventType, WebhookEvent

# A made-up candidate public id and time: examples, not data.
EXAMPLE_CANDIDATE = "Qm9vdHN0cmFwUGFnZQ"
EXAMPLE_TIME = datetime(2026, 12, 1, 9, 30, 0, tzinfo=UTC)

# (candidate public id or None, data, source) of each type, as its recorder writes them.
_EXAMPLES: dict[EventType, tuple[str | None, dict[str, Any], str | None]] = {
    EventType.CANDIDATE_CREATED: (EXAMPLE_CANDIDATE, {"language": "es"}, "connect_form"),
    EventType.CANDIDATE_CONFIRMED: (EXAMPLE_CANDIDATE, {}, "connect_form"),
    EventType.SUBSCRIPTION_CHANGED: (
        EXAMPLE_CANDIDATE,
        {
            "kind": "interest",
            "interest_id": 12,
            "action": "change",
            "frequency": "weekly",
            "previous_frequency": "daily",
        },
        "preference_center",
    ),
    EventType.MASS_EMAIL_CHANGED: (
        EXAMPLE_CANDIDATE,
        {"action": "withdraw", "status": "opted_out"},
        "one_click",
    ),
    EventType.CANDIDATE_UNSUBSCRIBED: (
        EXAMPLE_CANDIDATE,
        {"scope": "interest", "interest_id": 12, "channel": "one_click"},
        "one_click",
    ),
    EventType.CANDIDATE_ERASED: (
        EXAMPLE_CANDIDATE,
        {"mode": "anonymized", "reason": "retention_expired"},
        "retention",
    ),
    EventType.BOUNCE_HARD: (
        EXAMPLE_CANDIDATE,
        {"status": "5.1.1", "message_kind": "job_alert"},
        "dsn",
    ),
    EventType.BOUNCE_SOFT_LIMIT: (
        EXAMPLE_CANDIDATE,
        {
            "status": "4.2.2",
            "score": 5.0,
            "threshold": 5.0,
            "bounces": 10,
            "message_kind": "job_alert",
        },
        "dsn",
    ),
    EventType.COMPLAINT_RECEIVED: (
        EXAMPLE_CANDIDATE,
        {"feedback_type": "abuse", "message_kind": "campaign"},
        "feedback_loop",
    ),
    EventType.ALERT_RUN_FINISHED: (
        None,
        {
            "alert_run_id": 481,
            "schedule_id": 3,
            "status": "succeeded",
            "candidates_matched": 1520,
            "recipients": 1487,
            "jobs": 42,
        },
        None,
    ),
    EventType.CAMPAIGN_SENT: (None, {"campaign_id": 17, "recipients": 8204}, None),
    EventType.WEBHOOK_TEST: (
        None,
        {"endpoint_id": "ep_5c0b8e21a4f3d9e7", "message": "a test event from Talent Connect"},
        "admin",
    ),
}


def example_event(type_: EventType) -> WebhookEvent:
    """An unsaved event of `type_` with its example data."""
    candidate, data, source = _EXAMPLES[type_]
    return WebhookEvent(
        public_id="msg_2f1c0a9b8e7d6c5b4a392817",
        type=type_.value,
        candidate_key=candidate,
        data=dict(data),
        source=source,
        occurred_at=EXAMPLE_TIME,
    )


def example_payloads() -> dict[str, dict[str, Any]]:
    """{event type: the JSON body a receiver gets for it} for every `EventType`."""
    return {type_.value: payload(example_event(type_)) for type_ in EventType}
