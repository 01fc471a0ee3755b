"""Incident logs: reading CSV, JSON-lines and Parquet files of faults, each with its start and, optionally, its end.

A log has columns ``timestamp`` (when the fault struck; ISO 8601, no offset means UTC), ``cause`` and
``node``, and optionally an end column (``end`` unless named otherwise: when the node was back; empty
for a repair still open). Other columns are ignored. The format follows the file's suffix: ``.jsonl``
or ``.ndjson`` (one JSON object a line), ``.parquet``, anything else CSV. A row with a missing value, a
bad time or an end before its start is *bad*: listed with its line (CSV, JSON lines) or row (Parquet)
number. A row repeating an earlier one (same start, cause and node) is dropped and listed. Rows
outside the fitted window are kept: faults before it may hold a node down at its start, and faults
after it serve the predictive check.

>>> log = read_text_log("timestamp,cause,node,end\\n2024-01-01T05:00:00Z,psu,n1,2024-01-01T08:00:00Z\\n",
...                     dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
>>> log.incidents[0].hours, log.incidents[0].end_hours, log.has_ends
(5.0, 8.0, True)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COLUMNS = ("timestamp", "cause", "node")
END_COLUMN = "end"
JSON_SUFFIXES = (".jsonl", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")


class FitError(ValueError):
    """A log or window that cannot be fitted; the message is one line naming the problem."""


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

    ``unit`` is what the numbers count: ``line`` (CSV, JSON lines) or ``row`` (Parquet).
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


def read_log(path: Path, start: dt.datetime, end_column: str = END_COLUMN) -> IncidentLog:
    """Read the incident log at ``path`` (format by suffix), times in hours after ``start``.

    A missing file or column, or a file without any data row, is a ``FitError``.
    """
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(path, start, end_column)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FitError(f"{path}: cannot read the log: {e.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise FitError(f"{path}: line {line}: not UTF-8 text: {e.reason}") from None
    if suffix in JSON_SUFFIXES:
        return read_json_lines(text, start, end_column, name=str(path))
    return read_text_log(text, start, end_column, name=str(path))


def read_text_log(text: str, start: dt.datetime, end_column: str = END_COLUMN, name: str = "log") -> IncidentLog:
    """A CSV log from its text (see ``read_log``)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise FitError(f"{name}: empty log: no header and no incidents")
        names = [h.strip().lower() for h in header]
        index = _columns(names, end_column, name, f"line 1 has {', '.join(repr(h) for h in header)}")

        def rows() -> Iterator[tuple[int, list[Any]]]:
            for row in reader:
                if any(cell.strip() for cell in row):
                    yield reader.line_num, [row[i] if i is not None and i < len(row) else "" for i in index]

        return _collect(rows(), start, end_column.lower() in names, name)
    except csv.Error as e:
        raise FitError(f"{name}: line {reader.line_num}: not a readable CSV file: {e}") from None


def read_json_lines(text: str, start: dt.datetime, end_column: str = END_COLUMN, name: str = "log") -> IncidentLog:
    """A JSON-lines log from its text: one object a line, keys as the CSV's columns (see ``read_log``)."""
    key_end = end_column.lower()
    has_end = False
    parsed: list[tuple[int, list[Any]]] = []
    bad: list[tuple[int, str]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            bad.append((n, "not a JSON object"))
            continue
        if not isinstance(obj, dict):
            bad.append((n, "not a JSON object"))
            continue
        lower = {str(k).strip().lower(): v for k, v in obj.items()}
        has_end = has_end or key_end in lower
        parsed.append((n, [lower.get(c) for c in (*COLUMNS, key_end)]))
    if not parsed and not bad:
        raise FitError(f"{name}: empty log: no incidents to fit (an empty log says nothing about the failure rate)")
    log = _collect(iter(parsed), start, has_end, name)
    return IncidentLog(log.incidents, tuple(sorted(bad + list(log.bad))), log.duplicates, log.has_ends)


def _read_parquet(path: Path, start: dt.datetime, end_column: str) -> IncidentLog:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except OSError as e:
        # pyarrow raises OSError both for a missing file and for bytes that are not Parquet.
        why = e.strerror or str(e).splitlines()[0][:200]
        raise FitError(f"{path}: cannot read the log: {why}") from None
    except Exception as e:  # pyarrow's own errors for a damaged file (ArrowInvalid and friends)
        raise FitError(f"{path}: not a readable Parquet file: {str(e).splitlines()[0][:200]}") from None
    names = [c.strip().lower() for c in table.column_names]
    index = _columns(names, end_column, str(path), f"columns {', '.join(repr(c) for c in table.column_names)}")
    columns = [table.column(i).to_pylist() if i is not None else [None] * table.num_rows for i in index]
    rows = ((r + 1, [c[r] for c in columns]) for r in range(table.num_rows))
    log = _collect(rows, start, index[3] is not None, str(path))
    return IncidentLog(log.incidents, log.bad, log.duplicates, log.has_ends, unit="row")


def _columns(names: list[str], end_column: str, name: str, found: str) -> list[int | None]:
    """Positions of the three needed columns and of the end column (``None`` when absent)."""
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise FitError(
            f"{name}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"({found}; needed: {', '.join(COLUMNS)})"
        )
    end = end_column.lower()
    return [*(names.index(c) for c in COLUMNS), names.index(end) if end in names else None]


def _time(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return aware(value)
    if isinstance(value, str):
        return parse_time(value)
    raise ValueError("not a time")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _collect(rows: Iterable[tuple[int, list[Any]]], start: dt.datetime, has_end: bool, name: str) -> IncidentLog:
    """Check each row (line, [timestamp, cause, node, end]) and keep the good ones."""
    incidents: list[Incident] = []
    bad: list[tuple[int, str]] = []
    duplicates: list[int] = []
    seen: set[tuple[dt.datetime, str, str]] = set()
    count = 0
    for line, values in rows:
        count += 1
        stamp, cause, node = values[0], _text(values[1]), _text(values[2])
        empty = [c for c, v in zip(COLUMNS, (_text(stamp), cause, node), strict=True) if not v]
        if empty:
            bad.append((line, f"missing {', '.join(empty)}"))
            continue
        try:
            t = _time(stamp)
        except ValueError:
            bad.append((line, f"bad timestamp {_text(stamp)[:60]!r}"))
            continue
        end_hours: float | None = None
        if has_end:
            raw = values[3]
            if _text(raw) == "":
                end_hours = math.nan  # a repair still open when the log was taken
            else:
                try:
                    e = _time(raw)
                except ValueError:
                    bad.append((line, f"bad end {_text(raw)[:60]!r}"))
                    continue
                if e < t:
                    bad.append((line, f"end {_text(raw)[:60]} before its start {_text(stamp)[:60]}"))
                    continue
                end_hours = (e - start).total_seconds() / 3600.0
        if (t, cause, node) in seen:
            duplicates.append(line)
            continue
        seen.add((t, cause, node))
        incidents.append(Incident((t - start).total_seconds() / 3600.0, cause, node, line, end_hours))
    if count == 0:
        raise FitError(f"{name}: empty log: no incidents to fit (an empty log says nothing about the failure rate)")
    return IncidentLog(tuple(incidents), tuple(bad), tuple(duplicates), has_end)
