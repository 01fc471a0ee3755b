"""``sim.analysis.histories``: at-risk intervals, downtime out of exposure, faults while down counted once."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.analysis.histories import MIN_GAP_HOURS, histories
from sim.analysis.incidents import FitError, Incident


def inc(hours: float, cause: str, node: str, end: float | None = None, line: int = 0) -> Incident:
    """An incident with an end (None: no end column)."""
    return Incident(hours, cause, node, line, end)


def test_downtime_leaves_the_exposure_and_intervals_start_at_the_return() -> None:
    """A node down 10 h of a 100 h window has 90 h at risk; its intervals run window start -> fault, return -> end."""
    h = histories([inc(20.0, "a", "n1", 30.0), inc(50.0, "b", "n1", 50.0)], nodes=2, window=100.0)
    assert h.exposure.tolist() == [90.0, 100.0] and h.weight.tolist() == [1.0, 1.0]
    assert h.exposure_hours == 190.0 and h.downtime_hours == 10.0
    assert h.iv_length.tolist() == [20.0, 20.0, 50.0, 100.0]
    assert h.iv_first.tolist() == [True, False, False, True]  # the silent node's window is a first interval
    assert h.iv_cause.tolist() == [0, 1, -1, -1]
    assert h.events.tolist() == h.primary.tolist() == [1, 1]


def test_a_fault_while_down_counts_but_adds_no_exposure_or_downtime_twice() -> None:
    """A fault inside an earlier fault's [start, end) is secondary: counted, no interval, downtime the union."""
    rows = [inc(10.0, "a", "n1", 20.0, 2), inc(15.0, "b", "n1", 25.0, 3), inc(18.0, "a", "n1", 19.0, 4)]
    h = histories(rows, nodes=1, window=100.0)
    assert h.counts.tolist() == [3.0] and h.events.tolist() == [2, 1] and h.primary.tolist() == [1, 0]
    assert h.secondary_lines == (3, 4)
    assert h.exposure.tolist() == [85.0]  # down 10 -> 25: 15 h, once
    assert h.iv_length.tolist() == [10.0, 75.0] and h.iv_cause.tolist() == [0, -1]
    assert [r.hours.tolist() for r in h.repairs or ()] == [[10.0, 1.0], [10.0]]  # every fault has its repair


def test_a_node_down_at_the_window_start_starts_new_at_its_return() -> None:
    """A fault before the window that ends inside it: down until then, and its first interval is not a recurrence."""
    h = histories([inc(-5.0, "a", "n1", 4.0), inc(50.0, "a", "n2", 51.0)], nodes=2, window=100.0)
    assert h.exposure.tolist() == [96.0, 99.0]
    assert h.iv_length.tolist() == [96.0, 50.0, 49.0] and h.iv_first.tolist() == [False, True, False]
    assert h.counts.tolist() == [0.0, 1.0]


def test_open_repairs_hold_the_node_to_the_window_end_and_are_censored() -> None:
    """An open repair (nan end) or one past the window end keeps the node down and is censored at the end."""
    h = histories([inc(90.0, "a", "n1", math.nan), inc(95.0, "a", "n2", 200.0)], nodes=2, window=100.0)
    assert h.exposure.tolist() == [90.0, 95.0] and h.open_repairs == 2
    assert h.repairs is not None and h.repairs[0].hours.tolist() == [10.0, 5.0]


def test_without_ends_a_fault_renews_at_once() -> None:
    """No end column: no downtime, no repairs; two faults in the same second are one second apart."""
    h = histories([inc(10.0, "a", "n1"), inc(10.0, "b", "n1"), inc(40.0, "a", "n1")], nodes=1, window=100.0)
    assert h.repairs is None and h.exposure.tolist() == [100.0]
    assert h.iv_length == pytest.approx([10.0, MIN_GAP_HOURS, 30.0, 60.0])


def test_silent_nodes_are_one_group() -> None:
    """A billion nodes with one failing: two groups, the silent one weighted by its count."""
    h = histories([inc(1.0, "a", "n1")], nodes=10**9, window=10.0)
    assert h.weight.tolist() == [1.0, 10**9 - 1.0] and h.nodes == 10**9
    assert np.asarray(h.by_cause).shape == (2, 1)


@pytest.mark.parametrize(
    ("rows", "nodes", "message"),
    [
        ([inc(200.0, "a", "n1")], 5, "no incidents to fit"),
        ([inc(1.0, "a", "n1"), inc(2.0, "a", "n2")], 1, "2 different"),
    ],
)
def test_bad_windows_and_fleets(rows: list[Incident], nodes: int, message: str) -> None:
    """No incident in the window, or more named nodes than the fleet: a FitError."""
    with pytest.raises(FitError, match=message):
        histories(rows, nodes, 100.0)
