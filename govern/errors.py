"""Domain errors that services raise; the web layer maps each to a problem+json status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    title = "Bad request"
    keeps_audit = False  # True when the audit event of a failed attempt must be committed anyway

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def problem_members(self) -> dict[str, Any]:
        """Extra members for the problem+json document (e.g. a policy decision's findings)."""
        return {}


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class InvalidOperation(DomainError):
    status = 422
    title = "Invalid operation"


class RateLimited(DomainError):
    """Too many attempts from this address (or from everyone) in the window; `retry_after` seconds until one frees up."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))
