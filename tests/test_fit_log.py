"""``sim.cli.fit_log``: trainsim fit's log options (columns, numeric times, start and end events) end to end, and
their refusals in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_bad_input import refused
from test_fit import fit_cli

import sim.cli.fit  # noqa: F401  (registers `fit`)

LAYOUT = ["--node-column", "node_id", "--time-column", "event_time", "--time-unit", "days", "--time-origin",
          "2024-03-30", "--event-column", "event_type", "--cause-column", "fault_type.Class"]  # fmt: skip


def trace(path: Path, faults: int = 30, extra: list[object] | None = None) -> Path:
    """A JSON array of start and end events in the InfiniteHBD trace's layout: ``faults`` faults on 6 nodes."""
    events: list[object] = []
    for i in range(faults):
        ft = {"Level": "Hardware Failure", "Class": ("GPU", "NIC", "Fan")[i % 3], "Desc": "x"}
        node = f"node-{i % 6}"
        events.append({"node_id": node, "event_time": 2.0 + 3 * i, "event_type": "fault_start", "fault_type": ft})
        events.append({"node_id": node, "event_time": 2.5 + 3 * i, "event_type": "fault_end", "fault_type": ft})
    path.write_text(json.dumps(events + (extra or []), indent=4))
    return path


def test_an_event_trace_fits_like_its_one_row_a_fault_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Start and end events by day, nested classes: the same fit as the CSV of their faults with ISO times."""
    window = ["--start", "0", "--end", "100", "--check-windows", "0", "-f", "json"]
    code, out, err = fit_cli([str(trace(tmp_path / "t.json")), "--nodes", "10", *LAYOUT, *window], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["window"] == {"start": "2024-03-30T00:00:00Z", "end": "2024-07-08T00:00:00Z", "hours": 2400.0}
    csv = tmp_path / "t.csv"
    lines = ["when,class,server,back"]
    for i in range(30):
        start, end = 48.0 + 72 * i, 60.0 + 72 * i  # hours from 2024-03-30
        lines.append(f"{start:.12g},{('GPU', 'NIC', 'Fan')[i % 3]},node-{i % 6},{end:.12g}")
    csv.write_text("\n".join(lines) + "\n")
    plain = ["--time-column", "when", "--cause-column", "class", "--node-column", "server", "--end-column", "back",
             "--time-unit", "hours", "--time-origin", "2024-03-30T00:00:00Z"]  # fmt: skip
    window = ["--start", "2024-03-30", "--end", "2400", "-f", "json", "--check-windows", "0"]
    code, out2, err = fit_cli([str(csv), "--nodes", "10", *plain, *window], capsys)
    assert code == 0, err
    other = json.loads(out2)
    assert other["window"] == doc["window"]
    for a, b in zip(doc["modes"], other["modes"], strict=True):
        assert (a["name"], a["events"]) == (b["name"], b["events"])
        assert a["repair"]["repair_hours"] == pytest.approx(b["repair"]["repair_hours"], rel=1e-9)
        assert a["mtbf_hours"] == pytest.approx(b["mtbf_hours"], rel=1e-9)


def test_bad_events_are_refused_with_their_lines_or_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An end with no open start and an event of another kind are bad rows named by the line their object starts
    on; --skip-bad fits without them."""
    gpu = {"Class": "GPU"}
    extra = [{"node_id": "node-9", "event_time": 1.0, "event_type": "fault_end", "fault_type": gpu},
             {"node_id": "node-1", "event_time": 5.0, "event_type": "reboot", "fault_type": gpu}]  # fmt: skip
    path = trace(tmp_path / "t.json", 10, extra)
    args = [str(path), "--nodes", "10", *LAYOUT, "--start", "0", "--end", "60", "--check-windows", "0"]
    line = refused(fit_cli(args, capsys), "2 bad rows", "line 202: end with no open start of node 'node-9'",
                   "line 210: event_type 'reboot': neither 'start' nor 'end'")  # fmt: skip
    assert "--skip-bad" in line
    code, _, err = fit_cli([*args, "--skip-bad"], capsys)
    assert code == 0 and "skipped 2 bad rows" in err


@pytest.mark.parametrize(
    ("options", "needles"),
    [
        (["--end-column", "back"], ("--end-column: not with --event-column",)),
        (["--event-values", "start"], ("--event-values 'start'", "START,END")),
        (["--event-values", "x,X"], ("--event-values",)),
        (["--time-origin", "March"], ("--time-origin 'March'", "ISO 8601")),
        (["--cause-column", " "], ("--cause-column: empty column name",)),
        (["--cause-column", "Class"], ("missing column class", "did you mean fault_type.class?")),
    ],
)
def test_bad_options_are_one_line(
    options: list[str], needles: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ends in two places, event values that are not two words, a bad origin, an empty or absent column: exit 2,
    one line naming the option (or the column and the likeliest one meant)."""
    args = [str(trace(tmp_path / "t.json")), "--nodes", "10", *LAYOUT, "--start", "0", "--end", "60", *options]
    refused(fit_cli(args, capsys), *needles)


def test_numeric_times_need_a_unit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A number for --start without --time-unit, or out of range, is one line; so is a damaged JSON array."""
    path = trace(tmp_path / "t.json")
    no_unit = [a for a in LAYOUT if a not in ("--time-unit", "days")]
    refused(fit_cli([str(path), "--nodes", "10", *no_unit, "--start", "0", "--end", "60"], capsys),
            "--start '0': a number needs --time-unit")  # fmt: skip
    refused(fit_cli([str(path), "--nodes", "10", *LAYOUT, "--start", "0", "--end", "1e300"], capsys),
            "--end '1e300': out of range")  # fmt: skip
    path.write_text(path.read_text()[:500])
    refused(fit_cli([str(path), "--nodes", "10", *LAYOUT, "--start", "0", "--end", "60"], capsys),
            "not valid JSON")  # fmt: skip
