"""Posting a notification to a webhook endpoint: a signed raw body, bounded waits, no redirects followed."""

from __future__ import annotations

import hashlib
import hmac

import requests

from govern.secret_value import SecretValue

SIGNATURE_HEADER = "X-Govern-Signature"
TIMESTAMP_HEADER = "X-Govern-Timestamp"
DELIVERY_HEADER = "X-Govern-Delivery"


class WebhookError(RuntimeError):
    """The endpoint did not take the message; the text names the status or the error type, never the URL or secret."""

    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


def signature(secret: SecretValue, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<raw body>": a receiver that checks the timestamp is recent refuses replays."""
    digest = hmac.new(secret.reveal().encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def post(url: SecretValue, body: bytes, secret: SecretValue, timestamp: int, delivery_id: int,
         timeout_seconds: float) -> int:
    """POST the body; returns the 2xx status. 5xx, 429, timeouts and connection errors are worth retrying; other
    answers are not (the endpoint refused the message for good)."""
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "govern-notifications",
               TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body),
               DELIVERY_HEADER: str(delivery_id)}
    try:
        response = requests.post(url.reveal(), data=body, headers=headers, timeout=(timeout_seconds, timeout_seconds),
                                 allow_redirects=False)
    except requests.RequestException as error:
        raise WebhookError(type(error).__name__) from None
    response.close()
    if 200 <= response.status_code < 300:
        return response.status_code
    retry = response.status_code >= 500 or response.status_code in (408, 429)
    raise WebhookError(f"HTTP {response.status_code}", permanent=not retry)
