"""Incident logs: faults with their start and, optionally, their end, from any of the log files that
``sim.analysis.log_files`` reads.

A log names, per row, when a fault struck, its cause and its node (the columns ``timestamp``,
``cause`` and ``node`` unless ``LogColumns`` names others, nested fields with dots such as
``fault_type.class``), and optionally when the node was back (``end``; empty for a repair still
open). Times are ISO 8601 (no offset means UTC), typed timestamps (Parquet), or, with a time unit,
numbers: offsets in that unit from an origin (the Unix epoch unless given). Other columns are ignored.

Or the log has one row per *event* (``LogColumns.event``): a fault's start and its end are separate
rows, told apart by the event column's value (``start`` and ``end``, or values ending in them such
as ``fault_start``). Each end closes the earliest open start of the same node and cause; an end
with none open is a bad row, a start never closed a repair still open.

A row with a missing value, a bad time or an end before its start is *bad*: listed with its line (CSV,
JSON) or row (Parquet) number. A row repeating an earlier one (same start, cause and node) is dropped
and listed. Rows outside the fitted window are kept: faults before it may hold a node down at its
start, and faults after it serve the predictive check.

>>> log = parse_csv("timestamp,cause,node,end\\n2024-01-01T05:00:00Z,psu,n1,2024-01-01T08:00:00Z\\n",
...                 dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
>>> log.incidents[0].hours, log.incidents[0].end_hours, log.has_ends
(5.0, 8.0, True)
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sim.analysis.log_files import FitError as FitError
from sim.analysis.log_files import Records, csv_records, read_records

#: Seconds per unit of numeric times (``--time-unit``).
TIME_UNITS = {"days": 86400.0, "hours": 3600.0, "minutes": 60.0, "seconds": 1.0}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class LogColumns:
    """Which column holds what (lower case; nested fields joined by dots), and how times are written.

    ``event``: the column that tells a fault's start row from its end row (None: one row a fault, its
    end in ``end``). ``time_unit``: numbers are offsets in that unit (``TIME_UNITS``) from ``origin``.
    """

    time: str = "timestamp"
    cause: str = "cause"
    node: str = "node"
    end: str = "end"
    event: str | None = None
    event_values: tuple[str, str] = ("start", "end")
    time_unit: str | None = None
    origin: dt.datetime = EPOCH

    def normalised(self) -> LogColumns:
        """The same, column names stripped and in lower case (as the files' names are)."""
        low = {k: getattr(self, k).strip().lower() for k in ("time", "cause", "node", "end")}
        return replace(self, **low, event=self.event.strip().lower() if self.event else None)

    def needed(self) -> tuple[str, ...]:
        return (self.time, self.cause, self.node) + ((self.event,) if self.event else ())

    def when(self, value: Any) -> dt.datetime:
        """A time value of the log as an aware UTC datetime; ``ValueError`` (with a hint) if it is none."""
        if isinstance(value, dt.datetime):
            return aware(value)
        number = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return parse_time(value)
        if number is None or not math.isfinite(number):
            raise ValueError("")
        if self.time_unit is None:
            raise ValueError(" (a number: give --time-unit)")
        try:
            return self.origin + dt.timedelta(seconds=number * TIME_UNITS[self.time_unit])
        except OverflowError:
            raise ValueError(" (out of range)") from None

    def kind(self, value: Any) -> str | None:
        """``start`` or ``end`` for an event value that is (or ends or begins with) one of ``event_values``.

        >>> [LogColumns(event="e").kind(v) for v in ("fault_start", "END", "start-of-outage", "restart")]
        ['start', 'end', 'start', None]
        """
        text = _text(value).lower()
        words = [w for w in re.split(r"[^a-z0-9]+", text) if w]
        for test in (lambda w: text == w, lambda w: words[-1:] == [w], lambda w: words[:1] == [w]):
            for kind, word in zip(("start", "end"), self.event_values, strict=True):
                if test(word.strip().lower()):
                    return kind
        return None


@dataclass(frozen=True)
class Incident:
    """One fault: start hours after the window start, cause, node, its line (or row), and when the node
    was back (hours; ``None`` without an end column, ``nan`` for a repair still open)."""

    hours: float
    cause: str
    node: str
    line: int
    end_hours: float | None = None


@dataclass(frozen=True)
class IncidentLog:
    """The usable incidents of a log, its bad rows as (line, problem), and dropped duplicate lines.

    ``unit`` is what the numbers count: ``line`` (CSV, JSON) or ``row`` (Parquet).
    """

    incidents: tuple[Incident, ...]
    bad: tuple[tuple[int, str], ...]
    duplicates: tuple[int, ...]
    has_ends: bool = False
    unit: str = "line"

    def within(self, hours: float) -> list[Incident]:
        """The incidents that start within ``[0, hours]`` of the window."""
        return [i for i in self.incidents if 0.0 <= i.hours <= hours]


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 time as an aware UTC datetime; a time without an offset is taken as UTC.

    >>> parse_time("2024-07-01T12:00:00+02:00").isoformat()
    '2024-07-01T10:00:00+00:00'
    """
    t = dt.datetime.fromisoformat(text.strip())
    return aware(t, text)


def aware(t: dt.datetime, text: str = "") -> dt.datetime:
    """``t`` in UTC; a naive time is taken as UTC."""
    try:
        return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)
    except OverflowError:  # an offset that moves the time past year 9999 or before year 1
        raise ValueError(f"time out of range in UTC: {(text or str(t)).strip()[:40]!r}") from None


def window_hours(start: dt.datetime, end: dt.datetime) -> float:
    """Length of the window in hours; an error unless ``end`` is after ``start``."""
    hours = (end - start).total_seconds() / 3600.0
    if hours <= 0:
        raise FitError(f"--end {end.isoformat()}: must be after --start {start.isoformat()}")
    return hours


def describe_lines(items: Sequence[tuple[int, str]], limit: int = 10, unit: str = "line") -> str:
    """``line 4: bad timestamp 'x'; line 9: ...`` for the first ``limit`` items, then how many more.

    >>> describe_lines([(3, "missing node"), (5, "bad timestamp 'x'")], limit=1)
    'line 3: missing node; and 1 more'
    """
    shown = "; ".join(f"{unit} {line}: {problem}" for line, problem in items[:limit])
    more = len(items) - limit
    return shown + (f"; and {more} more" if more > 0 else "")


def read_log(path: Path, start: dt.datetime, columns: LogColumns | None = None) -> IncidentLog:
    """Read the incident log at ``path`` (format by suffix), times in hours after ``start``.

    A missing file or column, or a file without any data row, is a ``FitError``.
    """
    return incidents(read_records(path), start, columns or LogColumns(), str(path))


def parse_csv(text: str, start: dt.datetime, columns: LogColumns | None = None, name: str = "log") -> IncidentLog:
    """A CSV log from its text (see ``read_log``)."""
    return incidents(csv_records(text, name), start, columns or LogColumns(), name)


def incidents(records: Records, start: dt.datetime, columns: LogColumns, name: str) -> IncidentLog:
    """The incidents of a file's records: each row checked, events paired, repeats dropped."""
    if not records.rows and not records.bad:
        raise FitError(f"{name}: empty log: no incidents to fit (an empty log says nothing about the failure rate)")
    c = columns.normalised()
    _check_columns(records, c, name)
    bad = list(records.bad)
    rows: list[Row] = []
    for line, row in records.rows:
        stamp, cause, node = row.get(c.time), _text(row.get(c.cause)), _text(row.get(c.node))
        empty = [col for col, v in zip((c.time, c.cause, c.node), (_text(stamp), cause, node), strict=True) if not v]
        if empty:
            bad.append((line, f"missing {', '.join(empty)}"))
            continue
        try:
            t = c.when(stamp)
        except ValueError as e:
            bad.append((line, f"bad {c.time} {_text(stamp)[:60]!r}{_hint(e)}"))
            continue
        extra = row.get(c.end) if c.event is None else c.kind(row.get(c.event))
        if c.event is not None and extra is None:
            words = " nor ".join(repr(v) for v in c.event_values)
            bad.append((line, f"{c.event} {_text(row.get(c.event))[:60]!r}: neither {words} (--event-values)"))
            continue
        rows.append((line, t, cause, node, extra, _text(stamp)))
    has_ends = c.event is not None or c.end in records.names
    duplicates: list[int] = []
    faults = _with_ends(rows, c, has_ends, bad) if c.event is None else _paired(rows, bad, duplicates)
    out, seen = [], set()
    for line, t, cause, node, back in faults:
        if (t, cause, node) in seen:
            duplicates.append(line)
            continue
        seen.add((t, cause, node))
        end_hours = None if not has_ends else math.nan if back is None else _hours(back, start)
        out.append(Incident(_hours(t, start), cause, node, line, end_hours))
    return IncidentLog(tuple(out), tuple(sorted(bad)), tuple(sorted(duplicates)), has_ends, records.unit)


#: A checked row: line, start, cause, node, the end column's value (or the event's kind), the start as written.
Row = tuple[int, dt.datetime, str, str, Any, str]
#: A fault: line, start, cause, node, end (None: still open, or no end column).
Fault = tuple[int, dt.datetime, str, str, dt.datetime | None]


def _with_ends(rows: list[Row], c: LogColumns, has_ends: bool, bad: list[tuple[int, str]]) -> list[Fault]:
    """One row a fault: its end from the end column (None: still open, or no end column)."""
    out: list[Fault] = []
    for line, t, cause, node, raw, written in rows:
        back = None
        if has_ends and _text(raw) != "":
            try:
                back = c.when(raw)
            except ValueError as e:
                bad.append((line, f"bad {c.end} {_text(raw)[:60]!r}{_hint(e)}"))
                continue
            if back < t:
                bad.append((line, f"{c.end} {_text(raw)[:60]} before its start {written[:60]}"))
                continue
        out.append((line, t, cause, node, back))
    return out


def _paired(rows: list[Row], bad: list[tuple[int, str]], duplicates: list[int]) -> list[Fault]:
    """Start and end rows as faults: each end closes the earliest open start of its node and cause (in time
    order, starts before ends at the same time); an end with none open is bad, a start never closed is open.
    A start or end repeating an earlier one (same time, node and cause) is dropped."""
    waiting: dict[tuple[str, str], deque[tuple[dt.datetime, int]]] = defaultdict(deque)
    out: list[Fault] = []
    seen: set[tuple[dt.datetime, str, str, str]] = set()
    for line, t, cause, node, kind, _ in sorted(rows, key=lambda r: (r[1], r[4] != "start", r[0])):
        if (t, cause, node, kind) in seen:
            duplicates.append(line)
            continue
        seen.add((t, cause, node, kind))
        if kind == "start":
            waiting[(node, cause)].append((t, line))
        elif waiting[(node, cause)]:
            began, first = waiting[(node, cause)].popleft()
            out.append((first, began, cause, node, t))
        else:
            bad.append((line, f"end with no open start of node {node[:40]!r}, cause {cause[:40]!r}"))
    out.extend((first, began, cause, node, None) for (node, cause), q in waiting.items() for began, first in q)
    return sorted(out)


def _check_columns(records: Records, c: LogColumns, name: str) -> None:
    """A ``FitError`` naming the needed columns the file lacks, what it has, and the likeliest meant."""
    have = records.names
    missing = [col for col in c.needed() if col not in have]
    if not missing:
        return
    guesses = {g for col in missing for g in _close(col, have)}
    shown = ", ".join(repr(h) for h in have[:12]) + (", ..." if len(have) > 12 else "")
    where = {"csv": "line 1 has", "json": "keys:", "parquet": "columns"}[records.layout]
    hint = f"; did you mean {', '.join(sorted(guesses))}?" if guesses else ""
    raise FitError(
        f"{name}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} ({where} {shown or 'none'}; "
        f"needed: {', '.join(c.needed())}; --time-column, --cause-column, --node-column name others){hint}"
    )


def _close(wanted: str, have: Sequence[str]) -> list[str]:
    """Columns that end with ``.wanted`` (a nested field), or are spelt like it."""
    ends = [h for h in have if h.endswith("." + wanted)]
    return ends or difflib.get_close_matches(wanted, list(have), n=2, cutoff=0.75)


def _hint(e: ValueError) -> str:
    text = str(e)
    return text if text.startswith(" (") else ""


def _hours(t: dt.datetime, start: dt.datetime) -> float:
    return (t - start).total_seconds() / 3600.0


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
