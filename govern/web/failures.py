"""Whether a failed request still commits: decided once, by the request cycle, from the error that failed it."""

from __future__ import annotations

from flask import g

from govern.errors import DomainError


def keeps_on_error(error: BaseException | None) -> bool:
    """A refusal whose error says `keeps_audit` commits what its service chose to keep (its audit event, and the
    state change it records, such as a window found expired and closed); every other failure rolls back."""
    return isinstance(error, DomainError) and error.keeps_audit


def answered(error: BaseException) -> None:
    """Whoever turns an error into a response (the app's error handlers, a console page showing a refusal) hands the
    error to the request cycle here; it decides with keeps_on_error when the request ends."""
    g.failure = error


def commits_despite_error() -> bool:
    return keeps_on_error(g.get("failure"))
