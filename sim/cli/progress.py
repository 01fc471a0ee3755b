"""Progress of sweeps on stderr: count, rate and ETA, fed by ``run_sweep``'s ``progress(done, total)``.

>>> t = Tracker(False, "sweep", lambda done, total: print("start", done, total))
>>> t(0, 4)
start 0 4
>>> t(4, 4); t(0, 2); t(2, 2)
>>> t.done, t.total
(6, 6)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _RateColumn(ProgressColumn):
    """Replications per second (rich's own speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.1f} rep/s", style="progress.data.speed")


class Tracker:
    """The ``progress(done, total)`` callback of a sweep: starts the folder on its first call, draws the bar.

    ``run_sweep`` calls it once after it has validated everything and before it runs anything, so
    ``on_start`` is where the results folder may be touched. The optimizer runs several sweeps in a
    row, each counting from zero: the bar adds them up. No refresh thread (auto_refresh off): worker
    processes are forked while the bar is live, and forking under a live thread risks deadlocks.
    """

    REFRESH_S = 0.1

    def __init__(self, show: bool, description: str, on_start: Callable[[int, int], None]) -> None:
        self.on_start = on_start
        self.description = description
        self.started = False
        self.done = self.total = 0
        self._offset = 0  # replications of earlier sweeps (optimizer rounds)
        self._last = (0, 0)
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._show = show
        self._refreshed = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.started:
            self.started = True
            self.on_start(done, total)
        if done < self._last[0]:
            self._offset += self._last[1]  # a new sweep of the optimizer, counting from zero again
        self._last = (done, total)
        self.done, self.total = self._offset + done, self._offset + total
        if self._show:
            self._draw()

    def _draw(self) -> None:
        if self._bar is None:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                MofNCompleteColumn(),
                _RateColumn(),
                TextColumn("elapsed"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._bar.start()
            # Reused replications are the starting count, not a burst of speed.
            self._task = self._bar.add_task(self.description, total=self.total, completed=self.done)
        assert self._task is not None
        self._bar.update(self._task, total=self.total, completed=self.done)
        now = time.monotonic()
        if now - self._refreshed >= self.REFRESH_S or self.done >= self.total:
            self._refreshed = now
            self._bar.refresh()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()


def show_bar(quiet: bool) -> bool:
    """Draw a bar only for a person: stderr is a terminal and ``--quiet`` is off."""
    return not quiet and Console(stderr=True).is_terminal
