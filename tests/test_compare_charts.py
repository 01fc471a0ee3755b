"""Compare charts, report.html and the terminal report: drawn from a compare folder's files only."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from matplotlib.image import imread
from rich.console import Console
from test_cli import TINY, run_cli

from sim.cli import main
from sim.plots.compare import _fleet_note, differences, ledger
from sim.report.compare import print_compare
from sim.report.compare_html import context, write_compare_html
from sim.results.folder import CompareFolder, load

CHARTS = {"compare_ledger.png", "compare_differences.png"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished comparison of the tiny scenario, a variant and another fleet, with its charts (priced)."""
    tmp = tmp_path_factory.mktemp("compare")
    scenario = tmp / "tiny.toml"
    scenario.write_text(TINY)
    out = tmp / "out"
    args = ["compare", str(scenario), "--variant", "fast:restart.fixed_minutes=1", "--variant", "big:cluster.gpus=64"]
    assert main([*args, "-n", "3", "-q", "-o", str(out)]) == 0
    return out


def loaded(path: Path) -> CompareFolder:
    """The compare folder at ``path``."""
    f = load(path)
    assert isinstance(f, CompareFolder)
    return f


def test_compare_draws_its_charts_and_report(folder: Path) -> None:
    """By default `compare` ends with both charts and report.html, each chart at least 1440 px wide."""
    assert {p.name for p in folder.glob("*.png")} == CHARTS and (folder / "report.html").exists()
    for name in CHARTS:
        height, width = imread(folder / name).shape[:2]
        assert width >= 1440 and height >= 840


def test_plot_redraws_a_compare_folder(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`trainsim plot DIR` on a compare folder draws its charts and report again (SVG too on request)."""
    code, out, err = run_cli(["plot", str(folder), "--svg"], capsys)
    assert code == 0, err
    names = {Path(line).name for line in out.split()}
    assert names == {*CHARTS, "compare_ledger.svg", "compare_differences.svg", "report.html"}
    for svg in folder.glob("*.svg"):
        svg.unlink()


def test_charts_read_the_summary_only(folder: Path) -> None:
    """Each chart is built from the folder's summary: one bar per scenario, one row per difference."""
    f = loaded(folder)
    bars = [p for p in ledger(f).axes[0].patches if p.get_width() > 0.5]  # the useful share of each scenario
    assert len(bars) == 3
    fig = differences(f)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["fast", "big"]
    assert len(fig.axes) == 3  # ETTR, useful FLOPs, money (the scenario sets prices)


def test_fleet_note_tells_spares_from_other_fleets() -> None:
    """The footnote says which scenarios share the job's failures and which run another fleet."""
    note = _fleet_note({"pairing": {"a": "same failures", "b": "same job servers", "c": "other fleet"}})
    assert "b: other spares; the job's servers see the same failures." in note
    assert "c: another fleet, other failures" in note
    assert _fleet_note({"pairing": {"a": "same failures", "b": "same failures"}}) == ""


def test_report_html(folder: Path) -> None:
    """report.html: the three tables, both charts embedded, every scenario's source, the notes; nothing external."""
    html = (folder / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2
    for needle in (
        "Compare report: 3 scenarios against tiny",
        "<h3>Differences from tiny (scenario − baseline)</h3>",
        "variant of tiny",
        "paired CI narrower by",
        "Note: big runs another fleet than tiny",
        "trainsim plot",
        "scenarios/fast/",
        "--set restart.fixed_minutes=1",
    ):
        assert needle in html, needle
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    page = context(loaded(folder))
    fast = [[c.text for c in r.cells] for r in page["differences"].body if r.cells[0].text == "fast"]
    assert fast[0][1] == "ETTR" and fast[0][2].startswith("+")


def test_report_links_a_drawn_scenario_report(folder: Path, tmp_path: Path) -> None:
    """Once a scenario's own report is drawn, the compare page links it."""
    assert main(["plot", str(folder / "scenarios" / "fast")]) == 0
    write_compare_html(folder)
    assert '<a href="scenarios/fast/report.html">its run report</a>' in (folder / "report.html").read_text()


def _terminal(summary: dict[str, Any]) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    print_compare(summary, console)
    return console.export_text()


def test_terminal_report_shows_money_only_when_priced(folder: Path) -> None:
    """The terminal tables show money lost and cost per useful exaFLOP when the scenarios set prices, else not."""
    summary = json.loads((folder / "summary.json").read_text())
    priced = _terminal(summary)
    assert "lost to" in priced and "USD per useful" in priced and "lost to failures (USD)" in priced
    for doc in summary["scenarios"]:
        doc["scenario_resolved"]["energy"] |= {"usd_per_kwh": 0.0, "capex_usd": 0.0}
    plain = _terminal(summary)
    assert "USD" not in plain and "ETTR" in plain and "note: big runs another fleet" in plain
