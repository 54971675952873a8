"""What a report is, whatever its format: period, basis, audit chain head, summary figures, charts and tables."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from govern.errors import DomainError, NotFound
from govern.limits import EARLIEST_YEAR, LATEST_YEAR, YEARS_TEXT

DEFAULT_DAYS = 90
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Cell = str | int | float | bool | datetime | None


class Text(str):
    """A builder's English sentence that keeps its message id and values, so the PDF can show it translated while
    the CSV and the JSON keep the English text (it is a str: everything that writes a string writes it)."""

    msgid: str
    values: dict[str, Any]

    def __new__(cls, msgid: str, **values: Any) -> Text:
        made = super().__new__(cls, msgid % values if values else msgid)
        made.msgid, made.values = msgid, values
        return made


class UnknownReport(NotFound):
    title = "Unknown report"


class BadReportRequest(DomainError):
    status = 400
    title = "Bad report request"


@dataclass(frozen=True)
class Period:
    """A half-open UTC range [start, end)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise BadReportRequest("a report period needs timezone-aware times")
        if self.start > self.end:
            raise BadReportRequest("the period starts (%(value)s) after it ends (%(value2)s)", value=self.start.isoformat(), value2=self.end.isoformat())

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, now: datetime | None = None) -> Period:
        end = now or datetime.now(timezone.utc)
        return cls(end - timedelta(days=days), end)

    @classmethod
    def parse(cls, start: str | None, end: str | None, now: datetime | None = None) -> Period:
        """From user input: ISO dates (a 'to' date includes that whole day) or ISO date-times; UTC when no offset."""
        since = parse_moment(start, "from", end_of_day=False) if start else None
        until = parse_moment(end, "to", end_of_day=True) if end else None
        return cls.between(since, until, now)

    @classmethod
    def between(cls, since: datetime | None, until: datetime | None, now: datetime | None = None) -> Period:
        """The period from `since` to `until`; without an end it ends now, without a start it is DEFAULT_DAYS long."""
        until = until or now or datetime.now(timezone.utc)
        return cls(since or until - timedelta(days=DEFAULT_DAYS), until)

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end

    def as_json(self) -> dict[str, str]:
        """`to` is the end instant, not included (ISO 8601 half-open); `last_day` the last day included: the date a
        person wrote as 'to' (to=2026-12-01 gives to 2026-12-02T00:00:00+00:00 and last_day 2026-12-01)."""
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "last_day": self.last_day.isoformat()}

    @property
    def whole_days(self) -> bool:
        """True when the period is whole UTC days (a 'to' date was given, or nothing finer)."""
        return all(moment.time() == time() for moment in (self.start.astimezone(timezone.utc), self.end.astimezone(timezone.utc)))

    @property
    def last_day(self) -> date:
        """The last day any moment of which is in the period: the 'to' date a person wrote, which is included."""
        return (self.end.astimezone(timezone.utc) - timedelta(microseconds=1)).date()

    def shown(self) -> tuple[str, str]:
        """The first and the last moment as a person reads them, in UTC: whole days as dates, both included
        (to=2026-12-01 shows "2026-12-01", not the exclusive end "2026-12-02 00:00")."""
        start, end = self.start.astimezone(timezone.utc), self.end.astimezone(timezone.utc)
        if start.time() == time():
            first = start.date().isoformat()
        else:
            first = start.strftime("%Y-%m-%d %H:%M")
        last = self.last_day.isoformat() if end.time() == time() else end.strftime("%Y-%m-%d %H:%M")
        return first, last


def parse_moment(text: str, name: str, *, end_of_day: bool) -> datetime:
    """A date (the start of that day, or with `end_of_day` the start of the next) or a date-time, in UTC,
    written in the years EARLIEST_YEAR to LATEST_YEAR: 9999-12-31 is a typo, and its "next day" would overflow."""
    raw = text.strip()
    values = {"name": name, "years": YEARS_TEXT, "text": text}
    try:
        if _DATE_ONLY.match(raw):
            written: date | datetime = date.fromisoformat(raw)
        else:
            written = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadReportRequest("'%(name)s' must be a date (YYYY-MM-DD) or an ISO 8601 date-time %(years)s, not %(text)r",
                               **values) from None
    if not EARLIEST_YEAR <= written.year <= LATEST_YEAR:
        raise BadReportRequest("'%(name)s' must be a date (YYYY-MM-DD) or an ISO 8601 date-time %(years)s, not %(text)r",
                               **values)
    if not isinstance(written, datetime):
        moment = datetime.combine(written, time(), tzinfo=timezone.utc)
        return moment + timedelta(days=1) if end_of_day else moment
    return written.replace(tzinfo=timezone.utc) if written.tzinfo is None else written.astimezone(timezone.utc)


@dataclass(frozen=True)
class ChainHead:
    seq: int
    hash: str


@dataclass(frozen=True)
class CheckpointRef:
    seq: int
    key_id: str
    signed_at: datetime
    head_hash: str


@dataclass(frozen=True)
class Section:
    """One table: machine column keys (CSV/JSON headers), readable labels (PDF), and its rows.

    The rows are read when a format writes them (`iter_rows()`, each call a fresh read: a streamed query or a list
    already built), and `count` is how many there are, from an SQL aggregate read with the summary: so the CSV,
    the JSON and the PDF (which shows only the first rows) give the same figures.
    """

    key: str
    title: str
    columns: tuple[str, ...]
    labels: tuple[str, ...]
    count: int
    read_rows: Callable[[], Iterable[Sequence[Cell]]]
    rtl_columns: frozenset[str] = frozenset()  # names and handles: dir="auto" in the PDF
    note: str = ""

    @classmethod
    def of(cls, key: str, title: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Cell]],
           rtl: Sequence[str] = (), note: str = "") -> Section:
        """A section whose rows are already built (a small table: per campaign, per category...)."""
        keys = tuple(column for column, _label in columns)
        for row in rows:
            if len(row) != len(keys):
                raise ValueError(f"section {key}: a row has {len(row)} cells for {len(keys)} columns")
        built = tuple(tuple(row) for row in rows)
        return cls(key, title, keys, tuple(label for _key, label in columns), len(built), lambda: built,
                   frozenset(rtl), note)

    @classmethod
    def streamed(cls, key: str, title: str, columns: Sequence[tuple[str, str]], count: int,
                 read_rows: Callable[[], Iterable[Sequence[Cell]]], rtl: Sequence[str] = (), note: str = "") -> Section:
        """A section read from the database as it is written: `read_rows` runs a streaming query each time."""
        return cls(key, title, tuple(column for column, _label in columns), tuple(label for _key, label in columns),
                   int(count), read_rows, frozenset(rtl), note)

    def iter_rows(self) -> Iterator[tuple[Cell, ...]]:
        width = len(self.columns)
        for row in self.read_rows():
            row = tuple(row)
            if len(row) != width:
                raise ValueError(f"section {self.key}: a row has {len(row)} cells for {width} columns")
            yield row

    @property
    def rows(self) -> tuple[tuple[Cell, ...], ...]:
        """Every row in memory: for tests and small sections only; the formats use iter_rows()."""
        return tuple(self.iter_rows())


@dataclass(frozen=True)
class Chart:
    """A bar chart the PDF draws (as SVG) from figures already in the report."""

    title: str
    bars: tuple[tuple[str, float], ...]
    unit: str = ""
    threshold: float | None = None  # e.g. the SLA line
    threshold_label: str = ""
    codes: str = ""  # the column whose labels name the bars (govern.reports.labels.CODES)


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    period: Period
    generated_at: datetime
    basis: tuple[str, ...]
    chain_head: ChainHead
    checkpoint: CheckpointRef | None
    summary: Mapping[str, Any]
    sections: tuple[Section, ...]
    alerts: tuple[str, ...] = ()  # findings an auditor must not miss (e.g. leavers who still have access)
    charts: tuple[Chart, ...] = ()
    frameworks: tuple[str, ...] = ()
    network_names: Mapping[str, str] = field(default_factory=dict)  # network key -> its display name, for the PDF
    actor_names: Mapping[str, str] = field(default_factory=dict)  # "console_user:7" -> its display name, for the PDF

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)


@dataclass
class ReportParts:
    """What one builder returns; build_report adds the name, the period and the audit chain head."""

    title: str
    basis: list[str]
    summary: dict[str, Any]
    sections: list[Section]
    alerts: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    frameworks: list[str] = field(default_factory=list)
