"""Signed webhooks on the Standard Webhooks specification (standardwebhooks.com).

- `models`: endpoints, their secrets, deliveries and attempts.
- `signing`: `whsec_` secrets and `v1,` signatures.
- `endpoints`: managing endpoints (console and API).
- `deliveries`: payloads, Redeliver, Send test event.

Events are written by `preferences.events.record_event` in the transaction of the change.
"""
