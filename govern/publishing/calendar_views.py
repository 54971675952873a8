"""The posts calendar: a week or a month of scheduled posts as a table (a column per weekday, from the reader's
locale's first day of the week), filterable by account and state, each post linking to its page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from babel import Locale
from babel.core import get_global
from flask import Blueprint, render_template, request
from flask_babel import format_date, get_locale
from flask_babel import gettext as _

from govern.auth.roles import Permission
from govern.console.blueprint import ConsolePages
from govern.db import utcnow
from govern.extensions import db
from govern.publishing import posts
from govern.publishing.models import Post, PostState
from govern.publishing.post_views import _accounts, _state_arg
from govern.web.authz import requires

routes = ConsolePages()
VIEWS = ("week", "month")


@dataclass
class Day:
    day: date
    in_range: bool
    posts: list[Post] = field(default_factory=list)


def _first_day(day: date) -> date:
    """The start of the week holding `day`, by the reader's locale (its likely country's)."""
    locale = get_locale()
    if locale.territory is None:  # "he" alone: its likely country's week (he_IL: Sunday; ar_EG: Saturday; en_US: Sunday)
        locale = Locale.parse(get_global("likely_subtags").get(locale.language, "en_Latn_US"))
    first = locale.first_week_day  # 0 is Monday
    return day - timedelta(days=(day.weekday() - first) % 7)


def _range(view: str, start: date) -> tuple[date, date, date, date]:
    """(shown from, shown until, in range from, in range until): whole weeks, the month's days in range."""
    if view == "week":
        begin = _first_day(start)
        return begin, begin + timedelta(days=7), begin, begin + timedelta(days=7)
    month_start = start.replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1)
    shown_from = _first_day(month_start)
    shown_until = _first_day(month_end - timedelta(days=1)) + timedelta(days=7)
    return shown_from, shown_until, month_start, month_end


def _step(view: str, start: date, forward: bool) -> date:
    if view == "week":
        return _first_day(start) + timedelta(days=7 if forward else -7)
    first = start.replace(day=1)
    return (first + timedelta(days=32)).replace(day=1) if forward else (first - timedelta(days=1)).replace(day=1)


@routes.get("/posts/calendar")
@requires(Permission.POSTS_READ)
def posts_calendar():
    view = request.args.get("view") or "week"
    problems = []
    if view not in VIEWS:
        problems.append(_("Show a week or a month."))
        view = "week"
    try:
        start = date.fromisoformat(request.args["start"]) if request.args.get("start") else utcnow().date()
    except ValueError:
        problems.append(_("Give the start as a date (YYYY-MM-DD)."))
        start = utcnow().date()
    shown_from, shown_until, range_from, range_until = _range(view, start)
    account_id = request.args.get("account_id", type=int)
    found = posts.scheduled_between(db.session, datetime.combine(shown_from, time(), UTC),
                                    datetime.combine(shown_until, time(), UTC), _state_arg(), account_id)
    days = {shown_from + timedelta(days=n): Day(shown_from + timedelta(days=n), range_from <= shown_from + timedelta(days=n) < range_until)
            for n in range((shown_until - shown_from).days)}
    for post in found:
        days[post.scheduled_at.date()].posts.append(post)
    ordered = list(days.values())
    weeks = [ordered[n:n + 7] for n in range(0, len(ordered), 7)]
    title = (_("Week of %(day)s", day=format_date(shown_from, "long")) if view == "week"
             else format_date(range_from, "LLLL y"))
    return render_template(
        "publishing/calendar.html", view=view, weeks=weeks, title=title, problems=problems, start=start,
        weekdays=[format_date(day.day, "EEEE") for day in weeks[0]], accounts=_accounts(), states=list(PostState),
        chosen_state=request.args.get("state", ""), chosen_account=account_id, today=utcnow().date(),
        previous=_step(view, start, False).isoformat(), following=_step(view, start, True).isoformat(),
    ), 422 if problems else 200


def register(console: Blueprint) -> None:
    routes.register(console)
