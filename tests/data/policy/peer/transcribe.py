"""Write the peer-sample JSONL files: labelled strings from other tools' own test suites, mapped to govern's entities.

Every string below was read (with the project's code-search tool) from the file named in its `source` and copied
here by hand; nothing is fetched at run time. Where the source's true positive is *generated* at test time
(gitleaks' `secrets.NewSecret(<regex>)`), this script draws one deterministic instance of that same shape with a
seeded rng and marks the line `"literal": false`; every other line is `"literal": true` (verbatim).

    .venv/bin/python tests/data/policy/peer/transcribe.py            # rewrite the *.jsonl files next to it
    .venv/bin/python tests/data/policy/peer/transcribe.py --check    # exit 1 if a committed file differs

Line format (one JSON object per line):
    id, text, entity (govern's name), kind (SECRET and NATIONAL_ID only, else null), spans ([[start, end], ...]
    of every expected value in `text` for a tp, [] for an fp), label ("tp" | "fp"), literal, source {repo, path,
    rule, commit}, note.
An fp line means: the source says this text holds NO `entity` (placeholder, bad checksum, wrong case, ...).
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

GITLEAKS = "gitleaks/gitleaks"
PRESIDIO = "microsoft/presidio"
DETECT_SECRETS = "Yelp/detect-secrets"
STDNUM = "arthurdejong/python-stdnum"
ISSUE = "govern issue 13"

_rng = random.Random(20261205)
ALNUM = string.ascii_letters + string.digits


def _gen(alphabet: str, n: int) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def _src(repo: str, path: str, rule: str, commit: str | None = None) -> dict:
    return {"repo": repo, "path": path, "rule": rule, "commit": commit}


def _line(text: str, entity: str, label: str, source: dict, *, kind: str | None = None,
          values: list[str] | None = None, literal: bool = True, note: str = "") -> dict:
    """A labelled sample; spans are found by searching each expected value in the text, left to right."""
    spans, cursor = [], 0
    if label == "tp":
        for value in values if values is not None else [text]:
            start = text.index(value, cursor)
            spans.append([start, start + len(value)])
            cursor = start + len(value)
    return {"text": text, "entity": entity, "kind": kind, "spans": spans, "label": label, "literal": literal,
            "source": source, "note": note}


# --- gitleaks: cmd/generate/config/rules/*.go (MIT) ---------------------------------------------------------------

def gitleaks() -> list[dict]:
    out: list[dict] = []
    R = "cmd/generate/config/rules/"

    def tp(rule, path, kind, secret, *, wrap='{rule_var} := "{s}"', literal=False, note="", commit=None):
        text = wrap.format(rule_var=rule.replace("-", "_"), s=secret)
        out.append(_line(text, "SECRET", "tp", _src(GITLEAKS, R + path, rule, commit), kind=kind, values=[secret],
                         literal=literal, note=note or ("instance of the rule's generator shape" if not literal else "")))

    def fp(rule, path, kind, text, note="", commit=None):
        out.append(_line(text, "SECRET", "fp", _src(GITLEAKS, R + path, rule, commit), kind=kind, note=note))

    aws = "b35e7ea22a6f345ec30fb6d20f6870c90bad9999"
    tp("aws-access-token", "aws.go", "aws_access_key_id", "AKIALALEMEL33243OLIB", literal=True, commit=aws)
    for prefix in ("AKIA", "ASIA", "ABIA", "ACCA"):
        tp("aws-access-token", "aws.go", "aws_access_key_id", prefix + _gen("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
           note=f"shape {prefix}[A-Z2-7]{{16}}", commit=aws)
    fp("aws-access-token", "aws.go", "aws_access_key_id", "key = AKIAXXXXXXXXXXXXXXXX", "low entropy", aws)
    fp("aws-access-token", "aws.go", "aws_access_key_id", "aws_access_key: AKIAIOSFODNN7EXAMPLE", "placeholder", aws)
    fp("aws-access-token", "aws.go", "aws_access_key_id", 'msgstr "Näytä asiakirjamallikansio."', "lowercase", aws)
    fp("aws-access-token", "aws.go", "aws_access_key_id", "TODAYINASIAASACKOFRICEFELLOVER", "wrong length", aws)

    gh = "07562da07355a496db154176d255b3b4d2bd9637"
    for rule, prefix in (("github-pat", "ghp_"), ("github-oauth", "gho_"), ("github-app-token", "ghu_"),
                         ("github-app-token", "ghs_"), ("github-refresh-token", "ghr_")):
        tp(rule, "github.go", "github_token", prefix + _gen(ALNUM, 36), note=f"shape {prefix}[0-9a-zA-Z]{{36}}", commit=gh)

    gl = "09eba9f67a17a5d01f0eb8c431e3a1eda676ffc5"
    gitlab_shapes = [
        ("gitlab-cicd-job-token", lambda: "glcbt-" + _gen(ALNUM, 5) + "_" + _gen(ALNUM, 20)),
        ("gitlab-deploy-token", lambda: "gldt-" + _gen(ALNUM, 20)),
        ("gitlab-feature-flag-client-token", lambda: "glffct-" + _gen(ALNUM, 20)),
        ("gitlab-feed-token", lambda: "glft-" + _gen(ALNUM, 20)),
        ("gitlab-incoming-mail-token", lambda: "glimt-" + _gen(ALNUM, 25)),
        ("gitlab-kubernetes-agent-token", lambda: "glagent-" + _gen(ALNUM, 50)),
        ("gitlab-oauth-app-secret", lambda: "gloas-" + _gen(ALNUM, 64)),
        ("gitlab-pat", lambda: "glpat-" + _gen(ALNUM, 20)),
        ("gitlab-pat-routable", lambda: "glpat-" + _gen(ALNUM, 27) + "." + _gen(string.ascii_lowercase + string.digits, 9)),
        ("gitlab-ptt", lambda: "glptt-" + _gen("0123456789abcdef", 40)),
        ("gitlab-rrt", lambda: "GR1348941" + _gen(ALNUM, 20)),
        ("gitlab-runner-authentication-token", lambda: "glrt-" + _gen(ALNUM, 20)),
        ("gitlab-runner-authentication-token-routable",
         lambda: "glrt-t" + _gen(string.digits, 1) + "_" + _gen(ALNUM, 27) + "." + _gen(string.ascii_lowercase + string.digits, 9)),
        ("gitlab-scim-token", lambda: "glsoat-" + _gen(ALNUM, 20)),
        ("gitlab-session-cookie", lambda: "_gitlab_session=" + _gen(string.ascii_lowercase + string.digits, 32)),
    ]
    for rule, make in gitlab_shapes:
        tp(rule, "gitlab.go", "gitlab_token", make(), commit=gl)
    fp("gitlab-pat", "gitlab.go", "gitlab_token", "glpat-XXXXXXXXXXX-XXXXXXXX", "placeholder", gl)
    fp("gitlab-pat-routable", "gitlab.go", "gitlab_token", "glpat-xxxxxxxx-xxxxxxxxxxxxxxxxxx.xxxxxxxxx", "placeholder", gl)
    fp("gitlab-ptt", "gitlab.go", "gitlab_token", "glptt-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "placeholder", gl)
    fp("gitlab-rrt", "gitlab.go", "gitlab_token", "GR134894112312312312312312312", "low entropy", gl)
    fp("gitlab-rrt", "gitlab.go", "gitlab_token", "GR1348941XXXXXXXXXXXXXXXXXXXX", "placeholder", gl)
    fp("gitlab-runner-authentication-token-routable", "gitlab.go", "gitlab_token",
       "glrt-tx_xxxxxxxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxx", "placeholder", gl)

    sl = "02788fb5ec7f20b962f5e01437f4baacbca3e8fa"
    lit = lambda rule, key, secret, kind="slack_token": tp(rule, "slack.go", kind, secret, wrap='"' + key + '": "{s}"',
                                                             literal=True, commit=sl)
    lit("slack-bot-token", "bot_token1", "xoxb-781236542736-2364535789652-GkwFDQoHqzXDVsC6GzqYUypD")
    lit("slack-bot-token", "bot_token2", "xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1MBS")
    lit("slack-bot-token", "bot_token3", "xoxb-4614724432022-5152386766518-O5WzjWGLG0wcCm2WPrjEmnys")
    lit("slack-user-token", "user_token1", "xoxp-41684372915-1320496754-45609968301-e708ba56e1517a99f6b5fb07349476ef")
    lit("slack-user-token", "user_token2", "xoxp-283316862324-298911817009-298923149681-44f585044dace54f5701618e97cd1c0b")
    lit("slack-user-token", "user_token3", "xoxp-11873098179-111402824422-234336993777-b96c9fb3b69f82ebb79d12f280779de1")
    lit("slack-user-token", "user_token4", "xoxp-254112160503-252950188691-252375361712-6cbf56aada30951a9d310a5f23d032a0")
    lit("slack-user-token", "user_token5", "xoxp-4614724432022-4621207627011-5182682871568-1ddad9823e8528ad0f4944dfa3c6fc6c")
    tp("slack-user-token", "slack.go", "slack_token",
       "xoxe-4726837507825-4848681849303-4856614048758-e0b1f3d4cb371f92260edb0d9444d206",
       wrap='"url_private": "https:\\/\\/files.slack.com\\/files-pri\\/T04MCQMEXQ9-F04MAA1PKE3\\/image.png?t={s}"',
       literal=True, commit=sl)
    lit("slack-app-token", "token1", "xapp-1-A052FGTS2DL-5171572773297-610b6a11f4b7eb819e87b767d80e6575a3634791acb9a9ead051da879eb5b55e")
    lit("slack-app-token", "token2", "xapp-1-IEMF8IMY1OQ-4037076220459-85c370b433e366de369c4ef5abdf41253519266982439a75af74a3d68d543fb6")
    lit("slack-app-token", "token3", "xapp-1-BM3V7LC51DA-1441525068281-86641a2582cd0903402ab523e5bcc53b8253098c31591e529b55b41974d2e82f")
    lit("slack-config-access-token", "access_token1", "xoxe.xoxp-1-Mi0yLTM0MTQwNDE0MDE3Ni0zNjU5NDY0Njg4MTctNTE4MjA3NTQ5NjA4MC01NDEyOTYyODY5NzUxLThhMTBjZmI1ZWIzMGIwNTg0ZDdmMDI5Y2UxNzVlZWVhYzU2ZWQyZTZiODNjNDZiMGUxMzRlNmNjNDEwYmQxMjQ")
    lit("slack-config-access-token", "access_token2", "xoxe.xoxp-1-Mi0yLTMxNzcwMjQ0MTcxMy0zNjU5NDY0Njg4MTctNTE1ODE1MjY5MTcxNC01MTU4MDI0MTgyOTc5LWRmY2YwY2U4ODhhNzY5ZGU5MTAyNDU4MDJjMGQ0ZDliMTZhMjNkMmEyYzliNjkzMDRlN2VjZTI4MWNiMzRkNGQ")
    lit("slack-config-access-token", "access_token4", "xoxe.xoxb-1-Mi0yLTMxNzcwMjQ0MTcxMy0zNjU5NDY0Njg4MTctNTE1ODE1MjY5MTcxNC01MTU4MDI0MTgyOTc5LWRmY2YwY2U4ODhhNzY5ZGU5MTAyNDU4MDJjMGQ0ZDliMTZhMjNkMmEyYzliNjkzMDRlN2VjZTI4MWNiMzRkNGQ")
    lit("slack-config-refresh-token", "refresh_token1", "xoxe-1-My0xLTMxNzcwMjQ0MTcxMy01MTU4MTUyNjkxNzE0LTUxODE4NDI0MDY3MzYtMjA5MGFkOTFlZThkZWE2OGFlZDYwYWJjODNhYzAxYjA5ZjVmODBhYjgzN2QyNDdjOTNlOGY5NTg2YWM1OGM4Mg")
    lit("slack-config-refresh-token", "refresh_token2", "xoxe-1-My0xLTM0MTQwNDE0MDE3Ni01MTgyMDc1NDk2MDgwLTU0MjQ1NjIwNzgxODEtNGJkYTZhYTUxY2M1ODk3ZTNkN2YzMTgxMDI1ZDQzNzgwNWY4NWQ0ODdhZGIzM2ViOGI0MTM0MjdlNGVmYzQ4Ng")
    for key, secret in (("bot_token1", "xoxb-263594206564-FGqddMF8t08v8N7Oq4i57vs1"),
                        ("bot_token2", "xoxb-282029623751-BVtmnS3BQitmjZvjpQL7PSGP"),
                        ("bot_token3", "xoxb-47834520726-N3otsrwj8Cf99cs8GhiRZsX1"),
                        ("bot_token4", "xoxb-123456789012-Xw937qtWSXJss1lFaKe"),
                        ("bot_token5", "xoxb-312554961652-uSmliU84rFhnUSBq9YdKh6lS"),
                        ("bot_token6", "xoxb-51351043345-Lzwmto5IMVb8UK36MghZYMEi"),
                        ("bot_token7", "xoxb-130154379991-ogFL0OFP3w6AwdJuK7wLojpK"),
                        ("bot_token8", "xoxb-159279836768-FOst5DLfEzmQgkz7cte5qiI"),
                        ("bot_token9", "xoxb-50014434-slacktokenx29U9X1bQ")):
        lit("slack-legacy-bot-token", key, secret)
    lit("slack-legacy-workspace-token", "access_token", "xoxa-2-511111111-31111111111-3111111111111-e039d02840a0b9379c")
    for key, secret in (("access_token1", "xoxs-3206092076-3204538285-3743137121-836b042620"),
                        ("access_token2", "xoxs-416843729158-132049654-5609968301-e708ba56e1"),
                        ("access_token3", "xoxs-420083410720-421837374423-440811613314-977844f625b707d5b0b268206dbc92cbc85feef3e71b08e44815a8e6e7657190"),
                        ("access_token4", "xoxs-4829527689-4829527691-4814341714-d0346ec616"),
                        ("access_token5", "xoxs-155191149137-155868813314-338998331396-9f6d235915"),
                        ("access_token7", "xoxo-523423-234243-234233-e039d02840a0b9379c")):
        lit("slack-legacy-token", key, secret)
    for text in ("xoxb-xxxxxxxxx-xxxxxxxxxx-xxxxxxxxxxxx", "xoxb-xxx", "xoxb-12345-abcd234", "xoxb-xoxb-my-bot-token"):
        fp("slack-bot-token", "slack.go", "slack_token", text, "placeholder / too short", sl)
    for text in ("https://docs.google.com/document/d/1W7KCxOxP-1Fy5EyF2lbJGE2WuKmu5v0suYqoHas1jRM",
                 '"token1": "xoxp-1234567890"',
                 '"token2": "xoxp-XXXXXXXXXX-XXXXXXXXXX-XXXXXXXXXXX-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"',
                 '"token3": "xoxp-1234-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d"',
                 '"token4": "xoxp-572370529330-573807301142-572331691188-####################"'):
        fp("slack-user-token", "slack.go", "slack_token", text, "placeholder / wrong shape", sl)
    for text in ("xoxe.xoxp-1-SlackAppConfigurationAccessTokenHere", "xoxe.xoxp-1-RANDOMSTRINGHERE", "xoxe.xoxp-1-initial"):
        fp("slack-config-access-token", "slack.go", "slack_token", text, "placeholder", sl)
    for text in ("xoxe-1-xxx", "XOxE-RROAmw, Home and Garden, 5:24, 20120323"):
        fp("slack-config-refresh-token", "slack.go", "slack_token", text, "placeholder / ordinary text", sl)
    for text in ("xoxb-xxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx", "xoxb-Slack_BOT_TOKEN", "xoxb-abcdef-abcdef"):
        fp("slack-legacy-bot-token", "slack.go", "slack_token", text, "placeholder", sl)
    fp("slack-legacy-workspace-token", "slack.go", "slack_token",
       "https://github.com/xoxa-nyc/xoxa-nyc.github.io/blob/master/README.md", "a URL path", sl)
    fp("slack-legacy-token", "slack.go", "slack_token", "https://indieweb.org/images/3/35/2018-250-xoxo-indieweb-1.jpg",
       "a file name", sl)
    for url in ("http://hooks.slack.com/services/T024TTTTT/BBB72BBL/AZAAA9u0pA4ad666eMgbi555",
                "https://hooks.slack.com/services/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",
                "https://hooks.slack.com/workflows/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",
                "http://hooks.slack.com/workflows/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"):
        tp("slack-webhook-url", "slack.go", "slack_webhook", url, wrap="{s}", literal=True, commit=sl)
    for prefix, n in (("https://hooks.slack.com/services/", 46), ("https://hooks.slack.com/workflows/", 46),
                      ("https://hooks.slack.com/triggers/", 56)):
        tp("slack-webhook-url", "slack.go", "slack_webhook", prefix + _gen(ALNUM, n), wrap="{s}", commit=sl)

    st = "07562da07355a496db154176d255b3b4d2bd9637"
    tp("stripe-access-token", "stripe.go", "stripe_key", "sk_test_" + _gen(ALNUM, 30), wrap='stripeToken := "{s}"', commit=st)

    gcp = "0073de5a24273e92d30afb5dac07f3a7d600c9d2"
    tp("gcp-api-key", "gcp.go", "google_api_key", "AIza" + _gen(ALNUM + "_-", 35), commit=gcp)
    tp("gcp-api-key", "gcp.go", "google_api_key", "AIzaSyNHxIf32IQ1a1yjl3ZJIqKZqzLAK1XhDk-", wrap="{s}", literal=True,
       commit=gcp, note="non-word character at end")
    for text, note in (
            ("GWw4hjABFzZCGiRpmlDyDdo87Jn9BN9THUA47muVRNunLxsa82tMAdvmrhOqNkRKiYMEAFbTJAIzaTesb6Tscfcni8vIpWZqNCXFDFslJtVSvFDq",
             "text boundary start"),
            ("AIzaTesb6Tscfcni8vIpWZqNCXFDFslJtVSvFDqabcd123", "text boundary end"),
            ('apiKey: "AIzaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"', "not enough entropy"),
            ("AIZASYCO2CXRMC9ELSKLHLHRMBSWDEVEDZTLO2O", "incorrect case"),
            ("AIzaSyabcdefghijklmnopqrstuvwxyz1234567", "public example key (firebase-android-sdk)"),
            ("AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs", "public example key (firebase-android-sdk)"),
            ("AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEM", "public example key (firebase-android-sdk)")):
        fp("gcp-api-key", "gcp.go", "google_api_key", text, note, gcp)

    jwt = "08c6d3cf5924853ef6039b7a73091359bc22e00d"
    token = ("eyJhbGciOieeeiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwic3ViZSI6IjEyMzQ1Njc4OTAiLCJuYW1lZWEiOiJKb2huIERvZSIsInN1ZmV3YWZiIjoiMTIzNDU2Nzg5MCIsIm5hbWVmZWF3ZnciOiJKb2huIERvZSIsIm5hbWVhZmV3ZmEiOiJKb2huIERvZSIsInN1ZndhZndlYWIiOiIxMjM0NTY3ODkwIiwibmFtZWZ3YWYiOiJKb2huIERvZSIsInN1YmZ3YWYiOiIxMjM0NTY3ODkwIiwibmFtZndhZSI6IkpvaG4gRG9lIiwiaWZ3YWZhYXQiOjE1MTYyMzkwMjJ9.a_5icKBDo-8EjUlrfvz2k2k-FYaindQ0DEYNrlsnRG0")
    tp("jwt", "jwt.go", "jwt", token + "==", wrap="{s}", literal=True, commit=jwt)
    tp("jwt", "jwt.go", "jwt", token, wrap="JWT := {s}", literal=True, commit=jwt)
    return out


# --- Presidio: presidio-analyzer/tests/test_*_recognizer.py (MIT) --------------------------------------------------

def presidio() -> list[dict]:
    out: list[dict] = []
    T = "presidio-analyzer/tests/"

    cc = _src(PRESIDIO, T + "test_credit_card_recognizer.py", "CreditCardRecognizer", "f6a249d949051be8da5e48d12468507788135d99")
    out.append(_line("4012888888881881 4012-8888-8888-1881 4012 8888 8888 1881", "PAYMENT_CARD", "tp", cc,
                     values=["4012888888881881", "4012-8888-8888-1881", "4012 8888 8888 1881"]))
    for text, value in (("122000000000003", None), ("my credit card: 122000000000003", "122000000000003"),
                        ("371449635398431", None), ("5555555555554444", None), ("5019717010103742", None),
                        ("30569309025904", None), ("6011000400000000", None), ("3528000700000000", None),
                        ("6759649826438453", None), ("4111111111111111", None), ("4917300800000000", None),
                        ("4484070000000000", None)):
        out.append(_line(text, "PAYMENT_CARD", "tp", cc, values=[value or text]))
    for text in ("4012-8888-8888-1882", "my credit card number is 4012-8888-8888-1882", "36168002586008",
                 "my credit card number is 36168002586008"):
        out.append(_line(text, "PAYMENT_CARD", "fp", cc, note="fails the Luhn check"))

    em = _src(PRESIDIO, T + "test_email_recognizer.py", "EmailRecognizer", "70f52e4bd54e07dacbfb761fd156a1e9171400a0")
    out.append(_line("info@presidio.site", "EMAIL_ADDRESS", "tp", em))
    out.append(_line("my email address is info@presidio.site", "EMAIL_ADDRESS", "tp", em, values=["info@presidio.site"]))
    out.append(_line("try one of these emails: info@presidio.site or anotherinfo@presidio.site", "EMAIL_ADDRESS", "tp", em,
                     values=["info@presidio.site", "anotherinfo@presidio.site"]))
    out.append(_line("my email is info@presidio.", "EMAIL_ADDRESS", "fp", em, note="no top-level domain"))

    ssn = _src(PRESIDIO, T + "test_us_ssn_recognizer.py", "UsSsnRecognizer", "1b91647ede2131a4c790743f7e3f1922c6cb38be")
    for text in ("078051121", "078-05-1123", "078.05.1123", "078 05 1123"):
        out.append(_line(text, "NATIONAL_ID", "tp", ssn, kind="us_ssn",
                         note="Presidio scores it weak (0.3-0.4) without context" if text == "078051121" else ""))
    for text in ("0780511201", "078051120", "000000000", "666000000", "078-05-0000", "078 00 1123", "693-09.4444"):
        out.append(_line(text, "NATIONAL_ID", "fp", ssn, kind="us_ssn", note="invalid area/group/serial or separators"))

    ph = _src(PRESIDIO, T + "test_phone_recognizer.py", "PhoneRecognizer", "01b4ed1c88aad0c1145f452515ab4fe94e966bed")
    out.append(_line("My US number is (415) 555-0132, and my international one is +1 415 555 0132", "PHONE_NUMBER", "tp", ph,
                     values=["(415) 555-0132", "+1 415 555 0132"]))
    out.append(_line("My Israeli number is 09-7625400", "PHONE_NUMBER", "tp", ph, values=["09-7625400"]))

    ib = _src(PRESIDIO, T + "test_iban_recognizer.py", "IbanRecognizer", "009d53466170affa321b1d7697e7266228695b94")
    # (valid compact, valid spaced, [not-an-IBAN variants]) for a subset of countries: all the Middle East ones in
    # the file plus a spread of European ones; every listed string is verbatim from the parametrize table.
    table = [
        ("AL47212110090000000235698741", "AL47 2121 1009 0000 0002 3569 8741", ["AL47 212A 1009 0000 0002 3569 8741", "AL47 2121 1009 0000 0002 3569 8740"]),
        ("AD1200012030200359100100", "AD12 0001 2030 2003 5910 0100", ["AD12000A2030200359100100", "AD12 0001 2030 2003 5910 0101"]),
        ("AT611904300234573201", "AT61 1904 3002 3457 3201", ["AT61 1904 A002 3457 3201", "AT61 1904 3002 3457 3202"]),
        ("AZ21NABZ00000000137010001944", "AZ21 NABZ 0000 0000 1370 1000 1944", ["AZ21NABZ00000000137010001945"]),
        ("BH67BMAG00001299123456", "BH67 BMAG 0000 1299 1234 56", ["BH67BMA100001299123456", "BH67BMAG00001299123457"]),
        ("BE68539007547034", "BE71 0961 2345 6769", ["BE71 A961 2345 6769", "BE71 0961 2345 6760"]),
        ("BR9700360305000010009795493P1", "BR97 0036 0305 0000 1000 9795 493P 1", ["BR97 0036 0305 0000 1000 9795 493P 2"]),
        ("CY17002001280000001200527600", "CY17 0020 0128 0000 0012 0052 7600", ["CY17 0020 0128 0000 0012 0052 7601"]),
        ("DK5000400440116243", "DK50 0040 0440 1162 43", ["DK50 0040 0440 1162 44"]),
        ("FR1420041010050500013M02606", "FR14 2004 1010 0505 0001 3M02 606", ["FR14 2004 1010 0505 0001 3M02 607"]),
        ("DE89370400440532013000", "DE89 3704 0044 0532 0130 00", ["DE89 A704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 01"]),
        ("GR1601101250000000012300695", "GR16 0110 1250 0000 0001 2300 695", ["GR16 0110 1250 0000 0001 2300 696"]),
        ("IL620108000000099999999", "IL62 0108 0000 0009 9999 999", ["IL62 A108 0000 0009 9999 999", "IL62 0108 0000 0009 9999 990"]),
        ("IT60X0542811101000000123456", "IT60 X054 2811 1010 0000 0123 456", ["IT60 X054 2811 1010 0000 0123 457"]),
        ("JO94CBJO0010000000000131000302", "JO94 CBJO 0010 0000 0000 0131 0003 02", ["JO94 CBJO A010 0000 0000 0131 0003 02", "JO94 CBJO 0010 0000 0000 0131 0003 03"]),
        ("KW81CBKU0000000000001234560101", "KW81 CBKU 0000 0000 0000 1234 5601 01", ["KW81 aBKU 0000 0000 0000 1234 5601 01", "KW81 CBKU 0000 0000 0000 1234 5601 02"]),
        ("LB62099900000001001901229114", "LB62 0999 0000 0001 0019 0122 9114", ["LB62 A999 0000 0001 0019 0122 9114", "LB62 0999 0000 0001 0019 0122 9115"]),
        ("NL91ABNA0417164300", "NL91 ABNA 0417 1643 00", ["NL91 1BNA 0417 1643 00", "NL91 ABNA 0417 1643 01"]),
        ("MK07250120000058984", "MK07 2501 2000 0058 984", ["MK07 A501 2000 0058 984", "MK07 2501 2000 0058 985"]),
        ("NO9386011117947", "NO93 8601 1117 947", ["NO93 A601 1117 947", "NO93 8601 1117 948"]),
        ("PS92PALS000000000400123456702", "PS92 PALS 0000 0000 0400 1234 5670 2", ["PS92 PALS A000 0000 0400 1234 5670 2", "PS92 PALS 0000 0000 0400 1234 5670 3"]),
        ("QA58DOHB00001234567890ABCDEFG", "QA58 DOHB 0000 1234 5678 90AB CDEF G", ["QA58 0OHB 0000 1234 5678 90AB CDEF G", "QA58 DOHB 0000 1234 5678 90AB CDEF H"]),
        ("SA0380000000608010167519", "SA03 8000 0000 6080 1016 7519", ["SA03 A000 0000 6080 1016 7519", "SA03 8000 0000 6080 1016 7510"]),
        ("ES9121000418450200051332", "ES91 2100 0418 4502 0005 1332", ["ES91 2100 0418 4502 0005 1333"]),
        ("CH9300762011623852957", "CH93 0076 2011 6238 5295 7", ["CH93 0076 2011 6238 5295 8"]),
        ("TN5910006035183598478831", "TN59 1000 6035 1835 9847 8831", ["TN59 A000 6035 1835 9847 8831"]),
        ("TR330006100519786457841326", "TR33 0006 1005 1978 6457 8413 26", ["TR33 0006 1005 1978 6457 8413 27"]),
        ("AE070331234567890123456", "AE07 0331 2345 6789 0123 456", ["AE07 A331 2345 6789 0123 456", "AE07 0331 2345 6789 0123 457"]),
        ("GB29NWBK60161331926819", "GB29 NWBK 6016 1331 9268 19", ["GB29 1WBK 6016 1331 9268 19", "GB29 NWBK 6016 1331 9268 10"]),
    ]
    for compact, spaced, negatives in table:
        out.append(_line(compact, "IBAN", "tp", ib))
        out.append(_line(spaced, "IBAN", "tp", ib))
        for negative in negatives:
            out.append(_line(negative, "IBAN", "fp", ib, note="bad check digits or a character where the format has none"))
    return out


# --- detect-secrets: tests/plugins/*_test.py (Apache-2.0) ----------------------------------------------------------

def detect_secrets() -> list[dict]:
    out: list[dict] = []
    P = "tests/plugins/"
    sl = _src(DETECT_SECRETS, P + "slack_test.py", "SlackDetector", "13575ede7f9d6f7cb17ac317a19ec5060c97170b")
    for text in ("xoxp-523423-234243-234233-e039d02840a0b9379c", "xoxo-523423-234243-234233-e039d02840a0b9379c",
                 "xoxs-523423-234243-234233-e039d02840a0b9379c", "xoxa-511111111-31111111111-3111111111111-e039d02840a0b9379c",
                 "xoxa-2-511111111-31111111111-3111111111111-e039d02840a0b9379c", "xoxr-523423-234243-234233-e039d02840a0b9379c",
                 "xoxb-34532454-e039d02840a0b9379c"):
        out.append(_line(text, "SECRET", "tp", sl, kind="slack_token"))
    out.append(_line("https://hooks.slack.com/services/Txxxxxxxx/Bxxxxxxxx/xxxxxxxxxxxxxxxxxxxxxxxx", "SECRET", "tp", sl,
                     kind="slack_webhook", note="detect-secrets flags this x-filled webhook; gitleaks' policy would call it a placeholder"))
    st = _src(DETECT_SECRETS, P + "stripe_key_test.py", "StripeDetector", "30ecb2da0b08dca52a32b4028f7b21f92b8e1ff7")
    out.append(_line("sk_live_ReTllpYQYfIZu2Jnf2lAPFjD", "SECRET", "tp", st, kind="stripe_key"))
    out.append(_line("rk_live_5TcWfjKmJgpql9hjpRnwRXbT", "SECRET", "tp", st, kind="stripe_key"))
    out.append(_line("pk_live_j5krY8XTgIcDaHDb3YrsAfCl", "SECRET", "fp", st, kind="stripe_key", note="publishable key, public by design"))
    out.append(_line("sk_live_", "SECRET", "fp", st, kind="stripe_key", note="prefix only"))
    jw = _src(DETECT_SECRETS, P + "jwt_test.py", "JwtTokenDetector", "26489629da1be60d13358cd3cf958ee4e97add5f")
    for text, note in (
            ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "valid jwt"),
            ("eyJ0eXAiOiJKV1QiLA0KImFsZyI6IkhTMjU2In0.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ", "header contains CR/LF; no signature"),
            ("eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJuYW1lIjoiSm9lIiwKInN0YXR1cyI6ImVtcGxveWVlIgp9", "claims contain LF; no signature"),
            ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IsWww6HFkcOtIMOWxZHDqcOoIiwiaWF0IjoxNTE2MjM5MDIyfQ.k5HibI_uLn_RTuPcaCNkaVaQH2y5q6GvJg8GPpGMRwQ", "claims with accents"),
            ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ", "no signature - but still valid")):
        out.append(_line(text, "SECRET", "tp", jw, kind="jwt", note=note))
    for text, note in (
            ('{"alg":"HS256","typ":"JWT"}.{"name":"Jon Doe"}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c', "decoded"),
            ("bm90X3ZhbGlkX2pzb25fYXRfYWxs.bm90X3ZhbGlkX2pzb25fYXRfYWxs.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "not JSON"),
            ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "missing claims"),
            ("jwt", "not a jwt"),
            ("eyJhbasdGciOiJIUaddasdasfsasdasdzI1NiIasdsInR5cCI6IkpXVCasdJasd9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "invalid JSON header"),
            ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "header does not parse"),
            ("eyJAAAA.eyJBBB", "regex-shaped only"), ("eyJBB.eyJCC.eyJDDDD", "regex-shaped only")):
        out.append(_line(text, "SECRET", "fp", jw, kind="jwt", note=note))
    gl = _src(DETECT_SECRETS, P + "gitlab_token_test.py", "GitLabTokenDetector", "31dc69f2cd145ea506a39ccf98b3db3578ad81cd")
    out.append(_line("glpat-hellOworld380_testin", "SECRET", "tp", gl, kind="gitlab_token"))
    out.append(_line("gldt-HwllOuhfw-wu0rlD_yep", "SECRET", "tp", gl, kind="gitlab_token"))
    out.append(_line("glsoat-PREfix_helloworld380_testin_pretty_long_token_long", "SECRET", "tp", gl, kind="gitlab_token"))
    for text, note in (("glpat-hellOWorld380 testin", "spaces are not part of the token"),
                       ("glpat_hellOworld380_testin", "underscore separator"), ("gldt-seems_too000Sshorty", "too short"),
                       ("foo_hello-world80_testin", "invalid prefix"),
                       ("glsoat-PREfix_helloworld380_testin_pretty_long_token_long_", "too long"),
                       ("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", "a GitHub token, not GitLab")):
        out.append(_line(text, "SECRET", "fp" if "GitHub" not in note else "tp", gl,
                         kind="gitlab_token" if "GitHub" not in note else "github_token",
                         note=note + ("; still a secret for govern (a GitHub token), so labelled tp/github_token" if "GitHub" in note else "")))
    aw = _src(DETECT_SECRETS, P + "aws_key_test.py", "AWSKeyDetector", "13575ede7f9d6f7cb17ac317a19ec5060c97170b")
    out.append(_line("AKIAZZZZZZZZZZZZZZZZ", "SECRET", "tp", aw, kind="aws_access_key_id",
                     note="detect-secrets flags it; gitleaks' entropy floor would refuse it"))
    out.append(_line("akiazzzzzzzzzzzzzzzz", "SECRET", "fp", aw, kind="aws_access_key_id", note="lowercase"))
    out.append(_line("AKIAZZZ", "SECRET", "fp", aw, kind="aws_access_key_id", note="too short"))
    out.append(_line("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "SECRET", "tp", aw,
                     kind="aws_secret_access_key", values=["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
                     note="test_get_secret_access_key 'No quotes' case (AWS's documented example key)"))
    pk = _src(DETECT_SECRETS, P + "private_key_test.py", "PrivateKeyDetector", "01396dcf7a77d6bb7c39bd22458a8e2d230f7c04")
    key = ("some text here\n-----BEGIN PRIVATE KEY-----\n"
           "c3VwZXIgZHVwZXIgc2VjcmV0IHBhc3N3b3JkLCBzdXBlciBkdXBlciBzZWNyZXQgcGFzc3"
           "dvcmQhMTIzNCMkJQpzdXBlciBkdXBlciBzZWNyZXQgcGFzc3dvcmQsIHN1cGVyIGR1cGVy"
           "IHNlY3JldCBwYXNzd29yZCExMjM0IyQlCgo=\n-----END PRIVATE KEY-----")
    out.append(_line(key, "SECRET", "tp", pk, kind="private_key", values=[key[len("some text here\n"):]]))
    rsa = ("-----BEGIN RSA PRIVATE KEY-----\nc3VwZXIgZHVwZXIgc2VjcmV0IHBhc3N3b3JkLCBzdXBlciBkdXBlciBzZ\n"
           "WNyZXQgcGFzc3dvcmQhMTIzNCMkJQpzdXBlciBkdXBlciBzZWNyZXQgcGFzc3dvcmQsIHN1cGVyIGR1cGVyIHNlY3JldCBwYXNzd29yZCExMjM0IyQlCgo=\n"
           "-----END RSA PRIVATE KEY-----")
    out.append(_line(rsa, "SECRET", "tp", pk, kind="private_key", note="the test json-dumps it; here as plain text"))
    return out


# --- python-stdnum doctests (LGPL-2.1+; short test strings used as data, with attribution) ------------------------

def stdnum() -> list[dict]:
    out: list[dict] = []
    il = _src(STDNUM, "stdnum/il/idnr.py", "il.idnr doctest", "152d4c5a9677cb8b6006cef12556835b44f27ab1")
    out.append(_line("3933742-3", "NATIONAL_ID", "tp", il, kind="il_teudat_zehut", note="dash before the check digit"))
    out.append(_line("39337423", "NATIONAL_ID", "tp", il, kind="il_teudat_zehut", note="8 digits: leading zero dropped (format() gives 03933742-3)"))
    out.append(_line("3933742-2", "NATIONAL_ID", "fp", il, kind="il_teudat_zehut", note="invalid check digit"))
    out.append(_line("490154203237518", "NATIONAL_ID", "fp", il, kind="il_teudat_zehut", note="longer than 9 digits"))
    ib = _src(STDNUM, "stdnum/iban.py", "iban doctest", None)
    out.append(_line("GR16 0110 1050 0000 1054 7023 795", "IBAN", "tp", ib))
    out.append(_line("BE31435411161155", "IBAN", "tp", ib))
    ss = _src(STDNUM, "stdnum/us/ssn.py", "us.ssn doctest", None)
    out.append(_line("536-90-4399", "NATIONAL_ID", "tp", ss, kind="us_ssn"))
    out.append(_line("1112-23333", "NATIONAL_ID", "fp", ss, kind="us_ssn", note="dash in the wrong place"))
    out.append(_line("666-00-0000", "NATIONAL_ID", "fp", ss, kind="us_ssn", note="invalid area"))
    out.append(_line("078-05-1120", "NATIONAL_ID", "fp", ss, kind="us_ssn", note="blacklisted (the Woolworth wallet card)"))
    return out


# --- issue 13's own examples, with their right answers -----------------------------------------------------------

def issue_examples() -> list[dict]:
    src = _src(ISSUE, "issues show 13", "issue text")
    out: list[dict] = []

    def allow(text, entity, kind=None, note="", decision="allow"):
        line = _line(text, entity, "fp", src, kind=kind, note=note or "ordinary text / placeholder: right answer allow")
        out.append({**line, "decision": decision})

    def find(text, entity, values, kind=None, note=""):
        out.append(_line(text, entity, "tp", src, kind=kind, values=values, note=note))

    allow("Great turnout at #AsiaPacificMarketing this week!", "SECRET", "aws_access_key_id")
    allow("Loved the XOXO-festival-2024 lineup", "SECRET", "slack_token")
    allow("Kickoff on 01.01.2020 in Berlin", "PHONE_NUMBER")
    allow("02.10.2019", "PHONE_NUMBER")
    allow("glpat-XXXXXXXXXXX-XXXXXXXX", "SECRET", "gitlab_token")
    allow("github_pat_" + "x" * 82, "SECRET", "github_fine_grained_pat", "the issue's github_pat_xxxx… written out to the rule's length")
    allow("xoxb-xoxb-my-bot-token", "SECRET", "slack_token")
    allow("-----BEGIN PRIVATE KEY-----\nanything\n-----END PRIVATE KEY-----", "SECRET", "private_key")
    find("My SSN is 078.05.1123", "NATIONAL_ID", ["078.05.1123"], "us_ssn")
    allow("My SSN is 078.05.1123", "PHONE_NUMBER", note="a UAE phone number is the wrong answer here", decision=None)
    find("אפשר ליצור קשר ב-050 154 0846", "PHONE_NUMBER", ["050 154 0846"], note="Hebrew clitic ב- before the number")
    find("ב-IL88 6674 8793 1076 5290 246", "IBAN", ["IL88 6674 8793 1076 5290 246"])
    find("ב-dana@example.com", "EMAIL_ADDRESS", ["dana@example.com"], note="the span must exclude ב-")
    find("4800-5953-1029-0575", "PAYMENT_CARD", ["4800-5953-1029-0575"], note="no context word")
    find("375120975830129", "PAYMENT_CARD", ["375120975830129"], note="Amex, no context word")
    find("٥٣٢٣-٤٩٧٤-٧٤٧٢-٤٥٤٦", "PAYMENT_CARD", ["٥٣٢٣-٤٩٧٤-٧٤٧٢-٤٥٤٦"], note="Arabic-Indic digits")
    find("4012888888881881 4012-8888-8888-1881 4012 8888 8888 1881", "PAYMENT_CARD",
         ["4012888888881881", "4012-8888-8888-1881", "4012 8888 8888 1881"], note="the middle one must not be lost")
    find("IBAN GB82WEST12345698765432 4111111111111111", "PAYMENT_CARD", ["4111111111111111"], note="a card right after an IBAN")
    find("IBAN GB82WEST12345698765432 4111111111111111", "IBAN", ["GB82WEST12345698765432"])
    find("784-1982-9766687-1", "NATIONAL_ID", ["784-1982-9766687-1"], "ae_emirates_id", "no context word")
    find("3933742-3", "NATIONAL_ID", ["3933742-3"], "il_teudat_zehut", "dash before the check digit")
    # The issue names the form, not a text: bare, one 8-digit number in ten passes the check digit (order numbers do),
    # so the form is written as people write it, after an ID word (decision 0042).
    find("ת.ז. 39337423", "NATIONAL_ID", ["39337423"], "il_teudat_zehut", "8 digits, leading zero dropped, after an ID word")
    find("ID number 39337423", "NATIONAL_ID", ["39337423"], "il_teudat_zehut", "8 digits, leading zero dropped, after an ID word")
    find("NO 02 15037577003", "IBAN", ["NO 02 15037577003"], note="irregular spacing")
    allow("NO 02 15037577003", "PHONE_NUMBER", note="an IBAN, not a phone number", decision=None)
    find("MK072 5012 0000 0589 84", "IBAN", ["MK072 5012 0000 0589 84"], note="irregular spacing")
    allow("MK072 5012 0000 0589 84", "PHONE_NUMBER", note="an IBAN, not a phone number", decision=None)
    secrets = [
        ("gitlab_token", "gldt-" + _gen(ALNUM, 20)), ("gitlab_token", "glcbt-" + _gen(ALNUM, 5) + "_" + _gen(ALNUM, 20)),
        ("gitlab_token", "glptt-" + _gen("0123456789abcdef", 40)), ("gitlab_token", "glrt-" + _gen(ALNUM, 20)),
        ("gitlab_token", "gloas-" + _gen(ALNUM, 64)), ("gitlab_token", "GR1348941" + _gen(ALNUM, 20)),
        ("slack_token", "xapp-1-A052FGTS2DL-5171572773297-610b6a11f4b7eb819e87b767d80e6575a3634791acb9a9ead051da879eb5b55e"),
        ("slack_token", "xoxe-1-My0xLTMxNzcwMjQ0MTcxMy01MTU4MTUyNjkxNzE0LTUxODE4NDI0MDY3MzYtMjA5MGFkOTFlZThkZWE2OGFlZDYwYWJjODNhYzAxYjA5ZjVmODBhYjgzN2QyNDdjOTNlOGY5NTg2YWM1OGM4Mg"),
        ("slack_token", "xoxe.xoxp-1-Mi0yLTM0MTQwNDE0MDE3Ni0zNjU5NDY0Njg4MTctNTE4MjA3NTQ5NjA4MC01NDEyOTYyODY5NzUxLThhMTBjZmI1ZWIzMGIwNTg0ZDdmMDI5Y2UxNzVlZWVhYzU2ZWQyZTZiODNjNDZiMGUxMzRlNmNjNDEwYmQxMjQ"),
        ("slack_webhook", "https://hooks.slack.com/workflows/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"),
        ("stripe_key", "rk_prod_" + _gen(ALNUM, 24)), ("stripe_key", "sk_prod_" + _gen(ALNUM, 24)),
        ("jwt", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxMjM0NTY3ODkwIiwiYWRtaW4iOnRydWV9."),
        ("jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"),
    ]
    for kind, secret in secrets:
        find(f"token: {secret}", "SECRET", [secret], kind, "a secret family the issue lists as missed")
    for text, value in (("Please do not share outside the company.", "do not share outside the company"),
                        ("معلومات سرية", "معلومات سرية"), ("لا تنشر خارج الشركة", "لا تنشر خارج الشركة"),
                        ("אין להפיץ מחוץ לחברה", "אין להפיץ מחוץ לחברה")):
        find(text, "CONFIDENTIAL_MARKER", [value], note="an ordinary phrasing of a confidentiality marker")
    return [{"decision": None, **line} if "decision" not in line else line for line in out]


FILES = {"gitleaks.jsonl": gitleaks, "presidio.jsonl": presidio, "detect_secrets.jsonl": detect_secrets,
         "python_stdnum.jsonl": stdnum, "../issue_examples.jsonl": issue_examples}


def render_all() -> dict[str, str]:
    global _rng
    _rng = random.Random(20261205)  # every run draws the same instances, in the same order
    rendered = {}
    for name, build in FILES.items():
        lines = build()
        stem = Path(name).stem
        rendered[name] = "".join(json.dumps({"id": f"{stem}-{i:03d}", **line}, ensure_ascii=False, sort_keys=True) + "\n"
                                 for i, line in enumerate(lines))
    return rendered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = []
    for name, text in render_all().items():
        path = HERE / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {name}: {text.count(chr(10))} lines")
    if stale:
        print("differs:", ", ".join(stale))
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
