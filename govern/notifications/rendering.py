"""What a delivery says, in its reader's language: the e-mail (text and HTML parts) and each webhook kind's payload."""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask import render_template
from flask_babel import force_locale, gettext

from govern.errors import N_
from govern.locales import RTL_LOCALES, SUPPORTED_LOCALES
from govern.notifications.models import Delivery, WebhookKind

# A headline per kind of notification, translated; a kind not listed here gets the generic one.
HEADLINES = {
    "connection_needs_reconnect": N_("An account you own must be reconnected"),
    "policy_violation": N_("A post breaks a policy"),
    "post_failed": N_("A post could not be published"),
    "post_awaiting_approval": N_("A post waits for your approval"),
    "access_review_requested": N_("An access review needs you"),
    "access_review_reminder": N_("Reminder: an access review waits for you"),
    "access_review_reassigned": N_("An access review item was given to you"),
    "access_review_escalated": N_("An access review was escalated"),
    "access_review_held": N_("An access review is held"),
    "access_review_unassigned": N_("An access review has items nobody can review"),
}
GENERIC_HEADLINE = N_("govern has something to tell you")


def locale_of(value: str | None, default: str = "en") -> str:
    return value if value in SUPPORTED_LOCALES else (default if default in SUPPORTED_LOCALES else "en")


@dataclass(frozen=True)
class Rendered:
    locale: str
    headline: str
    body: str  # the message, translated when it is one of govern's own sentences
    about: str

    @property
    def direction(self) -> str:
        return "rtl" if self.locale in RTL_LOCALES else "ltr"


def _params(details: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in details.items() if isinstance(value, (str, int, float))}


def render(delivery: Delivery) -> Rendered:
    """Headline and body in the delivery's language. The message is an English message id (with %(name)s
    placeholders filled from the details); a sentence govern has no translation for is shown as it was written."""
    locale = locale_of(delivery.locale)
    with force_locale(locale):
        headline = gettext(HEADLINES.get(delivery.kind, GENERIC_HEADLINE))
        try:
            body = gettext(delivery.message, **_params(delivery.details or {}))
        except (KeyError, ValueError, TypeError):  # a % in a sentence written outside govern's catalogue
            body = delivery.message
        about = gettext("About: %(type)s %(id)s", type=delivery.subject_type, id=delivery.subject_id)
    return Rendered(locale, headline, body, about)


def email(delivery: Delivery, sender: str, base_url: str) -> EmailMessage:
    """A multipart/alternative message: a text part and an HTML part with lang and dir set for the reader."""
    rendered = render(delivery)
    with force_locale(rendered.locale):
        context = {"r": rendered, "base_url": base_url, "delivery": delivery}
        text = render_template("notifications/email.txt", **context)
        html = render_template("notifications/email.html", **context)
        subject = gettext("[govern] %(headline)s", headline=rendered.headline)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = delivery.address or ""
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(idstring=f"govern-delivery-{delivery.id}")
    message["Auto-Submitted"] = "auto-generated"
    message["X-Govern-Delivery"] = str(delivery.id)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = rendered.locale  # after the parts: setting content clears Content-* headers
    return message


def webhook_body(delivery: Delivery, kind: WebhookKind, base_url: str) -> bytes:
    """The raw body posted to an endpoint of this kind (the signature is computed over exactly these bytes)."""
    rendered = render(delivery)
    text = f"{rendered.headline}\n{rendered.body}"
    if kind is WebhookKind.SLACK:
        payload: dict[str, Any] = {"text": text, "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": rendered.headline[:150]}},
            {"type": "section", "text": {"type": "plain_text", "text": rendered.body[:3000]}},
            {"type": "context", "elements": [{"type": "plain_text", "text": rendered.about[:300]}]},
        ]}
    elif kind is WebhookKind.TEAMS:
        payload = {"type": "message", "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                "version": "1.4", "rtl": rendered.direction == "rtl", "msteams": {"width": "Full"},
                "body": [
                    {"type": "TextBlock", "text": rendered.headline, "weight": "Bolder", "size": "Medium", "wrap": True},
                    {"type": "TextBlock", "text": rendered.body, "wrap": True},
                    {"type": "TextBlock", "text": rendered.about, "isSubtle": True, "wrap": True},
                ],
                "actions": [{"type": "Action.OpenUrl", "title": "govern", "url": base_url}],
            }}]}
    else:
        payload = {"delivery_id": delivery.id, "notification_id": delivery.notification_id, "kind": delivery.kind,
                   "subject": {"type": delivery.subject_type, "id": delivery.subject_id}, "locale": rendered.locale,
                   "headline": rendered.headline, "text": rendered.body, "message": delivery.message,
                   "details": delivery.details or {}, "created_at": delivery.created_at.isoformat()}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode()
