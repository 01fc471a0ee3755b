"""``sim.analysis.fit`` and ``trainsim fit``: censored MLE, round trip through an incident log, bad input."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import tomllib
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import optimize, stats

import sim.cli.fit  # noqa: F401  (registers `fit` until sim/cli.py imports it)
from sim.analysis.fit import Incident, ModeFit, fit_cause, fit_exponential, fit_log, fit_weibull, read_log, renewal_gaps
from sim.cli import main
from sim.config.loading import load_scenario_text
from sim.config.scenario import FailureMode
from sim.model.failures import node_timeline

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
NODES, WINDOW_H = 500, 1000.0
WINDOW = ["--start", "2024-01-01T00:00:00Z", "--end", "2024-02-11T16:00:00Z"]  # 1000 h
#: Known laws; `restart` renews only the clock that fired, as the fit assumes.
TRUTH = (
    FailureMode(name="psu", scope="node", mtbf_hours=1000.0, action="restart"),
    FailureMode(name="nic", scope="node", mtbf_hours=1250.0, action="restart"),
    FailureMode(name="infant", scope="node", mtbf_hours=1500.0, distribution="weibull", shape=0.7, action="restart"),
    FailureMode(name="wear", scope="node", mtbf_hours=250.0, distribution="weibull", shape=1.5, action="restart"),
)


def write_log(path: Path, rows: list[tuple[str, str, str]], header: str = "timestamp,cause,node") -> Path:
    """Write a CSV log with ``header`` and ``rows``; return its path."""
    with path.open("w", newline="") as f:
        f.write(header + "\n")
        csv.writer(f).writerows(rows)
    return path


@pytest.fixture(scope="module")
def fleet_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The incident log of 500 nodes over 1000 h under TRUTH (seeded), with an extra column."""
    tl = node_timeline(TRUTH, NODES, 8, WINDOW_H * 3600.0, np.random.default_rng(2024))
    path = tmp_path_factory.mktemp("fit") / "fleet.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "cause", "node", "ticket"])
        for n in range(NODES):
            for i in range(tl.ptr[n], tl.ptr[n + 1]):
                stamp = (START + dt.timedelta(seconds=float(tl.time[i]))).isoformat()
                w.writerow([stamp, TRUTH[tl.mode[i]].name, f"node{n:04d}", f"T{i}"])
    return path


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


def test_weibull_without_censoring_matches_scipy() -> None:
    """Uncensored, the Weibull MLE equals scipy's weibull_min fit with the location at zero."""
    x = stats.weibull_min.rvs(1.3, scale=200.0, size=400, random_state=np.random.default_rng(5))
    w = fit_weibull(x, np.zeros(0))
    shape, _, scale = stats.weibull_min.fit(x, floc=0)
    assert w.shape == pytest.approx(shape, rel=1e-4)
    assert w.scale_hours == pytest.approx(scale, rel=1e-4)
    assert w.shape_ci95[0] < w.shape < w.shape_ci95[1]
    assert w.mtbf_ci95[0] < w.mtbf_hours < w.mtbf_ci95[1]


# ---------------------------------------------------------------- cross-check against scipy.stats
#
# fit.py has its own censored likelihood and optimiser (profile likelihood over the Weibull shape).
# scipy fits the same right-censored gaps with its generic MLE (CensoredData): the two must find the
# same optimum. fit.py uses no left truncation (every node is taken as new at the window start, so
# its first gap is an observed lifetime and its last a right-censored one); that is exactly what
# CensoredData(uncensored, right) expresses. (CensoredData has no truncation, so a delayed-entry
# model could not be cross-checked this way.)
#
# Tolerance: both optimisers land within about 1e-7 (relative) of each other on these samples;
# 1e-5 is a hundred times that, and still thousands of times below the statistical error of the
# estimates (the 95% intervals of the shape below are 0.1 to 1.7 wide).
RTOL = 1e-5


def _tight_fmin(func: Callable[..., float], x0: Any, args: tuple[Any, ...] = (), disp: int = 0) -> Any:
    """scipy's default fit optimiser (Nelder-Mead) run to convergence, not to its default 1e-4 tolerances."""
    return optimize.fmin(func, x0, args=args, disp=disp, xtol=1e-10, ftol=1e-12, maxiter=100_000, maxfun=100_000)


def _renewals(seed: int, shape: float, mtbf: float, nodes: int, window: float) -> list[list[float]]:
    """Each failing node's failure times (hours) under a Weibull renewal process, new at time 0."""
    rng = np.random.default_rng(seed)
    scale = mtbf / math.gamma(1 + 1 / shape)
    times = []
    for _ in range(nodes):
        gaps = scale * rng.weibull(shape, size=64)  # far more than a window holds at these rates
        t = np.cumsum(gaps)
        assert t[-1] > window
        if t[0] <= window:
            times.append(t[t <= window].tolist())
    return times


def _scipy_check(fit: ModeFit, observed: np.ndarray, censored: np.ndarray) -> None:
    """``fit`` agrees with scipy's censored MLE of the same gaps: parameters, likelihoods and the LR statistic."""
    data = stats.CensoredData(uncensored=observed, right=censored)
    _, mean = stats.expon.fit(data, floc=0, optimizer=_tight_fmin)
    shape, _, scale = stats.weibull_min.fit(data, floc=0, optimizer=_tight_fmin)
    e, w = fit.exponential, fit.weibull
    assert e.mtbf_hours == pytest.approx(mean, rel=RTOL)
    assert w.shape == pytest.approx(shape, rel=RTOL)
    assert w.scale_hours == pytest.approx(scale, rel=RTOL)
    assert w.mtbf_hours == pytest.approx(scale * math.gamma(1 + 1 / shape), rel=RTOL)

    # The likelihoods fit.py maximises are scipy's (log density of each gap, log survival of each censored one) ...
    def weibull_ll(k: float, lam: float) -> float:
        pdf = stats.weibull_min.logpdf(observed, k, scale=lam).sum()
        return float(pdf + stats.weibull_min.logsf(censored, k, scale=lam).sum())

    m = e.mtbf_hours
    exp_ll = float(stats.expon.logpdf(observed, scale=m).sum() + stats.expon.logsf(censored, scale=m).sum())
    assert e.loglik == pytest.approx(exp_ll, rel=1e-12)
    assert w.loglik == pytest.approx(weibull_ll(w.shape, w.scale_hours), rel=1e-12)
    # ... and its maximum is no lower than scipy's.
    assert w.loglik >= weibull_ll(shape, scale) - 1e-9 * abs(w.loglik)
    lr = 2 * (weibull_ll(shape, scale) - exp_ll)
    assert fit.lr_p_value == pytest.approx(float(stats.chi2.sf(max(lr, 0.0), 1)), abs=1e-6)


@pytest.mark.parametrize(
    ("seed", "shape", "mtbf", "nodes", "window"),
    [
        (1, 0.6, 2000.0, 200, 1000.0),  # infant mortality, half the gaps censored
        (2, 1.0, 500.0, 100, 1000.0),  # exponential, several failures per node
        (3, 1.4, 3000.0, 300, 1000.0),  # wear-out, most nodes never fail
        (4, 3.0, 800.0, 50, 1000.0),  # strong wear-out, few nodes
        (5, 0.8, 50_000.0, 1000, 1000.0),  # rare failures in a large fleet
        (6, 1.0, 100_000.0, 1000, 500.0),  # a handful of events, almost everything censored
    ],
)
def test_censored_fits_match_scipy(seed: int, shape: float, mtbf: float, nodes: int, window: float) -> None:
    """fit_cause's exponential and Weibull MLEs equal scipy.stats' fits of the same right-censored gaps."""
    times = _renewals(seed, shape, mtbf, nodes, window)
    fit = fit_cause("x", times, nodes, window)
    observed, censored = _gaps(times, nodes, window)
    assert fit.events == observed.size > 0 and censored.size == nodes
    _scipy_check(fit, observed, censored)


def test_fitted_log_matches_scipy(fleet_log: Path) -> None:
    """Every cause that `trainsim fit` fits from the simulated fleet's log equals scipy's censored MLE."""
    log = read_log(fleet_log, START, START + dt.timedelta(hours=WINDOW_H))
    per_node: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for i in log.incidents:
        per_node[i.cause][i.node].append(i.hours)
    for fit in fit_log(log.incidents, NODES, WINDOW_H):
        times: Sequence[list[float]] = list(per_node[fit.name].values())
        _scipy_check(fit, *_gaps(times, NODES, WINDOW_H))


def _gaps(times: Sequence[Sequence[float]], nodes: int, window: float) -> tuple[np.ndarray, np.ndarray]:
    """Observed gaps, and one censored gap per node (scipy takes them one by one; fit.py counts equal ones)."""
    observed, censored, counts = renewal_gaps(times, nodes, window)
    return observed, np.repeat(censored, counts.astype(int))


def test_exposure_counts_silent_nodes_and_ignores_other_causes() -> None:
    """Absent nodes add a full censored window; another cause's failure neither renews nor removes exposure."""
    incidents = [Incident(10.0, "a", "n1", 2), Incident(30.0, "b", "n1", 3), Incident(60.0, "a", "n1", 4)]
    fits = {f.name: f for f in fit_log(incidents, nodes=3, window=100.0)}
    a = fits["a"]
    assert (a.events, a.nodes_with_events, a.exposure_hours) == (2, 1, 300.0)
    assert a.exponential.mtbf_hours == pytest.approx(150.0)
    assert fits["b"].exponential.mtbf_hours == pytest.approx(300.0)


def test_few_events_keep_the_exponential() -> None:
    """One failure right at the window start makes a wild Weibull 'significant'; too few events: exponential kept."""
    fit = fit_log([Incident(0.0, "a", "n1", 2)], nodes=1000, window=1000.0)[0]
    assert fit.lr_p_value < 0.05
    assert fit.distribution == "exponential" and "too few" in fit.note
    assert fit.mtbf_hours == pytest.approx(1e6)


def test_round_trip_recovers_known_laws(fleet_log: Path) -> None:
    """A simulated fleet's log gives back its exponential MTBFs (15%) and Weibull shapes (0.1), and its laws."""
    end = START + dt.timedelta(hours=WINDOW_H)
    log = read_log(fleet_log, START, end)
    assert not log.bad and not log.duplicates
    fits = {f.name: f for f in fit_log(log.incidents, NODES, WINDOW_H)}
    assert set(fits) == {m.name for m in TRUTH}
    for m in TRUTH:
        f = fits[m.name]
        assert f.events >= 300, f"{m.name}: only {f.events} events"
        assert f.distribution == m.distribution, f"{m.name}: LR p = {f.lr_p_value:.3g}"
        if m.distribution == "exponential":
            assert f.mtbf_hours == pytest.approx(m.mtbf_hours, rel=0.15)
            assert f.exponential.ci95[0] < m.mtbf_hours < f.exponential.ci95[1]
        else:
            assert f.shape == pytest.approx(m.shape, abs=0.1)
            assert f.weibull.shape_ci95[0] < m.shape < f.weibull.shape_ci95[1]


def test_cli_json(fleet_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format json prints one object whose modes carry the documented keys."""
    code, out, err = fit_cli([str(fleet_log), "--nodes", str(NODES), *WINDOW, "--format", "json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["window"]["hours"] == pytest.approx(WINDOW_H)
    modes = {m["name"]: m for m in doc["modes"]}
    keys = {"name", "distribution", "mtbf_hours", "shape", "scale_hours", "events", "ci95", "lr_p_value"}
    assert all(keys <= set(m) for m in modes.values())
    assert set(modes["wear"]["ci95"]) == {"mtbf_hours", "shape"}
    assert set(modes["psu"]["ci95"]) == {"mtbf_hours"}
    assert sum(m["events"] for m in modes.values()) == doc["events"]


def test_cli_toml_blocks_validate(fleet_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format toml prints [[failure]] blocks that parse, validate as FailureMode and load in a scenario."""
    code, out, err = fit_cli([str(fleet_log), "--nodes", str(NODES), *WINDOW, "--format", "toml"], capsys)
    assert code == 0, err
    blocks = tomllib.loads(out)["failure"]
    modes = {b["name"]: FailureMode(**b) for b in blocks}
    assert modes["wear"].distribution == "weibull" and modes["wear"].scope == "node"
    assert modes["psu"].repair_hours == 72.0 and modes["psu"].action == "replace"
    assert modes["psu"].source.startswith("fitted from fleet.csv: ")
    assert "# assumed: set your own" in out
    scenario = load_scenario_text('name = "fitted"\n[cluster]\ngpus = 16\n[checkpoint]\nwrite_seconds = 30\n' + out)
    assert len(scenario.failure) == len(TRUTH)


def test_cli_text_and_gpu_scope(fleet_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The table names every cause; --scope gpu writes gpu-scope blocks."""
    code, out, err = fit_cli([str(fleet_log), "--nodes", str(NODES), *WINDOW], capsys)
    assert code == 0, err
    assert all(m.name in out for m in TRUTH) and "weibull" in out
    code, out, err = fit_cli([str(fleet_log), "--nodes", "4000", *WINDOW, "-f", "toml", "--scope", "gpu"], capsys)
    assert code == 0, err
    assert {b["scope"] for b in tomllib.loads(out)["failure"]} == {"gpu"}


def test_bad_rows_exit_2_with_line_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Bad timestamps, times outside the window and missing values are refused, each with its line number."""
    rows = [
        ("2024-01-02T00:00:00Z", "psu", "n1"),
        ("yesterday", "psu", "n2"),
        ("2023-12-31T23:00:00Z", "psu", "n3"),
        ("2024-01-03T00:00:00Z", "", "n4"),
        ("2024-01-04T00:00:00+01:00", "psu", "n5"),
    ]
    log = write_log(tmp_path / "log.csv", rows)
    code, out, err = fit_cli([str(log), "--nodes", "10", *WINDOW], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "3 bad rows" in err and "line 3: bad timestamp 'yesterday'" in err
    assert "line 4: time 2023-12-31T23:00:00Z outside the window" in err and "line 5: missing cause" in err
    code, _, err = fit_cli([str(log), "--nodes", "10", *WINDOW, "--skip-bad", "-f", "json"], capsys)
    assert code == 0 and "skipped 3 bad rows" in err
    only_bad = write_log(tmp_path / "bad.csv", rows[1:4])
    code, _, err = fit_cli([str(only_bad), "--nodes", "10", *WINDOW, "--skip-bad"], capsys)
    assert code == 2 and "no usable incidents" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", "--nodes", "5", *WINDOW], "cannot read the log"),
        (["LOG", "--nodes", "0", *WINDOW], "--nodes: must be at least 1"),
        (["LOG", "--nodes", "5", "--start", "2024-02-01", "--end", "2024-01-01"], "must be after --start"),
        (["LOG", "--nodes", "5", "--start", "soon", "--end", "2024-01-01"], "not an ISO 8601 time"),
        (["LOG", "--nodes", "1", *WINDOW], "the log names 2 different nodes"),
    ],
)
def test_bad_options_exit_2(args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file, a bad --nodes, window or time, or more nodes than the fleet: exit 2 with one line."""
    log = write_log(tmp_path / "log.csv", [("2024-01-02T00:00:00Z", "psu", "n1"), ("2024-01-05", "psu", "n2")])
    args = [str(log) if a == "LOG" else str(tmp_path / a) if a == "missing.csv" else a for a in args]
    code, out, err = fit_cli(args, capsys)
    assert (code, out) == (2, "")
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("header", "message"),
    [("timestamp,cause,node", "empty log"), ("", "empty log"), ("time,cause,node", "missing column timestamp")],
)
def test_empty_log_or_missing_column_exits_2(
    header: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A log with no incidents (header only, or no bytes) is an error, not a zero; so is a missing column."""
    path = tmp_path / "log.csv"
    path.write_text(header + "\n" if header else "")
    if header.startswith("time,"):
        path.write_text(header + "\n2024-01-02T00:00:00Z,psu,n1\n")
    code, out, err = fit_cli([str(path), "--nodes", "5", *WINDOW], capsys)
    assert (code, out) == (2, "")
    assert message in err


def test_repeated_rows_are_dropped_with_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A row repeating an earlier one (same time, cause, node) counts once, and stderr names its line."""
    row = ("2024-01-02T00:00:00Z", "psu", "n1")
    log = write_log(tmp_path / "log.csv", [row, row, ("2024-01-05T00:00:00Z", "psu", "n2")])
    code, out, err = fit_cli([str(log), "--nodes", "5", *WINDOW, "-f", "json"], capsys)
    assert code == 0 and "dropped 1 repeated rows (lines 3)" in err
    assert json.loads(out)["modes"][0]["events"] == 2
