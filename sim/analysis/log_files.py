"""Incident log files as records: CSV, JSON lines, JSON arrays and Parquet, nested fields flattened.

Each record is one row of the file as a mapping from column name (lower case) to value, with the
line it starts on (CSV, JSON) or its row number (Parquet), so that a problem can name it. Nested
objects (JSON) and structs (Parquet) are flattened with dots: ``{"fault_type": {"Class": "GPU"}}``
has the column ``fault_type.class``. The format follows the suffix: ``.parquet`` or ``.pq``;
``.jsonl`` or ``.ndjson`` (one object a line); ``.json`` (an array of objects, or JSON lines when the
file does not start with ``[``); anything else CSV.

>>> r = json_records('[{"t": 1, "ft": {"Class": "GPU"}},\\n {"t": 2}]', "log")
>>> r.names, [(line, row) for line, row in r.rows]
(('t', 'ft.class'), [(1, {'t': 1, 'ft.class': 'GPU'}), (2, {'t': 2})])
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
JSON_SUFFIXES = (".json",)
PARQUET_SUFFIXES = (".parquet", ".pq")


class FitError(ValueError):
    """A log or window that cannot be fitted; the message is one line naming the problem."""


@dataclass(frozen=True)
class Records:
    """The rows of a log file: column names (lower case, in the order first seen), each row with its number,
    and rows that are no record at all (a JSON line that is not an object) as (number, problem)."""

    names: tuple[str, ...]
    rows: list[tuple[int, dict[str, Any]]]
    unit: str = "line"
    bad: list[tuple[int, str]] = field(default_factory=list)
    layout: str = "csv"  # csv, json or parquet: where the names come from


def read_records(path: Path) -> Records:
    """The records of the log file at ``path`` (format by suffix, see the module)."""
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return parquet_records(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FitError(f"{path}: cannot read the log: {e.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise FitError(f"{path}: line {line}: not UTF-8 text: {e.reason}") from None
    if suffix in JSON_SUFFIXES and text.lstrip().startswith("["):
        return json_records(text, str(path))
    if suffix in JSON_SUFFIXES + JSON_LINES_SUFFIXES:
        return json_lines_records(text)
    return csv_records(text, str(path))


def flatten(obj: dict[Any, Any], prefix: str = "") -> dict[str, Any]:
    """A JSON object's fields, nested objects' fields named ``outer.inner``, all in lower case.

    >>> flatten({"Node": "n1", "Fault": {"Class": "GPU", "Code": {"Xid": 79}}})
    {'node': 'n1', 'fault.class': 'GPU', 'fault.code.xid': 79}
    """
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = prefix + str(key).strip().lower()
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _names(rows: list[tuple[int, dict[str, Any]]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k for _, row in rows for k in row))


def csv_records(text: str, name: str = "log") -> Records:
    """The records of a CSV log: the first line names the columns; blank lines are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return Records((), [])
        names = [h.strip().lower() for h in header]
        rows = []
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, {n: row[i] if i < len(row) else "" for i, n in enumerate(names)}))
        return Records(tuple(names), rows)
    except csv.Error as e:
        raise FitError(f"{name}: line {reader.line_num}: not a readable CSV file: {e}") from None


def json_lines_records(text: str) -> Records:
    """The records of a JSON-lines log: one object a line; a line that is not an object is a bad record."""
    rows: list[tuple[int, dict[str, Any]]] = []
    bad: list[tuple[int, str]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            obj = None
        if isinstance(obj, dict):
            rows.append((n, flatten(obj)))
        else:
            bad.append((n, "not a JSON object"))
    return Records(_names(rows), rows, bad=bad, layout="json")


def json_records(text: str, name: str = "log") -> Records:
    """The records of a JSON array of objects, each numbered by the line it starts on.

    The array is read element by element, so that each keeps its line; an element that is not an
    object is a bad record, a file that is not one JSON array a ``FitError`` naming the line.
    """
    decoder = json.JSONDecoder()
    rows: list[tuple[int, dict[str, Any]]] = []
    bad: list[tuple[int, str]] = []
    i, line, seen = _skip(text, 0), 1, 0

    def where(at: int) -> int:
        nonlocal line, seen
        line += text.count("\n", seen, at)
        seen = at
        return line

    if text[i : i + 1] != "[":
        raise FitError(f"{name}: line {where(i)}: not a JSON array of objects")
    i = _skip(text, i + 1)
    if text[i : i + 1] == "]":
        i += 1
    else:
        while True:
            try:
                obj, end = decoder.raw_decode(text, i)
            except (json.JSONDecodeError, RecursionError) as e:
                at = getattr(e, "pos", i)
                why = getattr(e, "msg", "nested too deep")
                raise FitError(f"{name}: line {where(at)}: not valid JSON: {why}") from None
            if isinstance(obj, dict):
                rows.append((where(i), flatten(obj)))
            else:
                bad.append((where(i), "not a JSON object"))
            i = _skip(text, end)
            if text[i : i + 1] == ",":
                i = _skip(text, i + 1)
            elif text[i : i + 1] == "]":
                i += 1
                break
            else:
                raise FitError(f"{name}: line {where(i)}: not valid JSON: expected ',' or ']' in the array")
    if _skip(text, i) != len(text):
        raise FitError(f"{name}: line {where(_skip(text, i))}: not valid JSON: text after the array")
    return Records(_names(rows), rows, bad=bad, layout="json")


def _skip(text: str, i: int) -> int:
    """The first position at or after ``i`` that is not JSON white space."""
    n = len(text)
    while i < n and text[i] in " \t\r\n":
        i += 1
    return i


def parquet_records(path: Path) -> Records:
    """The records of a Parquet log, numbered by row (from 1); struct columns flattened with dots."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        while any(pa.types.is_struct(t) for t in table.schema.types):
            table = table.flatten()
    except OSError as e:
        # pyarrow raises OSError both for a missing file and for bytes that are not Parquet.
        why = e.strerror or str(e).splitlines()[0][:200]
        raise FitError(f"{path}: cannot read the log: {why}") from None
    except Exception as e:  # pyarrow's own errors for a damaged file (ArrowInvalid and friends)
        raise FitError(f"{path}: not a readable Parquet file: {str(e).splitlines()[0][:200]}") from None
    names = [c.strip().lower() for c in table.column_names]
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    rows = [(r + 1, {n: c[r] for n, c in zip(names, columns, strict=True)}) for r in range(table.num_rows)]
    return Records(tuple(dict.fromkeys(names)), rows, unit="row", layout="parquet")
