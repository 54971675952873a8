"""Sending e-mail over SMTP: bounded waits, STARTTLS with a verified certificate, and a password that stays a SecretValue."""

from __future__ import annotations

import base64
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from govern.secret_value import SecretValue


class MailError(RuntimeError):
    """The mail server could not be reached or did not accept the message; the text never holds the password."""

    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent  # the server refused this message for good (5xx on the recipient or the content)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    username: str
    timeout_seconds: float
    ca_file: str = ""

    def __repr__(self) -> str:
        return f"SmtpSettings(host={self.host!r}, port={self.port}, starttls={self.starttls}, username={self.username!r})"


def _tls_context(ca_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def send(settings: SmtpSettings, message: EmailMessage, password: SecretValue | None) -> None:
    """Hand one message to the mail server. Every wait (connect, each reply) is bounded by the timeout, so a worker is
    never held by a server that stopped answering. Raises MailError with the server's status, never the password."""
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds) as smtp:
            smtp.ehlo()
            if settings.starttls:
                smtp.starttls(context=_tls_context(settings.ca_file))
                smtp.ehlo()
            if settings.username:
                if password is None:
                    raise MailError("no SMTP password in the secret store", permanent=False)
                _login(smtp, settings.username, password)
            smtp.send_message(message)
    except MailError:
        raise
    except smtplib.SMTPRecipientsRefused as error:
        codes = sorted({code for code, _ in error.recipients.values()})
        raise MailError(f"SMTPRecipientsRefused: {codes}", permanent=all(code >= 500 for code in codes)) from None
    except smtplib.SMTPResponseException as error:  # a 530 "STARTTLS first" or a 554 is the setup's fault: retried
        raise MailError(f"{type(error).__name__}: {error.smtp_code}") from None
    except (OSError, smtplib.SMTPException) as error:  # refused, unreachable, timed out, TLS failed, disconnected
        raise MailError(f"{type(error).__name__}: {getattr(error, 'strerror', None) or 'no answer'}") from None


def _login(smtp: smtplib.SMTP, username: str, password: SecretValue) -> None:
    """smtplib sends AUTH in ASCII only; a password with other characters goes as UTF-8 AUTH PLAIN (RFC 4616)."""
    if password.reveal().isascii() and username.isascii():
        smtp.login(username, password.reveal())
        return
    smtp.ehlo_or_helo_if_needed()
    if "plain" not in smtp.esmtp_features.get("auth", "").lower().split():
        raise MailError("the mail server does not offer AUTH PLAIN, needed for a non-ASCII password")
    token = base64.b64encode(b"\0" + username.encode() + b"\0" + password.reveal().encode()).decode()
    code, _reply = smtp.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise MailError(f"SMTPAuthenticationError: {code}")
