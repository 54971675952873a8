"""SECRET with a kind: cloud keys, GitHub/GitLab/Slack/Stripe tokens, Google API keys, private keys, JWTs.

The shapes follow gitleaks' public rules, written for normalised (lower-case) text; where case or
content matters (a JWT header is base64url JSON) the validator reads the original characters.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from govern.policy.detectors.base import Hit, PatternDetector, Scan

_EDGE_BEFORE = r"(?<![a-z0-9_])"
_EDGE_AFTER = r"(?![a-z0-9_])"


def _looks_random(token: str) -> bool:
    """Placeholders ("ghp_xxxxxxxx…") are not secrets: require some variety in the body."""
    return len(set(token)) >= 6


def _plain(kind: str):
    def validate(scan: Scan, match: re.Match[str]) -> Hit | None:
        token = match.group()
        if not _looks_random(token):
            return None
        return Hit("SECRET", match.start(), match.end(), kind=kind, value=scan.original(*match.span()))

    return validate


def _validate_jwt(scan: Scan, match: re.Match[str]) -> Hit | None:
    original = scan.original(*match.span())
    header = original.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(decoded, dict) or "alg" not in decoded:
        return None
    return Hit("SECRET", match.start(), match.end(), kind="jwt", value=original)


def _validate_private_key(scan: Scan, match: re.Match[str]) -> Hit | None:
    # The block's end is found with str.find, not by the pattern, so a text full of BEGIN lines stays linear.
    end_marker = scan.text.find("-----end", match.end(), match.end() + 16384)
    end = match.end()
    if end_marker != -1:
        close = scan.text.find("-----", end_marker + 8, end_marker + 64)
        if close != -1:
            end = close + 5
    return Hit("SECRET", match.start(), end, kind="private_key", value=scan.original(match.start(), end))


def _secret(kind: str, trigger: str, pattern: str, validate=None) -> PatternDetector:
    compiled = re.compile(_EDGE_BEFORE + pattern + _EDGE_AFTER)
    return PatternDetector("SECRET", f"SECRET:{kind}", trigger, compiled, validate or _plain(kind), kinds=(kind,))


DETECTORS = (
    _secret("aws_access_key_id", r"(?:akia|asia|abia|acca|a3t[a-z0-9])[a-z2-7]{16}",
            r"(?:akia|asia|abia|acca|a3t[a-z0-9])[a-z2-7]{16}"),
    _secret("aws_secret_access_key", r"aws_?secret",
            r"aws_?secret(?:_?access)?_?key[\"']?\s{0,4}[:=]\s{0,4}[\"']?[a-z0-9/+=]{40}"),
    _secret("github_token", r"gh[pousr]_[a-z0-9]{36}", r"gh[pousr]_[a-z0-9]{36}"),
    _secret("github_fine_grained_pat", r"github_pat_[a-z0-9_]{82}", r"github_pat_[a-z0-9_]{82}"),
    _secret("gitlab_token", r"glpat-[a-z0-9_-]{20}", r"glpat-[a-z0-9_-]{20}"),
    _secret("slack_token", r"xox[baprseo]-[a-z0-9-]{10}", r"xox[baprseo]-(?:[a-z0-9]{1,40}-){1,4}[a-z0-9]{4,64}"),
    _secret("slack_webhook", r"hooks\.slack\.com/services/",
            r"https?://hooks\.slack\.com/services/t[a-z0-9_]{8,12}/b[a-z0-9_]{8,12}/[a-z0-9_]{24}"),
    _secret("stripe_key", r"(?:sk|rk)_(?:live|test)_[a-z0-9]{24}", r"(?:sk|rk)_(?:live|test)_[a-z0-9]{24,99}"),
    _secret("google_api_key", r"aiza[a-z0-9_-]{35}", r"aiza[a-z0-9_\-]{35}"),
    _secret("jwt", r"eyj[a-z0-9_-]{8,}\.eyj", r"eyj[a-z0-9_\-]{8,2048}\.eyj[a-z0-9_\-]{8,8192}\.[a-z0-9_\-]{8,2048}",
            _validate_jwt),
    PatternDetector("SECRET", "SECRET:private_key", r"-----begin [a-z ]{0,24}private key",
                    re.compile(r"-----begin (?:[a-z]{1,12} ){0,2}private key(?: block)?-----"),
                    _validate_private_key, kinds=("private_key",)),
)
