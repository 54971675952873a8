"""A form's "next" never leads off the console, however a browser would read it."""

from __future__ import annotations

import pytest

from govern.console.responses import safe_next


@pytest.mark.parametrize("target", ["/accounts/3", "/reviews?page=2", "/people/search?q=%D8%AF"])
def test_a_path_on_this_site_is_kept(app, target):
    with app.test_request_context():
        assert safe_next(target) == target


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
                                    "https://evil.example/", "/\n/evil.example", "", None, "accounts"])
def test_anything_a_browser_could_take_off_site_goes_home(app, target):
    with app.test_request_context():
        assert safe_next(target) == "/"
