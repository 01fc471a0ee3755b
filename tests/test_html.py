"""report.html: one self-contained page with the summary, every chart (data URIs) and the scenario."""

from __future__ import annotations

import base64
import copy
import fnmatch
import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import replace
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pytest
from test_cli import TINY

import sim.report
from sim.cli import main
from sim.cli.plot import draw
from sim.report.html import chart_paths, environment, points_table, write_report_html
from sim.results.folder import SweepFolder, load
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
    """Every start tag with its attributes, and the text of each element by tag (entities decoded)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.texts: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in ("meta", "img"):  # void elements: no end tag
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1] == tag:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.texts.append((self.open[-1] if self.open else "", data))


def parse(page: str) -> Tags:
    parser = Tags()
    parser.feed(page)
    parser.close()
    return parser


def tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    return parse(page).tags


def texts(page: str, tag: str) -> list[str]:
    """The decoded text of every ``tag`` element (direct text only)."""
    return [data for t, data in parse(page).texts if t == tag]


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
        assert [p.stem for p in pngs] == ["waterfall", "failure_impact", "timeline", "power"]


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


def test_sweep_report_shows_every_ci(sweep_dir: Path) -> None:
    """A CI whose ends round to one value gets more digits: every CI cell is filled but the best's difference.

    Regression: ci_text returned '' when fmt(lo) == fmt(hi), so a tight CI looked like no CI.
    """
    folder = load(sweep_dir)
    assert isinstance(folder, SweepFolder)
    doc = copy.deepcopy(folder.summary)
    for point in doc["points"]:
        for name in ("ettr", "effective_compute_ratio"):
            m = point["metrics"][name]["mean"]
            point["metrics"][name]["ci95"] = [m - 2e-6, m + 3e-6]  # 66.0012% - 66.0017%: '66.0%' at both ends
        for diff in point.get("paired_difference_from_best", {}).values():
            if diff["mean"]:
                diff["ci95"] = [diff["mean"] - 1e-7, diff["mean"] + 1e-7]
    table = points_table(replace(folder, summary=doc))
    cis = [i for i, head in enumerate(table.head) if head == "95% CI"]
    assert len(cis) == 3
    for row in table.body:
        filled = [row.cells[i].text for i in cis]
        assert all(filled[i] for i in (0, 2)) and bool(filled[1]) != row.best
        lo, hi = filled[0].split(" – ")
        assert lo != hi


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


@pytest.mark.parametrize("which", ["run_dir", "sweep_dir"])
def test_no_money_without_prices(which: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Without an energy price or capex, the page shows no money (not $0.00 lost to failures); with them, it does."""
    priced = request.getfixturevalue(which)
    assert any("$" in c for c in texts((priced / "report.html").read_text(encoding="utf-8"), "td"))
    folder = tmp_path / "unpriced"
    shutil.copytree(priced, folder)
    doc = summary(folder)
    doc["scenario_resolved"]["energy"] |= {"usd_per_kwh": 0.0, "capex_usd": 0.0}
    (folder / "summary.json").write_text(json.dumps(doc))
    page = write_report_html(folder).read_text(encoding="utf-8")
    cells = texts(page, "td") + texts(page, "th")
    assert not [c for c in cells if "$" in c or "USD" in c]
    assert "Money lost to failures" not in page and "and money" not in page
    assert any(c.startswith("ETTR") for c in cells)


def test_scenario_is_escaped_in_a_pre(run_dir: Path) -> None:
    """The scenario file, HTML-escaped, inside <pre>: it reads back exactly as written."""
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert texts(page, "pre") == [TINY]
    assert 'name = "tiny"' not in page  # quotes escaped too


HOSTILE = "<script>alert('x')</script> & <b>co</b>"


@pytest.mark.parametrize("which", ["run_dir", "sweep_dir"])
def test_names_with_markup_are_escaped(which: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """A scenario name, title or cause name with <script> and & in it is shown as text, never as markup."""
    folder = tmp_path / "folder"
    shutil.copytree(request.getfixturevalue(which), folder)
    if which == "run_dir":
        # A real run with such a title and cause name (the scenario's name itself must be a plain word).
        scenario = TINY.replace("a tiny cluster for tests", HOSTILE)
        scenario = scenario.replace('name = "crash"', f'name = "crash </td>{HOSTILE}"')
        (tmp_path / "hostile.toml").write_text(scenario)
        shutil.rmtree(folder)
        assert main(["run", str(tmp_path / "hostile.toml"), "--no-plots", "-n", "2", "-o", str(folder), "-q"]) == 0
    # A folder can come from anywhere: its summary.json is not trusted either.
    doc = summary(folder)
    doc["scenario"] = HOSTILE
    doc["warnings"] = [HOSTILE]
    doc["scenario_resolved"]["title"] = HOSTILE
    (folder / "summary.json").write_text(json.dumps(doc))
    page = write_report_html(folder).read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "<b>co</b>" not in page
    assert all(tag not in ("script", "b") or attrs == {} for tag, attrs in tags(page))
    assert [tag for tag, _ in tags(page)].count("b") == 1  # the meta line's own <b>
    assert "&lt;script&gt;" in page and "&amp; &lt;b&gt;" in page
    heading = "Sweep" if which == "sweep_dir" else "Run"
    assert texts(page, "h1") == [f"{heading} report: {HOSTILE}"]
    assert texts(page, "title") == [f"{heading} report: {HOSTILE}"]
    assert texts(page, "b") == [HOSTILE]
    assert f"Warning: {HOSTILE}" in texts(page, "p")
    if which == "run_dir":
        assert f"crash </td>{HOSTILE}" in texts(page, "td")
        assert texts(page, "pre") == [scenario]


def test_templates_ship_with_the_package() -> None:
    """Every template is loaded through the package and listed in pyproject's package data (so wheels carry it)."""
    env = environment()
    assert isinstance(env.loader, jinja2.PackageLoader)
    shipped = sorted(p.name for p in (Path(sim.report.__file__).parent / "templates").iterdir())
    assert {"base.html.j2", "run.html.j2", "sweep.html.j2"} <= set(shipped)
    assert env.list_templates() == shipped
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["sim.report"]
    assert all(any(fnmatch.fnmatch(f"templates/{name}", g) for g in globs) for name in shipped)


def test_templates_refuse_a_missing_value() -> None:
    """StrictUndefined: a value the page needs and is not given is an error, not a blank."""
    with pytest.raises(jinja2.UndefinedError):
        environment().get_template("run.html.j2").render({})


def test_help_does_not_import_jinja2() -> None:
    """jinja2 is imported when a report is written, not when the command line starts."""
    code = (
        "import sys, contextlib, io\n"
        "from sim.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help']); main(['plot', '--help'])\n"
        "import sim.report.html\n"
        "print('jinja2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["False"]


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


def test_time_to_train_rows_and_sweep_columns(tmp_path: Path) -> None:
    """A run with a target and a start date: time to train and finish date rows; its sweep: a time column."""
    text = TINY.replace("[run]", "[run]\ntarget_compute_days = 2\nstart_date = 2025-03-01", 1)
    assert text != TINY, "TINY has a [run] table"
    (tmp_path / "t.toml").write_text(text)
    out = tmp_path / "run"
    assert main(["run", str(tmp_path / "t.toml"), "--no-plots", "-n", "2", "-o", str(out), "-q"]) == 0
    page = write_report_html(out).read_text(encoding="utf-8")
    doc = summary(out)
    assert "Time to train the target" in page and "Finish date" in page
    assert doc["finish_date"]["mean"] in page
    args = ["sweep", str(tmp_path / "t.toml"), "--no-plots", "-p", f"{INTERVAL}=5,10", "-n", "2", "-j", "1"]
    assert main([*args, "-o", str(tmp_path / "sweep"), "-q", "--objective", "time_to_train"]) == 0
    page = write_report_html(tmp_path / "sweep").read_text(encoding="utf-8")
    assert "time to train (days)" in page and "the lowest mean time to train" in page
