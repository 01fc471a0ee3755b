"""``sim.analysis.fit`` (each cause's law) and ``trainsim fit``: likelihoods against scipy, recovery, the command."""

from __future__ import annotations

import datetime as dt
import json
import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builders import FLEET_HETEROGENEITY, FLEET_MODES, fleet_incidents, write_incidents
from scipy import optimize, special, stats

import sim.cli.fit  # registers `fit`; OUT_FILES
from sim.analysis.fit import CauseLikelihood, fit_cause, fit_exponential
from sim.analysis.fleet_fit import fit_fleet
from sim.analysis.heterogeneity import two_point_law
from sim.analysis.histories import histories
from sim.analysis.incidents import Incident
from sim.cli import main
from sim.config.loading import load_scenario_text
from sim.config.scenario import FailureMode

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
NODES, DAYS = 300, 180
WINDOW = ["--start", "2024-01-01T00:00:00Z", "--end", "2024-06-29T00:00:00Z"]  # 180 days


@pytest.fixture(scope="module")
def fleet_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A year of a simulated fleet with bad nodes and repairs (FLEET_MODES), as a CSV log with ends."""
    rows = fleet_incidents(15, NODES, 365 * 24.0)
    return write_incidents(tmp_path_factory.mktemp("fit") / "fleet.csv", rows, START)


def fit_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``trainsim fit ARGS`` in process; return exit code, stdout and stderr."""
    code = main(["fit", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_exponential_interval_is_the_chi_square_one() -> None:
    """Exponential: mean = exposure / events; the interval is the exact time-truncated chi-square one."""
    e = fit_exponential(np.full(20, 50.0), np.array([30.0, 1000.0]))
    assert e.mtbf_hours == pytest.approx(2030.0 / 20)
    assert e.ci95[0] == pytest.approx(2 * 2030.0 / stats.chi2.ppf(0.975, 42))
    assert e.ci95[1] == pytest.approx(2 * 2030.0 / stats.chi2.ppf(0.025, 40))


# ---------------------------------------------------------------- likelihoods against scipy
#
# A node as good as new at the window start (stationary=False) and no heterogeneity is the plain
# renewal model: each interval ending in a fault is an observed lifetime, every other one a
# right-censored one; scipy fits the same data with its generic MLE (CensoredData). Tolerance: both
# optimisers land within about 1e-7 (relative); 1e-5 is a hundred times that and thousands of times
# below the statistical error.
RTOL = 1e-5


def _tight_fmin(func: Callable[..., float], x0: Any, args: tuple[Any, ...] = (), disp: int = 0) -> Any:
    """scipy's default fit optimiser (Nelder-Mead) run to convergence, not to its default 1e-4 tolerances."""
    return optimize.fmin(func, x0, args=args, disp=disp, xtol=1e-10, ftol=1e-12, maxiter=100_000, maxfun=100_000)


def _renewals(seed: int, shape: float, mtbf: float, nodes: int, window: float) -> list[Incident]:
    """Incidents of one cause, each node a Weibull renewal process new at time 0 (no ends)."""
    rng = np.random.default_rng(seed)
    scale = mtbf / math.gamma(1 + 1 / shape)
    out = []
    for n in range(nodes):
        t = np.cumsum(scale * rng.weibull(shape, size=64))
        assert t[-1] > window
        out += [Incident(float(x), "x", f"n{n}", 0) for x in t[t <= window]]
    return out


@pytest.mark.parametrize(
    ("seed", "shape", "mtbf", "nodes", "window"),
    [
        (1, 0.6, 2000.0, 200, 1000.0),  # infant mortality, half the gaps censored
        (2, 1.0, 500.0, 100, 1000.0),  # exponential, several failures per node
        (3, 1.4, 3000.0, 300, 1000.0),  # wear-out, most nodes never fail
        (4, 3.0, 800.0, 50, 1000.0),  # strong wear-out, few nodes
        (5, 0.8, 50_000.0, 1000, 1000.0),  # rare failures in a large fleet
    ],
)
def test_renewal_fits_match_scipy(seed: int, shape: float, mtbf: float, nodes: int, window: float) -> None:
    """New nodes, like nodes: the exponential and Weibull MLEs and likelihoods are scipy.stats' on the same gaps."""
    h = histories(_renewals(seed, shape, mtbf, nodes, window), nodes, window)
    fit = fit_cause(h, 0, stationary=False)
    hit = h.iv_cause == 0
    observed = h.iv_length[hit]
    censored = np.repeat(h.iv_length[~hit], h.weight[h.iv_group[~hit]].astype(int))
    data = stats.CensoredData(uncensored=observed, right=censored)
    _, mean = stats.expon.fit(data, floc=0, optimizer=_tight_fmin)
    k, _, lam = stats.weibull_min.fit(data, floc=0, optimizer=_tight_fmin)
    assert fit.exponential.mtbf_hours == pytest.approx(mean, rel=RTOL)
    assert fit.weibull.shape == pytest.approx(k, rel=RTOL)
    assert fit.weibull.scale_hours == pytest.approx(lam, rel=RTOL)
    ll = stats.weibull_min.logpdf(observed, k, scale=lam).sum() + stats.weibull_min.logsf(censored, k, scale=lam).sum()
    assert fit.weibull.loglik >= ll - 1e-9 * abs(ll)
    assert fit.weibull.shape_ci95[0] < fit.weibull.shape < fit.weibull.shape_ci95[1]


def test_stationary_likelihood_is_the_forward_recurrence() -> None:
    """A node up at the window start: its first interval has density S(t) / mean (fault) or survival
    Q(1/k, (t/scale)^k) (none); later intervals are fresh lifetimes; a cause's clock runs on over another
    cause's fault (paused while down). Checked against scipy's functions."""
    rows = [Incident(30.0, "a", "n1", 0, 40.0), Incident(100.0, "a", "n1", 0, 110.0)]
    rows.append(Incident(50.0, "b", "n2", 0, 60.0))
    h = histories(rows, nodes=3, window=200.0)
    k, mean = 1.7, 150.0
    lam = mean / math.gamma(1 + 1 / k)
    w = stats.weibull_min(k, scale=lam)
    expected = (
        math.log(w.sf(30.0) / mean)  # n1: first interval ends in a fault of a
        + w.logpdf(60.0)  # n1: 40 -> 100
        + w.logsf(90.0)  # n1: 110 -> 200, censored
        + math.log(special.gammaincc(1 / k, (190.0 / lam) ** k))  # n2: a's clock 0 -> 50 and 60 -> 200, censored
        + math.log(special.gammaincc(1 / k, (200.0 / lam) ** k))  # the silent node
    )
    assert CauseLikelihood(h, 0, (np.ones(1), np.ones(1)))(k, math.log(mean)) == pytest.approx(expected, rel=1e-12)


def test_frailty_likelihood_integrates_the_multiplier_given_the_other_causes() -> None:
    """With bad nodes, each node's likelihood is the mixture over its multiplier z of its cause's terms at
    z-scaled time, weighted by what its other faults say of z (Poisson at their fleet rate); by brute force."""
    rows = [Incident(30.0, "a", "n1", 0, 40.0), Incident(100.0, "b", "n1", 0, 110.0)]
    rows.append(Incident(50.0, "a", "n2", 0, 60.0))
    h = histories(rows, nodes=3, window=200.0)
    z, p = two_point_law(0.2, 6.0)
    k, mean = 0.8, 300.0
    lam = mean / math.gamma(1 + 1 / k)
    other_rate = 1.0 / h.exposure_hours  # one fault of b in the fleet

    def node(zz: float, first: tuple[float, bool], fresh: list[tuple[float, bool]], exposure: float, n: int) -> float:
        w = stats.weibull_min(k, scale=lam / zz)
        u = (first[0] * zz / lam) ** k
        ll = math.log(zz * math.exp(-u) / mean) if first[1] else math.log(special.gammaincc(1 / k, u))
        ll += sum(w.logpdf(x) if hit else w.logsf(x) for x, hit in fresh)
        return ll + n * math.log(zz) - other_rate * exposure * zz

    def mix(*args: Any) -> float:
        return math.log(sum(pq_ * math.exp(node(zq, *args)) for zq, pq_ in zip(z, p, strict=True)))

    expected = (
        mix((30.0, True), [(150.0, False)], 180.0, 1)  # a's clock runs on over b's fault: 40 -> 100 -> 200
        + mix((50.0, True), [(140.0, False)], 190.0, 0)
        + mix((200.0, False), [], 200.0, 0)
    )
    assert CauseLikelihood(h, 0, (z, p))(k, math.log(mean)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.slow
def test_round_trip_recovers_the_fleet(fleet_log: Path) -> None:
    """Half a year of a simulated fleet: every cause's MTBF, the Weibull shape, the bad nodes and the repair
    laws are inside their 95% intervals, the exponential causes stay exponential, the wear-out is a Weibull."""
    from sim.analysis.incidents import read_log

    log = read_log(fleet_log, START)
    fit = fit_fleet(log.incidents, NODES, DAYS * 24.0)
    het = fit.heterogeneity
    assert het.model == "bad-nodes" and het.p_value < 1e-6
    for key, truth in (("fraction", 0.1), ("multiplier", 8.0)):
        lo, hi = het.chosen.ci95[key]
        assert lo < truth < hi, (key, lo, hi)
    modes = {m.name: m for m in fit.modes}
    for truth in FLEET_MODES:
        m = modes[truth.name]
        assert m.distribution == truth.distribution, (m.name, m.lr_p_value)
        assert m.mtbf_ci95[0] < truth.mtbf_hours < m.mtbf_ci95[1], (m.name, m.mtbf_ci95)
        if truth.distribution == "weibull":
            assert m.weibull.shape_ci95[0] < truth.shape < m.weibull.shape_ci95[1]
        assert m.repair is not None
        assert m.repair.mean_ci95[0] < (truth.repair_hours or 0) < m.repair.mean_ci95[1], (m.name, m.repair)
        assert m.repair.sigma_ci95[0] < truth.repair_sigma < m.repair.sigma_ci95[1], (m.name, m.repair)
    assert FLEET_HETEROGENEITY.bad_node_fraction == 0.1


def test_few_events_keep_the_exponential() -> None:
    """One failure right at the window start makes a wild Weibull 'significant'; too few events: exponential kept."""
    fit = fit_fleet([Incident(0.0, "a", "n1", 2)], nodes=1000, window=1000.0, stationary=False).modes[0]
    assert fit.distribution == "exponential" and "too few" in fit.note
    assert fit.mtbf_hours == pytest.approx(1e6)


def test_faults_while_down_count_in_the_rate() -> None:
    """A cause with a fault that struck a node already down: MTBF = exposure / all its faults."""
    rows = [Incident(10.0, "a", "n1", 2, 20.0), Incident(15.0, "a", "n1", 3, 18.0), Incident(50.0, "a", "n2", 4, 60.0)]
    m = fit_fleet(rows, nodes=4, window=100.0).modes[0]
    assert (m.events, m.primary) == (3, 2)
    assert m.mtbf_hours == pytest.approx((400.0 - 20.0) / 3)


# ---------------------------------------------------------------- the command


def test_cli_json(fleet_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format json: modes with their laws and repairs, the heterogeneity, and the predictive check."""
    args = [str(fleet_log), "--nodes", str(NODES), *WINDOW, "-f", "json", "--check-replications", "40"]
    code, out, err = fit_cli(args, capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["window"]["hours"] == pytest.approx(DAYS * 24.0) and doc["fleet_age"] == "stationary"
    modes = {m["name"]: m for m in doc["modes"]}
    keys = {"name", "distribution", "mtbf_hours", "shape", "scale_hours", "events", "ci95", "lr_p_value", "repair"}
    assert all(keys <= set(m) for m in modes.values())
    assert set(modes["nic"]["ci95"]) == {"mtbf_hours", "shape"} and set(modes["gpu"]["ci95"]) == {"mtbf_hours"}
    assert set(modes["gpu"]["repair"]["ci95"]) == {"repair_hours", "repair_sigma"}
    assert sum(m["events"] for m in modes.values()) == doc["events"]
    assert doc["heterogeneity"]["model"] == "bad-nodes"
    assert len(doc["check"]["windows"]) == 4 and doc["check"]["histogram"][0]["faults"] == "0"
    assert "outside the window" in err  # the second half-year


def test_cli_toml_is_a_fleet_model_that_loads(fleet_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format toml: [cluster] fleet_age, [heterogeneity] and [[failure]] blocks with fitted repairs, which
    load in a scenario (merged into its own [cluster])."""
    code, out, err = fit_cli([str(fleet_log), "--nodes", str(NODES), *WINDOW, "-f", "toml", "--check-windows", "0"],
                             capsys)  # fmt: skip
    assert code == 0, err
    doc = tomllib.loads(out)
    assert doc["cluster"] == {"fleet_age": "stationary"}
    assert doc["heterogeneity"]["bad_node_fraction"] > 0 and doc["heterogeneity"]["per_mode"] is False
    modes = {b["name"]: FailureMode(**b) for b in doc["failure"]}
    assert modes["nic"].distribution == "weibull" and modes["gpu"].action == "replace"
    assert modes["gpu"].repair_sigma > 0 and "assumed" not in out
    head = 'name = "fitted"\n[checkpoint]\nwrite_seconds = 30\n'
    text = head + out.replace("[cluster]\n", "[cluster]\ngpus = 2400\n")
    scenario = load_scenario_text(text)
    assert len(scenario.failure) == 3 and scenario.heterogeneity.bad_node_multiplier > 1


def test_cli_without_ends_assumes_repairs(fleet_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A log without ends: no repair fit, repair_hours 72 marked assumed, no downtime."""
    rows = fleet_incidents(3, 100, 90 * 24.0)
    log = write_incidents(tmp_path / "plain.csv", rows, START, ends=False)
    code, out, err = fit_cli([str(log), "--nodes", "100", "--start", "2024-01-01", "--end", "2024-03-31", "-f", "toml",
                              "--check-windows", "0"], capsys)  # fmt: skip
    assert code == 0, err
    assert "repair_hours = 72.0  # assumed: set your own" in out and "repair_sigma" not in out


def test_cli_text_check_chart_and_out(fleet_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The text report names every cause and prints the check; --chart and --out write their files."""
    chart, out_dir = tmp_path / "check.png", tmp_path / "out"
    args = [str(fleet_log), "--nodes", str(NODES), *WINDOW, "--chart", str(chart), "--out", str(out_dir),
            "--check-replications", "40", "--check-end", "2024-12-26T00:00:00Z"]  # fmt: skip
    code, out, err = fit_cli(args, capsys)
    assert code == 0, err
    assert all(m.name in out for m in FLEET_MODES) and "Heterogeneity: bad nodes" in out
    assert "after the fit window (out of sample)" in out and "failing nodes" in out
    assert chart.read_bytes()[:4] == b"\x89PNG"
    assert {p.name for p in out_dir.iterdir()} == set(sim.cli.fit.OUT_FILES)
    windows = (out_dir / "check_windows.csv").read_text().splitlines()
    assert windows[0].startswith("window,start_hours,hours,faults,faults_sim") and len(windows) == 5


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_cli_reads_json_lines_and_parquet(suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same log as JSON lines or Parquet fits as its CSV does."""
    rows = [{"timestamp": f"2024-01-{d:02d}T00:00:00Z", "cause": "psu", "node": f"n{d % 5}",
             "end": f"2024-01-{d:02d}T06:00:00Z"} for d in range(1, 29)]  # fmt: skip
    path = tmp_path / f"log{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    code, out, err = fit_cli([str(path), "--nodes", "10", "--start", "2024-01-01", "--end", "2024-02-01", "-f", "json",
                              "--check-windows", "0"], capsys)  # fmt: skip
    assert code == 0, err
    mode = json.loads(out)["modes"][0]
    assert mode["events"] == 28 and mode["repair"]["repair_hours"] == pytest.approx(6.0)


def test_cli_gpu_scope(fleet_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--scope gpu writes gpu-scope blocks (whatever the heterogeneity: none, the quickest fit)."""
    code, out, err = fit_cli([str(fleet_log), "--nodes", "2400", *WINDOW, "-f", "toml", "--scope", "gpu",
                              "--check-windows", "0", "--heterogeneity", "none"], capsys)  # fmt: skip
    assert code == 0, err
    assert {b["scope"] for b in tomllib.loads(out)["failure"]} == {"gpu"}


def write_log(path: Path, rows: list[tuple[str, ...]], header: str = "timestamp,cause,node") -> Path:
    """Write a CSV log with ``header`` and ``rows``; return its path."""
    path.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows))
    return path


def test_bad_rows_exit_2_with_line_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Bad times, ends before their starts and missing values are refused with their line numbers; rows outside
    the window are not bad."""
    rows = [
        ("2024-01-02T00:00:00Z", "psu", "n1", "2024-01-02T05:00:00Z"),
        ("yesterday", "psu", "n2", ""),
        ("2023-12-31T23:00:00Z", "psu", "n3", ""),
        ("2024-01-03T00:00:00Z", "", "n4", ""),
        ("2024-01-04T00:00:00+01:00", "psu", "n5", "2024-01-03T00:00:00Z"),
    ]
    log = write_log(tmp_path / "log.csv", rows, "timestamp,cause,node,end")
    code, out, err = fit_cli([str(log), "--nodes", "10", *WINDOW], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "3 bad rows" in err and "line 3: bad timestamp 'yesterday'" in err and "line 5: missing cause" in err
    assert "line 6: end 2024-01-03T00:00:00Z before its start 2024-01-04T00:00:00+01:00" in err
    code, _, err = fit_cli([str(log), "--nodes", "10", *WINDOW, "--skip-bad", "-f", "json", "--check-windows", "0"],
                           capsys)  # fmt: skip
    assert code == 0 and "skipped 3 bad rows" in err and "1 fault outside the window" in err
    only_bad = write_log(tmp_path / "bad.csv", [r[:3] for r in rows[1:4]])
    code, _, err = fit_cli([str(only_bad), "--nodes", "10", *WINDOW, "--skip-bad"], capsys)
    assert code == 2 and "no usable incidents" in err


def test_overlapping_faults_are_counted_with_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A fault that starts while its node is down is a fault (counted), with a warning naming its line."""
    rows = [("2024-01-02T00:00:00Z", "psu", "n1", "2024-01-03T00:00:00Z"),
            ("2024-01-02T12:00:00Z", "nic", "n1", "2024-01-02T18:00:00Z")]  # fmt: skip
    log = write_log(tmp_path / "log.csv", rows, "timestamp,cause,node,end")
    code, out, err = fit_cli([str(log), "--nodes", "5", *WINDOW, "-f", "json", "--check-windows", "0"], capsys)
    assert code == 0, err
    assert "1 fault started while their node was already down (lines 3)" in err
    doc = json.loads(out)
    assert doc["events"] == 2 and doc["secondary_events"] == 1 and doc["downtime_hours"] == pytest.approx(24.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", "--nodes", "5", *WINDOW], "cannot read the log"),
        (["LOG", "--nodes", "0", *WINDOW], "--nodes: must be at least 1"),
        (["LOG", "--nodes", "5", "--start", "2024-02-01", "--end", "2024-01-01"], "must be after --start"),
        (["LOG", "--nodes", "5", "--start", "soon", "--end", "2024-01-01"], "not an ISO 8601 time"),
        (["LOG", "--nodes", "1", *WINDOW], "the log names 2 different nodes"),
        (["LOG", "--nodes", "5", *WINDOW, "--check-end", "2024-01-05"], "--check-end 2024-01-05T00:00:00Z: must be"),
    ],
)
def test_bad_options_exit_2(args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file, a bad --nodes, window or time, more nodes than the fleet, a check before --end: exit 2."""
    log = write_log(tmp_path / "log.csv", [("2024-01-02T00:00:00Z", "psu", "n1"), ("2024-01-05", "psu", "n2")])
    args = [str(log) if a == "LOG" else str(tmp_path / a) if a == "missing.csv" else a for a in args]
    code, out, err = fit_cli(args, capsys)
    assert (code, out) == (2, "")
    assert message in err and len(err.strip().splitlines()) == 1


def test_repeated_rows_are_dropped_with_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A row repeating an earlier one (same time, cause, node) counts once, and stderr names its line."""
    row = ("2024-01-02T00:00:00Z", "psu", "n1")
    log = write_log(tmp_path / "log.csv", [row, row, ("2024-01-05T00:00:00Z", "psu", "n2")])
    code, out, err = fit_cli([str(log), "--nodes", "5", *WINDOW, "-f", "json", "--check-windows", "0"], capsys)
    assert code == 0 and "dropped 1 repeated rows (lines 3)" in err
    assert json.loads(out)["modes"][0]["events"] == 2
