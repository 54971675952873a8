"""A --to date includes that whole day in every command (evidence export, audit verify), as the console, the reports
and the API read a "to" date; an exact time is the exclusive end as written."""

from __future__ import annotations

from datetime import datetime, timezone

import click
import pytest

from govern.cli_support import moment_or_seq

UTC = timezone.utc


def test_a_to_date_includes_the_whole_day():
    assert moment_or_seq("2026-12-01", "--to", end_of_day=True) == datetime(2026, 12, 2, tzinfo=UTC)


def test_a_to_time_is_the_exclusive_end_as_written():
    assert moment_or_seq("2026-12-01T12:00:00Z", "--to", end_of_day=True) == datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_a_from_date_starts_at_midnight_and_an_event_number_stays_a_number():
    assert moment_or_seq("2026-12-01", "--from") == datetime(2026, 12, 1, tzinfo=UTC)
    assert moment_or_seq("123", "--to", end_of_day=True) == 123


def test_a_malformed_date_is_a_clear_refusal():
    with pytest.raises(click.BadParameter, match="neither an event number nor a date"):
        moment_or_seq("1st of May", "--to", end_of_day=True)


def test_one_day_is_a_period_for_the_evidence_export(tmp_path):
    from click.testing import CliRunner

    from govern.cli import main

    same_day = CliRunner().invoke(main, ["evidence", "export", "--from", "2026-12-01", "--to", "2026-12-01", "-o",
                                         str(tmp_path / "x.zip")], env={"GOVERN_DATABASE_URL": "sqlite:///" + str(tmp_path / "none.db")})
    assert "--from must be before --to" not in same_day.output
