"""``sim.analysis.log_files``: every format as records with their numbers, nested fields flattened, damaged files."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.analysis.log_files import FitError, flatten, read_records

EVENTS = [
    {"node_id": "a", "event_time": 1.5, "event_type": "fault_start", "fault_type": {"Level": "HW", "Class": "GPU"}},
    {"node_id": "a", "event_time": 2.0, "event_type": "fault_end", "fault_type": {"Level": "HW", "Class": "GPU"}},
]


def test_a_json_array_numbers_each_object_by_its_first_line(tmp_path: Path) -> None:
    """An indented JSON array (the InfiniteHBD trace's layout): one record an object, its line, nested names dotted."""
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(EVENTS, indent=4))
    r = read_records(path)
    assert [line for line, _ in r.rows] == [2, 11] and r.unit == "line" and r.layout == "json"
    assert r.rows[0][1] == {"node_id": "a", "event_time": 1.5, "event_type": "fault_start", "fault_type.level": "HW",
                            "fault_type.class": "GPU"}  # fmt: skip
    assert r.names == ("node_id", "event_time", "event_type", "fault_type.level", "fault_type.class")


def test_a_json_file_of_lines_and_json_lines_read_alike(tmp_path: Path) -> None:
    """A .json file that is not an array is read as JSON lines, as .jsonl is; a line that is no object is bad."""
    text = json.dumps(EVENTS[0]) + "\n" + "[1]\n" + json.dumps(EVENTS[1]) + "\n"
    for name in ("log.json", "log.jsonl"):
        (tmp_path / name).write_text(text)
        r = read_records(tmp_path / name)
        assert [line for line, _ in r.rows] == [1, 3] and r.bad == [(2, "not a JSON object")]


def test_elements_that_are_not_objects_are_bad_records(tmp_path: Path) -> None:
    """An array element that is not an object is a bad record with its line; an empty array has no rows."""
    (tmp_path / "a.json").write_text('[\n {"t": 1},\n 7,\n "x"\n]\n')
    r = read_records(tmp_path / "a.json")
    assert [line for line, _ in r.rows] == [2] and r.bad == [(3, "not a JSON object"), (4, "not a JSON object")]
    (tmp_path / "e.json").write_text(" [ ] ")
    assert read_records(tmp_path / "e.json").rows == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[\n {"t": 1},\n {"t": ', "line 3: not valid JSON"),
        ('[\n {"t": 1}\n {"t": 2}]', "line 3: not valid JSON: expected ',' or ']'"),
        ('[{"t": 1}]\n[2]', "line 2: not valid JSON: text after the array"),
        ("[" * 100_000, "not valid JSON"),
    ],
)
def test_a_damaged_json_array_is_one_line_naming_where(text: str, message: str, tmp_path: Path) -> None:
    """A JSON array cut short, missing a comma, followed by more text or nested too deep: one FitError line."""
    (tmp_path / "bad.json").write_text(text)
    with pytest.raises(FitError, match=message) as e:
        read_records(tmp_path / "bad.json")
    assert "\n" not in str(e.value)


def test_parquet_structs_are_flattened(tmp_path: Path) -> None:
    """A Parquet struct column (nested twice) becomes outer.inner columns, rows numbered from 1."""
    rows = [{"node": "a", "fault": {"class": "GPU", "code": {"xid": 79}}}, {"node": "b", "fault": None}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "t.parquet")
    r = read_records(tmp_path / "t.parquet")
    assert r.names == ("node", "fault.class", "fault.code.xid") and r.unit == "row"
    assert r.rows[0] == (1, {"node": "a", "fault.class": "GPU", "fault.code.xid": 79})
    assert r.rows[1][1]["fault.class"] is None


def test_flatten_keeps_lists_and_lowers_names() -> None:
    """Only objects nest; a list is a value; names are lower case."""
    assert flatten({"A": {"B": [1, 2]}, "C": None}) == {"a.b": [1, 2], "c": None}
