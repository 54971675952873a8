"""Impostor watch: confusable skeletons and edit distance against the inventory's handles, and the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from govern import app_services
from govern.policy.impostors.cli import impostors
from govern.policy.impostors.matching import Handle, find_impostors, parse_candidates
from govern.policy.service import inventory_handles

OWN = [Handle("x", "acme"), Handle("instagram", "acme.official"), Handle("x", "AcmeLabs"), Handle("x", "ibm")]


def flagged(*lines: str, own=OWN, **options) -> dict[str, tuple[float, str, tuple[str, ...]]]:
    matches = find_impostors(own, parse_candidates(lines), **options)
    return {str(m.candidate): (m.score, str(m.looks_like), m.reasons) for m in matches}


def test_parsing_candidates():
    assert parse_candidates(["# suspects", "", "  @acme_help ", "instagram:@acme", "mastodon:acme@example.social", "@"]) == [
        Handle(None, "acme_help"), Handle("instagram", "acme"), Handle("mastodon", "acme@example.social")]


@pytest.mark.parametrize("candidate, reason", [
    ("аcme", "skeleton equal to @acme after folding Cyrillic 'а' (U+0430)"),
    ("ａｃｍｅ", None),  # full-width letters are the account itself after NFKC
    ("acrne", "skeleton equal to @acme after folding 'rn' for 'm'"),
    ("a\u200bcme", "skeleton equal to @acme after folding the invisible U+200B (zero width space)"),
    ("x:AcmeIabs", "skeleton equal to @AcmeLabs after folding 'I' for 'l'"),
    ("acmeofficial", "equal to @acme.official apart from separators ('.', '_', '-')"),
    ("acne", "edit distance 1 from @acme"),
    ("amce", "edit distance 1 from @acme"),
    ("acme_support", "@acme with the impostor affix 'support'"),
    ("tiktok:acme_team", "@acme with the impostor affix 'team'"),
    ("acmecorp", "contains @acme ('corp' added)"),
])
def test_lookalikes_are_flagged_with_the_reason(candidate, reason):
    found = flagged(candidate)
    if reason is None:
        assert found == {}
        return
    [(score, _, reasons)] = found.values()
    assert reason in reasons and 0.7 <= score <= 1


def test_scores_order_the_strongest_lookalike_first():
    found = find_impostors(OWN, parse_candidates(["acmecorp", "acne", "аcme", "acme-official"]))
    assert [str(m.candidate) for m in found] == ["@аcme", "@acme-official", "@acne", "@acmecorp"]
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    assert found[0].score == 1.0 and found[0].looks_like == Handle("x", "acme")


@pytest.mark.parametrize("candidate", ["acme", "@ACME", "x:acme", "instagram:Acme.Official", "x:acmelabs"])
def test_the_own_accounts_are_not_impostors(candidate):
    assert flagged(candidate) == {}


def test_the_same_handle_on_a_network_without_that_account_is_flagged():
    [(score, looks_like, reasons)] = flagged("tiktok:acme").values()
    assert looks_like == "x:@acme" and score == 0.9
    assert reasons == ("the same handle as @acme on x, but the inventory has no such account on tiktok",)


@pytest.mark.parametrize("candidate", ["ibn", "apple", "random_person", "acmx1y", "zenith_news", "cme"])
def test_unrelated_and_short_names_are_not_flagged(candidate):
    assert flagged(candidate) == {}


def test_min_score_and_an_injected_skeleton():
    assert flagged("acmecorp", min_score=0.75) == {}
    identity = flagged("аcme", skeleton=lambda text: text)  # without folding, Cyrillic 'а' is one edit away
    assert identity["@аcme"][2] == ("edit distance 1 from @acme",)


def test_duplicate_candidates_are_reported_once():
    assert len(find_impostors(OWN, parse_candidates(["acne", "acne", "@ACNE"]))) == 1


# --- the CLI on the real inventory ------------------------------------------------------------------

@pytest.fixture
def inventory(session, actor):
    from govern.accounts.service import create_account

    create_account(session, actor, "x", handle="acme", display_name="Acme")
    create_account(session, actor, "instagram", handle="acme.sa", display_name="أكمي السعودية")
    session.flush()


@pytest.fixture
def cli_app(app, monkeypatch):
    import govern

    monkeypatch.setattr(govern, "create_app", lambda *args, **kwargs: app)
    monkeypatch.setenv("GOVERN_DATABASE_URL", app_services.settings(app).effective_database_url)  # checked first
    monkeypatch.setenv("GOVERN_SECRET_KEY", app.config["SECRET_KEY"])
    return app


def test_inventory_handles(session, inventory):
    assert set(inventory_handles(session)) >= {Handle("x", "acme"), Handle("instagram", "acme.sa")}


def test_the_impostors_command(cli_app, inventory, tmp_path):
    candidates = tmp_path / "candidates.txt"
    candidates.write_text("# found on search\nx:acme\nаcme\ninstagram:acme_sa\nhello_world\n", encoding="utf-8")

    table = CliRunner().invoke(impostors, ["--candidates", str(candidates)])
    as_json = CliRunner().invoke(impostors, ["--candidates", str(candidates), "--json"])

    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split()[:4] == ["SCORE", "CANDIDATE", "LOOKS", "LIKE"] and len(lines) == 3
    assert "@аcme" in lines[1] and "Cyrillic" in lines[1] and "instagram:@acme_sa" in lines[2]
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.output)
    assert [(r["candidate"], r["network"], r["looks_like"], r["score"]) for r in rows] == [
        ("аcme", None, "acme", 1.0), ("acme_sa", "instagram", "acme.sa", 0.95)]
