"""report.html: one self-contained page with the summary, every chart (data URIs) and the scenario."""

from __future__ import annotations

import base64
import json
import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from test_cli import TINY

from sim.cli import main
from sim.cli.plot import draw
from sim.report.html import chart_paths, write_report_html
from sim.results.folder import load
from sim.results.formats import fmt_pct

INTERVAL = "checkpoint.interval_minutes"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run of the tiny scenario, with its charts and report drawn."""
    root = tmp_path_factory.mktemp("html")
    (root / "tiny.toml").write_text(TINY)
    out = root / "run"
    assert main(["run", str(root / "tiny.toml"), "--no-plots", "-n", "2", "-o", str(out), "-q"]) == 0
    draw(load(out))
    return out


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 3-point interval sweep of the tiny scenario, with its charts and report drawn."""
    root = tmp_path_factory.mktemp("html")
    (root / "tiny.toml").write_text(TINY)
    out = root / "sweep"
    args = ["sweep", str(root / "tiny.toml"), "--no-plots", "-p", f"{INTERVAL}=5,10,20", "-n", "2", "-j", "1"]
    assert main([*args, "-o", str(out), "-q"]) == 0
    draw(load(out))
    return out


class Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(page)
    return parser.tags


def summary(folder: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((folder / "summary.json").read_text())
    return doc


@pytest.mark.parametrize("which", ["run_dir", "sweep_dir"])
def test_every_chart_is_embedded_in_order(which: str, request: pytest.FixtureRequest) -> None:
    """Each PNG of the folder is in the page as a data URI of its exact bytes, in the fixed order."""
    folder: Path = request.getfixturevalue(which)
    page = (folder / "report.html").read_text(encoding="utf-8")
    pngs = chart_paths(folder)
    assert pngs, "no charts were drawn"
    sources = [a["src"] for t, a in tags(page) if t == "img"]
    assert sources == [f"data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}" for p in pngs]
    if which == "run_dir":
        assert [p.stem for p in pngs] == ["waterfall", "failure_impact", "timeline"]


@pytest.mark.parametrize("which", ["run_dir", "sweep_dir"])
def test_self_contained(which: str, request: pytest.FixtureRequest) -> None:
    """No script, style sheet, font or image from elsewhere: the page opens with no server and no network."""
    folder: Path = request.getfixturevalue(which)
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"https?://", page)
    for tag, attrs in tags(page):
        assert tag not in ("script", "link", "iframe", "object", "embed")
        for name in ("src", "href"):
            value = attrs.get(name)
            assert value is None or value.startswith(("data:", "#")), (tag, name, value)
    assert "@import" not in page and "url(" not in page


def test_run_report_has_the_summary_numbers(run_dir: Path) -> None:
    """Headline metrics with CI, the waterfall steps, and each cause, as in summary.json."""
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    doc = summary(run_dir)
    ettr = doc["metrics"]["ettr"]
    assert fmt_pct(ettr["mean"]) in page
    assert f"{fmt_pct(ettr['ci95'][0])} – {fmt_pct(ettr['ci95'][1])}" in page
    assert fmt_pct(doc["metrics"]["effective_compute_ratio"]["mean"], 2) in page  # the waterfall's last step
    for cause in doc["interruptions_by_cause"]:
        assert f"<td>{escape(cause)}</td>" in page
    for text in ("Headline", "Compute waterfall", "lost GPU-hours", "money lost", "95% CI"):
        assert text in page


def test_sweep_report_has_every_point_and_the_paired_difference(sweep_dir: Path) -> None:
    """One row per point with ETTR and its CI; the best row marked; others' paired difference in points."""
    page = (sweep_dir / "report.html").read_text(encoding="utf-8")
    doc = summary(sweep_dir)
    rows = re.findall(r"<tr( class=\"best\")?><td class=\"n\">([^<]*)</td>", page)
    assert [value for _, value in rows] == ["5", "10", "20"]
    best = [value for marked, value in rows if marked]
    assert best == [str(doc["best"][INTERVAL])]
    for point in doc["points"]:
        assert fmt_pct(point["metrics"]["ettr"]["mean"]) in page
    assert " pp" in page and "ETTR − best (paired)" in page


def test_scenario_is_escaped_in_a_pre(run_dir: Path) -> None:
    """The scenario file, HTML-escaped, inside <pre>."""
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert f"<pre>{escape(TINY)}</pre>" in page


def test_rewrite_is_atomic_and_reflects_the_folder(run_dir: Path, tmp_path: Path) -> None:
    """Written through a temporary file (none left), and a folder without charts says how to draw them."""
    path = write_report_html(run_dir)
    assert path == run_dir / "report.html"
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("summary.json", "runs.parquet", "scenario.toml"):
        (bare / name).write_bytes((run_dir / name).read_bytes())
    page = write_report_html(bare).read_text(encoding="utf-8")
    assert "<img" not in page and "trainsim plot" in page
