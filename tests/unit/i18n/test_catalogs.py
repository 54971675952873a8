"""Nothing govern says is English-only: every message of the code and templates (service refusals included) has an
Arabic and a Hebrew translation, and a refusal is a template the catalogs can hold, not a sentence built with an
f-string."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.unit.i18n.catalog import ROOT, extracted_messages, refusal_keywords, untranslated

# Modules whose refusals are still built with f-strings (none now). An entry must still hold such a refusal, so the
# list only shrinks; see docs/decisions/0067-refusals-as-message-templates.md.
NOT_YET_TEMPLATES: frozenset[str] = frozenset()


def refusals_built_at_run_time() -> dict[str, list[int]]:
    """Module path -> lines where a refusal a person reads is raised with a first argument that is not a literal."""
    keywords = refusal_keywords()
    found: dict[str, list[int]] = {}
    for path in sorted((ROOT / "govern").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            called = node.exc.func
            name = called.id if isinstance(called, ast.Name) else getattr(called, "attr", None)
            if name not in keywords or len(node.exc.args) < keywords[name][0]:
                continue
            template = node.exc.args[keywords[name][0] - 1]
            if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
                found.setdefault(str(path.relative_to(ROOT)), []).append(node.lineno)
    return found


@pytest.mark.parametrize("locale", ["ar", "he"])
def test_every_message_has_a_translation(locale):
    missing = untranslated(locale, extracted_messages())
    assert not missing, f"{len(missing)} messages have no {locale} translation, e.g. {sorted(missing)[:5]}"


def test_the_extracted_messages_include_service_refusals_and_templates():
    messages = extracted_messages()
    assert "grant %(grant_id)s was already revoked" in messages, "a refusal's template is a msgid"
    assert "We could not find that" in messages, "templates are extracted"
    assert "bad_credentials" not in messages, "SignInRefused's first argument is a code, not a message"


def test_refusals_are_templates_not_sentences_built_at_run_time():
    built = refusals_built_at_run_time()
    new = {module: lines for module, lines in built.items() if module not in NOT_YET_TEMPLATES}
    assert not new, f"raise the refusal with a literal template and its values as keywords: {new}"
    converted = sorted(NOT_YET_TEMPLATES - set(built))
    assert not converted, f"these modules are converted now; take them off NOT_YET_TEMPLATES: {converted}"


def test_the_scan_finds_a_refusal_built_with_an_f_string(tmp_path, monkeypatch):
    (tmp_path / "govern").mkdir()
    (tmp_path / "govern" / "example.py").write_text('def f(x):\n    raise NotFound(f"thing {x} is gone")\n'
                                                    '    raise NotFound("thing %(x)s is gone", x=x)\n')
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert refusals_built_at_run_time() == {str(Path("govern/example.py")): [2]}
