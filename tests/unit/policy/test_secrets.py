"""SECRET detection (issue 13): certain secrets block, likely ones ask a person, placeholders and look-alikes pass.

Token shapes follow gitleaks' public rules; the random parts below are drawn from a seeded generator so that no
test depends on a real credential.
"""

from __future__ import annotations

import base64
import json
import random
import string
import zlib

import pytest

from govern.policy.engine.detectors.secrets import _entropy, _random_part, _sequential
from govern.policy.engine.evaluation import evaluate

_RNG = random.Random(20261205)
_ALNUM = string.ascii_letters + string.digits
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _pick(pool: str, count: int) -> str:
    return "".join(_RNG.choice(pool) for _ in range(count))


def _github(prefix: str = "ghp_", valid: bool = True) -> str:
    body = _pick(_ALNUM, 30)
    value, check = zlib.crc32(body.encode()), ""
    for _ in range(6):
        value, digit = divmod(value, 62)
        check = _BASE62[digit] + check
    if not valid:
        check = check[1:] + ("A" if check[0] != "A" else "B")
    return prefix + body + check


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _pem(kind: str = "PRIVATE KEY", body_chars: int = 320) -> str:
    material = base64.b64encode(bytes(_RNG.randrange(256) for _ in range(body_chars * 3 // 4))).decode()
    lines = "\n".join(material[i:i + 64] for i in range(0, len(material), 64))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----"


def secrets_in(compiled, text: str):
    decision = evaluate(compiled, text)
    return decision, [f for f in decision.findings if f.entity == "SECRET"]


CERTAIN = {
    "aws_access_key_id": ["AKIA" + _pick(string.ascii_uppercase, 8) + "2345" + _pick(string.ascii_uppercase, 4),
                          "ASIA" + "Q3" + _pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 14)],
    "github_token": [_github("ghp_"), _github("gho_"), _github("ghs_")],
    "github_fine_grained_pat": ["github_pat_" + _pick(_ALNUM, 22) + "_" + _pick(_ALNUM, 59)],
    "gitlab_token": ["glpat-" + _pick(_ALNUM, 20), "gldt-" + _pick(_ALNUM, 20), "glcbt-" + _pick(_ALNUM, 5) + "_"
                     + _pick(_ALNUM, 20), "glptt-" + _pick("0123456789abcdef", 40), "glrt-" + _pick(_ALNUM, 20),
                     "gloas-" + _pick(_ALNUM, 64), "glimt-" + _pick(_ALNUM, 25), "glagent-" + _pick(_ALNUM, 50),
                     "glsoat-" + _pick(_ALNUM, 20), "glffct-" + _pick(_ALNUM, 20), "glft-" + _pick(_ALNUM, 20),
                     "GR1348941" + _pick(_ALNUM, 20), "glpat-" + _pick(_ALNUM, 27) + "." + _pick("abcdef0123", 9),
                     "glrt-t1_" + _pick(_ALNUM, 27) + "." + _pick("abcdef0123", 9),
                     "_gitlab_session=" + _pick(string.ascii_lowercase + string.digits, 32)],
    "slack_token": ["xoxb-" + _pick(string.digits, 12) + "-" + _pick(string.digits, 13) + "-" + _pick(_ALNUM, 24),
                    "xoxp-" + _pick(string.digits, 12) + "-" + _pick(string.digits, 12) + "-"
                    + _pick(string.digits, 12) + "-" + _pick("0123456789abcdef", 32),
                    "xapp-1-A" + _pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10) + "-" + _pick(string.digits, 13)
                    + "-" + _pick("0123456789abcdef", 64),
                    "xoxe.xoxp-1-" + _pick(_ALNUM, 163), "xoxe-1-" + _pick(_ALNUM, 146)],
    "slack_webhook": ["https://hooks.slack.com/services/T" + _pick("ABCDEFGHJK0123456789", 8) + "/B"
                      + _pick("ABCDEFGHJK0123456789", 8) + "/" + _pick(_ALNUM, 24),
                      "https://hooks.slack.com/workflows/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"
                      + _pick(_ALNUM, 24),
                      "https://hooks.slack.com/triggers/" + _pick(_ALNUM, 56)],
    "stripe_key": ["sk_live_" + _pick(_ALNUM, 24), "rk_prod_" + _pick(_ALNUM, 24), "sk_prod_" + _pick(_ALNUM, 24),
                   "sk_test_" + _pick(_ALNUM, 99)],
    "google_api_key": ["AIzaSy" + _pick(_ALNUM + "_-", 33)],
    "jwt": [f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64({'sub': '1234567890'})}.{_pick(_ALNUM + '_-', 43)}",
            f"{_b64({'alg': 'RS256'})}.{_b64({'sub': 'dana', 'iat': 1516239022})}",  # no signature
            f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'admin': True})}."],  # alg none: the dot is the token's
    "private_key": [_pem(), _pem("RSA PRIVATE KEY"), _pem("OPENSSH PRIVATE KEY"), _pem("EC PRIVATE KEY")],
    "openai_api_key": ["sk-proj-" + _pick(_ALNUM + "_-", 74) + "T3BlbkFJ" + _pick(_ALNUM + "_-", 74),
                       "sk-" + _pick(_ALNUM, 20) + "T3BlbkFJ" + _pick(_ALNUM, 20)],
    "anthropic_api_key": ["sk-ant-api03-" + _pick(_ALNUM + "_-", 93) + "AA",
                          "sk-ant-oat01-" + _pick(_ALNUM + "_-", 100)],
    "npm_token": [_github("npm_")],
    "pypi_token": ["pypi-AgEIcHlwaS5vcmc" + _pick(_ALNUM + "_-", 120)],
    "sendgrid_api_key": ["SG." + _pick(_ALNUM + "_-", 22) + "." + _pick(_ALNUM + "_-", 43)],
    "shopify_token": ["shpat_" + _pick("0123456789abcdef", 32)],
    "digitalocean_token": ["dop_v1_" + _pick("0123456789abcdef", 64)],
    "huggingface_token": ["hf_" + _pick(string.ascii_letters, 34)],
}


@pytest.mark.parametrize(("kind", "token"), [(k, t) for k, tokens in CERTAIN.items() for t in tokens])
@pytest.mark.parametrize("template", ["{}", "our deploy key: {} (rotate it)", "المفتاح {}", "הטוקן: {}",
                                      "נשלח ב-{} בטעות", 'config = "{}"'])
def test_certain_secrets_block_and_point_at_the_value(compiled, kind, token, template) -> None:
    text = template.format(token)
    decision, found = secrets_in(compiled, text)
    assert [(f.kind, text[f.start:f.end], f.certainty) for f in found] == [(kind, token, "certain")]
    assert decision.decision.value == "block" and found[0].severity.value == "critical"


def test_the_issue_families_are_found(compiled) -> None:
    for text, kind, value in [
        ("token: gldt-fZMfRmUxZWcU8BICIPLb", "gitlab_token", "gldt-fZMfRmUxZWcU8BICIPLb"),
        ("token: GR1348941DDGzTOVa5QALRfE44GWL", "gitlab_token", "GR1348941DDGzTOVa5QALRfE44GWL"),
        ("token: rk_prod_MkNj4aZVGoSCyDER9oHPICUz", "stripe_key", "rk_prod_MkNj4aZVGoSCyDER9oHPICUz"),
        ("https://hooks.slack.com/workflows/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",
         "slack_webhook", "https://hooks.slack.com/workflows/T2H71EFLK/A047FK946NN/430780826188280067/"
                          "LfFz5RekA2J0WOGJyKsiOjjg"),
        ("files.slack.com/image.png?t=xoxe-4726837507825-4848681849303-4856614048758-e0b1f3d4cb371f92260edb0d9444d206",
         "slack_token", "xoxe-4726837507825-4848681849303-4856614048758-e0b1f3d4cb371f92260edb0d9444d206"),
    ]:
        _, found = secrets_in(compiled, text)
        assert [(f.kind, text[f.start:f.end]) for f in found] == [(kind, value)], text


def test_aws_secret_access_key_is_the_value_alone(compiled) -> None:
    value = "k" + _pick(_ALNUM + "/+", 38) + "Q"
    text = f"aws_secret_access_key = {value}"
    _, found = secrets_in(compiled, text)
    assert [(f.kind, text[f.start:f.end], f.certainty) for f in found] == [("aws_secret_access_key", value, "certain")]
    # AWS's documented example secret: still a credential-shaped assignment, so a person looks.
    text = "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    _, found = secrets_in(compiled, text)
    assert [(f.certainty, f.reason, f.action.value) for f in found] == [("likely", "low_entropy", "require_approval")]


LIKELY = [
    (_github(valid=False), "no_checksum"),                             # ghp_ shape, CRC32 does not match
    ("ASIAPACIFICMARKETINGS"[:20], "no_checksum"),                     # AWS shape without a digit: maybe a word
    ("see https://example.com/keys/AIzaSy" + "Q" + _pick(_ALNUM, 32) + "/config", "inside_word"),
    ("#glpat-" + _pick(_ALNUM, 20), "inside_word"),
    # gitleaks' JWT sample: the header keeps its JSON frame and names alg, but a byte inside is garbled
    ("eyJhbGciOieeeiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
     ".a_5icKBDo-8EjUlrfvz2k2k-FYaindQ0DEYNrlsnRG0", "unverified_structure"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----", "unverified_structure"),
    ("pasted half of it: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA" + _pick(_ALNUM + "+/", 120),
     "unverified_structure"),
    ("xoxr-" + _pick(string.ascii_letters, 6) + "7" + _pick(_ALNUM, 12), "no_checksum"),  # legacy workspace form
]


@pytest.mark.parametrize(("text", "reason"), LIKELY)
def test_likely_secrets_ask_for_approval_one_severity_lower(compiled, text, reason) -> None:
    decision, found = secrets_in(compiled, text)
    assert [(f.certainty, f.reason) for f in found] == [("likely", reason)]
    assert decision.decision.value == "require_approval" and found[0].severity.value == "high"
    assert found[0].as_contract()["reason"] == reason


REFUSED = [
    # the issue's false alarms
    "Great turnout at #AsiaPacificMarketing this week!",
    "Loved the XOXO-festival-2024 lineup",
    "glpat-XXXXXXXXXXX-XXXXXXXX",
    "github_pat_" + "x" * 82,
    "xoxb-xoxb-my-bot-token",
    "-----BEGIN PRIVATE KEY-----\nanything\n-----END PRIVATE KEY-----",
    # case: real prefixes have one case only
    'msgstr "Näytä asiakirjamallikansio."',
    "AIZASYCO2CXRMC9ELSKLHLHRMBSWDEVEDZTLO2O",
    "XOxE-RROAmw, Home and Garden, 5:24, 20120323",
    "#ASIAPACIFICSUMMIT2X #AKIAQWERTYUIOP234567",
    # not standing alone, or the wrong length
    "TODAYINASIAASACKOFRICEFELLOVER",
    "GWw4hjABFzZCGiRpmlDyDdo87Jn9BN9THUA47muVRNunLxsa82tMAdvmrhOqNkRKiYMEAFbTJAIzaTesb6Tscfcni8vIpWZqNCXFDFslJ",
    "https://github.com/xoxa-nyc/xoxa-nyc.github.io/blob/master/README.md",
    "https://indieweb.org/images/3/35/2018-250-xoxo-indieweb-1.jpg",
    "https://docs.google.com/document/d/1W7KCxOxP-1Fy5EyF2lbJGE2WuKmu5v0suYqoHas1jRM",
    "glsoat-" + "PREfix_helloworld380_testin_pretty_long_token_long_",
    "glpat_hellOworld380_testin",
    # placeholders: filler, repeated characters, sequences, documentation words
    "aws_access_key: AKIAIOSFODNN7EXAMPLE",
    "key = AKIAXXXXXXXXXXXXXXXX",
    "AKIAZZZZZZZZZZZZZZZZ",
    "GR134894112312312312312312312",
    "GR1348941XXXXXXXXXXXXXXXXXXXX",
    "glptt-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "glrt-tx_xxxxxxxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxx",
    'apiKey: "AIzaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"',
    "AIzaSyabcdefghijklmnopqrstuvwxyz1234567",
    "sk_test_yourSecretKeyGoesHere4242424242",
    "https://hooks.slack.com/services/Txxxxxxxx/Bxxxxxxxx/xxxxxxxxxxxxxxxxxxxxxxxx",
    "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
    "-----BEGIN RSA PRIVATE KEY-----\n<paste your key here>\n-----END RSA PRIVATE KEY-----",
    "-----BEGIN PRIVATE KEY-----\nMIIEow\n-----END PRIVATE KEY-----",
    # Slack: IDs are long digit groups and the secret part is random
    "xoxb-xxxxxxxxx-xxxxxxxxxx-xxxxxxxxxxxx",
    "xoxb-12345-abcd234",
    "xoxb-abcdef-abcdef",
    "xoxb-Slack_BOT_TOKEN",
    '"token1": "xoxp-1234567890"',
    '"token3": "xoxp-1234-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d"',
    '"token4": "xoxp-572370529330-573807301142-572331691188-####################"',
    "xoxe.xoxp-1-SlackAppConfigurationAccessTokenHere",
    "xoxe-1-xxx",
    "see you there xoxo-20241231-newyear2025 and xoxo-2024-love",
    # vendor prefixes followed by words: random bodies hold both cases
    "glft-summer-collection-2024 and gldt-behind-the-scenes-2024",
    "sk_test_mysecretkey1234567890abc",
    "_gitlab_session=abcdefghijklmnopqrstuvwxyzabcdef",
    # Stripe: publishable keys are public; a bare prefix is nothing
    "pk_live_j5krY8XTgIcDaHDb3YrsAfCl",
    "sk_live_",
    # JWT: the header must decode to JSON
    '{"alg":"HS256","typ":"JWT"}.{"name":"Jon Doe"}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    "bm90X3ZhbGlkX2pzb25fYXRfYWxs.bm90X3ZhbGlkX2pzb25fYXRfYWxs.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "eyJBB.eyJCC.eyJDDDD",
    # other vendors: their markers in the right case, random bodies
    "sk-" + "a" * 20 + "T3BlbkFJ" + "b" * 20,
    "sk-ant-api03-abc123xyz-456de-klMnopqrstuvwx-3456yza789bcde-1234fghijklmnopAA",
    "npm_" + "x" * 36,
    "hf_thisisnotatokenjustalongwordhere",
    "SG.abcdefghijklmnopqrstuv.wxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopq",
    # look-alike letters are not a key (a Cyrillic А starts this one)
    "\u0410KIAKQDHC3SNEX6IBHGJ",
    "GR1348941" + "".join(chr(ord(c) + 0xFEE0) for c in "toXFR8akwLEOx3OVzha7"),  # full-width body
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG=bPxRfiCYzq8Hk2Lm9Q",  # "=" is padding, never inside
    # ordinary posts in the three languages
    "Use code XOXO2024 for 20% off — xoxo, the team",
    "حملة #AsiaPacificMarketing تبدأ اليوم",
    "הכנס #AKIA2024 מתחיל מחר בתל אביב",
]


@pytest.mark.parametrize("text", REFUSED)
def test_placeholders_look_alikes_and_ordinary_text_are_no_secret(compiled, text) -> None:
    _, found = secrets_in(compiled, text)
    assert found == [], [(f.kind, text[f.start:f.end]) for f in found]


def test_real_key_material_with_zero_padding_is_a_key(compiled) -> None:
    # OpenSSH and DER encode lengths with zero bytes: real material is full of "AAAA" runs.
    blob = (b"openssh-key-v1\x00" + b"\x00\x00\x00\x04none" * 2 + b"\x00\x00\x00\x00\x00\x00\x00\x01"
            + b"\x00\x00\x003\x00\x00\x00\x0bssh-ed25519\x00\x00\x00 " + bytes(_RNG.randrange(256) for _ in range(200)))
    material = base64.b64encode(blob).decode()
    assert "AAAAAAAA" in material
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(material[i:i + 70] for i in range(0, len(material), 70))
    key += "\n-----END OPENSSH PRIVATE KEY-----"
    _, found = secrets_in(compiled, f"oops {key}")
    assert [(f.kind, f.certainty) for f in found] == [("private_key", "certain")]


def test_an_invisible_character_inside_a_token_does_not_hide_it(compiled) -> None:
    token = _github()
    text = f"token {token[:10]}\u200b{token[10:]}"
    _, found = secrets_in(compiled, text)
    assert [(f.kind, f.certainty, text[f.start:f.end].replace("\u200b", "")) for f in found] == [
        ("github_token", "certain", token)]


def test_a_sentence_full_stop_is_not_an_empty_signature(compiled) -> None:
    jwt = f"{_b64({'alg': 'HS256'})}.{_b64({'sub': 'x1'})}"
    text = f"my token is {jwt}."
    _, found = secrets_in(compiled, text)
    assert [text[f.start:f.end] for f in found] == [jwt]


def test_hostile_jwt_look_alikes_are_refused_without_error(compiled) -> None:
    deep = base64.urlsafe_b64encode(b'{"a":' + b"[" * 760 + b"]" * 760 + b"}").decode().rstrip("=")
    claims = _b64({"sub": "x"})
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in f"{_b64({'alg': 'HS256'})}.{claims}")
    for text in (f"{deep}.{claims}.sig", full_width, f"{_b64({'alg': 'HS256'})}\uff0e{claims}"):
        _, found = secrets_in(compiled, text)
        assert found == []


def test_randomness_helpers() -> None:
    assert _sequential("xyabcdefz") and _sequential("Q987654") and not _sequential("a1b2c3d4e5")
    assert _entropy("aaaa") == 0 and round(_entropy("abcd"), 3) == 2
    assert _random_part("e039d02840a0b9379c") and _random_part("GkwFDQoHqzXDVsC6GzqYUypD")
    assert not _random_part("newyear2025") and not _random_part("mygreatparty") and not _random_part("1234567890")
