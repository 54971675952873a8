"""Built-in detectors through the engine: positives with their kinds, and the hard negatives."""

from __future__ import annotations

import pytest

from govern.policy.engine.detectors import mask_preview, redact
from govern.policy.engine.detectors.financial import card_brand
from govern.policy.engine.detectors.identity import valid_egyptian_id, valid_emirates_id, valid_saudi_id
from govern.policy.engine.evaluation import PolicyContext, evaluate


def found(compiled, text, **context):
    decision = evaluate(compiled, text, account=PolicyContext(**context) if context else None)
    return [(f.entity, f.kind, text[f.start:f.end]) for f in decision.findings]


@pytest.mark.parametrize(("text", "expected"), [
    ("write to dana.levi@gmail.com today", ("EMAIL_ADDRESS", None, "dana.levi@gmail.com")),
    ("call +972-54-555-0199 now", ("PHONE_NUMBER", "il", "+972-54-555-0199")),
    ("جوال 055 123 4567", ("PHONE_NUMBER", "sa", "055 123 4567")),
    ("office (212) 555-0147", ("PHONE_NUMBER", "us", "(212) 555-0147")),
    ("call 020 7946 0958", ("PHONE_NUMBER", "gb", "020 7946 0958")),
    ("هاتف +20 2 2555 0199", ("PHONE_NUMBER", "eg", "+20 2 2555 0199")),
    ("card 4111 1111 1111 1111", ("PAYMENT_CARD", "visa", "4111 1111 1111 1111")),
    ("mc 2221-0000-0000-0009.", ("PAYMENT_CARD", "mastercard", "2221-0000-0000-0009")),
    ("amex 3782 822463 10005", ("PAYMENT_CARD", "amex", "3782 822463 10005")),
    ("IBAN SA03 8000 0000 6080 1016 7519 please", ("IBAN", "sa", "SA03 8000 0000 6080 1016 7519")),
    ("iban gb82west12345698765432", ("IBAN", "gb", "gb82west12345698765432")),
    ("رقم الهوية ١٠٢٣٤٥٦٧٨١", ("NATIONAL_ID", "sa_national_id", "١٠٢٣٤٥٦٧٨١")),
    ("رقم الإقامة 2109876546", ("NATIONAL_ID", "sa_national_id", "2109876546")),
    ('ת"ז 039337423', ("NATIONAL_ID", "il_teudat_zehut", "039337423")),
    ("תעודת זהות: 123456782", ("NATIONAL_ID", "il_teudat_zehut", "123456782")),
    ("Emirates ID 784-1985-0123456-5", ("NATIONAL_ID", "ae_emirates_id", "784-1985-0123456-5")),
    ("الرقم القومي 29001011234567", ("NATIONAL_ID", "eg_national_id", "29001011234567")),
    ("SSN 536-90-4399", ("NATIONAL_ID", "us_ssn", "536-90-4399")),
    ("passport no. X4829175", ("PASSPORT", None, "x4829175".upper())),
    ("key AKIAKQDHC3SNEX6IBHGJ", ("SECRET", "aws_access_key_id", "AKIAKQDHC3SNEX6IBHGJ")),
    ("t glpat-Ab3dEf6hIj9kLm2nOp5q", ("SECRET", "gitlab_token", "glpat-Ab3dEf6hIj9kLm2nOp5q")),
    ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", ("SECRET", "stripe_key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc")),
    ("AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", ("SECRET", "google_api_key", "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI")),
])
def test_detects(compiled, text, expected) -> None:
    assert expected in [(e, k, s if e != "PASSPORT" else s.upper()) for e, k, s in found(compiled, text)]


def test_private_key_block_spans_to_its_end(compiled) -> None:
    text = "oops -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY----- bye"
    [(entity, kind, span)] = found(compiled, text)
    assert (entity, kind) == ("SECRET", "private_key") and span.endswith("PRIVATE KEY-----") and "b3Bl" in span


def test_jwt_needs_a_json_header(compiled) -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    assert found(compiled, f"token {jwt}") == [("SECRET", "jwt", jwt)]
    assert found(compiled, "token eyJub3Rqc29uLWF0LWFsbA.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmN") == []


@pytest.mark.parametrize("text", [
    "posted at 1700000000",                      # a Unix timestamp is not a Saudi ID or a phone
    "order 1023456781 shipped",                  # a Luhn-valid Saudi-ID shape without context
    "order 4111 1111 1111 1112",                 # fails Luhn
    "IBAN GB82WEST12345698765433",               # bad mod-97
    "IBAN DE90 0727 8076 1688 9455 26",          # bad checksum, and no phone inside it either
    "version 10.15.7.1234 and v2.14.3",
    "INV-2024-0012345 and order #4829301756",
    "build 20240115.1203",
    "2024-01-15T10:30:00Z",
    "1,234,567 views",
    "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",    # a placeholder token
    "ssn 123-45-6789",                           # the advertised specimen
    "passport photos from 9 to 5",
    "ref 7920962023 then phone: 02 234 6481",    # context belongs to the number after it
])
def test_hard_negatives(compiled, text) -> None:
    assert [f for f in found(compiled, text) if f[0] != "PHONE_NUMBER" or "02 234 6481" not in f[2]] == []


def test_phone_region_order_follows_the_account_country(compiled) -> None:
    # 050 123 4567 is a valid mobile number in both the UAE and Saudi Arabia; the account decides.
    assert found(compiled, "050 123 4567", country="AE") == [("PHONE_NUMBER", "ae", "050 123 4567")]
    assert found(compiled, "جوال 050 123 4567") == [("PHONE_NUMBER", "sa", "050 123 4567")]


def test_validators() -> None:
    assert card_brand("2720990000000000") == "mastercard" and card_brand("2721000000000000") is None
    assert valid_saudi_id("1023456781") and not valid_saudi_id("1023456782") and not valid_saudi_id("3023456781")
    assert valid_emirates_id("784198501234565") and not valid_emirates_id("784198501234566")
    assert valid_egyptian_id("29001011234567")
    assert not valid_egyptian_id("29013011234567")  # month 13
    assert not valid_egyptian_id("29001019934567")  # governorate 99


def test_masking_never_shows_the_value() -> None:
    assert mask_preview("PAYMENT_CARD", "4111 1111 1111 1111") == "4111 **** **** 1111"
    assert mask_preview("NATIONAL_ID", "1023456781") == "********81"
    assert "ghp_8fJ2kL9mN3pQ7rS1tU5vW0xY4zA6bC2dE8fG"[4:] not in mask_preview(
        "SECRET", "ghp_8fJ2kL9mN3pQ7rS1tU5vW0xY4zA6bC2dE8fG", "github_token")
    assert mask_preview("EMAIL_ADDRESS", "dana@gmail.com") == "d***@gmail.com"
    text = "id 1023456781 ok"
    assert redact(text, [(3, 13, "NATIONAL_ID", "sa_national_id")]) == "id ********81 ok"
