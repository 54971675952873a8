"""The home page's words, links and charts: the figures of govern.home.service, in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import format_date, format_decimal, get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from govern.console.charts import bar_chart
from govern.console.labels import N_
from govern.home.service import Measure, Todo
from govern.locales import RTL_LOCALES

# key: (what waits, where it is handled: endpoint and query)
TODO_TEXT: dict[str, tuple[str, str, dict[str, str]]] = {
    "approvals": (N_("Posts waiting for approval"), "console.policy_approvals", {}),
    "reviews": (N_("Access waiting for your review"), "console.reviews", {}),
    "escalated": (N_("Access passed to governance to review"), "console.reviews", {}),
    "violations_open": (N_("Open policy violations"), "console.policy_violations", {"status": "open"}),
    "violations_assigned": (N_("Assigned policy violations"), "console.policy_violations", {"status": "assigned"}),
    "held_runs": (N_("Directory syncs held for a decision"), "console.directory_runs", {}),
    "reconnect": (N_("Accounts that need reconnecting"), "console.accounts", {"health": "needs_reconnect"}),
}

# key: (title, what it shows, {bar key: label})
MEASURE_TEXT: dict[str, tuple[str, str, dict[str, str]]] = {
    "health": (N_("Accounts by connection health"), N_("Accounts in service, by the state of their connection."), {
        "healthy": N_("Healthy"), "expiring": N_("Expiring"), "needs_reconnect": N_("Needs reconnecting"),
        "revoked": N_("Revoked"), "not_connected": N_("Not connected")}),
    "risk": (N_("Accounts by risk"), N_("The accounts report's risk score: low is 0, medium 1 to 3, high 4 or more."), {
        "low": N_("Low"), "medium": N_("Medium"), "high": N_("High")}),
    "expiring": (N_("Tokens expiring in the next 30 days"), N_("Connections that stop working unless reconnected, by when."), {
        "days_0_7": N_("Within 7 days"), "days_8_14": N_("In 8 to 14 days"), "days_15_21": N_("In 15 to 21 days"),
        "days_22_30": N_("In 22 to 30 days")}),
    "violations": (N_("Open violations by category"), N_("Violations found in the last 8 weeks that are still open or assigned."), {
        "privacy": N_("Privacy"), "confidentiality": N_("Confidentiality"), "copyright": N_("Copyright"),
        "brand": N_("Brand")}),
    "leavers": (N_("Leavers' time to revoke"), N_("People who left in the last 90 days holding access: when all of it went."), {
        "within_sla": N_("Within the target"), "late": N_("Later than the target"), "still_has_access": N_("Still has access")}),
    "reviews": (N_("Review progress"), N_("Share of each open campaign's access already decided."), {}),
}

TONES = {
    "health": ("ok", "warn", "bad", "bad", "muted"),
    "risk": ("ok", "warn", "bad"),
    "expiring": ("bad", "warn", "warn", "muted"),
    "leavers": ("ok", "warn", "bad"),
}


@dataclass(frozen=True)
class TodoRow:
    key: str
    text: str
    count: int
    href: str


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    lede: str
    rows: list[tuple[str, str]]  # (label, number as shown)
    svg: Markup
    measure: Measure


def home_number(value: float) -> str:
    return format_decimal(value)


def todo_rows(todos: list[Todo]) -> list[TodoRow]:
    return [TodoRow(t.key, _(TODO_TEXT[t.key][0]), t.count, url_for(TODO_TEXT[t.key][1], **TODO_TEXT[t.key][2]))
            for t in todos]


def chart(measure: Measure) -> Chart:
    title, lede, words = MEASURE_TEXT[measure.key]
    labels = [_(words[key]) if key in words else key for key, _value in measure.bars]
    percent = measure.key == "reviews"
    shown = (lambda v: _("%(percent)s%%", percent=home_number(v))) if percent else home_number
    svg = bar_chart(list(zip(labels, (value for _key, value in measure.bars))), rtl=str(get_locale()) in RTL_LOCALES,
                    maximum=100 if percent else None, number=shown, tones=TONES.get(measure.key))
    return Chart(measure.key, _(title), _(lede), [(label, shown(value)) for label, (_k, value) in zip(labels, measure.bars)],
                 svg, measure)


def home_category(key: str) -> str:
    words = MEASURE_TEXT["violations"][2]
    return _(words[key]) if key in words else key


def home_week_chart(measure: Measure) -> Chart:
    """The violations of the last 8 weeks by the week they were found, oldest first (each violation once)."""
    rows = [(format_date(start, "d MMM"), count) for start, count in measure.extra["per_week"]]
    svg = bar_chart(rows, rtl=str(get_locale()) in RTL_LOCALES, number=home_number)
    return Chart("violations_weeks", _("Found each week"), _("Week from"), [(label, home_number(v)) for label, v in rows],
                 svg, measure)
