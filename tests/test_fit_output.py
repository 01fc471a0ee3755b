"""``sim.cli.fit_output``: the modes table of a real fit keeps every number whole, at 80 columns as at 200."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from rich.console import Console

from sim.analysis.fleet_fit import FleetFit, fit_fleet
from sim.analysis.incidents import LogColumns, parse_time, read_log
from sim.cli.fit_output import ci, modes_tables, num

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
import infinitehbd_check as check

#: docs/fit.md's fit of the InfiniteHBD trace: one cause per fault class, days 0-200.
COLUMNS = LogColumns(time="event_time", cause="fault_type.Class", node="node_id", event="event_type",
                     time_unit="days", origin=parse_time(check.ORIGIN))  # fmt: skip
DAYS = 200


@pytest.fixture(scope="module")
def trace_fit() -> FleetFit:
    """The fleet model of the trace's first 200 days: twelve causes, repairs with open ends (no heterogeneity
    test, the costly part, which the table does not show)."""
    log = read_log(check.TRACE, parse_time(check.ORIGIN), COLUMNS)
    return fit_fleet(log.incidents, check.NODES, DAYS * 24.0, heterogeneity="none")


def shown_numbers(fit: FleetFit) -> set[str]:
    """Every number the table shows, as it prints it: counts, estimates and whole intervals."""
    numbers: set[str] = set()
    for f in fit.modes:
        w, r = f.weibull, f.repair
        numbers |= {str(f.events), str(f.nodes_with_events), num(f.mtbf_hours), ci(f.mtbf_ci95), f"{w.shape:.3g}",
                    ci(w.shape_ci95), f"{f.lr_p_value:.2g}"}  # fmt: skip
        if r is not None:
            numbers |= {num(r.mean_hours), ci(r.mean_ci95), f"{r.sigma:.3g}"}
    return numbers


def rendered(fit: FleetFit, width: int) -> str:
    """The modes tables as ``trainsim fit`` prints them on a terminal ``width`` columns wide."""
    console = Console(width=width, file=io.StringIO(), record=True)
    for table in modes_tables(fit, "fault_trace.json", "node", console):
        console.print(table)
    return console.export_text()


@pytest.mark.parametrize("width", [50, 80, 200])
def test_every_number_is_whole(trace_fit: FleetFit, width: int) -> None:
    """At 50, 80 and 200 columns each number and interval stands whole in a line, none is cut or folded, and
    no line is wider than the terminal."""
    text = rendered(trace_fit, width)
    assert "…" not in text and "..." not in text
    assert all(len(line) <= width for line in text.splitlines())
    words = {w.rstrip(",;:") for w in text.split()}  # the narrowest layout writes numbers in sentences
    assert shown_numbers(trace_fit) - words == set()
    assert all(f.name.split()[0] in words for f in trace_fit.modes)


def test_the_layout_follows_the_width(trace_fit: FleetFit) -> None:
    """Wide, each interval has a column of its own; at 80 columns the intervals stand under their estimates and
    the repairs have a table of their own; at 50, each mode is a wrapped line."""

    def headers(width: int) -> list[list[str]]:
        tables = modes_tables(trace_fit, "fault_trace.json", "node", Console(width=width, file=io.StringIO()))
        return [[str(c.header) for c in t.columns] for t in tables]

    (wide,) = headers(200)
    assert wide.count("95% CI") == 3
    stacked, repairs = headers(80)
    assert "MTBF h\n95% CI" in stacked and "95% CI" not in stacked
    assert repairs == ["cause", "repair h\n95% CI", "sigma"]
    assert headers(50) == [[""]]
