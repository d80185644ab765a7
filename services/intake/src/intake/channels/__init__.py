"""Intake's channels besides its own report API: Prometheus Alertmanager's webhook, a
PagerDuty Events API v2-compatible endpoint, inbound e-mail over SMTP and the customer web
form. Each turns what it receives into the same reports and changes as the API, through
`desk`, so deduplication, Idempotency-Keys, the outbox and the metrics work alike."""
