"""The instance folder is found the same way from any working directory (docs/decisions/0031)."""

from __future__ import annotations

from pathlib import Path

import govern
from govern.config import load_settings

CHECKOUT = Path(govern.__file__).resolve().parent.parent


def test_the_default_instance_does_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    elsewhere = load_settings(environ={}).instance_path
    monkeypatch.chdir(CHECKOUT)
    in_checkout = load_settings(environ={}).instance_path
    assert elsewhere == in_checkout == CHECKOUT / "instance"  # where `make run` puts it
    assert elsewhere.is_absolute()


def test_a_relative_instance_path_is_made_absolute_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={"GOVERN_INSTANCE_PATH": "state"})
    assert settings.instance_path == tmp_path.resolve() / "state"
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'state' / 'govern.sqlite'}"
