"""A labelled, seeded corpus of en/ar/he posts with planted entities and hard negatives, and its scorer.

Span match rule (documented for the scorer): a prediction is a true positive when it has the same entity
as a gold span that it overlaps with a Jaccard index (intersection / union of code points) of at least 0.5;
each gold span and each prediction is matched at most once. Unmatched predictions are false positives,
unmatched gold spans false negatives. Offsets are code points of the original text.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections import defaultdict
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn

SCORED_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "PAYMENT_CARD", "IBAN", "NATIONAL_ID", "PASSPORT", "SECRET",
                   "CONFIDENTIAL_MARKER", "CODENAME")
EASTERN_ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
LRM, RLM = "\u200e", "\u200f"


@dataclass(frozen=True)
class Planted:
    entity: str
    start: int
    end: int
    kind: str | None = None


@dataclass(frozen=True)
class Post:
    id: str
    language: str
    text: str
    entities: tuple[Planted, ...]


FILLER = {
    "en": ["Thanks to everyone who joined us today!", "Our team is growing.", "Have a great weekend.",
           "New features are rolling out this week.", "We love hearing from you.", "Stay tuned for more."],
    "ar": ["شكراً لكل من انضم إلينا اليوم!", "فريقنا ينمو باستمرار.", "عطلة نهاية أسبوع سعيدة.",
           "ميزات جديدة قادمة هذا الأسبوع.", "نحب أن نسمع منكم.", "تابعونا لمزيد من الأخبار.", "خدمة سريعة ومميزة."],
    "he": ["תודה לכל מי שהצטרף אלינו היום!", "הצוות שלנו גדל.", "סוף שבוע נעים.",
           "פיצ'רים חדשים יוצאים השבוע.", "אנחנו אוהבים לשמוע מכם.", "הישארו מעודכנים.", "בית ספר יסודי בשכונה."],
}
CONTEXT = {
    "PHONE_NUMBER": {"en": ["Call me at {}", "WhatsApp {}", "phone: {}", "{}"], "ar": ["جوال العميل {}", "للتواصل هاتف {}", "{}"],
                     "he": ["טלפון של הלקוח {}", "נייד: {}", "{}"]},
    "EMAIL_ADDRESS": {"en": ["write to {}", "contact {} for details"], "ar": ["راسلنا على {}"], "he": ["כתבו ל-{}"]},
    "PAYMENT_CARD": {"en": ["card {} exp 12/29", "paid with {}"], "ar": ["رقم البطاقة {}"], "he": ["מספר כרטיס {}"]},
    "IBAN": {"en": ["IBAN {}", "transfer to {}"], "ar": ["حوّل إلى الآيبان {}"], "he": ["העבירו לחשבון {}"]},
    "PASSPORT": {"en": ["passport no. {}", "passport {}"], "ar": ["رقم جواز السفر {}"], "he": ["מספר דרכון {}"]},
    "SECRET": {"en": ["deploy key {}", "use {} for now", "token={}"], "ar": ["المفتاح {}"], "he": ["המפתח {}"]},
}
NATIONAL_CONTEXT = {
    "sa_national_id": {"ar": ["رقم الهوية {}", "رقم الإقامة {}", "الهوية الوطنية: {}"], "en": ["Saudi ID {}", "iqama {}"],
                       "he": ["מספר זהות סעודי {}"]},
    "il_teudat_zehut": {"he": ['ת"ז {}', "תעודת זהות {}", "מספר זהות: {}"], "en": ["Israeli ID number {}"],
                        "ar": ["رقم الهوية الإسرائيلية {}"]},
    "ae_emirates_id": {"en": ["Emirates ID {}"], "ar": ["رقم الهوية الإماراتية {}"], "he": ["{}"]},
    "eg_national_id": {"ar": ["الرقم القومي {}", "بطاقة الرقم القومي {}"], "en": ["Egyptian ID {}"], "he": ["מספר זהות מצרי {}"]},
    "us_ssn": {"en": ["SSN {}", "social security number {}"], "ar": ["SSN {}"], "he": ["SSN {}"]},
}
MARKERS = {"en": ["internal only", "confidential", "for internal use only", "do not distribute"],
           "ar": ["للاستخدام الداخلي فقط", "سري", "سري للغاية", "غير مخصص للنشر"],
           "he": ["לשימוש פנימי בלבד", "סודי", "חסוי", "פנימי בלבד"]}
CODENAMES = {"en": ["Project Falcon", "Bluebird", "Nightjar"], "ar": ["طائر الفجر", "Nightjar"], "he": ["עפרוני", "Bluebird"]}
CYRILLIC_LOOKALIKES = str.maketrans({"o": "о", "e": "е", "a": "а", "c": "с", "p": "р", "i": "і"})


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def _phone(rng: random.Random, language: str) -> tuple[str, str]:
    regions = {"en": ["US", "GB", "IL", "AE"], "ar": ["SA", "AE", "EG", "JO"], "he": ["IL", "IL", "US"]}[language]
    region = rng.choice(regions)
    kind = rng.choice([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
    example = phonenumbers.example_number_for_type(region, kind)
    national = str(example.national_number)
    while True:
        candidate = national[:-4] + _digits(rng, 4)
        number = phonenumbers.parse("+" + str(example.country_code) + candidate)
        if phonenumbers.is_valid_number(number) and "5550100" not in candidate:
            break
    style = rng.choice([phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                        phonenumbers.PhoneNumberFormat.NATIONAL])
    return phonenumbers.format_number(number, style), region.lower()


def _card(rng: random.Random) -> tuple[str, str]:
    brand, prefix, length = rng.choice([("visa", "4", 16), ("mastercard", str(rng.randint(51, 55)), 16),
                                        ("mastercard", str(rng.randint(2221, 2720)), 16), ("amex", rng.choice(["34", "37"]), 15),
                                        ("discover", "6011", 16)])
    body = prefix + _digits(rng, length - len(prefix) - 1)
    number = body + luhn.calc_check_digit(body)
    if brand == "amex":
        groups = [number[:4], number[4:10], number[10:]]
    else:
        groups = [number[i:i + 4] for i in range(0, len(number), 4)]
    return rng.choice([" ", "-", ""]).join(groups), brand


_IBAN_BBAN = {"SA": lambda r: _digits(r, 20), "AE": lambda r: _digits(r, 19), "IL": lambda r: _digits(r, 19),
              "GB": lambda r: "".join(r.choice(string.ascii_uppercase) for _ in range(4)) + _digits(r, 14),
              "DE": lambda r: _digits(r, 18), "EG": lambda r: _digits(r, 25)}


def _iban(rng: random.Random, *, valid: bool = True) -> str:
    while True:
        country = rng.choice(list(_IBAN_BBAN))
        bban = _IBAN_BBAN[country](rng)
        check = stdnum_iban.calc_check_digits(country + "00" + bban)
        if not valid:
            check = f"{(int(check) + rng.randint(1, 50)) % 97 + 2:02d}"
        number = country + check + bban
        if stdnum_iban.is_valid(number) == valid:
            break
    return rng.choice([number, " ".join(number[i:i + 4] for i in range(0, len(number), 4))])


def _national(rng: random.Random, kind: str) -> str:
    if kind == "sa_national_id":
        body = rng.choice("12") + _digits(rng, 8)
        return body + luhn.calc_check_digit(body)
    if kind == "il_teudat_zehut":
        body = _digits(rng, 8)
        return body + luhn.calc_check_digit(body)
    if kind == "ae_emirates_id":
        body = "784" + str(rng.randint(1960, 2010)) + _digits(rng, 7)
        number = body + luhn.calc_check_digit(body)
        return f"{number[:3]}-{number[3:7]}-{number[7:14]}-{number[14]}"
    if kind == "eg_national_id":
        return (rng.choice("23") + f"{rng.randint(0, 23):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
                + rng.choice(["01", "02", "12", "21", "88"]) + _digits(rng, 4) + _digits(rng, 1))
    area = rng.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _secret(rng: random.Random) -> tuple[str, str]:
    alnum = string.ascii_letters + string.digits
    kind = rng.choice(["aws_access_key_id", "github_token", "slack_token", "stripe_key", "google_api_key", "jwt",
                       "gitlab_token", "private_key"])
    pick = lambda pool, n: "".join(rng.choice(pool) for _ in range(n))  # noqa: E731
    value = {
        "aws_access_key_id": lambda: "AKIA" + pick(string.ascii_uppercase + "234567", 16),
        "github_token": lambda: "ghp_" + pick(alnum, 36),
        "slack_token": lambda: f"xoxb-{_digits(rng, 11)}-{_digits(rng, 12)}-{pick(alnum, 24)}",
        "stripe_key": lambda: "sk_live_" + pick(alnum, 24),
        "google_api_key": lambda: "AIza" + pick(alnum + "_-", 35),
        "jwt": lambda: f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64({'sub': _digits(rng, 6)})}.{pick(alnum, 43)}",
        "gitlab_token": lambda: "glpat-" + pick(alnum, 20),
        "private_key": lambda: "-----BEGIN PRIVATE KEY-----\n" + pick(alnum, 64) + "\n-----END PRIVATE KEY-----",
    }[kind]()
    return value, kind


def _negative(rng: random.Random) -> str:
    """Hard negatives: numbers and tokens that look like entities but are not."""
    choice = rng.randrange(14)
    if choice == 0:
        return f"posted at {rng.randint(1_500_000_000, 1_800_000_000)}"
    if choice == 1:  # a card-shaped order number failing Luhn
        body = "4" + _digits(rng, 14)
        bad = str((int(luhn.calc_check_digit(body)) + rng.randint(1, 9)) % 10)
        return f"order {body + bad}"
    if choice == 2:
        return f"IBAN {_iban(rng, valid=False)}"
    if choice == 3:
        return f"v{rng.randint(1, 20)}.{rng.randint(0, 30)}.{rng.randint(0, 300)}"
    if choice == 4:
        return f"INV-{rng.randint(2019, 2026)}-{_digits(rng, 6)}"
    if choice == 5:
        return f"ref {rng.randint(1, 9)}{_digits(rng, 9)}"
    if choice == 6:
        return f"build {rng.randint(10, 22)}.0.{_digits(rng, 5)}.{_digits(rng, 4)}"
    if choice == 7:
        return f"{rng.randint(1, 999)},{_digits(rng, 3)},{_digits(rng, 3)} views"
    if choice == 8:
        return f"{rng.randint(2019, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:30:00Z"
    if choice == 9:  # a Saudi-ID-shaped number without any context
        body = "1" + _digits(rng, 8)
        return f"tracking {body + luhn.calc_check_digit(body)}"
    if choice == 10:
        return f"commit {''.join(rng.choice('0123456789abcdef') for _ in range(12))}"
    if choice == 11:
        return rng.choice(["confidentiality matters", "confidentially yours", "خدمة سريعة", "בית ספר יסודי"])
    if choice == 12:
        return f"room {rng.randint(100, 999)}, floor {rng.randint(1, 40)}"
    return f"ghp_{'x' * 36}"


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.entities: list[Planted] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def plant(self, template: str, value: str, entity: str, kind: str | None, *, marks: bool = False) -> None:
        before, after = template.split("{}")
        self.add(before)
        if marks:
            self.add(LRM)
        start = self.length
        self.add(value)
        self.entities.append(Planted(entity, start, self.length, kind))
        if marks:
            self.add(LRM)
        self.add(after)

    def text(self) -> str:
        return "".join(self.parts)


def _native_digits(rng: random.Random, value: str, language: str) -> str:
    if language == "ar" and rng.random() < 0.5:
        return value.translate(PERSIAN if rng.random() < 0.2 else EASTERN_ARABIC)
    return value


def _plant_one(rng: random.Random, builder: _Builder, language: str) -> None:
    entity = rng.choice(SCORED_ENTITIES)
    marks = language != "en" and rng.random() < 0.4
    if entity == "NATIONAL_ID":
        kind = rng.choice(list(NATIONAL_CONTEXT))
        value = _national(rng, kind)
        template = rng.choice(NATIONAL_CONTEXT[kind][language])
        if template == "{}" and kind != "ae_emirates_id":
            template = "ID number {}"
        builder.plant(template, _native_digits(rng, value, language), entity, kind, marks=marks)
        return
    if entity in ("CONFIDENTIAL_MARKER", "CODENAME"):
        pool = MARKERS if entity == "CONFIDENTIAL_MARKER" else CODENAMES
        value = rng.choice(pool[language])
        if language == "en" and rng.random() < 0.3:
            value = value.translate(CYRILLIC_LOOKALIKES)  # homoglyph evasion
        elif language == "en" and rng.random() < 0.3:
            value = value.upper()
        prefix = {"he": rng.choice(["", "ה", "ו"]), "ar": rng.choice(["", "و"]), "en": ""}[language]
        builder.add(prefix if prefix else " ")
        builder.plant("{} ", value, entity, None)
        return
    kind = None
    if entity == "PHONE_NUMBER":
        value, kind = _phone(rng, language)
        template = rng.choice(CONTEXT[entity][language])
        value = _native_digits(rng, value, language)
    elif entity == "EMAIL_ADDRESS":
        user = rng.choice(["dana.levi", "m.alharbi", "noa", "omar_k", "j.smith", "sara+news"])
        value = f"{user}{rng.randint(1, 99)}@{rng.choice(['gmail.com', 'outlook.com', 'mail.co.il', 'example.sa'])}"
        template = rng.choice(CONTEXT[entity][language])
    elif entity == "PAYMENT_CARD":
        value, kind = _card(rng)
        template = rng.choice(CONTEXT[entity][language])
        value = _native_digits(rng, value, language)
    elif entity == "IBAN":
        value, template = _iban(rng), rng.choice(CONTEXT[entity][language])
    elif entity == "PASSPORT":
        value = rng.choice(string.ascii_uppercase) + _digits(rng, rng.choice([7, 8]))
        template = rng.choice(CONTEXT[entity][language])
    else:
        value, kind = _secret(rng)
        template = rng.choice(CONTEXT[entity][language])
    builder.plant(template, value, entity, kind, marks=marks)


def generate(count: int = 2000, seed: int = 20250105) -> list[Post]:
    """`count` posts, a third per language, each with 0-3 planted entities and 0-2 hard negatives."""
    rng = random.Random(seed)
    posts = []
    for index in range(count):
        language = ("en", "ar", "he")[index % 3]
        builder = _Builder()
        pieces = ["filler"] * rng.randint(1, 3) + ["entity"] * rng.choice([0, 1, 1, 2, 3]) + ["negative"] * rng.randint(0, 2)
        rng.shuffle(pieces)
        for piece in pieces:
            if piece == "filler":
                sentence = rng.choice(FILLER[language])
                if language == "ar" and rng.random() < 0.2:
                    sentence = sentence.replace("ا", "ـا", 1)  # tatweel
                builder.add(sentence)
            elif piece == "entity":
                _plant_one(rng, builder, language)
            else:
                builder.add(_negative(rng))
            builder.add(rng.choice([" ", " ", "\n", f" {RLM}" if language != "en" else " "]))
        posts.append(Post(f"p{index}", language, builder.text(), tuple(builder.entities)))
    return posts


# --- scoring --------------------------------------------------------------------------------------


@dataclass
class EntityScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Score:
    per_entity: dict[str, EntityScore] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # a few examples of misses and false alarms, for debugging

    @property
    def overall(self) -> EntityScore:
        total = EntityScore()
        for s in self.per_entity.values():
            total.tp, total.fp, total.fn = total.tp + s.tp, total.fp + s.fp, total.fn + s.fn
        return total


def _jaccard(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union else 0.0


def score(posts: list[Post], predictions: dict[str, list[tuple[str, int, int]]],
          entities: tuple[str, ...] = SCORED_ENTITIES) -> Score:
    """Precision/recall/F1 per entity under the span match rule in this module's docstring."""
    result = Score({entity: EntityScore() for entity in entities})
    for post in posts:
        gold = defaultdict(list)
        for planted in post.entities:
            gold[planted.entity].append((planted.start, planted.end))
        predicted = defaultdict(list)
        for entity, start, end in set(predictions.get(post.id, [])):
            if entity in result.per_entity:
                predicted[entity].append((start, end))
        for entity in entities:
            unmatched = list(gold[entity])
            for span in sorted(predicted[entity]):
                best = max(unmatched, key=lambda g: _jaccard(span, g), default=None)
                if best is not None and _jaccard(span, best) >= 0.5:
                    unmatched.remove(best)
                    result.per_entity[entity].tp += 1
                else:
                    result.per_entity[entity].fp += 1
                    if len(result.errors) < 40:
                        result.errors.append(f"FP {entity} {post.text[span[0]:span[1]]!r} in {post.id}: {post.text!r}")
            result.per_entity[entity].fn += len(unmatched)
            for span in unmatched:
                if len(result.errors) < 40:
                    result.errors.append(f"FN {entity} {post.text[span[0]:span[1]]!r} in {post.id}: {post.text!r}")
    return result
