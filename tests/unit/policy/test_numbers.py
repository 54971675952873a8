"""Issue 13 for the number-shaped entities: dates are not phones, certain structures found without context words,
clitic prefixes left out of the finding, and how sure each finding is."""

from __future__ import annotations

import pytest

from govern.policy.engine.detectors.base import quantity_spans
from govern.policy.engine.detectors.contact import _possible_number
from govern.policy.engine.evaluation import PolicyContext, evaluate


def found(compiled, text, **context):
    decision = evaluate(compiled, text, account=PolicyContext(**context) if context else None)
    return [(f.entity, f.kind, text[f.start:f.end], f.certainty) for f in decision.findings]


# --- dates, times, versions and prices are not phone numbers or IDs ------------------------------------------------

@pytest.mark.parametrize("text", [
    "Kickoff on 01.01.2020 in Berlin",
    "02.10.2019",
    "Save the date 05-01-2022 · 14:45 GST · Haifa",
    "orders placed after 02-06-2023 9:15am arrive after the holidays",
    "عروض العيد تبدأ ٠٦-١٠-٢٠٢٢",
    "موعد التوصيل المتوقع ۰۳.۱۲.۲۰۲۳",
    "ورشة التسويق الرقمي يوم 20250925 من الساعة 19:30",
    "ورشة التسويق الرقمي يوم 2026-03-19 من 9:30–11:30",
    "קוד הקופון WELCOME10 בתוקף עד 04-01-2022",
    "הכנס ב-01.01.2020 בתל אביב",
    "call us on 01.01.2020",          # a context word does not make a date a phone number
    "v8.13.10 and 10.15.7.1234",
    "now ₪1,299.00 instead of ₪1 499",
    "جوال ١٤٤٦.٠٥.١٢",                 # a Hijri date
])
def test_dates_times_versions_and_prices_are_not_numbers_to_report(compiled, text) -> None:
    assert found(compiled, text) == []


def test_quantity_spans() -> None:
    text = "on 01.01.2020 at 9:15, v2.14.3 for $1,299.00; build 20240115.1203; call 050.154.0846"
    spans = [text[a:b] for a, b in quantity_spans(text)]
    assert spans == ["01.01.2020", "9:15", "v2.14.3", "$1,299.00", "20240115"]


def test_an_ssn_with_dots_is_an_ssn_not_a_uae_phone(compiled) -> None:
    assert found(compiled, "My SSN is 078.05.1123") == [("NATIONAL_ID", "us_ssn", "078.05.1123", "certain")]
    # without a context word the grouping alone makes it likely, not certain (it asks for approval)
    assert found(compiled, "078 05 1123") == [("NATIONAL_ID", "us_ssn", "078 05 1123", "likely")]


@pytest.mark.parametrize("text", ["078051120", "0780511201", "078-05-0000", "078 00 1123"])
def test_a_national_number_without_context_is_not_a_phone_in_an_english_post(compiled, text) -> None:
    assert found(compiled, text) == []


def test_the_account_country_or_the_script_suggests_the_region(compiled) -> None:
    assert found(compiled, "050 123 4567", country="AE") == [("PHONE_NUMBER", "ae", "050 123 4567", "certain")]
    assert found(compiled, "הזמינו עכשיו 054-5550199") == [("PHONE_NUMBER", "il", "054-5550199", "certain")]
    assert found(compiled, "054-5550199") == []


def test_a_number_right_after_a_reference_word_is_a_reference(compiled) -> None:
    assert found(compiled, "הזמנה 0501234567 נשלחה") == []
    assert found(compiled, "رقم الطلب: 0501234567 تم الشحن") == []
    assert found(compiled, "tracking: 212-555-0147") == []
    # whole words only, and a phone word before it still makes it a phone number
    assert found(compiled, "please refer to 054-5550199 שלום") == [("PHONE_NUMBER", "il", "054-5550199", "certain")]
    assert [f[0] for f in found(compiled, "call about order 0501234567")] == ["PHONE_NUMBER"]


def test_a_dotted_north_american_number_is_not_a_version(compiled) -> None:
    assert found(compiled, "call 415.555.1234 today") == [("PHONE_NUMBER", "us", "415.555.1234", "certain")]
    assert found(compiled, "Chrome 120.0.6099 is out") == []


def test_a_phone_number_needs_its_own_context_word(compiled) -> None:
    assert found(compiled, "My Israeli number is 09-7625400") == [("PHONE_NUMBER", "il", "09-7625400", "certain")]
    assert found(compiled, "my credit card number is 36168002586008") == []  # fails Luhn; not a phone either


# --- recall where the structure is certain ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("4800-5953-1029-0575", [("PAYMENT_CARD", "visa", "4800-5953-1029-0575", "certain")]),
    ("375120975830129", [("PAYMENT_CARD", "amex", "375120975830129", "certain")]),
    ("٥٣٢٣-٤٩٧٤-٧٤٧٢-٤٥٤٦", [("PAYMENT_CARD", "mastercard", "٥٣٢٣-٤٩٧٤-٧٤٧٢-٤٥٤٦", "certain")]),
    ("122000000000003", [("PAYMENT_CARD", "uatp", "122000000000003", "likely")]),  # a one-digit IIN
    ("my credit card: 122000000000003", [("PAYMENT_CARD", "uatp", "122000000000003", "certain")]),
    ("4012888888881881 4012-8888-8888-1881 4012 8888 8888 1881", [
        ("PAYMENT_CARD", "visa", "4012888888881881", "certain"),
        ("PAYMENT_CARD", "visa", "4012-8888-8888-1881", "certain"),
        ("PAYMENT_CARD", "visa", "4012 8888 8888 1881", "certain"),
    ]),
    ("IBAN GB82WEST12345698765432 4111111111111111", [
        ("IBAN", "gb", "GB82WEST12345698765432", "certain"),
        ("PAYMENT_CARD", "visa", "4111111111111111", "certain"),
    ]),
    ("order 12345 4111111111111111", [("PAYMENT_CARD", "visa", "4111111111111111", "certain")]),
    ("IBAN DE89 3704 0044 0532 0130 00 4111111111111111", [
        ("IBAN", "de", "DE89 3704 0044 0532 0130 00", "certain"),
        ("PAYMENT_CARD", "visa", "4111111111111111", "certain"),
    ]),
    # a mistyped IBAN, then words: the card after them is not the IBAN's tail
    ("IBAN SA36 4121 3962 4888 1050 2620 paid with 379044052637890", [
        ("PAYMENT_CARD", "amex", "379044052637890", "certain"),
    ]),
    ("الرقم القومي 30407198892661 800,342,225 views", [
        ("NATIONAL_ID", "eg_national_id", "30407198892661", "certain"),
    ]),
    ("IBAN SA03 8000 0000 6080 1016 7519 4111111111111111", [
        ("IBAN", "sa", "SA03 8000 0000 6080 1016 7519", "certain"),
        ("PAYMENT_CARD", "visa", "4111111111111111", "certain"),
    ]),
    ("NO 02 15037577003", [("IBAN", "no", "NO 02 15037577003", "certain")]),
    ("MK072 5012 0000 0589 84", [("IBAN", "mk", "MK072 5012 0000 0589 84", "certain")]),
    ("BE68539007547034", [("IBAN", "be", "BE68539007547034", "certain")]),
    ("784-1982-9766687-1", [("NATIONAL_ID", "ae_emirates_id", "784-1982-9766687-1", "certain")]),
    ("784198297666871", [("NATIONAL_ID", "ae_emirates_id", "784198297666871", "certain")]),
    ("3933742-3", [("NATIONAL_ID", "il_teudat_zehut", "3933742-3", "likely")]),
    ('ת"ז 39337423', [("NATIONAL_ID", "il_teudat_zehut", "39337423", "certain")]),
    ('ת"ז 3933742-3', [("NATIONAL_ID", "il_teudat_zehut", "3933742-3", "certain")]),
])
def test_certain_structures_are_found_without_context_words(compiled, text, expected) -> None:
    assert found(compiled, text) == expected


@pytest.mark.parametrize("text", [
    "NO 02 15037577004",           # mod-97 fails
    "at 10 am and then 1234 5678",  # a country code and digits, nothing more
    "3933742-2",                   # bad check digit
    "784-2982-9766687-9",          # Luhn holds, but born in 2982
    "39337423",                    # 8 bare digits without a word: an order number as often as an ID
    "order 4111 1111 1111 1112",
    "IBAN GB28 PANP 0632 1938 5292 68 تابعونا",  # a bad IBAN: no phone number inside it either
])
def test_near_misses_are_not_reported(compiled, text) -> None:
    assert found(compiled, text) == []


# --- clitic prefixes ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "entity", "value"), [
    ("אפשר ליצור קשר ב-050 154 0846", "PHONE_NUMBER", "050 154 0846"),
    ("ב-IL88 6674 8793 1076 5290 246", "IBAN", "IL88 6674 8793 1076 5290 246"),
    ("ב-dana@example.com", "EMAIL_ADDRESS", "dana@example.com"),
    ("כתבו ל־dana@example.com", "EMAIL_ADDRESS", "dana@example.com"),
    ("וב-+972-54-555-0199", "PHONE_NUMBER", "+972-54-555-0199"),
    ("حوّل إلى وSA03 8000 0000 6080 1016 7519", "IBAN", "SA03 8000 0000 6080 1016 7519"),
    ("راسلونا ب-dana@example.com", "EMAIL_ADDRESS", "dana@example.com"),
])
def test_findings_point_at_the_value_after_a_clitic_prefix(compiled, text, entity, value) -> None:
    assert [(e, span) for e, _, span, _ in found(compiled, text)] == [(entity, value)]


def test_a_phone_in_an_unlisted_range_with_a_context_word_is_likely(compiled) -> None:
    # 050-15x is not (yet) an allocated range in phonenumbers' metadata; the context word and the trunk prefix
    # still make it likely a phone number.
    assert found(compiled, "אפשר ליצור קשר ב-050 154 0846") == [("PHONE_NUMBER", "il", "050 154 0846", "likely")]
    assert _possible_number("050 154 0846", ("IL",), 0, 12).certainty == "likely"
    assert _possible_number("050 111 1111", ("IL",), 0, 12) is None  # a placeholder


_DIGITS = {"ascii": "0123456789", "arabic-indic": "٠١٢٣٤٥٦٧٨٩", "persian": "۰۱۲۳۴۵۶۷۸۹"}


def _dates(rng):
    import datetime as dt

    day = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(3000))
    d, m, y = day.day, day.month, day.year
    return [f"{d:02}.{m:02}.{y}", f"{d:02}-{m:02}-{y}", f"{d:02}/{m:02}/{y}", f"{d}.{m}.{y}", f"{y}-{m:02}-{d:02}",
            f"{y}{m:02}{d:02}", f"{m:02}/{d:02}/{y % 100:02}", f"{d:02}.{m:02}.{y % 100:02}", f"{y}.{m:02}.{d:02}"]


@pytest.mark.parametrize("system", list(_DIGITS))
def test_no_date_in_any_format_or_digit_system_is_a_phone_or_an_id(compiled, system) -> None:
    """Property over many dates: in en/ar/he sentences, even after a phone or ID word, a date is never reported."""
    import random

    rng = random.Random(13)
    table = str.maketrans("0123456789", _DIGITS[system])
    frames = ("Kickoff on {} in Berlin", "call us on {} at 10:00", "ID day: {}", "الموعد {} في دبي", "اتصل بنا يوم {}",
              "נפגשים ב-{} בתל אביב", "טלפון: {}", "הכנס ב{}")
    for _ in range(25):
        for date in _dates(rng):
            for frame in frames:
                text = frame.format(date.translate(table))
                assert found(compiled, text, country="IL") == [], text
                assert found(compiled, text) == [], text
