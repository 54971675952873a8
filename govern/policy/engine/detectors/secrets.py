"""SECRET with a kind: cloud keys, GitHub/GitLab/Slack/Stripe tokens, Google API keys, private keys, JWTs, and
the API keys of a few more vendors with definitive prefixes (OpenAI, Anthropic, npm, PyPI, SendGrid, Shopify,
DigitalOcean, Hugging Face).

The shapes follow gitleaks' public rules. Every family is found in two steps:

1. the RE2 `trigger` and the `pattern` run on the NORMALISED text (lower-case, folded), so they only propose
   candidates of the right length and alphabet;
2. the validator reads the ORIGINAL characters behind the candidate, where case matters (`AKIA…` is upper-case in
   every real AWS key, `xoxb-` lower-case in every Slack token), and decides:

   - refused (no hit): the exact, case-sensitive shape does not fit; the token is glued inside a longer word; or it
     is a placeholder (runs of x, *, #; one character repeated; an alphabet or digit sequence; a word such as
     EXAMPLE) or too uniform to be random (Shannon entropy of its random part);
   - certain: a checksum (GitHub's CRC32), a header that decodes (JWT), key material between PEM armour, or a
     vendor prefix with a random body of the documented length standing alone;
   - likely: the shape fits but nothing proves it — no checksum where the family has one, a header that does not
     quite decode, a key block without its end, a token inside a hashtag, path or file name. A `block` rule then
     asks for approval one severity lower (the engine does that), with the reason code.

See docs/decisions/0041-secrets-certain-or-likely.md.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import operator
import re
import string
import zlib
from collections import Counter
from dataclasses import dataclass
from itertools import repeat
from typing import Callable

from govern.policy.engine.detectors.base import Hit, PatternDetector, Scan
from govern.policy.engine.text import fold_char

_EDGE_BEFORE = r"(?<![a-z0-9_])"
_EDGE_AFTER = r"(?![a-z0-9_])"

_ASCII_WORD = frozenset(string.ascii_letters + string.digits + "_")
_ASCII_ALNUM = frozenset(string.ascii_letters + string.digits)

# Placeholders: a run of a filler character, one character six times in a row, a sequence such as "abcdef" or
# "123456" (checked separately), or a word nobody puts in a real key.
_FILLER_RUN = re.compile(r"([xX*#•.])\1{3}|(.)\2{5}")
_PLACEHOLDER_WORD = re.compile(r"(?i)example|placeholder|redacted|changeme|dummy|notreal|insert|your")


def _entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in Counter(text).values())


_STEP_MARK = {1: 1, -1: 2}  # a step of +1 or -1 between neighbouring code points, as one byte (anything else: 0)


def _sequential(text: str, run: int = 6) -> bool:
    """Whether the text holds `run` characters in alphabet or digit order ("abcdef", "987654").

    The steps between neighbours become one byte each (C-level maps), then `run - 1` steps up or down in a row are
    looked for with `in`: no Python step per character.
    """
    if len(text) < run:
        return False
    codes = list(map(ord, text))
    steps = bytes(map(_STEP_MARK.get, map(operator.sub, codes[1:], codes), repeat(0)))
    return b"\x01" * (run - 1) in steps or b"\x02" * (run - 1) in steps


def _filler(body: str) -> bool:
    return bool(_FILLER_RUN.search(body) or _sequential(body))


def _placeholder(body: str) -> bool:
    return _filler(body) or _PLACEHOLDER_WORD.search(body) is not None


def _too_uniform(body: str) -> bool:
    """Too little variety for a random value of its length (16 random base32 characters carry ~3.6 bits each)."""
    return _entropy(body) < min(3.0, math.log2(max(len(body), 2)) - 0.9)


def _glue(original: str, first: int, last: int) -> str | None:
    """How the token sits in the text: None standing alone, "word" inside a longer word (then it is not this
    token at all), "joined" inside a hashtag, mention, hyphenated word, path or file name."""
    before = original[first - 1] if first > 0 else ""
    after = original[last] if last < len(original) else ""
    if (before and before in _ASCII_WORD) or (after and after in _ASCII_WORD):
        return "word"
    if before and before in "#@/\\":
        return "joined"
    if before in "-." and first > 1 and original[first - 2] in _ASCII_ALNUM:
        return "joined"
    if after and after in "/\\":
        return "joined"
    if after == "." and last + 1 < len(original) and original[last + 1] in _ASCII_ALNUM:
        return "joined"
    return None


def _visible(token: str) -> str:
    """The token without the invisible characters normalisation drops (a zero-width space pasted inside a key
    does not make it less of a key); look-alike letters stay, so a Cyrillic "АKIA…" is no AWS key."""
    if token.isascii():
        return token
    return "".join(char for char in token if fold_char(char))


# --- families ---------------------------------------------------------------------------------------------------


Check = Callable[["re.Match[str]"], "tuple[str, str | None] | None"]


def _sure(_: re.Match[str]) -> tuple[str, str | None]:
    return "certain", None


@dataclass(frozen=True)
class _Shape:
    """One written form of a family: the exact, case-sensitive regex (with a `body` group: its random part) and
    what makes it certain. `definitive`: its structure stands even inside a path or a URL (digit groups, a
    checksum, a URL of the vendor's host); otherwise a joined token is only likely."""

    exact: re.Pattern[str]
    check: Check = _sure
    definitive: bool = False
    # Random base62 of 20 or more characters holds both cases (all but 1 in 25,000): "glft-summer-collection-2024"
    # or "sk_test_mysecretkey123456789" are words, not keys.
    mixed_case: bool = False


def _shape(exact: str, check: Check = _sure, *, definitive: bool = False, mixed_case: bool = False) -> _Shape:
    return _Shape(re.compile(exact, re.ASCII), check, definitive, mixed_case)  # \w, \d: ASCII only


def _both_cases(body: str) -> bool:
    return any(char.isupper() for char in body) and any(char.islower() for char in body)


def _validator(kind: str, shapes: tuple[_Shape, ...]):
    def validate(scan: Scan, match: re.Match[str]) -> Hit | None:
        original = scan.norm.original
        first, last = scan.norm.span(*match.span())
        token = _visible(original[first:last])
        glue = _glue(original, first, last)
        if glue == "word":
            return None
        for shape in shapes:
            exact = shape.exact.fullmatch(token)
            if exact is None:
                continue
            body = exact.group("body")
            if _placeholder(body) or _too_uniform(body) or (shape.mixed_case and not _both_cases(body)):
                return None
            verdict = shape.check(exact)
            if verdict is None:
                return None
            certainty, reason = verdict
            if glue and not shape.definitive:
                if certainty != "certain":
                    return None  # two doubts: a digitless AWS shape inside a hashtag is the hashtag
                certainty, reason = "likely", "inside_word"
            return Hit("SECRET", match.start(), match.end(), kind=kind, value=token, certainty=certainty,
                       reason=reason)
        return None

    return validate


def _family(kind: str, trigger: str, pattern: str, *shapes: _Shape) -> PatternDetector:
    compiled = re.compile(_EDGE_BEFORE + "(?:" + pattern + ")" + _EDGE_AFTER)
    return PatternDetector("SECRET", f"SECRET:{kind}", trigger, compiled, _validator(kind, shapes), kinds=(kind,))


# AWS: a documented prefix and 16 base32 upper-case characters. No checksum; a body without a single digit may be a
# shouted word ("ASIAPACIFICMARKETING"), so it is only likely. Keys ending in EXAMPLE are AWS's documentation.
def _aws_check(match: re.Match[str]) -> tuple[str, str | None]:
    if any(char.isdigit() for char in match.group("body")):
        return "certain", None
    return "likely", "no_checksum"


_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _github_checksum(match: re.Match[str]) -> tuple[str, str | None]:
    """GitHub's token format: 30 random base62 characters, then their CRC32 in 6 base62 digits."""
    body = match.group("body")
    value, digits = zlib.crc32(body[:30].encode()), []
    for _ in range(6):
        value, digit = divmod(value, 62)
        digits.append(_BASE62[digit])
    if "".join(reversed(digits)) == body[30:]:
        return "certain", None
    return "likely", "no_checksum"


_HEX = frozenset(string.hexdigits)


def _random_part(body: str) -> bool:
    """Slack's random parts are hex or mixed-case base62 and always mix letters and digits; "newyear2025" or
    "mygreatparty" after "xoxo-20241231-" are words. A mixed-case part without a digit (1 in 70 real base62 ones)
    still counts."""
    letters = any(char.isalpha() for char in body)
    digits = any(char.isdigit() for char in body)
    mixed_case = any(char.isupper() for char in body) and any(char.islower() for char in body)
    if mixed_case:
        return letters
    return letters and digits and all(char in _HEX for char in body)


def _slack_numbered(match: re.Match[str]) -> tuple[str, str | None] | None:
    """Slack IDs in digit groups, then a random part: certain."""
    return ("certain", None) if _random_part(match.group("body")) else None


def _slack_legacy(match: re.Match[str]) -> tuple[str, str | None] | None:
    """The least specific Slack form (legacy workspace tokens, no digit groups): only likely."""
    return ("likely", "no_checksum") if _random_part(match.group("body")) else None


def _letters_and_digits(match: re.Match[str]) -> tuple[str, str | None] | None:
    body = match.group("body")
    return ("certain", None) if any(c.isdigit() for c in body) and any(c.isalpha() for c in body) else None


_GITLAB_20 = "glpat|gldt|glft|glsoat|glrt|glffct|glcbt"

DETECTORS: tuple[PatternDetector, ...] = (
    _family(
        "aws_access_key_id",
        r"(?:akia|asia|abia|acca|a3t[a-z0-9])[a-z2-7]{16}",
        r"(?:akia|asia|abia|acca|a3t[a-z0-9])[a-z2-7]{16}",
        _shape(r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])(?P<body>[A-Z2-7]{16})(?<!EXAMPLE)", _aws_check),
    ),
    _family(
        "github_token",
        r"gh[pousr]_[a-z0-9]{36}",
        r"gh[pousr]_[a-z0-9]{36}",
        _shape(r"gh[pousr]_(?P<body>[A-Za-z0-9]{36})", _github_checksum, definitive=True, mixed_case=True),
    ),
    _family(
        "github_fine_grained_pat",
        r"github_pat_[a-z0-9_]{82}",
        r"github_pat_[a-z0-9]{22}_[a-z0-9]{59}",
        _shape(r"github_pat_(?P<body>[A-Za-z0-9]{22}_[A-Za-z0-9]{59})", definitive=True, mixed_case=True),
    ),
    _family(
        "gitlab_token",
        r"gl(?:pat|dt|ft|soat|rt|ffct|cbt|imt|agent|oas|ptt)-[a-z0-9_-]{20}|gr1348941[a-z0-9_-]{20}"
        r"|_gitlab_session=[a-z0-9]{32}",
        # Routable tokens (a payload, a dot and a 9-character tail) first, then the fixed-length families.
        r"gl(?:pat|rt)-[a-z0-9_-]{27,300}\.[a-z0-9]{9}"
        rf"|(?:{_GITLAB_20})-[a-z0-9_-]{{20,50}}|glimt-[a-z0-9_-]{{25}}|glagent-[a-z0-9_-]{{50,256}}"
        r"|gloas-[a-z0-9_-]{64}|glptt-[0-9a-f]{40}|gr1348941[a-z0-9_-]{20,50}|_gitlab_session=[a-z0-9]{32}",
        _shape(r"gl(?:pat|rt)-(?P<body>[\w-]{27,300})\.[0-9a-z]{9}", definitive=True, mixed_case=True),
        _shape(rf"(?:{_GITLAB_20})-(?P<body>[\w-]{{20,50}})", mixed_case=True),
        _shape(r"glimt-(?P<body>[\w-]{25})", mixed_case=True),
        _shape(r"glagent-(?P<body>[\w-]{50,256})", mixed_case=True),
        _shape(r"gloas-(?P<body>[\w-]{64})", mixed_case=True),
        _shape(r"glptt-(?P<body>[0-9a-f]{40})"),
        _shape(r"GR1348941(?P<body>[\w-]{20,50})", mixed_case=True),
        _shape(r"_gitlab_session=(?P<body>[0-9a-z]{32})", _letters_and_digits),
    ),
    _family(
        "slack_token",
        r"xox[abeposr]-[0-9]|xox[ar]-[a-z0-9]{12}|xoxe\.xox[bp]-[0-9]|xapp-[0-9]-",
        # Numbered tokens: an optional version digit, one to three Slack IDs, then the random part.
        r"xox[abeposr]-(?:[0-9]-)?(?:[0-9]{6,14}-){1,3}[a-z0-9]{10,64}"
        r"|xapp-[0-9]-[a-z0-9]{8,16}-[0-9]{10,13}-[a-z0-9]{32,128}"
        r"|xoxe\.xox[bp]-[0-9]-[a-z0-9]{140,180}|xoxe-[0-9]-[a-z0-9]{140,180}"
        r"|xox[ar]-(?:[0-9]-)?[a-z0-9]{12,48}",
        _shape(r"xox[abeposr]-(?:\d-)?(?:\d{6,14}-){1,3}(?P<body>[A-Za-z0-9]{10,64})", _slack_numbered,
               definitive=True),
        _shape(r"xapp-\d-[A-Z0-9]{8,16}-\d{10,13}-(?P<body>[A-Za-z0-9]{32,128})", definitive=True),
        _shape(r"xoxe\.xox[bp]-\d-(?P<body>[A-Za-z0-9]{140,180})", definitive=True, mixed_case=True),
        _shape(r"xoxe-\d-(?P<body>[A-Za-z0-9]{140,180})", definitive=True, mixed_case=True),
        _shape(r"xox[ar]-(?:\d-)?(?P<body>[A-Za-z0-9]{12,48})", _slack_legacy),
    ),
    _family(
        "slack_webhook",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/",
        r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[a-z0-9+/]{40,160}",
        _shape(r"(?i:(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/)"
               r"(?P<body>[A-Za-z0-9+/]{40,160})", definitive=True),
    ),
    _family(
        "stripe_key",
        r"(?:sk|rk)_(?:live|test|prod)_[a-z0-9]{20}",
        r"(?:sk|rk)_(?:live|test|prod)_[a-z0-9]{20,247}",
        _shape(r"(?:sk|rk)_(?:live|test|prod)_(?P<body>[A-Za-z0-9]{20,247})", mixed_case=True),
    ),
    _family(
        "google_api_key",
        r"aiza[a-z0-9_-]{35}",
        r"aiza[a-z0-9_\-]{35}(?![a-z0-9_-])",
        _shape(r"AIza(?P<body>[\w-]{35})", mixed_case=True),
    ),
    # Further vendors whose prefixes gitleaks documents and nothing else writes.
    _family(
        "openai_api_key",
        r"t3blbkfj",  # base64 of "OpenAI", inside every key
        r"sk-(?:proj|svcacct|admin)-[a-z0-9_-]{58,74}t3blbkfj[a-z0-9_-]{58,74}|sk-[a-z0-9]{20}t3blbkfj[a-z0-9]{20}",
        _shape(r"sk-(?:proj|svcacct|admin)-(?P<body>[\w-]{58,74}T3BlbkFJ[\w-]{58,74})", mixed_case=True),
        _shape(r"sk-(?P<body>[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})", mixed_case=True),
    ),
    _family(
        "anthropic_api_key",
        r"sk-ant-(?:api|admin|oat|ort)[0-9]{2}-",
        r"sk-ant-(?:api03|admin01)-[a-z0-9_-]{93}aa|sk-ant-(?:oat01|ort01)-[a-z0-9_-]{40,300}",
        _shape(r"sk-ant-(?:api03|admin01)-(?P<body>[\w-]{93})AA", mixed_case=True),
        _shape(r"sk-ant-(?:oat01|ort01)-(?P<body>[\w-]{40,300})", mixed_case=True),
    ),
    _family(
        "npm_token",
        r"npm_[a-z0-9]{36}",
        r"npm_[a-z0-9]{36}",
        # npm's tokens have GitHub's format: 30 random characters and their CRC32.
        _shape(r"npm_(?P<body>[A-Za-z0-9]{36})", _github_checksum, definitive=True, mixed_case=True),
    ),
    _family(
        "pypi_token",
        r"pypi-ageichlwas5vcmc",  # a macaroon issued by pypi.org
        r"pypi-ageichlwas5vcmc[a-z0-9_-]{50,1000}",
        _shape(r"pypi-AgEIcHlwaS5vcmc(?P<body>[\w-]{50,1000})", definitive=True),
    ),
    _family(
        "sendgrid_api_key",
        r"sg\.[a-z0-9_-]{22}\.[a-z0-9_-]{43}",
        r"sg\.[a-z0-9_-]{22}\.[a-z0-9_-]{43}",
        _shape(r"SG\.(?P<body>[\w-]{22}\.[\w-]{43})", mixed_case=True),
    ),
    _family(
        "shopify_token",
        r"shp(?:at|ca|pa|ss)_[a-f0-9]{32}",
        r"shp(?:at|ca|pa|ss)_[a-f0-9]{32}",
        _shape(r"shp(?:at|ca|pa|ss)_(?P<body>[a-fA-F0-9]{32})", _letters_and_digits),
    ),
    _family(
        "digitalocean_token",
        r"do[opr]_v1_[a-f0-9]{64}",
        r"do[opr]_v1_[a-f0-9]{64}",
        _shape(r"do[opr]_v1_(?P<body>[a-f0-9]{64})", _letters_and_digits),
    ),
    _family(
        "huggingface_token",
        r"(?:hf|api_org)_[a-z]{34}",
        r"(?:hf|api_org)_[a-z]{34}",
        _shape(r"(?:hf|api_org)_(?P<body>[A-Za-z]{34})", mixed_case=True),
    ),
)


# --- AWS secret access key: only where it is named ----------------------------------------------------------------

_AWS_SECRET_VALUE = re.compile(r"[A-Za-z0-9/+]{40}")


def _validate_aws_secret(scan: Scan, match: re.Match[str]) -> Hit | None:
    """40 base64 characters assigned to a key named aws_secret_access_key; the finding is the value alone."""
    start, end = match.span("value")
    original = _visible(scan.original(start, end))
    if _AWS_SECRET_VALUE.fullmatch(original) is None or _filler(original) or _too_uniform(original):
        return None
    classes = sum(any(test(char) for char in original) for test in (str.isupper, str.islower, str.isdigit))
    if classes < 2:
        return None
    if _PLACEHOLDER_WORD.search(original) or classes < 3:
        # AWS's documented example key (…EXAMPLEKEY) or a value without the variety of a random one.
        return Hit("SECRET", start, end, kind="aws_secret_access_key", value=original, certainty="likely",
                   reason="low_entropy")
    return Hit("SECRET", start, end, kind="aws_secret_access_key", value=original)


# --- JWT ----------------------------------------------------------------------------------------------------------


def _b64url(part: str) -> bytes | None:
    if len(part) % 4 == 1:
        return None
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return None


def _validate_jwt(scan: Scan, match: re.Match[str]) -> Hit | None:
    """A JWS in compact form: certain when the header decodes to a JSON object naming its `alg` and the claims
    decode; likely when the header keeps its JSON frame and names alg/typ but a byte inside is garbled. The
    signature may be absent (an unsigned token is still a bearer token); with `alg: none` the empty signature's
    dot belongs to the token."""
    start, end = match.span()
    original = _visible(scan.original(start, end))
    if not original.isascii():  # full-width letters or a look-alike dot folded into the candidate
        return None
    head, claims, *rest = original.split(".")
    header, payload = _b64url(head), _b64url(claims)
    if header is None or payload is None:
        return None
    certainty, reason, alg = "certain", None, None
    try:
        decoded = json.loads(header)
    except (ValueError, RecursionError):  # a deeply nested header is no JWT either
        decoded = None
    if isinstance(decoded, dict) and "alg" in decoded:
        alg = decoded["alg"]
    elif header.startswith(b'{"') and header.rstrip().endswith(b"}") and (b'"alg"' in header or b'"typ"' in header):
        certainty, reason = "likely", "unverified_structure"
    else:
        return None
    if rest and not rest[0].rstrip("=") and str(alg).lower() != "none":
        end -= len(rest[0]) + 1  # a sentence's full stop after the token, not an empty signature
        original = original[:len(original) - len(rest[0]) - 1]
    return Hit("SECRET", start, end, kind="jwt", value=original, certainty=certainty, reason=reason)


# --- private keys between PEM armour ------------------------------------------------------------------------------

_PEM_HEADER_LINE = re.compile(r"^[A-Za-z][A-Za-z-]*:.*$|^=[A-Za-z0-9+/]{4}$", re.MULTILINE)  # Proc-Type:, PGP CRC
_PEM_SPACE = re.compile(r"\s+|\\[nr]")
_BASE64_BODY = re.compile(r"[A-Za-z0-9+/]+=*")
_PEM_STOP = re.compile(r"-----|\n\s*\n")


def _validate_private_key(scan: Scan, match: re.Match[str]) -> Hit | None:
    """Key material between the armour: base64, not a word. Certain with its END line and at least 64 characters
    of material (every real key has hundreds); likely when shorter or without its end (a truncated paste)."""
    text = scan.text
    # The block's end is found with str.find, not by the pattern, so a text full of BEGIN lines stays linear.
    end_marker = text.find("-----end", match.end(), match.end() + 16384)
    closed = False
    if end_marker != -1:
        body_end = end_marker
        close = text.find("-----", end_marker + 8, end_marker + 64)
        end = close + 5 if close != -1 else end_marker + 8
        closed = close != -1
    else:
        stop = _PEM_STOP.search(text, match.end(), match.end() + 16384)
        body_end = end = stop.start() if stop else min(len(text), match.end() + 16384)
    material = _PEM_SPACE.sub("", _PEM_HEADER_LINE.sub("", scan.original(match.end(), body_end)))
    # No run or sequence test here: DER and OpenSSH material is full of "AAAAAAAA" (zero-padded lengths).
    if len(material) < 12 or _BASE64_BODY.fullmatch(material) is None:
        return None
    classes = sum(any(test(char) for char in material) for test in (str.isupper, str.islower, str.isdigit))
    if classes < 2 or _too_uniform(material):
        return None
    if not closed:
        end = body_end
        while end > match.end() and text[end - 1].isspace():
            end -= 1
    certain = closed and len(material) >= 64
    return Hit("SECRET", match.start(), end, kind="private_key", value=scan.original(match.start(), end),
               certainty="certain" if certain else "likely", reason=None if certain else "unverified_structure")


DETECTORS += (
    PatternDetector(
        "SECRET", "SECRET:aws_secret_access_key", r"aws[_ .-]?secret",
        re.compile(r"aws[_ .-]?secret[_ .-]?(?:access[_ .-]?)?key[\"']?\s{0,4}(?:=>|[:=])\s{0,4}[\"']?"
                   r"(?P<value>[a-z0-9/+]{40})(?![a-z0-9/+=])"),
        _validate_aws_secret, kinds=("aws_secret_access_key",)),
    PatternDetector(
        "SECRET", "SECRET:jwt", r"eyj[a-z0-9_-]{8,}\.eyj",
        re.compile(_EDGE_BEFORE + r"eyj[a-z0-9_\-]{8,2048}\.eyj[a-z0-9_\-]{8,8192}(?:\.(?:[a-z0-9_\-]{1,2048}={0,2})?)?"
                   + r"(?![a-z0-9_\-])"),
        _validate_jwt, kinds=("jwt",)),
    PatternDetector(
        "SECRET", "SECRET:private_key", r"-----begin [a-z0-9 ]{0,24}private key",
        re.compile(r"-----begin (?:[a-z0-9]{1,12} ){0,2}private key(?: block)?-----"),
        _validate_private_key, kinds=("private_key",)),
)
