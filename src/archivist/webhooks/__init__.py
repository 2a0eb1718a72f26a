"""Archive status callbacks: a persisted outbox, delivered with retries, in order, signed.

``payloads`` shapes the spec's JSON; ``outbox`` writes one row per (status change, callback URL)
inside the status change's transaction; ``delivery`` POSTs them with exponential backoff;
``signatures`` signs each request (HMAC-SHA256) and shows how to verify it. See docs/webhooks.md.
"""
