"""Domain errors that services raise; the web layer maps each to a problem+json status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class DomainError(Exception):
    """A service's refusal. `template` is an English sentence with `%(name)s` placeholders, and is the translation
    catalog's msgid (the console words it in the reader's language); `params` fill it; `detail` is the English text
    (the API's problem+json `detail`, logs, the CLI). `code` is stable for clients: given, or the error's kind."""

    status = 400
    title = "Bad request"
    keeps_audit = False  # True when the audit event of a failed attempt must be committed anyway
    message_argument = 1  # which positional argument is the template (the extractor's keyword spec); 0: the class
    # words itself from its own arguments, with templates marked N_()
    shown_to_people = True  # False for protocol errors only machines read (SCIM): kept out of the catalogs

    def __init__(self, template: str, /, *, code: str | None = None, **params: Any) -> None:
        detail = template % params if params else template
        super().__init__(detail)
        self.template = template
        self.params = params
        self.detail = detail
        self.code = code or self.kind()

    def worded(self, translate: Callable[[str], str]) -> str:
        """The refusal in a reader's language: `translate` is a gettext; an untranslated template reads as English."""
        return translate(self.template) % self.params if self.params else translate(self.template)

    @classmethod
    def kind(cls) -> str:
        return _snake_case(cls.__name__)

    def problem_members(self) -> dict[str, Any]:
        """Extra members for the problem+json document (e.g. a policy decision's findings)."""
        return {}


def N_(template: str) -> str:  # noqa: N802 (gettext's name for "a msgid, translated later")
    """Mark a refusal template kept in a table, so the message extractor finds it."""
    return template


def _snake_case(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() and i else ch.lower() for i, ch in enumerate(name))


def refusal_classes() -> list[type[DomainError]]:
    """Every DomainError class loaded so far (import the app first to see them all): the message extractor's keywords."""
    seen: list[type[DomainError]] = []
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        seen.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(set(seen), key=lambda cls: cls.__name__)


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

    def __init__(self, template: str, retry_after: int, /, **params: Any) -> None:
        super().__init__(template, **params)
        self.retry_after = max(1, int(retry_after))


def extraction_keywords() -> dict[str, tuple[int]]:
    """The message extractor's keywords for refusals a person reads: class name -> the template's argument position
    (`make messages` passes them to pybabel; a test extracts with them)."""
    return {cls.__name__: (cls.message_argument,) for cls in refusal_classes()
            if cls.shown_to_people and cls.message_argument}
