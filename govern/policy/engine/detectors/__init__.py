"""The built-in detectors, by entity name; lexicon entities (markers, codenames, brand terms) come from packs."""

from __future__ import annotations

from govern.policy.engine.detectors import contact, financial, identity, secrets
from govern.policy.engine.detectors.base import Hit, PatternDetector, Scan
from govern.policy.engine.detectors.contact import canonical_phone, phone_regions
from govern.policy.engine.detectors.masking import mask_preview, redact

# Phone numbers last: a phone-shaped run inside a card, IBAN, ID or secret found before it is not parsed again.
BUILTIN: tuple[PatternDetector, ...] = financial.DETECTORS + identity.DETECTORS + secrets.DETECTORS + contact.DETECTORS

PATTERN_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "PAYMENT_CARD", "IBAN", "NATIONAL_ID", "PASSPORT", "SECRET")
# Found by the packs' lexicons and terms through the engine's one automaton.
LEXICON_ENTITIES = ("CONFIDENTIAL_MARKER", "CODENAME", "EMBARGO", "BRAND_TERM", "CUSTOM")
# Reported by govern.policy.images for attached images; rules match them like any other detection.
MEDIA_ENTITIES = ("IMAGE_PROTECTED", "IMAGE_EXIF_COPYRIGHT", "IMAGE_GPS", "REPOST_UNATTRIBUTED")
ENTITIES = PATTERN_ENTITIES + LEXICON_ENTITIES + MEDIA_ENTITIES

# When two detections overlap, the more specific one stands (an Israeli ID is also a valid landline).
# National IDs need context words (or their own format), so they win over a card number of the same length.
PRIORITY = {"SECRET": 0, "NATIONAL_ID": 1, "IBAN": 2, "PAYMENT_CARD": 3, "PASSPORT": 4, "EMAIL_ADDRESS": 5,
            "PHONE_NUMBER": 6}

KINDS = {
    "NATIONAL_ID": identity.NATIONAL_ID.kinds,
    "SECRET": tuple(kind for detector in secrets.DETECTORS for kind in detector.kinds),
}

__all__ = ["BUILTIN", "ENTITIES", "Hit", "KINDS", "PRIORITY", "PatternDetector", "Scan", "canonical_phone",
           "mask_preview", "phone_regions", "redact"]
