"""The repository's policy packs, and a copy of them with one extra pack, for the policy engine tests."""

from __future__ import annotations

import shutil
from pathlib import Path

PACKS = Path(__file__).resolve().parents[2] / "policies"

GOOD_RULE = """\
pack: extra
format: 1
rules:
  - id: extra.codename
    category: confidentiality
    description: {en: codename, ar: اسم رمزي, he: שם קוד}
    match: {entity: CODENAME, terms: [Kestrel]}
    action: block
    severity: high
    examples: {match: [Kestrel is coming], no_match: [a kestrel flew]}
"""


def write_packs(tmp_path: Path, extra: str) -> Path:
    for pack in PACKS.glob("*.yaml"):
        shutil.copy(pack, tmp_path / pack.name)
    (tmp_path / "extra.yaml").write_text(extra, encoding="utf-8")
    return tmp_path
