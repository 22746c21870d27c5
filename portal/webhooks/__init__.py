"""Signed webhooks on the Standard Webhooks specification (standardwebhooks.com).

- `models`: endpoints, their secrets, deliveries and attempts.
- `signing`: `whsec_` secrets and `v1,` signatures.
- `endpoints`: managing endpoints (console and API).
- `payloads`: the body of a webhook (the spec's envelope), as sent and signed.
- `delivery`: fan-out, claiming, outcomes, health, pruning; Redeliver, Send test event.
- `worker`: the `talentconnect webhooks` process (HTTP through the SSRF guard).
- `reports`: the console's success rates and recent deliveries.
- `examples`: an example payload of every event type.

Events are written by `preferences.events.record_event` in the transaction of the change.
"""
