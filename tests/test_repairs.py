"""The repair pipeline: stage outcomes on hand-made rounds, closed forms, technicians, fleet figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.config.scenario import FailureMode, Repair
from sim.model.failures import NodeTimeline, Round, node_timeline
from sim.model.repairs import (
    AUTO,
    ESCALATED,
    MISSED,
    UNFIXED,
    WRONG,
    Pipeline,
    fleet_metrics,
    needs_technician,
    server_timeline,
    stages,
    with_technicians,
)
from sim.results.schema import FLEET_METRICS

HOUR = 3600.0


def mode(**kw: object) -> FailureMode:
    base: dict[str, object] = {"name": "m", "scope": "node", "mtbf_hours": 1000.0, "repair_hours": 10.0}
    return FailureMode(**{**base, **kw})  # type: ignore[arg-type]


def timeline(rows: list[tuple[int, float, int, float, int, float]], nodes: int) -> NodeTimeline:
    """(node, time, mode, back, stage, auto) rows, sorted by node then time."""
    rows = sorted(rows)
    counts = np.bincount([r[0] for r in rows], minlength=nodes)
    return NodeTimeline(
        ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        time=np.array([r[1] for r in rows]),
        mode=np.array([r[2] for r in rows], dtype=np.int64),
        back=np.array([r[3] for r in rows]),
        stage=np.array([r[4] for r in rows], dtype=np.uint8),
        auto=np.array([r[5] for r in rows]),
    )


def one_round(nodes: list[int], modes: list[int], pulls: list[bool], column: list[int] | None = None) -> Round:
    n = len(nodes)
    return Round(
        node=np.array(nodes),
        time=np.arange(n, dtype=float) * 10.0,
        column=np.array(column if column is not None else [0] * n),
        mode=np.array(modes),
        pulls=np.array(pulls),
    )


# ---------------------------------------------------------------- technicians


def test_technicians_queue_repairs() -> None:
    """One technician repairs one node at a time; later failures of a delayed node move with it."""
    tl = NodeTimeline(
        ptr=np.array([0, 2, 3]),
        time=np.array([10.0, 100.0, 20.0]),
        mode=np.array([0, 0, 0]),
        back=np.array([50.0, 140.0, 60.0]),
    )
    q = with_technicians(tl, 1, horizon_s=1e9)
    # Node 1 fails at 20 s, waits until 50 s, back at 90 s; node 0's second failure starts at 100 s.
    assert q.time.tolist() == [10.0, 100.0, 20.0] and q.back.tolist() == [50.0, 140.0, 90.0]
    assert with_technicians(tl, 2, horizon_s=1e9).back.tolist() == [50.0, 140.0, 60.0]
    late = NodeTimeline(
        ptr=np.array([0, 2, 3]),
        time=np.array([10.0, 60.0, 20.0]),
        mode=np.array([0, 0, 0]),
        back=np.array([50.0, 100.0, 30.0]),
    )
    # Node 1 (fails 20 s) waits for node 0's repair to 50 s; node 0's next failure stays at 60 s.
    assert with_technicians(late, 1, horizon_s=1e9).back.tolist() == [50.0, 100.0, 60.0]


def test_technicians_shift_a_nodes_later_failures() -> None:
    """A node that waited for a technician fails again that much later (as good as new from its return)."""
    tl = NodeTimeline(
        ptr=np.array([0, 1, 3]),
        time=np.array([10.0, 20.0, 80.0]),
        mode=np.array([0, 0, 0]),
        back=np.array([50.0, 30.0, 90.0]),
    )
    q = with_technicians(tl, 1, horizon_s=1e9)
    # Node 1 waits 20 -> 50 s, back at 60 s; its next failure (80 s, 50 s after its return) moves to 110 s.
    assert q.time.tolist() == [10.0, 20.0, 110.0] and q.back.tolist() == [50.0, 60.0, 120.0]
    assert len(with_technicians(tl, 1, horizon_s=100.0).time) == 2


def test_automated_repairs_need_no_technician() -> None:
    """A repair the automated stage finishes alone does not wait for the busy technician."""
    tl = timeline([(0, 10.0, 0, 50.0, 0, 0.0), (1, 20.0, 0, 30.0, AUTO, 10.0)], nodes=2)
    assert with_technicians(tl, 1, horizon_s=1e9).back.tolist() == [50.0, 30.0]


def test_escalated_repairs_ask_for_a_technician_after_the_automated_stage() -> None:
    """An escalated repair asks at the end of its automated stage and waits for the technician from there."""
    # Node 1: failed at 20 s, automated until 30 s, then 30 s of manual repair; the technician is busy to 50 s.
    tl = timeline(
        [(0, 10.0, 0, 50.0, 0, 0.0), (1, 20.0, 0, 60.0, AUTO | ESCALATED, 10.0), (1, 100.0, 0, 110.0, 0, 0)], 2
    )
    q = with_technicians(tl, 1, horizon_s=1e9)
    assert q.back.tolist() == [50.0, 80.0, 130.0]  # waited 20 s, so its next failure moves 20 s too
    assert q.time.tolist() == [10.0, 20.0, 120.0]


def test_a_retired_server_holds_no_technician() -> None:
    """A retired server (back inf) is never repaired: the one technician is free for the next."""
    tl = timeline([(0, 10.0, 0, np.inf, 0, 0.0), (1, 20.0, 0, 30.0, 0, 0.0)], nodes=2)
    assert needs_technician(tl).tolist() == [False, True]
    assert with_technicians(tl, 1, horizon_s=1e9).back.tolist() == [np.inf, 30.0]


# ---------------------------------------------------------------- stages and outcomes


@pytest.mark.parametrize(
    ("escalate", "expected_s", "flags", "by_auto"),
    [(0.0, 7200.0, AUTO, True), (1.0, 7200.0 + 36000.0, AUTO | ESCALATED, False)],
)
def test_stages_table(escalate: float, expected_s: float, flags: int, by_auto: bool) -> None:
    """A fixed automated stage of 2 h, alone or followed by the 10-hour manual repair."""
    st = stages(Repair(auto_hours=2.0, escalate_probability=escalate), np.array([36000.0]), np.random.default_rng(0))
    assert st.duration.tolist() == [expected_s] and st.auto.tolist() == [7200.0]
    assert st.stage.tolist() == [flags] and st.by_auto.tolist() == [by_auto]


def test_without_an_automated_stage_a_repair_is_manual() -> None:
    """No auto_hours: the repair is the mode's manual time, no flags, nothing drawn."""
    rng = np.random.default_rng(0)
    st = stages(Repair(), np.array([5.0, 6.0]), rng)
    assert st.duration.tolist() == [5.0, 6.0] and st.stage.tolist() == [0, 0]
    assert rng.random() == np.random.default_rng(0).random()


def test_mean_repair_time_is_auto_plus_escalated_manual() -> None:
    """Mean repair time = auto + p x manual (lognormal stages keep their means); escalations are Binomial(n, p)."""
    n, p = 200_000, 0.3
    r = Repair(auto_hours=2.0, auto_sigma=0.8, escalate_probability=p)
    st = stages(r, np.full(n, 48.0 * HOUR), np.random.default_rng(3))
    hours = st.duration / HOUR
    assert abs(hours.mean() - (2.0 + p * 48.0)) < 5 * hours.std() / math.sqrt(n)
    escalated = np.sum((st.stage & ESCALATED) > 0)
    assert abs(escalated - n * p) < 5 * math.sqrt(n * p * (1 - p))


def test_failed_repairs_follow_the_stage_that_ended_them() -> None:
    """Share of repairs that leave the fault = (1 - p) x auto_fail + p x manual_fail (AIReSim)."""
    r = Repair(auto_hours=2.0, escalate_probability=0.8, auto_fail_probability=0.4, manual_fail_probability=0.2)
    n = 100_000
    hook = Pipeline([mode()], r, n, 8, np.random.default_rng(1), np.random.default_rng(2))
    rate = np.ones((n, 1))
    hook(one_round(list(range(n)), [0] * n, [True] * n), rate)
    flags = hook.rows[0][2]
    share = 0.2 * 0.4 + 0.8 * 0.2
    assert abs(np.mean((flags & UNFIXED) > 0) - share) < 5 * math.sqrt(share * (1 - share) / n)
    # Each failed repair raised its server's rate for the clock that fired.
    assert np.array_equal(rate[:, 0] == 6.0, (flags & UNFIXED) > 0)


def test_pipeline_outcomes_on_a_hand_made_round() -> None:
    """Missed faults stay (nan), left faults raise the fired clock until the next failure, cures make good."""
    modes = [mode(), mode(name="soft", action="restart")]
    certain = Repair(manual_fail_probability=1.0, unfixed_multiplier=4.0)
    hook = Pipeline(modes, certain, 3, 8, np.random.default_rng(0), np.random.default_rng(0))
    rate = np.ones((3, 2))
    d = hook(one_round([0, 1], [0, 1], [True, False], column=[0, 1]), rate)
    assert d[0] == 36000.0 and hook.rows[0][2].tolist() == [UNFIXED, 0]
    assert rate.tolist() == [[4.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
    hook(one_round([0], [1], [False], column=[1]), rate)  # its next failure, a transient one
    assert rate[0].tolist() == [1.0, 1.0]
    missed = Pipeline(
        modes, Repair(misdiagnosis_probability=1.0), 3, 8, np.random.default_rng(0), np.random.default_rng(0)
    )
    rate = np.ones((3, 2))
    d = missed(one_round([2], [0], [True]), rate)
    assert math.isnan(d[0]) and missed.rows[0][2].tolist() == [MISSED] and rate[2, 0] == 6.0
    cures = Repair(cures_bad_nodes=True)
    good = np.full((3, 2), 0.5)
    hook = Pipeline(modes, cures, 3, 8, np.random.default_rng(0), np.random.default_rng(0), cured=good)
    rate = np.array([[3.0, 3.0], [3.0, 3.0], [3.0, 3.0]])
    hook(one_round([1], [0], [True]), rate)
    assert rate.tolist() == [[3.0, 3.0], [0.5, 0.5], [3.0, 3.0]]


def test_a_straggler_is_never_misdiagnosed() -> None:
    """Misdiagnosis applies to failures that pull a server at once; a straggler is found by its speed."""
    modes = [mode(action="slow", slowdown=0.5)]
    hook = Pipeline(
        modes, Repair(misdiagnosis_probability=1.0), 1, 8, np.random.default_rng(0), np.random.default_rng(0)
    )
    d = hook(one_round([0], [0], [True]), np.ones((1, 1)))
    assert d[0] == 36000.0 and hook.rows[0][2].tolist() == [0]


def test_failed_repairs_raise_the_failure_count_as_renewal_theory_says() -> None:
    """Instant repairs that leave the fault with probability q (rate x u until the next failure) give
    H lambda / (1 - q + q / u) failures per server."""
    q, u, n, hours = 0.5, 4.0, 400, 20_000.0
    m = mode(repair_hours=0.0)
    r = Repair(manual_fail_probability=q, unfixed_multiplier=u)
    tl = server_timeline([m], n, 8, hours * HOUR, np.random.default_rng(5), r, np.random.default_rng(6))
    expected = n * hours / 1000.0 / (1 - q + q / u)
    # The gaps alternate between two exponential laws: the count's variance is below Poisson's x u.
    assert abs(len(tl.time) - expected) < 5 * math.sqrt(expected * u)
    share = np.mean((tl.stage & UNFIXED) > 0)
    assert abs(share - q) < 5 * math.sqrt(q * (1 - q) / len(tl.time))


def test_pipeline_off_draws_exactly_the_plain_clocks() -> None:
    """With the pipeline's keys at their defaults the servers' draws are node_timeline's, to the bit."""
    modes = [mode(repair_sigma=0.5), mode(name="g", scope="gpu", distribution="weibull", shape=1.5)]
    assert not Repair().pipeline
    a = server_timeline(modes, 50, 8, 5000 * HOUR, np.random.default_rng(1), Repair(), np.random.default_rng(2))
    b = node_timeline(modes, 50, 8, 5000 * HOUR, np.random.default_rng(1))
    for name in ("ptr", "time", "mode", "back", "stage", "auto"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True)


def test_annotated_rows_match_their_outcomes() -> None:
    """Every drawn row carries its own stages: missed faults stay, repairs last at least their automated stage."""
    r = Repair(auto_hours=2.0, escalate_probability=0.5, auto_fail_probability=0.3, misdiagnosis_probability=0.2)
    tl = server_timeline(
        [mode(mtbf_hours=100.0)], 100, 8, 2000 * HOUR, np.random.default_rng(1), r, np.random.default_rng(2)
    )
    missed = (tl.stage & MISSED) > 0
    assert missed.any() and np.all(np.isnan(tl.back[missed])) and np.all(np.isfinite(tl.back[~missed]))
    auto = (tl.stage & AUTO) > 0
    assert np.array_equal(auto, ~missed)
    assert np.all(tl.back[auto] - tl.time[auto] >= tl.auto[auto] - 1e-6)
    escalated = (tl.stage & ESCALATED) > 0
    assert np.allclose(tl.back[auto & ~escalated] - tl.time[auto & ~escalated], 7200.0)


# ---------------------------------------------------------------- fleet figures


def test_fleet_metrics_table() -> None:
    """Retirements, repairs by stage, failed repairs, misdiagnoses and node-hours in repair, within the horizon."""
    modes = [
        mode(),
        mode(name="rack", scope="rack"),
        mode(name="slow", action="slow", slowdown=0.5, detect_minutes=60.0),
    ]
    h = HOUR
    tl = timeline(
        [
            (0, 0.0, 0, 2 * h, AUTO, 2 * h),  # automated repair alone: 2 h
            (0, 5 * h, 0, np.nan, MISSED, 0.0),  # missed: stays, no repair
            (1, 0.0, 0, 4 * h, AUTO | ESCALATED | UNFIXED, 1 * h),  # both stages, left the fault: 4 h
            (1, 10 * h, 0, np.inf, 0, 0.0),  # retired
            (2, 0.0, 1, 3 * h, 0, 0.0),  # rack outage: 3 h in repair, not a server repair
            (2, 8 * h, 0, 12 * h, WRONG, 0.0),  # pulled by misdiagnosis, manual repair: 2 h before the horizon
            (3, 1 * h, 2, 4 * h, 0, 0.0),  # straggler found after 1 h, then 2 h in repair
        ],
        nodes=4,
    )
    fm = fleet_metrics(tl, modes, horizon_s=10 * h)
    assert tuple(fm) == FLEET_METRICS
    assert fm == {
        "nodes_retired": 1.0,
        "spares_consumed": 0.0,
        "repairs_auto": 2.0,
        "repairs_manual": 3.0,
        "failed_repairs": 1.0,
        "misdiagnoses": 1.0,
        "repair_node_hours": 2.0 + 4.0 + 3.0 + 2.0 + 2.0,
    }
