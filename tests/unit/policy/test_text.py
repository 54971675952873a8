"""Normalisation: what is folded, and that every offset maps back to the original text."""

from __future__ import annotations

import random

import pytest

from govern.policy.confusables import skeleton
from govern.policy.engine.text import fold_term, normalize


@pytest.mark.parametrize(("original", "folded"), [
    ("١٢٣٤٥٦٧٨٩٠", "1234567890"),
    ("۱۲۳۴۵۶۷۸۹۰", "1234567890"),
    ("\u200fرقم\u200e \u202bالهوية\u202c", "رقم الهويه"),
    ("كتـــاب", "كتاب"),
    ("مُحَمَّد", "محمد"),
    ("שָׁלוֹם", "שלום"),
    ("ѕесrеt", "secret"),
    ("ТОР ЅЕСRЕТ", "top secret"),
    ("ｓｅｃｒｅｔ", "secret"),
    ("Straße", "strasse"),
    ("se\u200bcr\u200det", "secret"),
])
def test_folds(original: str, folded: str) -> None:
    assert normalize(original).text == folded


def test_ascii_stays_distinct_for_numbers() -> None:
    # 0/O and 1/l are TR39-confusable, but folding them would break every number detector.
    assert normalize("O0 l1").text == "o0 l1"


def test_arabic_and_hebrew_letters_are_not_folded_to_latin() -> None:
    assert normalize("ا و ס").text == "ا و ס"


_ALPHABET = ("abcXYZ019 .-@" "١٢٣۴۵" "\u200e\u200f\u202a\u202c\u2066\u2069\u200b\u200d\ufeff\ufe0f" "ـ" "\u064e\u0651\u0652"
             "\u05b7\u05bc\u05c1" "שלוםالهوية" "ѕесrеtΑΒ" "ßﬁﷺ㎏" "😀👍🏽")


_CLITIC_CHARS = "והבלמשכ־-وفبلك"


def _without_clitics(text: str) -> str:
    return "".join(c for c in text if c != " " and c not in _CLITIC_CHARS)


def test_offsets_map_back_for_random_strings() -> None:
    """Property: every normalised character comes from the original character its offset points at."""
    rng = random.Random(5)
    for _ in range(3000):
        original = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 40)))
        norm = normalize(original)
        for index, char in enumerate(norm.text):
            origin = norm.to_original(index)
            assert 0 <= origin < len(original)
            # a clitic prefix glued to a value is blanked to a space of its own length
            blanked = char == " " and original[origin] in _CLITIC_CHARS
            assert blanked or char in normalize(original[origin]).text, (original, index)
        # whole-text span covers exactly the characters that produced output
        if norm.text:
            start, end = norm.span(0, len(norm.text))
            assert normalize(original[start:end]).text == norm.text
        # any sub-span maps to the smallest original slice that produced it (an expanded ligature is whole)
        if len(norm.text) > 2:
            a = rng.randrange(len(norm.text) - 1)
            b = rng.randrange(a + 1, len(norm.text) + 1)
            s, e = norm.span(a, b)
            produced = normalize(original[s:e]).text
            # a slice may cut a clitic off the value it was glued to: compare with clitics and their blanks left out
            assert _without_clitics(norm.text[a:b]) in _without_clitics(produced), (original, a, b)
            assert len(produced) <= (b - a) + 2 * 18, (original, a, b)  # at most the two edge expansions extra


def test_offsets_of_a_saudi_id_in_arabic_digits_point_at_the_digits() -> None:
    original = "\u200fرقم الهوية: \u200e١٠٢٣٤٥٦٧٨١\u200e"
    norm = normalize(original)
    at = norm.text.index("1023456781")
    start, end = norm.span(at, at + 10)
    assert original[start:end] == "١٠٢٣٤٥٦٧٨١"


def test_fold_term_collapses_whitespace() -> None:
    assert fold_term("  Project   FALCON ") == "project falcon"


def test_skeleton_equates_lookalikes_only() -> None:
    assert skeleton("pаypal") == skeleton("paypal")  # Cyrillic а
    assert skeleton("acme_support") == skeleton("acrne_support")  # m ~ rn
    assert skeleton("l1I") == skeleton("lll")
    assert skeleton("acme") != skeleton("acne")
    assert skeleton("a\u200bcme") == skeleton("acme")


@pytest.mark.parametrize(("original", "value"), [
    ("אפשר ליצור קשר ב-050 154 0846", "050 154 0846"),
    ("ב-IL88 6674 8793 1076 5290 246", "il88 6674 8793 1076 5290 246"),
    ("ב-dana@example.com", "dana@example.com"),
    ("וב־2024", "2024"),
    ("מה-1 בינואר", "1 בינואר"),
    ("و2024", "2024"),
    ("بـ+966 11 555 0100", "+966 11 555 0100"),
    ("התקשרו ל-(03) 555-0100", "(03) 555-0100"),
])
def test_clitic_prefixes_before_a_value_are_blanked_in_place(original: str, value: str) -> None:
    norm = normalize(original)
    assert len(norm.text) == len(normalize(original.replace("\u200f", "")).text)
    at = norm.text.index(value)
    assert norm.text[:at].rstrip() == normalize(original).text[:at].rstrip()  # what precedes is untouched or blank
    assert norm.text[at - 1] == " "
    start, end = norm.span(at, at + len(value))
    assert normalize(original[start:end]).text == value


@pytest.mark.parametrize("original", ["שלום 2024", "מילה-2024", "بيت 2024", "הבית", "سلام"])
def test_words_that_merely_start_with_a_clitic_letter_are_kept(original: str) -> None:
    assert normalize(original).text == original
