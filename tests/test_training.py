"""Exact small cases of the job process, with scripted failures and hand-computed ledgers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from builders import scripted, tiny

import sim
from sim.experiment.runner import Replication, play

CRASH, GPU = 0, 1
GPUS = 16
DAY = 86400.0


def play_script(
    node_failures: list[tuple[int, float, int, float]] = (),  # type: ignore[assignment]
    job_failures: list[float] = (),  # type: ignore[assignment]
    spares: int = 1,
    detect_minutes: float = 0.0,
) -> Replication:
    """Run the tiny scenario against exactly these failures."""
    s = tiny(
        overrides={"cluster.spare_nodes": spares, "failure.1.detect_minutes": detect_minutes},
    )
    timeline = scripted(s.job_nodes + spares, node_failures)
    times = np.array(job_failures, dtype=float)
    return play(s, timeline, times, np.full(times.size, CRASH, dtype=np.int64))


def hours(rep: Replication) -> dict[str, float]:
    """Wall seconds per bucket (GPU-seconds over the job's GPUs)."""
    return {k: v / GPUS for k, v in rep.gpu_seconds.items()}


def assert_buckets(rep: Replication, **expected: float) -> None:
    got = hours(rep)
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, abs=1e-6), k
    assert sum(got.values()) == pytest.approx(DAY, rel=1e-12)
    assert all(got[k] == 0 for k in got if k not in expected)


def test_no_failures() -> None:
    """Without failures: 23 full cycles of 60 min + 60 s, then 2,220 s of compute at the horizon."""
    rep = play_script()
    assert_buckets(rep, useful=23 * 3600 + 2220, checkpoint=23 * 60)
    assert rep.metrics["interruptions"] == 0
    assert math.isnan(rep.metrics["job_mtbf_hours"])


def test_one_failure_loses_work_since_last_checkpoint() -> None:
    """A crash at 5,000 s loses the 1,340 s since the first checkpoint, then a 300 s restart."""
    rep = play_script(job_failures=[5000.0])
    # Restart ends at 5,300 s; 81,100 s of run: 22 cycles (80,520 s) and 580 s of compute.
    assert_buckets(rep, useful=3600 + 22 * 3600 + 580, checkpoint=60 + 22 * 60, lost=1340, restart=300)
    assert rep.interruptions_by_cause == {"crash": 1.0}
    assert rep.lost_gpu_hours_by_cause["crash"] == pytest.approx((1340 + 300) * GPUS / 3600)
    failure = [e for e in rep.events if e[1] == "failure"]
    assert failure == [(5000.0, "failure", "crash", -1, pytest.approx(1340 * GPUS / 3600))]


def test_failure_during_checkpoint_write() -> None:
    """A crash 30 s into the first write loses the whole first interval; the 30 s stay in checkpoint."""
    rep = play_script(job_failures=[3630.0])
    # Restart 3,630-3,930 s; then 82,470 s of run: 22 cycles and 1,950 s of compute.
    assert_buckets(rep, useful=22 * 3600 + 1950, checkpoint=30 + 22 * 60, lost=3600, restart=300)


def test_failure_during_restart_starts_it_over() -> None:
    """A second crash 100 s into the restart costs those 100 s and a whole new restart."""
    rep = play_script(job_failures=[5000.0, 5100.0])
    # Restart again 5,100-5,400 s; 81,000 s of run: 22 cycles and 480 s of compute.
    assert_buckets(rep, useful=3600 + 22 * 3600 + 480, checkpoint=60 + 22 * 60, lost=1340, restart=400)
    assert rep.metrics["interruptions"] == 2


def test_detection_then_spare_swap() -> None:
    """A node fault is noticed after 2 min, the spare joins at once, the restart follows."""
    rep = play_script(node_failures=[(0, 5000.0, GPU, 8600.0)], detect_minutes=2.0)
    # Detect 5,000-5,120, restart 5,120-5,420, then 80,980 s of run: 22 cycles and 460 s.
    assert_buckets(rep, useful=3600 + 22 * 3600 + 460, checkpoint=60 + 22 * 60, lost=1340, detect=120, restart=300)
    kinds = [e[1] for e in rep.events]
    assert kinds == ["run", "failure", "detect", "restart", "run"]


def test_wait_for_repair_without_spares() -> None:
    """With no spare, the job waits until the failed node is back from its one-hour repair."""
    rep = play_script(node_failures=[(0, 5000.0, GPU, 8600.0)], spares=0, detect_minutes=2.0)
    # Detect to 5,120, wait to 8,600, restart to 8,900, then 77,500 s of run: 21 cycles and 640 s.
    assert_buckets(
        rep,
        useful=3600 + 21 * 3600 + 640,
        checkpoint=60 + 21 * 60,
        lost=1340,
        detect=120,
        wait=3480,
        restart=300,
    )


def test_spare_that_failed_in_the_pool_is_not_used() -> None:
    """A spare pulled for repair while idle is not handed to the job: the job waits for a return."""
    rep = play_script(node_failures=[(2, 1000.0, GPU, 4600.0), (0, 3000.0, GPU, 6600.0)])
    # Node 0 fails at 3,000 s, before the first checkpoint; spare 2 is back at 4,600 s;
    # restart to 4,900 s, then 81,500 s of run: 22 cycles and 980 s of compute.
    assert_buckets(rep, useful=22 * 3600 + 980, checkpoint=22 * 60, lost=3000, wait=1600, restart=300)


def test_replacement_node_failure_is_delivered() -> None:
    """A spare that joins the job brings its own failure clock: its later failure interrupts the job."""
    rep = play_script(node_failures=[(0, 5000.0, GPU, 8600.0), (2, 6000.0, GPU, 9600.0)])
    # First failure at 5,000 (spare 2 joins at 5,000, restart to 5,300); node 2 fails at 6,000.
    fails = [(e[0], e[3]) for e in rep.events if e[1] == "failure"]
    assert fails == [(5000.0, 0), (6000.0, 2)]
    # No spare left at 6,000 s: node 0 is back at 8,600 s.
    assert hours(rep)["wait"] == pytest.approx(2600)


def test_failure_while_down_is_not_an_interruption() -> None:
    """A second node lost during detection is replaced with the first, without a second interruption."""
    rep = play_script(node_failures=[(0, 5000.0, GPU, 8600.0), (1, 5060.0, GPU, 8660.0)], spares=2, detect_minutes=2.0)
    assert rep.metrics["interruptions"] == 1
    assert [e[1] for e in rep.events].count("failure_while_down") == 1
    assert hours(rep)["restart"] == pytest.approx(300)


def method_script(
    method: str, node_failures: list[tuple[int, float, int, float]], persist_every: int = 2
) -> Replication:
    """The tiny scenario with 4 nodes, 2 spares, a given checkpoint method and scripted node faults."""
    s = tiny(
        {
            "cluster.gpus": 32,
            "cluster.spare_nodes": 2,
            "checkpoint.method": method,
            "checkpoint.snapshot_seconds": 10.0,
            "checkpoint.persist_every": persist_every,
            "restart.memory_load_seconds": 30.0,
        }
    )
    timeline = scripted(6, node_failures)
    return play(s, timeline, np.zeros(0), np.zeros(0, dtype=np.int64))


def test_memory_restore_keeps_memory_only_work() -> None:
    """A lone node fault restores from peers' memory: only the compute since the last snapshot is lost."""
    rep = method_script("memory", [(0, 5000.0, GPU, 9000.0)])
    # Cycle 3,610 s; the first snapshot (ends 3,610) is in memory only; lost = 5,000 - 3,610 = 1,390 s.
    assert rep.gpu_seconds["lost"] / 32 == pytest.approx(1390.0)
    assert rep.gpu_seconds["restart"] / 32 == pytest.approx(300.0 + 30.0)  # memory load, not storage


def test_partner_loss_falls_back_to_storage() -> None:
    """Losing both nodes of a pair destroys the memory copy: back to the last persisted checkpoint."""
    rep = method_script("memory", [(0, 5000.0, GPU, 9000.0), (1, 5000.0, GPU, 9000.0)])
    # Nothing persisted yet (every 2nd snapshot; the 2nd ends at 7,220 s): all 5,000 - 10 s of compute lost.
    assert rep.gpu_seconds["lost"] / 32 == pytest.approx(4990.0)
    assert rep.gpu_seconds["restart"] / 32 == pytest.approx(300.0)  # storage load (load_checkpoint off)
    kinds = [e[1] for e in rep.events]
    assert kinds.count("failure") == 1 and kinds.count("failure_while_down") == 1


def test_partner_loss_while_down_drops_memory_work() -> None:
    """A partner lost during detection also destroys the copy, and the memory-only work is lost then."""
    s = tiny(
        {
            "cluster.gpus": 32,
            "cluster.spare_nodes": 2,
            "checkpoint.method": "memory",
            "checkpoint.snapshot_seconds": 10.0,
            "checkpoint.persist_every": 2,
            "restart.memory_load_seconds": 30.0,
            "failure.1.detect_minutes": 5.0,
        }
    )
    rep = play(s, scripted(6, [(0, 5000.0, GPU, 9000.0), (1, 5100.0, GPU, 9100.0)]), np.zeros(0), np.zeros(0, np.int64))
    assert rep.gpu_seconds["lost"] / 32 == pytest.approx(4990.0)
    assert rep.lost_gpu_hours_by_cause["gpu fault"] == pytest.approx((4990.0 + 300 + 300) * 32 / 3600)


def test_shrink_continues_without_the_lost_replica() -> None:
    """No spare: the job restarts on the healthy replica, then the repaired one rejoins with a restart."""
    s = tiny({"recovery.strategy": "shrink", "cluster.spare_nodes": 0})
    rep = play(s, scripted(2, [(0, 5000.0, GPU, 8600.0)]), np.zeros(0), np.zeros(0, np.int64))
    g = rep.gpu_seconds
    # Restart 5,000-5,300 on replica 1 alone; run to 8,600 (replica 0 waits); rejoin restart to 8,900.
    assert g["wait"] == pytest.approx(8 * 3300)
    assert g["restart"] == pytest.approx(16 * 600)
    assert g["lost"] == pytest.approx(16 * 1340)
    assert g["useful"] == pytest.approx(16 * (3600 + 75600 + 640) + 8 * 3300)
    assert g["checkpoint"] == pytest.approx(16 * (60 + 21 * 60))
    assert sum(g.values()) == pytest.approx(16 * 86400, rel=1e-12)


def test_shrink_beats_waiting_for_repairs() -> None:
    """With too few spares for the failure rate, shrinking keeps more of the run than waiting."""
    base = {
        "failure_preset": "llama3",
        "cluster.gpus": 2048,
        "cluster.spare_nodes": 0,
        "run.duration_days": 20,
        "workload.tensor_parallel": 8,
        "workload.pipeline_parallel": 4,
    }
    wait = sim.run(tiny(base), replications=3, seed=1)
    shrink = sim.run(tiny({**base, "recovery.strategy": "shrink"}), replications=3, seed=1)
    assert shrink.summary.loc["ettr", "mean"] > wait.summary.loc["ettr", "mean"] + 0.05
    assert shrink.summary.loc["fraction_wait", "mean"] < wait.summary.loc["fraction_wait", "mean"]
    for rep in shrink.replications:
        assert sum(rep.gpu_seconds.values()) == pytest.approx(2048 * 20 * 86400, rel=1e-9)


def test_maintenance_checkpoints_then_stops() -> None:
    """A 1-hour window every half day: the work in progress is saved, the window and a restart are booked."""
    s = tiny({"maintenance.every_days": 0.5, "maintenance.hours": 1.0})
    rep = play(s, scripted(3, []), np.zeros(0), np.zeros(0, np.int64))
    h = {k: v / 16 for k, v in rep.gpu_seconds.items()}
    # Run to 43,200 s: 11 cycles and 2,940 s saved by the pre-maintenance checkpoint; window to 46,800;
    # restart to 47,100; run to the horizon: 10 cycles and 2,700 s.
    assert h["useful"] == pytest.approx(11 * 3600 + 2940 + 10 * 3600 + 2700)
    assert (h["maintenance"], h["restart"], h["lost"]) == pytest.approx((3600, 300, 0))
    assert rep.metrics["planned_interruptions"] == 1 and rep.metrics["interruptions"] == 0


def test_maintenance_preempts_a_restart() -> None:
    """A window that falls in a restart stops it; the restart runs in full after the window."""
    s = tiny({"maintenance.every_days": 0.5, "maintenance.hours": 1.0})
    rep = play(s, scripted(3, []), np.array([43100.0]), np.full(1, CRASH, np.int64))
    h = {k: v / 16 for k, v in rep.gpu_seconds.items()}
    assert h["restart"] == pytest.approx(100 + 300)
    assert h["maintenance"] == pytest.approx(3600)
    assert sum(h.values()) == pytest.approx(86400)


SDC = {"name": "sdc", "scope": "node", "mtbf_hours": 1e9, "action": "restart", "detect_hours": 2.0}


def sdc_play(job_failures: list[float] = (), keep: int | None = None) -> Replication:  # type: ignore[assignment]
    """The tiny scenario with a silent corruption on node 0 at 5,000 s, found two hours later."""
    from builders import BASE

    s = tiny({"checkpoint.keep": keep}, failure=[*BASE["failure"], SDC])
    times = np.array(job_failures, dtype=float)
    return play(s, scripted(3, [(0, 5000.0, 2, np.nan)]), times, np.full(times.size, CRASH, np.int64))


def test_silent_corruption_rolls_back_past_itself() -> None:
    """Found at 12,200 s, the corruption of 5,000 s sends the job back to the checkpoint of 3,660 s."""
    rep = sdc_play()
    h = {k: v / 16 for k, v in rep.gpu_seconds.items()}
    # Lost: 1,220 s since the checkpoint of 10,980 s, plus the two checkpoints written after 5,000 s.
    assert h["lost"] == pytest.approx(1220 + 7200)
    assert h["lost"] > 3600  # found later than one interval: more than an interval of work is lost
    assert h["useful"] == pytest.approx(3600 + 20 * 3600 + 700)
    assert (h["checkpoint"], h["restart"]) == pytest.approx((180 + 1200, 300))
    assert rep.interruptions_by_cause == {"sdc": 1.0} and rep.metrics["sdc_beyond_history"] == 0


def test_silent_corruption_across_a_restart() -> None:
    """A crash between corruption and detection does not clean the state: the rollback still goes past 5,000 s."""
    h = {k: v / 16 for k, v in sdc_play(job_failures=[8000.0]).gpu_seconds.items()}
    assert h["lost"] == pytest.approx(680 + 240 + 7200)
    assert h["useful"] == pytest.approx(3600 + 20 * 3600 + 700)
    assert h["restart"] == pytest.approx(600)


def test_silent_corruption_older_than_the_kept_checkpoints() -> None:
    """Keeping one checkpoint, none predates the corruption: the run starts over, and the report says so."""
    rep = sdc_play(keep=1)
    assert rep.gpu_seconds["lost"] / 16 == pytest.approx(1220 + 10800)
    assert rep.metrics["sdc_beyond_history"] == 1
    assert sdc_play(keep=3).gpu_seconds["lost"] / 16 == pytest.approx(1220 + 7200)


def day_dip(amplitude: float, t0: float, t1: float, cycle: float = 3660.0, compute: float = 3600.0) -> float:
    """Work lost to the time of day in the computing of ``[t0, t1]``, by a numerical integral."""
    t = np.linspace(t0, t1, 2_000_001)
    computing = np.mod(t, cycle) < compute
    rate = amplitude * (1 - np.cos(2 * np.pi * t / 86400.0)) / 2
    return float(np.trapezoid(rate * computing, t))


def test_time_of_day_slows_every_step() -> None:
    """A 2% dip at noon costs about 1% of a day's computing, booked as slow: exactly the integral over it."""
    s = tiny({"workload.diurnal_amplitude": 0.02})
    rep = play(s, scripted(3, []), np.zeros(0), np.zeros(0, np.int64))
    h = {k: v / 16 for k, v in rep.gpu_seconds.items()}
    computing = 23 * 3600 + 2220
    assert h["slow"] == pytest.approx(day_dip(0.02, 0.0, 86400.0), rel=1e-5)
    assert h["slow"] == pytest.approx(0.01 * computing, rel=0.01)
    assert h["useful"] + h["slow"] == pytest.approx(computing)
    assert sum(h.values()) == pytest.approx(86400)


STRAGGLER = {
    "name": "slow GPU",
    "scope": "node",
    "mtbf_hours": 1e9,
    "action": "slow",
    "slowdown": 0.5,
    "detect_minutes": 10.0,
    "repair_hours": 1.0,
}


def straggler_play(spares: int) -> Replication:
    """The tiny scenario with node 0 at half speed from 5,000 s."""
    from builders import BASE

    s = tiny({"cluster.spare_nodes": spares}, failure=[*BASE["failure"], STRAGGLER])
    return play(s, scripted(2 + spares, [(0, 5000.0, 2, 5000.0 + 600 + 3600)]), np.zeros(0), np.zeros(0, np.int64))


def test_straggler_costs_throughput_not_restarts() -> None:
    """Found after 10 minutes and hot-swapped for a spare: 600 s of computing at half speed, no restart."""
    rep = straggler_play(spares=1)
    h = {k: v / 16 for k, v in rep.gpu_seconds.items()}
    assert h["slow"] == pytest.approx(300)
    assert (h["restart"], h["lost"], rep.metrics["interruptions"]) == (0, 0, 0)
    assert [e[1] for e in rep.events] == ["run", "straggler", "swap"]
    assert rep.lost_gpu_hours_by_cause["slow GPU"] == pytest.approx(16 * 300 / 3600)


def test_straggler_stays_without_a_spare() -> None:
    """With no spare to swap in, the job computes at half speed to the end (but not while it writes checkpoints)."""
    h = {k: v / 16 for k, v in straggler_play(spares=0).gpu_seconds.items()}
    computing_after = (23 * 3600 + 2220) - (3600 + 5000 - 3660)
    assert h["slow"] == pytest.approx(0.5 * computing_after)


def test_failure_during_a_rejoin_loses_the_paused_work() -> None:
    """Work carried over a rejoin is saved nowhere yet: a crash during the rejoin restart loses it."""
    s = tiny({"recovery.strategy": "shrink", "cluster.spare_nodes": 0})
    rep = play(s, scripted(2, [(0, 5000.0, GPU, 8600.0)]), np.array([8700.0]), np.full(1, CRASH, np.int64))
    g = rep.gpu_seconds
    # Replica 1 alone computes 5,300-8,600 s (3,300 s unsaved); the crash at 8,700 s loses it.
    assert g["lost"] == pytest.approx(16 * 1340 + 8 * 3300)
    assert g["restart"] == pytest.approx(16 * (300 + 100 + 300))
    assert g["useful"] == pytest.approx(16 * (3600 + 75600 + 540))
    assert sum(g.values()) == pytest.approx(16 * 86400, rel=1e-12)


def test_silent_corruption_under_time_of_day_rolls_back_the_slowed_work() -> None:
    """Rollback past a corruption takes back the useful work as booked, after the time of day took its share.

    Regression: the checkpoint to go back to was valued at full speed, so useful work was overstated
    and, with stragglers, ``lost`` went negative.
    """
    from builders import BASE

    s = tiny({"workload.diurnal_amplitude": 0.3}, failure=[*BASE["failure"], SDC])
    rep = play(s, scripted(3, [(0, 5000.0, 2, np.nan)]), np.zeros(0), np.zeros(0, np.int64))
    h = {k: v / 16 for k, v in rep.gpu_seconds.items()}
    # Found at 12,200 s: 1,220 s unsaved, and the two checkpoints after 5,000 s: 7,200 s of computing,
    # less what the time of day took of it (already booked as slow).
    assert h["lost"] == pytest.approx(1220 + 7200 - day_dip(0.3, 3660.0, 10980.0), rel=1e-6)
    assert min(h.values()) >= 0 and sum(h.values()) == pytest.approx(86400)


def test_a_restore_before_the_corruption_cancels_its_alarm() -> None:
    """A crash restores a checkpoint older than the corruption: the corrupted work is gone, nothing more is lost.

    Regression: the alarm still fired two hours later and rolled back the good work done since the restart.
    """
    rep = sdc_play(job_failures=[6000.0])
    # The crash at 6,000 s loses the 2,340 s since the checkpoint of 3,660 s; the corruption went with them.
    assert rep.gpu_seconds["lost"] / 16 == pytest.approx(2340)
    assert rep.interruptions_by_cause == {"crash": 1.0}
    assert "sdc" not in {e[2] for e in rep.events if e[1] == "failure"}


def test_corruption_found_during_a_restart_interrupts_it() -> None:
    """Found while the job restarts, a corruption starts the restart over: an interruption like any failure."""
    rep = sdc_play(job_failures=[12100.0])
    failures = [e for e in rep.events if e[1] == "failure"]
    assert [e[2] for e in failures] == ["crash", "sdc"]
    assert rep.metrics["interruptions"] == 2
    assert rep.gpu_seconds["restart"] / 16 == pytest.approx(100 + 300)  # 12,100-12,200 aborted, then a whole one


def test_a_swapped_out_straggler_no_longer_fails_the_job() -> None:
    """Once a straggler is swapped out, its later failures are a spare's, not the job's.

    Regression: the failure watcher had planned on the straggler's next failure and delivered it
    to the job after the swap, a phantom interruption.
    """
    from builders import BASE

    s = tiny({"cluster.spare_nodes": 1}, failure=[*BASE["failure"], STRAGGLER])
    rows = [(0, 5000.0, 2, 5000.0 + 600 + 3600), (0, 9500.0, GPU, 9600.0)]
    rep = play(s, scripted(3, rows), np.zeros(0), np.zeros(0, np.int64))
    assert rep.metrics["interruptions"] == 0
    assert [e[1] for e in rep.events] == ["run", "straggler", "swap"]


def test_a_storm_log_keeps_its_first_rows_and_counts_the_rest() -> None:
    """The event log is bounded: past its limit rows are counted, not kept, and the metrics still count all."""
    s = tiny()
    times = np.arange(1000.0, 80000.0, 1000.0)
    full = play(s, scripted(3, []), times, np.full(times.size, CRASH, np.int64))
    short = play(s, scripted(3, []), times, np.full(times.size, CRASH, np.int64), event_rows=10)
    assert len(short.events) == 10 and short.events == full.events[:10]
    assert short.events_dropped == len(full.events) - 10
    assert short.metrics == full.metrics
