"""Worker pools (sim.experiment.workers): workers die with their parent, even one killed with SIGKILL, and stop
at once when the parent raises."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from sim.experiment import workers

#: A parent that starts a pool of two workers, prints their pids once both ran a task, and waits to be killed.
PARENT = """
import multiprocessing, sys
from sim.experiment.workers import worker_pool

if __name__ == "__main__":
    with worker_pool(2) as pool:
        list(pool.map(abs, range(2)))
        print(*sorted(p.pid for p in multiprocessing.active_children()), flush=True)
        sys.stdin.read()
"""


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has ended: it only waits to be reaped)."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.is_dir() and Path("/proc/self").exists():
        try:
            return stat.read_text().rpartition(")")[2].split()[0] != "Z"
        except FileNotFoundError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until_gone(pids: list[int], limit_s: float = 30.0) -> list[int]:
    """Poll until none of ``pids`` runs, for at most ``limit_s``; return those still running."""
    deadline = time.monotonic() + limit_s
    while (alive := [p for p in pids if running(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_workers_die_when_the_parent_is_killed() -> None:
    """SIGKILL of a parent holding a pool of two workers ends both workers (no sleeping race: the pids are
    read before the kill; the poll only bounds how long the test waits)."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(running(p) for p in pids), parent.stderr.read() if parent.stderr else ""
    finally:
        parent.kill()
        parent.wait(timeout=60)  # not communicate(): workers left alive would hold its pipes open
    assert parent.returncode == -signal.SIGKILL
    alive = wait_until_gone(pids)
    for pid in alive:  # do not leave them behind if the test fails
        os.kill(pid, signal.SIGKILL)
    assert alive == []


def test_an_exception_stops_the_workers_at_once() -> None:
    """Ctrl-C (or any exception) in the parent terminates workers busy with long work instead of waiting for it."""
    with pytest.raises(KeyboardInterrupt), workers.worker_pool(2) as pool:
        assert list(pool.map(abs, [-1, -2])) == [1, 2]  # two submits before any result: two workers
        long = [pool.submit(time.sleep, 60) for _ in range(2)]
        started = multiprocessing.active_children()
        raise KeyboardInterrupt
    # Waiting would have let the work finish (after a minute); stopping leaves it pending, cancelled or broken.
    assert not any(f.done() and not f.cancelled() and f.exception() is None for f in long)
    for process in started:
        process.join(timeout=30)
    assert len(started) == 2 and [p.pid for p in started if p.is_alive()] == []


def test_workers_leave_ctrl_c_to_the_parent() -> None:
    """A worker ignores SIGINT (the terminal sends it to every process of the job): the parent decides."""
    with workers.worker_pool(1) as pool:
        assert pool.submit(signal.getsignal, signal.SIGINT).result() == signal.SIG_IGN


def test_stopping_never_leaves_the_pool_waiting_for_half_a_result() -> None:
    """Workers ended while sending large results leave half a message; the pool's thread still ends, so the
    process can exit (before the fix it waited for the rest of the message forever, in 19 of 20 tries)."""
    pool = ProcessPoolExecutor(2, mp_context=workers.context(), initializer=workers.die_with_parent)
    results = [pool.submit(bytes, 30_000_000) for _ in range(20)]
    results[0].result()  # results are streaming back now
    manager = pool._executor_manager_thread  # type: ignore[attr-defined]
    assert manager is not None
    workers.stop(pool)
    manager.join(timeout=30)
    assert not manager.is_alive()
