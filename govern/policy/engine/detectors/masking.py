"""Masked previews of matched text, safe for audit events, logs and the console (never the raw value)."""

from __future__ import annotations

import string
from typing import Iterable

_SHOWN_AS_IS = ("CONFIDENTIAL_MARKER", "BRAND_TERM", "EMBARGO", "CUSTOM")


_STARRED = str.maketrans({char: "*" for char in string.ascii_letters + string.digits})


def _mask_digits(text: str, keep_head: int, keep_tail: int) -> str:
    """`text` with its letters and digits starred, but for the first `keep_head` and the last `keep_tail` of them."""
    if text.isascii():  # letters and digits are isalnum() there: the middle is starred by one translate
        if sum(map(str.isalnum, text)) <= keep_head + keep_tail:
            return text
        first, kept = 0, 0
        while kept < keep_head:
            kept += text[first].isalnum()
            first += 1
        last, kept = len(text), 0
        while kept < keep_tail:
            last -= 1
            kept += text[last].isalnum()
        return text[:first] + text[first:last].translate(_STARRED) + text[last:]
    positions = [i for i, ch in enumerate(text) if ch.isdigit() or ch.isalpha()]
    chars = list(text)
    for index in positions[keep_head:len(positions) - keep_tail] if keep_tail else positions[keep_head:]:
        chars[index] = "*"
    return "".join(chars)


def mask_preview(entity: str, matched: str, kind: str | None = None) -> str:
    """A preview of `matched` that identifies it to a reviewer without disclosing it.

    Cards keep the first and last four digits ("4111 **** **** 1111"), IBANs the country, check digits and
    the last four, phone and identity numbers the last two, e-mails the first letter and the domain,
    secrets only their kind and the first four characters, codenames the first letter.
    """
    if entity == "PAYMENT_CARD":
        return _mask_digits(matched, 4, 4)
    if entity == "IBAN":
        return _mask_digits(matched, 4, 4)
    if entity in ("PHONE_NUMBER", "NATIONAL_ID", "PASSPORT"):
        return _mask_digits(matched, 0, 2)
    if entity == "EMAIL_ADDRESS":
        local, _, domain = matched.rpartition("@")
        return (local[:1] + "***@" + domain) if local else "***"
    if entity == "SECRET":
        if kind == "private_key":
            return "[private key block]"
        return f"{matched[:4]}… [{kind or 'secret'}, {len(matched)} chars]"
    if entity == "CODENAME":
        return matched[:1] + "*" * max(0, len(matched) - 1)
    if entity in _SHOWN_AS_IS:
        return matched if len(matched) <= 64 else matched[:63] + "…"
    return ""


def redact(text: str, spans: Iterable[tuple[int, int, str, str | None]]) -> str:
    """`text` with each (start, end, entity, kind) span replaced by its masked preview (for audit copies)."""
    pieces, cursor = [], 0
    for start, end, entity, kind in sorted(spans):
        if start < cursor:
            continue  # overlapping findings: the first one already covers this text
        pieces.append(text[cursor:start])
        preview = mask_preview(entity, text[start:end], kind)
        pieces.append(preview if entity not in _SHOWN_AS_IS else text[start:end])
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
