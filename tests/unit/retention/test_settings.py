"""GOVERN_RETENTION_DAYS: a JSON object of known kinds to whole days, merged over the defaults."""

from __future__ import annotations

import pytest

from govern.config import ConfigurationError, load_settings
from govern.retention.kinds import DEFAULT_RETENTION_DAYS, KNOWN_KINDS
from govern.retention.service import KINDS, retention_days


def test_defaults_apply_when_nothing_is_set():
    settings = load_settings(environ={})
    assert settings.retention_days == {}
    assert retention_days(settings.retention_days) == DEFAULT_RETENTION_DAYS
    assert DEFAULT_RETENTION_DAYS["audit_events"] >= 7 * 365
    assert all(DEFAULT_RETENTION_DAYS[kind] >= 90 for kind in KNOWN_KINDS)


def test_a_configured_kind_overrides_only_itself():
    settings = load_settings(environ={"GOVERN_RETENTION_DAYS": '{"notifications": 30, "audit_events": 3653}'})
    days = retention_days(settings.retention_days)
    assert days["notifications"] == 30 and days["audit_events"] == 3653
    assert days["sync_runs"] == DEFAULT_RETENTION_DAYS["sync_runs"]


def test_a_toml_table_works_too(tmp_path):
    config_file = tmp_path / "govern.toml"
    config_file.write_text("[retention_days]\nsync_runs = 200\n")
    assert load_settings(environ={"GOVERN_CONFIG_FILE": str(config_file)}).retention_days == {"sync_runs": 200}


@pytest.mark.parametrize("value, message", [
    ('{"tweets": 30}', "unknown data kinds tweets; known: notifications"),
    ('{"notifications": 0}', "days must be 1 to 36525"),
    ('{"notifications": 40000}', "days must be 1 to 36525"),
    ('{"notifications": "30"}', "whole numbers"),
    ('{"notifications": true}', "whole numbers"),
    ('{"notifications": 1.5}', "whole numbers"),
    ('{"notifications": ', "must be a JSON object"),
    ('[30]', "valid dictionary"),
])
def test_a_bad_value_names_the_variable(value, message):
    with pytest.raises(ConfigurationError, match="GOVERN_RETENTION_DAYS") as caught:
        load_settings(environ={"GOVERN_RETENTION_DAYS": value})
    assert message in str(caught.value)


def test_the_kinds_table_and_the_known_names_agree():
    assert tuple(KINDS) == KNOWN_KINDS
    assert [kind.name for kind in KINDS.values() if not kind.deletable] == ["audit_events"]
