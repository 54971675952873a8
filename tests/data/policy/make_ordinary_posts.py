"""Generate the false-alarm corpus: ordinary en/ar/he brand and community posts whose only right answer is `allow`.

Deterministic (one seeded `random.Random`, no clock, no environment): templates x fillers. Every post is built
from things that merely LOOK like data -- CamelCase and ALLCAPS hashtags, dates and times in every common format
and digit system, prices and currencies, SKUs and model numbers, versions, ticket and order references, URLs with
tracking parameters, @mentions, emoji, Hebrew and Arabic clitic prefixes on ordinary words and numbers. No post
carries personal data, a credential or a confidentiality marker. The templates were written for this corpus and
not derived from govern's detectors or packs.

    .venv/bin/python tests/data/policy/make_ordinary_posts.py            # rewrite ordinary_posts.jsonl
    .venv/bin/python tests/data/policy/make_ordinary_posts.py --check    # exit 1 if the committed file differs
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "ordinary_posts.jsonl"
SEED = 20261205
COUNTS = {"en": 840, "ar": 630, "he": 630}  # 40/30/30 of 2,100

ARABIC_INDIC = str.maketrans("0123456789.,", "٠١٢٣٤٥٦٧٨٩٫٬")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")

# --- fillers ---------------------------------------------------------------------------------------------------

HASHTAG_WORDS = [
    "Asia", "Pacific", "Marketing", "Summer", "Sale", "Black", "Friday", "Cyber", "Monday", "Motivation", "Throwback",
    "Thursday", "Tech", "Week", "Women", "In", "Leadership", "Small", "Business", "Saturday", "Customer", "Service",
    "Access", "Ability", "Brand", "Love", "Team", "Digital", "Transformation", "Social", "Media", "Tips", "Growth",
    "Content", "Creator", "Startup", "Life", "Design", "Dubai", "Riyadh", "Season", "TelAviv", "Pride", "Ramadan",
    "Eid", "Kareem", "Back", "To", "School", "Holiday", "Gift", "Guide", "Flash", "Deals", "Behind", "The", "Scenes",
    "Meet", "Product", "Launch", "Future", "Of", "Work", "Cloud", "Native", "Open", "Source", "Data", "Driven",
    "Green", "Energy", "Sustainable", "Fashion", "Coffee", "Break", "Weekend", "Vibes", "Game", "Day", "Fan",
    "Zone", "World", "Cup", "Middle", "East", "Europe", "Africa", "Americas", "Global", "Partner", "Summit",
    "Expo", "Innovation", "Lab", "Hack", "Night", "Dev", "Rel", "Abia", "Awards", "Acca", "Exam", "Ready", "Gitex",
    "Global", "Web", "Summit", "Key", "Note", "Ask", "Me", "Anything", "Live", "Stream", "Token", "Economy",
]
FIXED_HASHTAGS = [
    "#AsiaPacificMarketing", "#XOXOFestival", "#ThrowbackThursday", "#MondayMotivation", "#BlackFriday2024",
    "#CyberMonday", "#SmallBusinessSaturday", "#WomenInTech", "#AccessibilityMatters", "#ACCAExamTips",
    "#ABIAAwards2025", "#AsiaTechWeek", "#GITEXGlobal2024", "#WebSummitQatar", "#BFCM2024", "#OOTD", "#NEWIN",
    "#SALE", "#LIMITEDEDITIONDROPSTONIGHT", "#XOXOGossipGirlMarathon", "#AKAFestivalNights", "#GHPFestival",
    "#SKUNKWORKSREUNION", "#ASIAPACIFICROADSHOW2025", "#EidMubarak", "#RamadanKareem", "#ShanaTova",
    "#ShabbatShalom", "#TelAvivPride", "#RiyadhSeason", "#DubaiDesignWeek", "#ExpoCityDubai", "#COP28",
    "#FridayFeeling", "#TBT", "#GRWM", "#AMA", "#DevRelCon", "#KubeCon", "#PyConUS2025", "#AIForGood",
    "#StripeSessions", "#GitLabCommit", "#SlackFrontiers", "#AWSreInvent", "#GoogleIO", "#JWTtips",
    "#XOXB_Fanclub", "#glpatFanArt", "#sk_live_music", "#BEGINAgain",
]
AR_HASHTAGS = [
    "#رمضان_كريم", "#عيد_مبارك", "#اليوم_الوطني_السعودي", "#اليوم_الوطني_الإماراتي", "#دبي", "#الرياض",
    "#موسم_الرياض", "#تسوق_أونلاين", "#عروض_الجمعة_البيضاء", "#الجمعة_البيضاء", "#العودة_للمدارس", "#صيف_٢٠٢٥",
    "#خصومات", "#تسويق_رقمي", "#ريادة_الأعمال", "#جيتكس", "#معرض_الكتاب", "#القهوة_السعودية", "#عروض_حصرية",
]
HE_HASHTAGS = [
    "#חג_שמח", "#שבת_שלום", "#שנה_טובה", "#תל_אביב", "#מבצע", "#מבצע_סוף_עונה", "#בלאק_פריידי", "#חזרה_ללימודים",
    "#פסח_שמח", "#סטארטאפ_ניישן", "#שיווק_דיגיטלי", "#קיץ2025", "#גאווה", "#ירושלים", "#חיפה", "#קפה_של_בוקר",
]
EMOJI = ["🎉", "🔥", "✨", "🚀", "💙", "🙌", "👏", "😍", "☕", "🛍️", "📦", "📅", "⏰", "🌙", "🕌", "🇦🇪", "🇸🇦", "🇮🇱",
         "💯", "👉", "📍", "🎁", "❤️", "🤝", "🏆", "⚡", "🌞", "🙏", "😉", "🧵", "👇", "✅"]
MENTIONS = ["@acme", "@AcmeSupport", "@acme_ar", "@acme_il", "@events_team", "@TheDesignHub", "@coffee.lab",
            "@riyadh_runners", "@tlv.makers", "@dxb_foodies", "@partner_studio", "@CityMarathon"]
EN_PLACES = ["Berlin", "Dubai", "Riyadh", "Tel Aviv", "Haifa", "Abu Dhabi", "London", "Singapore", "Jeddah", "Amman",
             "Doha", "Lisbon", "Austin", "Toronto"]
AR_PLACES = ["دبي", "الرياض", "جدة", "أبوظبي", "الدوحة", "عمّان", "الشارقة", "الخبر", "مسقط", "المنامة"]
HE_PLACES = ["תל אביב", "ירושלים", "חיפה", "באר שבע", "ראשון לציון", "הרצליה", "אילת", "נתניה", "רמת גן"]
EN_PRODUCTS = ["AirFlow Pro", "the Nova 3 headphones", "our Summer Linen collection", "the Trail X2 backpack",
               "the Barista One", "SmartDesk 2", "the Classic Tee", "Glow serum", "the Kids' Explorer kit"]
AR_PRODUCTS = ["سماعات نوفا ٣", "مجموعة الكتان الصيفية", "حقيبة ترايل X2", "آلة باريستا ون", "مكتب سمارت ديسك 2",
               "سيروم جلو", "عطر العود الملكي", "مجموعة العيد"]
HE_PRODUCTS = ["אוזניות נובה 3", "קולקציית הפשתן לקיץ", "תיק טרייל X2", "מכונת בריסטה וואן", "שולחן סמארט דסק 2",
               "סרום גלואו", "ערכת החוקר לילדים", "מארז החג"]
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"]
MONTHS_AR = ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر",
             "ديسمبر"]
MONTHS_HE = ["בינואר", "בפברואר", "במרץ", "באפריל", "במאי", "ביוני", "ביולי", "באוגוסט", "בספטמבר", "באוקטובר",
             "בנובמבר", "בדצמבר"]
HEBREW_DATES = ["כ״ה בכסלו תשפ״ה", "א׳ בתשרי", "ט״ו בשבט", "י״ד באדר", "ערב פסח", "ל״ג בעומר", "ה׳ באייר תשפ״ו",
                "ח׳ בטבת", "כ״ט באלול"]
HIJRI_DATES = ["١ رمضان ١٤٤٦هـ", "١٠ ذو الحجة", "٢٧ رجب ١٤٤٦", "غرة شوال", "١٥ شعبان"]


class Fill:
    """Filler generators for one language, all drawing from one seeded rng."""

    def __init__(self, rng: random.Random, lang: str) -> None:
        self.rng, self.lang = rng, lang

    def pick(self, items):
        return self.rng.choice(items)

    def native(self, text: str, share: float = 0.35, separators: bool = False) -> str:
        """Arabic posts often write digits in Arabic-Indic (and sometimes Persian) form."""
        if self.lang == "ar" and self.rng.random() < share:
            table = ARABIC_INDIC if self.rng.random() < 0.85 else PERSIAN
            # digits always; "." and "," only between digits (the decimal and thousands separators), so
            # abbreviations such as "د.إ" keep their dot
            if not separators:  # dates, times, versions: the digits change, the separators stay
                return text.translate({ord(d): table[ord(d)] for d in "0123456789"})
            return re.sub(r"\d(?:[\d.,]*\d)?", lambda m: m.group().translate(table), text)
        return text

    # hashtags
    def hashtag(self) -> str:
        roll = self.rng.random()
        if roll < 0.35:
            return self.pick(FIXED_HASHTAGS)
        if self.lang == "ar" and roll < 0.6:
            return self.pick(AR_HASHTAGS)
        if self.lang == "he" and roll < 0.6:
            return self.pick(HE_HASHTAGS)
        words = self.rng.sample(HASHTAG_WORDS, self.rng.randint(2, 4))
        tag = "".join(words)
        style = self.rng.random()
        if style < 0.15:
            tag = tag.upper()
        elif style < 0.25:
            tag = tag + str(self.rng.choice([2024, 2025, 2026, 24, 25]))
        elif style < 0.3:
            tag = "_".join(words)
        return "#" + tag

    def hashtags(self) -> str:
        return " ".join(self.hashtag() for _ in range(self.rng.randint(1, 4)))

    def emoji(self) -> str:
        return "".join(self.rng.sample(EMOJI, self.rng.randint(1, 3)))

    def mention(self) -> str:
        return self.pick(MENTIONS)

    # dates and times
    def date(self) -> str:
        r = self.rng
        d, m, y = r.randint(1, 28), r.randint(1, 12), r.randint(2019, 2027)
        forms = [f"{d:02d}.{m:02d}.{y}", f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{m}/{d}/{y}",
                 f"{d}.{m}.{str(y)[2:]}", f"{d}/{m}", f"{d:02d}.{m:02d}", f"{y}/{m:02d}/{d:02d}",
                 f"{y}-{m:02d}-{d:02d}T{r.randint(0, 23):02d}:{r.choice(['00', '30', '15', '45'])}:00Z",
                 f"{d:02d}-{m:02d}-{y}", f"{y}{m:02d}{d:02d}"]
        if self.lang == "en":
            forms += [f"{MONTHS_EN[m - 1]} {d}, {y}", f"{d} {MONTHS_EN[m - 1][:3]} {y}", f"{MONTHS_EN[m - 1][:3]} {d}",
                      f"{d}–{d + 2}.{m:02d}.{y}"]
        elif self.lang == "ar":
            forms += [f"{d} {MONTHS_AR[m - 1]} {y}", f"{d} {MONTHS_AR[m - 1]}", self.pick(HIJRI_DATES)]
            return self.native(r.choice(forms), 0.45)
        else:
            forms += [f"{d} {MONTHS_HE[m - 1]} {y}", f"{d}.{m}", f"{d} {MONTHS_HE[m - 1]}", self.pick(HEBREW_DATES)]
        return r.choice(forms)

    def time(self) -> str:
        r = self.rng
        h, mi = r.randint(7, 23), r.choice(["00", "15", "30", "45"])
        forms = [f"{h}:{mi}", f"{h:02d}:{mi}", f"{h}:{mi}–{min(h + 2, 23)}:{mi}", f"{h:02d}:{mi}:00"]
        if self.lang == "en":
            forms += [f"{h % 12 or 12}:{mi}{'am' if h < 12 else 'pm'}", f"{h % 12 or 12}{' PM' if h >= 12 else ' AM'}",
                      f"{h}:{mi} GST", f"{h}h{mi}"]
        elif self.lang == "he":
            forms += [f"{h}:{mi} עד {min(h + 3, 23)}:{mi}"]
        else:
            forms += [f"{h}:{mi} مساءً" if h >= 12 else f"{h}:{mi} صباحاً", f"الساعة {h}:{mi}"]
            return self.native(r.choice(forms))
        return r.choice(forms)

    # money
    def price(self) -> str:
        r = self.rng
        big = r.choice([1299, 2499, 1250, 3999, 18500, 1049, 749, 12999])
        small = r.choice([49.90, 19.99, 9.5, 129.0, 89.9, 4.99, 299.0, 59.0])
        cents = f"{small:.2f}"
        if self.lang == "en":
            forms = [f"${big:,}.00", f"${cents}", f"USD {big:,}", f"€{cents.replace('.', ',')}", f"£{cents}",
                     f"{big:,}.00 USD", f"AED {big:,}", f"SAR {big:,}", f"₪{cents}", f"${big / 1000:.1f}K",
                     f"US${big:,}", f"€{big:,}".replace(",", "."), f"{cents} €"]
        elif self.lang == "ar":
            forms = [f"{cents} د.إ", f"AED {big:,}", f"{big:,} ر.س", f"SAR {big:,}", f"{big:,} درهم",
                     f"{cents} ريال", f"{big:,} دينار", f"${cents}", f"{big:,} ج.م", f"{cents} ر.ق"]
            return self.native(r.choice(forms), 0.5, separators=True)
        else:
            forms = [f"₪{cents}", f"{cents} ₪", f'{big:,} ש"ח', f"₪{big:,}", f"{cents} ש״ח", f"\u200f{cents} ₪",
                     f"${cents}", f"{big:,} שקלים", f"€{cents}"]
        return r.choice(forms)

    def percent(self) -> str:
        n = self.rng.choice([10, 15, 20, 25, 30, 40, 50, 60, 70])
        if self.lang == "he":
            return self.rng.choice([f"{n}%", f"{n}%", f"\u200f{n}%"])
        if self.lang == "ar":
            return self.native(self.rng.choice([f"{n}%", f"{n}٪", f"حتى {n}%", f"\u200f{n}%"]))
        return self.rng.choice([f"{n}%", f"{n}% off", f"up to {n}%", f"-{n}%"])

    # codes
    def sku(self) -> str:
        r = self.rng
        letters = string.ascii_uppercase
        forms = [f"{r.choice(letters)}{r.choice(letters)}-{r.randint(1000, 9999)}-{''.join(r.sample(letters, 3))}",
                 f"SKU {r.randint(100000, 999999)}", f"WH-{r.randint(1, 9)}000XM{r.randint(3, 6)}",
                 f"SM-S{r.randint(900, 999)}B", f"A{r.randint(2000, 3000)}", f"MQ{r.randint(1, 9)}N3LL/A",
                 f"RTX {r.choice([3060, 4070, 4090, 5080])}", f"model {r.choice(['X', 'Z', 'QN'])}{r.randint(50, 98)}",
                 f"EAN {self._ean()}", f"part no. {r.randint(1000, 9999)}-{r.randint(100, 999)}-{r.randint(10, 99)}",
                 f"size EU {r.randint(36, 46)}", f"{r.randint(128, 1024)}GB", f"Ref. {r.randint(10, 99)}{''.join(r.sample(letters, 2))}"]
        return r.choice(forms)

    def _ean(self) -> str:
        body = self.rng.choice(["729", "628", "629", "400", "501"]) + "".join(self.rng.choice(string.digits) for _ in range(9))
        total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
        return body + str((10 - total % 10) % 10)

    def version(self) -> str:
        r = self.rng
        a, b, c = r.randint(1, 17), r.randint(0, 30), r.randint(0, 12)
        return r.choice([f"v{a}.{b}.{c}", f"{a}.{b}.{c}", f"version {a}.{b}", f"iOS {r.randint(15, 18)}.{b % 6}.{c % 4}",
                         f"Android {r.randint(12, 15)}", f"build {r.randint(2023, 2026)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}.{r.randint(1000, 2359)}",
                         f"v{a}.{b}.{c}-rc.{r.randint(1, 5)}", f"release {a}.{b}", f"firmware {a}.{b}.{c}.{r.randint(100, 999)}"])

    def order(self) -> str:
        r = self.rng
        if self.lang != "en":  # in ar/he posts: code-style references only, or the local word for "number"
            word = "رقم" if self.lang == "ar" else "מס'"
            return r.choice([f"#ORD-{r.randint(2023, 2026)}-{r.randint(100000, 999999)}", f"INC{r.randint(0, 9999999):07d}",
                             f"RITM{r.randint(0, 9999999):07d}", f"CS-{r.randint(100000, 999999)}",
                             f"#{r.randint(10000, 99999)}", f"{word} {r.randint(1000000, 99999999)}",
                             f"PO-{r.randint(2024, 2026)}/{r.randint(100, 9999)}", f"RMA{r.randint(100000, 999999)}",
                             f"{word} {r.randint(0, 99999999):08d}"])
        return r.choice([f"#ORD-{r.randint(2023, 2026)}-{r.randint(100000, 999999)}", f"INC{r.randint(0, 9999999):07d}",
                         f"RITM{r.randint(0, 9999999):07d}", f"CS-{r.randint(100000, 999999)}", f"#{r.randint(10000, 99999)}",
                         f"order #{r.randint(1000000, 99999999)}", f"ticket {r.randint(10000, 999999)}",
                         f"booking ref {''.join(r.choice(string.ascii_uppercase + string.digits) for _ in range(6))}",
                         f"case {r.randint(0, 99999999):08d}", f"PO-{r.randint(2024, 2026)}/{r.randint(100, 9999)}",
                         f"JIRA MKT-{r.randint(100, 9999)}", f"RMA{r.randint(100000, 999999)}"])

    def url(self) -> str:
        r = self.rng
        alnum = string.ascii_letters + string.digits
        host = r.choice(["https://acme.example", "https://shop.acme.example", "https://www.acme.example/ar",
                         "https://www.acme.example/he", "https://events.acme.example", "https://blog.acme.example"])
        path = r.choice(["/summer-sale", "/p/nova-3", "/eid-collection", "/careers", "/tickets", "/blog/2024/10/recap",
                         "/campaigns/black-friday-2024", "/store-locator", "/webinar"])
        params = [f"utm_source={r.choice(['instagram', 'facebook', 'linkedin', 'x', 'tiktok', 'newsletter'])}",
                  f"utm_medium={r.choice(['social', 'paid_social', 'email', 'organic'])}",
                  f"utm_campaign={r.choice(['bf24', 'eid_2025', 'summer-sale', 'q3_launch', 'ramadan1446'])}"]
        if r.random() < 0.5:
            params.append(f"utm_content={r.choice(['carousel_v2', 'story', 'reel_15s', 'cta-b'])}")
        extra = r.random()
        if extra < 0.3:
            params.append("fbclid=IwAR" + "".join(r.choice(alnum + "_-") for _ in range(r.randint(40, 60))))
        elif extra < 0.5:
            params.append("gclid=Cj0KCQ" + "".join(r.choice(alnum + "_-") for _ in range(r.randint(50, 80))))
        elif extra < 0.6:
            params.append("igshid=" + "".join(r.choice(alnum) for _ in range(16)))
        if r.random() < 0.2:
            return r.choice(["https://bit.ly/", "https://lnkd.in/", "https://t.co/"]) + "".join(r.choice(alnum) for _ in range(r.randint(7, 10)))
        return host + path + "?" + "&".join(params)


    def when(self) -> str:
        """Hebrew "on <date>": the date with its clitic (ב-, ב־, ה-, ב) or a Hebrew-calendar date."""
        r = self.rng
        d, m, y = r.randint(1, 28), r.randint(1, 12), r.randint(2024, 2027)
        return r.choice([f"ב-{d}.{m}", f"ב-{d}.{m}.{y}", f"ב־{d}/{m}", f"ה-{d}.{m}", f"ב-{d:02d}.{m:02d}.{y}",
                         f"ב-{d} {MONTHS_HE[m - 1]}", f"ב{self.pick(HEBREW_DATES)}", f"ביום {d}.{m}",
                         f"ב-{y}-{m:02d}-{d:02d}"])

    def at(self) -> str:
        """Hebrew "at <time>": ב-10:30, ב־10:30, בשעה 10:30, מ-10:00 עד 13:00."""
        r = self.rng
        h, mi = r.randint(8, 22), r.choice(["00", "15", "30", "45"])
        return r.choice([f"ב-{h}:{mi}", f"ב־{h}:{mi}", f"בשעה {h}:{mi}", f"מ-{h}:{mi} עד {min(h + 3, 23)}:{mi}",
                         f"ב-{h:02d}:{mi}"])

    def bare_version(self) -> str:
        r = self.rng
        a, b, c = r.randint(1, 17), r.randint(0, 30), r.randint(0, 12)
        return self.native(r.choice([f"v{a}.{b}.{c}", f"{a}.{b}.{c}", f"{a}.{b}", f"{a}.{b}.{c}-beta.{r.randint(1, 9)}"]), 0.2)

    def followers(self) -> str:
        n = self.rng.choice([1250, 5000, 15000, 25000, 100000, 250000, 1000000, 2500000])
        return self.native(self.rng.choice([f"{n:,}", f"{n // 1000:,}K", f"{n / 1e6:g}M" if n >= 1000000 else f"{n:,}"]),
                           separators=True)

    def bare_year(self) -> str:
        return self.native(str(self.rng.randint(2012, 2024)))


    def place(self) -> str:
        return self.pick({"en": EN_PLACES, "ar": AR_PLACES, "he": HE_PLACES}[self.lang])

    def product(self) -> str:
        return self.pick({"en": EN_PRODUCTS, "ar": AR_PRODUCTS, "he": HE_PRODUCTS}[self.lang])

    def slots(self) -> dict[str, str]:
        return {"hashtags": self.hashtags(), "tag": self.hashtag(), "emoji": self.emoji(), "mention": self.mention(),
                "date": self.date(), "date2": self.date(), "time": self.time(), "price": self.price(),
                "price2": self.price(), "percent": self.percent(), "sku": self.sku(), "version": self.version(),
                "order": self.order(), "url": self.url(),
                "place": self.place(), "product": self.product(),
                "ver": self.bare_version(), "followers": self.followers(), "yr": self.bare_year(), "yr2": self.bare_year(),
                "when": self.when() if self.lang == "he" else "", "at": self.at() if self.lang == "he" else "",
                "n": str(self.rng.choice([3, 4, 5, 7, 12, 18, 25, 40]))}


# --- templates -------------------------------------------------------------------------------------------------

EN = [
    "Great turnout at {tag} this week! Thank you {place} {emoji} {hashtags}",
    "Kickoff on {date} in {place}. Doors open at {time}. {url}",
    "Loved the XOXO-festival-{yr} lineup 🎶 {hashtags}",
    "{product} is back in stock — now {price} (was {price2}). {sku} {url} {emoji}",
    "Flash sale: {percent} everything until {date}, {time}. Use code SUMMER25 at checkout {emoji} {hashtags}",
    "Release notes for {version} are live: faster sync, dark mode, fewer clicks. {url}",
    "Hi {mention}, sorry about the delay with {order}! Our team is on it and will update you by {time} {emoji}",
    "Your ticket {order} was resolved. Tell us how we did 👉 {url}",
    "Save the date 📅 {date} · {time} · {place}. Registration: {url} {hashtags}",
    "We just crossed {followers} followers 🎉 Thank you for being part of the story since {yr}! {hashtags}",
    "Meet the new {product}: {sku}, starting at {price}. Ships {date}. {emoji}",
    "Webinar recording is up! Slides from {date} here: {url} cc {mention}",
    "Q&A at {time} today with {mention} — drop your questions below 👇 {hashtags}",
    "Store hours this weekend: Fri {time}, Sat {time}. Closed {date}. {emoji}",
    "Update {version} rolling out gradually to iOS and Android. If you don't see it yet, hang tight! {emoji}",
    "Your order {order} has shipped 📦 Expected delivery {date}. Track it: {url}",
    "Throwback to {place} {yr} 💙 Who was there? {hashtags}",
    "Prices from {price} per person, early bird ends {date} at {time}. {url} {hashtags}",
    "Known issue: some users on {version} see a blank screen after login. Fix planned for {date}. Ref {order}",
    "Congrats to our winners! Prizes ({price} gift cards) go out by {date}. {emoji} {hashtags}",
    "New in: {product} ({sku}). Limited run — {n}00 pieces only. {url}",
    "The {place} pop-up opens {date}! {time} until late. {percent} off for members {emoji}",
    "Thanks {mention} for the shout-out 🙌 See you at {tag}!",
    "Live now 🔴 {url} {hashtags}",
    "Our secret recipe? Good coffee, better people, and {n}00 cups a day ☕ {hashtags}",
    "Internal comms, PR and social all in one room at {tag} — what a day! {emoji}",
    "Reminder: the {date} meetup moves to {time}. Same place ({place}). {mention}",
    "Patch {version} fixes the checkout bug reported in {order}. Thanks for your patience!",
    "Black Friday preview: {product} {price} → {price2}. {sku}. Ends {date}. {url}",
    "{percent} of our packaging is now recycled ♻️ Goal for {yr}: 100%. {hashtags}",
    "Shipping update: orders placed after {date} {time} arrive after the holidays. {emoji}",
    "Tip of the day: press ⌘K to search anywhere (since {version}). {hashtags}",
    "Guess the score! Final tonight at {time} 🏆 {hashtags} {emoji}",
    "Our API docs for {version} are here: {url} — feedback welcome {mention}",
    "Ramadan hours {date} to {date2}: {time} daily. Ramadan Kareem 🌙 {hashtags}",
    "Back for {yr2} with {product} 🚀 Same team, new look. {hashtags}",
    "Who else is counting down to {date}? 🙋 Drop a {emoji} if you'll be there! {hashtags}",
    "PSA: the app will be down for maintenance on {date} from {time} (GMT+4). Sorry for the inconvenience 🙏",
    "Customer story 💬 \"We switched to {product} in {yr} and never looked back.\" Read more: {url}",
    "Hey {mention}! DM us your order number ({order}) and we'll sort it out right away.",
    "Giveaway time 🎁 Follow {mention}, like this post and tag 2 friends. Winner announced {date} at {time}. {hashtags}",
    "Our {place} store has moved! New hours {time}, same great team. 📍 {url}",
    "Top 3 picks for {yr2}:\n1. {product}\n2. {sku}\n3. Gift cards from {price}\n{hashtags}",
    "Stack code WELCOME10 with {percent} (valid till {date}). {emoji}",
    "Join our AMA with the product team — {date}, {time}. Questions about {version}? Bring them! {hashtags}",
    "New on the blog: {n} lessons from running social for {followers} customers {url}",
    "Bug bounty update: {n} reports triaged this quarter, fixes shipped in {version}. Thank you, community! 🛡️",
    "Weekend reading 📚 Our {yr} year in review: {url} {hashtags}",
    "Doors 🚪 {time}\nTalks 🎤 {time}\nAfter-party 🎉 late\n{place}, {date} {hashtags}",
    "Confidentiality is our promise to every customer. Read our privacy notice: {url}",
]
AR = [
    "شكراً لكل من حضر فعاليتنا في {place} 🙏 كانت أجواء رائعة! {hashtags}",
    "انطلاق الحدث يوم {date} الساعة {time} في {place}. التسجيل عبر الرابط: {url}",
    "{product} متوفر من جديد بسعر {price} بدلاً من {price2} {emoji} {hashtags}",
    "خصومات {percent} على جميع المنتجات حتى {date} ✨ لا تفوتوا الفرصة! {hashtags}",
    "أهلاً {mention}، نعتذر عن التأخير في الطلب {order}. فريقنا يتابع الموضوع وسنرد عليكم قبل {time}",
    "تم شحن طلبك {order} 📦 موعد التوصيل المتوقع {date}. تتبع الشحنة: {url}",
    "رمضان كريم 🌙 مواعيد العمل خلال الشهر الفضيل من {time} يومياً. {hashtags}",
    "عيد مبارك! كل عام وأنتم بخير {emoji} عروض العيد تبدأ {date} {hashtags}",
    "وصلنا إلى {followers} متابع 🎉 شكراً لثقتكم بنا منذ {yr} {hashtags}",
    "التحديث {ver} متوفر الآن: أداء أسرع وواجهة جديدة. {url}",
    "خدمة سريعة وتوصيل مجاني للطلبات فوق {price} 🚚 {hashtags}",
    "تشكيلة جديدة من غرف النوم: سرير مزدوج {sku} بسعر {price} {emoji}",
    "نحتفل باليوم الوطني مع عروض {percent} في جميع فروعنا في {place} 🇸🇦 {hashtags}",
    "انضموا إلينا في ورشة التسويق الرقمي يوم {date} من {time}. المقاعد محدودة! {url}",
    "شاركونا صوركم من {place} مع الوسم {tag} وفوزوا بقسيمة بقيمة {price} {emoji}",
    "تذكير: تم تغيير موعد اللقاء إلى {date} الساعة {time}. {mention}",
    "نعمل على حل مشكلة تسجيل الدخول في الإصدار {ver}. رقم البلاغ {order}",
    "منتجات العناية الأسرية الآن في متاجرنا {percent} لفترة محدودة {emoji}",
    "{product} متوفر بالمقاسات كافة ({sku}). اطلبوه الآن: {url}",
    "من الكواليس 🎬 تحضيرات حملة {yr} على قدم وساق {hashtags}",
    "المباراة الليلة الساعة {time} 🏆 توقعوا النتيجة في التعليقات {hashtags}",
    "شكراً {mention} على الإشادة الجميلة 💙 نلقاكم في {tag}",
    "بث مباشر الآن 🔴 {url} {emoji}",
    "أسعار تبدأ من {price} للشخص، والحجز المبكر ينتهي {date}. {hashtags}",
    "تقرير الاستدامة لعام {yr}: {percent} من عبواتنا قابلة لإعادة التدوير ♻️ {url}",
    "مواعيد الفروع في {place} هذا الأسبوع: {time}. مغلق يوم {date} {emoji}",
    "نموّ بنسبة {percent} بين {yr} و{yr2} بفضل ثقتكم 💙 {hashtags}",
    "بدأت القصة في {yr} ومستمرون معكم {emoji} {hashtags}",
    "مين جاهز لـ{tag}؟ 🙋‍♂️ شاركونا بإيموجي {emoji}",
    "تنبيه: سيتوقف التطبيق للصيانة يوم {date} من الساعة {time}. نعتذر عن الإزعاج 🙏",
    "قصة نجاح 💬 «انتقلنا إلى {product} في {yr} وما ندمنا» اقرأوا المزيد: {url}",
    "مرحباً {mention}، أرسل لنا رقم الطلب ({order}) في رسالة خاصة وسنحل المشكلة فوراً.",
    "مسابقة 🎁 تابعوا {mention} وأعجبوا بالمنشور وأشيروا إلى صديقين. إعلان الفائز {date} الساعة {time} {hashtags}",
    "فرعنا في {place} انتقل إلى موقع جديد! 📍 ساعات العمل {time} {url}",
    "أفضل ٣ اختيارات لعام {yr2}:\n١. {product}\n٢. {sku}\n٣. بطاقات هدايا تبدأ من {price}\n{hashtags}",
    "جلسة أسئلة وأجوبة مع فريق المنتج يوم {date} الساعة {time}. عندكم أسئلة عن الإصدار {ver}؟ {hashtags}",
    "مقال جديد: دروس من إدارة حسابات التواصل الاجتماعي لأكثر من {followers} عميل {url}",
    "قراءات نهاية الأسبوع 📚 حصاد عام {yr} في مدونتنا: {url} {hashtags}",
    "كود الخصم WELCOME10 صالح حتى {date} ويُجمع مع خصم {percent} {emoji}",
    "الافتتاح 🚪 {time}\nالجلسات 🎤 {time}\n{place}، {date} {hashtags}",
    "تخفيضات بـ{n}٪ على كل الطلبات اليوم فقط 🔥 وب{n}% إضافية لأعضاء النادي {hashtags}",
    "ولـ{percent} من عملائنا الجدد: شحن مجاني حتى {date} 🎁",
    "هل جربتم {product}؟ أخبرونا برأيكم في التعليقات 👇 {hashtags}",
]
HE = [
    "תודה לכל מי שהגיע לאירוע ב{place}! היה מדהים {emoji} {hashtags}",
    "האירוע יתקיים {when} {at} ב{place}. הרשמה בקישור: {url}",
    "{product} חזר למלאי! עכשיו {price} במקום {price2} {emoji} {hashtags}",
    "מבצע סוף עונה: הנחות של עד {percent} על כל הקולקציה, עד {date} ✨ {hashtags}",
    "היי {mention}, מצטערים על העיכוב בהזמנה {order}. הצוות שלנו מטפל בזה ונחזור אליכם עד {time}",
    "ההזמנה שלך {order} נשלחה 📦 מועד מסירה משוער: {date}. למעקב: {url}",
    "שנה טובה ומתוקה 🍯 שעות הפעילות בחג: {time}. {hashtags}",
    "חג שמח! המבצע מתחיל {when} ונמשך עד גמר המלאי {emoji} {hashtags}",
    "עברנו את ה-{followers} עוקבים 🎉 תודה שאתם איתנו מאז {yr} {hashtags}",
    "גרסה {ver} זמינה עכשיו: סנכרון מהיר יותר ומצב לילה. {url}",
    "משלוח חינם בהזמנה מעל {price} 🚚 {hashtags}",
    "בית הספר היסודי השכונתי ב{place} מארח את יריד המדע {when}. כולם מוזמנים! {emoji}",
    "הדרכה יסודית על כל הפיצ'רים החדשים ב-{version}, {when} {at}. {url}",
    "הצטרפו אלינו לסדנת שיווק דיגיטלי {when} {at}. מספר המקומות מוגבל! {url}",
    "שתפו תמונות מ{place} עם התגית {tag} ותוכלו לזכות בשובר של {price} {emoji}",
    "תזכורת: המפגש הועבר ל-{date}, {at}. {mention}",
    "אנחנו מטפלים בתקלת ההתחברות בגרסה {ver}. מספר פנייה {order}",
    "{product} זמין בכל המידות ({sku}). להזמנה: {url}",
    "מאחורי הקלעים 🎬 ההכנות לקמפיין של {yr} בעיצומן {hashtags}",
    "המשחק הערב {at} 🏆 נחשו את התוצאה בתגובות {hashtags}",
    "תודה {mention} על המילים החמות 💙 נתראה ב{tag}",
    "שידור חי עכשיו 🔴 {url} {emoji}",
    "מחירים החל מ-{price} לאדם, ההרשמה המוקדמת נגמרת {when}. {hashtags}",
    "דוח הקיימות של {yr}: {percent} מהאריזות שלנו ממוחזרות ♻️ {url}",
    "שעות הפתיחה של הסניף ב{place} השבוע: {time}. סגור {when} {emoji}",
    "ניסיתם כבר את {product}? ספרו לנו בתגובות 👇 {hashtags}",
    "הכל התחיל ב-{yr} עם חנות אחת ב{place}, והיום יש לנו {n} סניפים 💙",
    "מתכוננים ל-{yr2}? הקולקציה החדשה כבר כאן {emoji} {hashtags}",
    "יותר מכפול מאשר ב-{yr}: תודה לכל הלקוחות שלנו {emoji}",
    "הצטרפו ל-{followers} עוקבים שכבר נהנים מהטיפים שלנו {hashtags}",
    "שבת שלום ☀️ נתראה ביום ראשון מ-{time}. {hashtags}",
    "כל השינויים ב-{version} מפורטים בבלוג: {url}. קוד הקופון ל-{percent} הנחה נשלח במייל",
    "מי סופר את הימים עד {date}? 🙋 תגיבו עם {emoji} אם אתם מגיעים! {hashtags}",
    "שימו לב: האפליקציה תושבת לתחזוקה {when} {at}. סליחה על אי הנוחות 🙏",
    "סיפור לקוח 💬 \"עברנו ל{product} ב-{yr} ולא הסתכלנו אחורה\". לקריאה: {url}",
    "היי {mention}, שלחו לנו בהודעה פרטית את מספר ההזמנה ({order}) ונסדר את זה מיד.",
    "הגרלה 🎁 עקבו אחרי {mention}, סמנו לייק ותייגו 2 חברים. הזוכה יוכרז {when} {at} {hashtags}",
    "הסניף ב{place} עבר דירה! 📍 שעות פתיחה חדשות: {time} {url}",
    "3 ההמלצות שלנו ל-{yr2}:\n1. {product}\n2. {sku}\n3. גיפט קארד החל מ-{price}\n{hashtags}",
    "AMA עם צוות המוצר {when} {at}. שאלות על גרסה {ver}? תביאו אותן! {hashtags}",
    "פוסט חדש בבלוג: {n} תובנות מניהול סושיאל ל-{followers} לקוחות {url}",
    "קריאה לסופ\"ש 📚 סיכום שנת {yr} אצלנו בבלוג: {url} {hashtags}",
    "קוד הקופון WELCOME10 בתוקף עד {date} ומצטבר עם {percent} הנחה {emoji}",
    "פתיחת דלתות 🚪 {time}\nהרצאות 🎤 {time}\n{place}, {when} {hashtags}",
]
TEMPLATES = {"en": EN, "ar": AR, "he": HE}


def build(seed: int = SEED, counts: dict[str, int] = COUNTS) -> list[dict]:
    """The corpus: `counts[lang]` distinct posts per language, ids stable for a given seed."""
    rng = random.Random(seed)
    posts: list[dict] = []
    seen: set[str] = set()
    for lang, wanted in counts.items():
        fill, made, attempts = Fill(rng, lang), 0, 0
        templates = TEMPLATES[lang]
        while made < wanted:
            attempts += 1
            if attempts > wanted * 50:
                raise RuntimeError(f"cannot make {wanted} distinct {lang} posts")
            template = templates[made % len(templates)] if attempts <= len(templates) else rng.choice(templates)
            text = template.format(**fill.slots())
            if text in seen:
                continue
            seen.add(text)
            posts.append({"id": f"ord-{lang}-{made:04d}", "lang": lang, "text": text, "expected": "allow"})
            made += 1
    return posts


def render(posts: list[dict]) -> str:
    return "".join(json.dumps(post, ensure_ascii=False, sort_keys=True) + "\n" for post in posts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file instead of writing")
    args = parser.parse_args()
    text = render(build())
    if args.check:
        same = OUTPUT.exists() and OUTPUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUTPUT.name} differs from the generator's output")
        return 0 if same else 1
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT} ({text.count(chr(10))} posts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
