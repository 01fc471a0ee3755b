"""``sim.analysis.incidents``: CSV, JSON-lines and Parquet logs, ends, bad rows with their numbers."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.analysis.incidents import FitError, LogColumns, read_log

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
ROWS = [
    {"timestamp": "2024-01-01T05:00:00Z", "cause": "psu", "node": "n1", "end": "2024-01-01T08:00:00Z"},
    {"timestamp": "2024-01-02T00:00:00+01:00", "cause": "nic", "node": "n2", "end": ""},
    {"timestamp": "2023-12-31T22:00:00Z", "cause": "psu", "node": "n3", "end": "2024-01-01T02:00:00Z"},
]


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    """Write ``rows`` in the format ``path``'s suffix names."""
    if path.suffix == ".csv":
        keys = list(rows[0])
        path.write_text(",".join(keys) + "\n" + "".join(",".join(r[k] for k in keys) + "\n" for r in rows))
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_every_format_reads_the_same_incidents(suffix: str, tmp_path: Path) -> None:
    """CSV, JSON lines and Parquet give the same incidents: hours from the start, ends, open repairs, early rows."""
    log = read_log(write(tmp_path / f"log{suffix}", ROWS), START)
    assert log.has_ends and not log.bad and not log.duplicates
    a, b, c = log.incidents
    assert (a.hours, a.end_hours, a.cause, a.node) == (5.0, 8.0, "psu", "n1")
    assert b.hours == 23.0 and b.end_hours is not None and math.isnan(b.end_hours)  # open repair
    assert (c.hours, c.end_hours) == (-2.0, 2.0)  # before the window: kept, it holds n3 down at the start
    assert [i.hours for i in log.within(24.0)] == [5.0, 23.0]
    assert log.unit == ("row" if suffix == ".parquet" else "line")


def test_parquet_timestamps_may_be_typed(tmp_path: Path) -> None:
    """A Parquet timestamp column (naive = UTC, or with a zone) reads like ISO text."""
    t = [dt.datetime(2024, 1, 1, 5), dt.datetime(2024, 1, 1, 7)]
    table = pa.table({"timestamp": pa.array(t, pa.timestamp("s")), "cause": ["a", "b"], "node": ["n", "m"],
                      "end": pa.array([dt.datetime(2024, 1, 1, 6, tzinfo=dt.UTC), None], pa.timestamp("s", "UTC"))})
    pq.write_table(table, tmp_path / "t.parquet")
    log = read_log(tmp_path / "t.parquet", START)
    assert (log.incidents[0].hours, log.incidents[0].end_hours) == (5.0, 6.0)
    assert math.isnan(log.incidents[1].end_hours or 0.0)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_bad_rows_name_their_line_or_row(suffix: str, tmp_path: Path) -> None:
    """A bad start, a bad end, an end before its start and a missing value are bad, each with its number."""
    rows = [
        ROWS[0],
        {"timestamp": "yesterday", "cause": "psu", "node": "n2", "end": ""},
        {"timestamp": "2024-01-03T00:00:00Z", "cause": "psu", "node": "n2", "end": "2024-01-02T00:00:00Z"},
        {"timestamp": "2024-01-03T00:00:00Z", "cause": "", "node": "n2", "end": ""},
        {"timestamp": "2024-01-03T00:00:00Z", "cause": "psu", "node": "n2", "end": "soon"},
    ]
    log = read_log(write(tmp_path / f"log{suffix}", rows), START)
    first = 2 if suffix == ".csv" else 1  # the CSV header is line 1
    assert [line for line, _ in log.bad] == [first + 1, first + 2, first + 3, first + 4]
    problems = [p for _, p in log.bad]
    assert problems[0] == "bad timestamp 'yesterday'" and problems[1].startswith("end 2024-01-02T00:00:00Z before")
    assert problems[2] == "missing cause" and problems[3] == "bad end 'soon'"
    assert len(log.incidents) == 1


def test_json_lines_that_are_not_objects_are_bad(tmp_path: Path) -> None:
    """A line of JSON lines that is not an object is a bad row; blank lines are skipped."""
    path = tmp_path / "log.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n\n[1, 2]\n{oops\n")
    log = read_log(path, START)
    assert log.bad == ((3, "not a JSON object"), (4, "not a JSON object")) and len(log.incidents) == 1


def test_end_column_by_another_name_and_absent(tmp_path: Path) -> None:
    """``end_column`` names the end column; without one a log has no ends."""
    rows = [{"timestamp": r["timestamp"], "cause": r["cause"], "node": r["node"], "Resolved": r["end"]} for r in ROWS]
    path = write(tmp_path / "log.csv", rows)
    assert read_log(path, START, LogColumns(end="resolved")).incidents[0].end_hours == 8.0
    plain = read_log(path, START)
    assert not plain.has_ends and plain.incidents[0].end_hours is None


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "cannot read the log"),
        ("empty.csv", "", "empty log"),
        ("header.csv", "timestamp,cause,node\n", "empty log"),
        ("cols.csv", "time,cause,node\nx,y,z\n", "missing column timestamp"),
        ("bytes.csv", b"timestamp,cause,node\n\xff\xfe\n", "line 2: not UTF-8"),
        ("empty.jsonl", "\n", "empty log"),
        ("junk.parquet", b"not parquet", "Parquet"),
    ],
)
def test_unreadable_logs_are_fit_errors(name: str, content: str | bytes | None, message: str, tmp_path: Path) -> None:
    """A missing, empty or unreadable file, or a missing column, is one FitError line."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(FitError, match=message) as e:
        read_log(path, START)
    assert "\n" not in str(e.value)


def test_named_nested_columns_and_numeric_times(tmp_path: Path) -> None:
    """Columns by other names (nested ones dotted, any case), times as days from an origin, ends likewise."""
    rows = [{"t": 1.5, "f": {"Class": "GPU"}, "id": "a", "back": 2.0}, {"t": "3", "f": {"Class": "NIC"}, "id": "b",
                                                                         "back": None}]  # fmt: skip
    path = tmp_path / "log.json"
    path.write_text(json.dumps(rows))
    cols = LogColumns(time="T", cause="f.Class", node="id", end="back", time_unit="days", origin=START)
    log = read_log(path, START + dt.timedelta(days=1), cols)
    a, b = log.incidents
    assert (a.hours, a.end_hours, a.cause, a.node) == (12.0, 24.0, "GPU", "a")
    assert b.hours == 48.0 and b.end_hours is not None and math.isnan(b.end_hours)


def test_numbers_without_a_time_unit_are_bad_rows_with_a_hint(tmp_path: Path) -> None:
    """A numeric time without a unit is a bad row that says what to give."""
    path = write(tmp_path / "log.csv", [{"timestamp": "3.5", "cause": "psu", "node": "n1", "end": ""}])
    assert read_log(path, START).bad == ((2, "bad timestamp '3.5' (a number: give --time-unit)"),)


def test_a_missing_column_names_what_the_file_has_and_the_likely_one(tmp_path: Path) -> None:
    """A cause column not found: the error lists the file's columns and the nested field it probably meant."""
    path = tmp_path / "log.json"
    path.write_text(json.dumps([{"timestamp": "2024-01-01", "node": "a", "fault_type": {"Class": "GPU"}}]))
    with pytest.raises(FitError, match=r"missing column class \(keys: 'timestamp', 'node', 'fault_type.class'; .*"
                       r"did you mean fault_type.class\?"):  # fmt: skip
        read_log(path, START, LogColumns(cause="Class"))


EV = LogColumns(time="event_time", cause="fault_type.class", node="node_id", event="event_type", time_unit="days",
                origin=START)  # fmt: skip


def event(t: float, kind: str, node: str = "a", cause: str = "GPU") -> dict[str, object]:
    """One event row of the InfiniteHBD trace's layout."""
    return {"node_id": node, "event_time": t, "event_type": f"fault_{kind}", "fault_type": {"Class": cause}}


def test_start_and_end_rows_are_paired_by_node_and_cause(tmp_path: Path) -> None:
    """Each end closes the earliest open start of its node and cause, whatever comes between; a start never
    closed is a repair still open; an end at its start's time is a repair of zero length."""
    rows = [event(1, "start"), event(1.5, "start", cause="NIC"), event(2, "start", node="b"), event(3, "end"),
            event(4, "end", node="b"), event(5, "start"), event(5, "end"), event(6, "end", cause="NIC"),
            event(7, "start")]  # fmt: skip
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(rows, indent=1))
    log = read_log(path, START, EV)
    assert log.has_ends and not log.bad
    got = [(i.node, i.cause, i.hours / 24, None if i.end_hours is None else i.end_hours / 24) for i in log.incidents]
    assert got[:4] == [("a", "GPU", 1, 3), ("a", "NIC", 1.5, 6), ("b", "GPU", 2, 4), ("a", "GPU", 5, 5)]
    assert got[4][:3] == ("a", "GPU", 7) and math.isnan(got[4][3] or 0.0)
    assert [i.line for i in log.incidents] == sorted(i.line for i in log.incidents)


def test_unmatched_ends_bad_event_values_and_repeats(tmp_path: Path) -> None:
    """An end with no open start and an event that is neither start nor end are bad rows with their lines; a
    repeated start and a repeated end are dropped as duplicates."""
    rows = [event(1, "end"), event(2, "start"), event(2, "start"), event(3, "restart"), event(4, "end"),
            event(4, "end")]  # fmt: skip
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    log = read_log(path, START, EV)
    assert log.bad == ((1, "end with no open start of node 'a', cause 'GPU'"),
                       (4, "event_type 'fault_restart': neither 'start' nor 'end' (--event-values)"))  # fmt: skip
    assert log.duplicates == (3, 6) and len(log.incidents) == 1 and log.incidents[0].end_hours == 96.0


def test_event_values_by_name() -> None:
    """--event-values names other words: down and up."""
    cols = LogColumns(event="state", event_values=("down", "up"))
    assert [cols.kind(v) for v in ("NODE_DOWN", "node_up", "start")] == ["start", "end", None]
