"""The console's blueprint, built once per app, and ConsolePages, on which each domain declares its console pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from govern.console import templating
from govern.web.problems import error_response


class ConsolePages:
    """A domain's console pages, declared like a blueprint's routes where the views are written and added to the
    console by `register(console)`: no page joins the console by being imported, and every endpoint stays console.<view>."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, Callable[..., Any], dict[str, Any]]] = []
        self._template_globals: list[Callable[..., Any]] = []

    def route(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def declare(view: Callable[..., Any]) -> Callable[..., Any]:
            self._routes.append((rule, view, options))
            return view

        return declare

    def get(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(rule, methods=["GET"], **options)

    def post(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(rule, methods=["POST"], **options)

    def template_globals(self, *helpers: Callable[..., Any]) -> None:
        """Helpers the domain's templates call (labels, formatters)."""
        self._template_globals.extend(helpers)

    def register(self, console: Blueprint) -> None:
        for rule, view, options in self._routes:
            console.add_url_rule(rule, view_func=view, **options)
        for helper in self._template_globals:
            console.add_app_template_global(helper)


def form_expired(_error: CSRFError):
    explanation = _("This form was missing its security token or it had expired. Go back, reload the page and try again.")
    return error_response(400, _("Form expired"), explanation)


def console_blueprint() -> Blueprint:
    """A new console blueprint (one per app, so building a second app adds nothing to the first one's)."""
    console = Blueprint("console", __name__, template_folder="../templates", static_folder="../static",
                        static_url_path="/static/console")
    console.record_once(lambda state: templating.install(state.app))
    console.app_errorhandler(CSRFError)(form_expired)
    return console
