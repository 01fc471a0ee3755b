"""Reading a results folder back: what charts and reports are drawn from (never the simulation).

A run folder has ``summary.json`` (with ``metrics``), ``runs.parquet``, usually
``events.parquet`` and, when the run traced its power, ``power.parquet``; a sweep folder has
``summary.json`` (with ``points``), ``runs.parquet`` and ``points.csv``; a compare folder has
``summary.json`` (with ``differences``), ``runs.parquet``, ``differences.csv`` and a run folder per
scenario in ``scenarios/``. Anything else is refused with one line that says what is missing.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as d:
...     load(d)
Traceback (most recent call last):
...
sim.results.folder.NotResults: ... is not a results folder: it has no summary.json
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd


class NotResults(ValueError):
    """The folder is not a complete results folder; the message says why."""


@dataclass
class RunFolder:
    """A finished ``trainsim run``."""

    path: Path
    summary: dict[str, Any]
    runs: pd.DataFrame
    events: pd.DataFrame | None
    #: The power trace (``power.parquet``: ``replication``, ``time_s``, ``it_mw``, ``facility_mw``), if written.
    power: pd.DataFrame | None = None


@dataclass
class SweepFolder:
    """A finished ``trainsim sweep``."""

    path: Path
    summary: dict[str, Any]
    runs: pd.DataFrame
    points: pd.DataFrame

    @property
    def keys(self) -> list[str]:
        """The swept keys, in grid order."""
        return list(self.summary["params"])


@dataclass
class CompareFolder:
    """A finished ``trainsim compare``: the first scenario is the baseline."""

    path: Path
    summary: dict[str, Any]
    runs: pd.DataFrame
    differences: pd.DataFrame

    @property
    def names(self) -> list[str]:
        """The scenarios' names, in order."""
        return [str(n) for n in self.summary["names"]]

    def scenario(self, name: str) -> RunFolder:
        """The run folder of one scenario."""
        folder = load(self.path / "scenarios" / name)
        if not isinstance(folder, RunFolder):
            raise NotResults(f"{folder.path}: not the run folder of scenario {name}")
        return folder


def load(path: str | Path) -> RunFolder | SweepFolder | CompareFolder:
    """Read a run, sweep or compare folder, or raise ``NotResults``."""
    folder = Path(path)
    try:
        if not folder.is_dir():
            raise NotResults(f"{folder}: no such folder")
        has_summary = (folder / "summary.json").exists()
    except OSError as e:  # a name too long, a folder that cannot be read
        raise NotResults(f"{folder}: cannot read the folder: {e.strerror}") from None
    summary_path = folder / "summary.json"
    if not has_summary:
        hint = (
            " (an unfinished sweep: finish it with trainsim sweep ... --resume)"
            if (folder / "sweep.sqlite").exists()
            else ""
        )
        raise NotResults(f"{folder} is not a results folder: it has no summary.json{hint}")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise NotResults(f"{summary_path}: unreadable ({e})") from None
    if not isinstance(summary, dict):
        raise NotResults(f"{summary_path}: not a trainsim summary")
    status = summary.get("status", "ok")
    if status != "ok":
        raise NotResults(f"{folder}: the run did not finish (status {status}): {summary.get('error', 'no details')}")
    if "differences" in summary and "names" in summary:
        runs = _parquet(folder, "runs.parquet")
        return CompareFolder(folder, summary, runs, _csv(folder, "differences.csv"))
    if "points" in summary:
        return SweepFolder(folder, summary, _parquet(folder, "runs.parquet"), _csv(folder, "points.csv"))
    if "metrics" in summary:
        events = _parquet(folder, "events.parquet") if (folder / "events.parquet").exists() else None
        power = _parquet(folder, "power.parquet") if (folder / "power.parquet").exists() else None
        return RunFolder(folder, summary, _parquet(folder, "runs.parquet"), events, power)
    raise NotResults(f"{summary_path}: not a trainsim summary (no metrics and no points)")


def _parquet(folder: Path, name: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(folder / name)
    except FileNotFoundError:
        raise NotResults(f"{folder}: incomplete results folder: {name} is missing") from None
    except Exception as e:  # pyarrow raises several types for a damaged file
        raise NotResults(f"{folder / name}: unreadable ({type(e).__name__})") from None


def _csv(folder: Path, name: str) -> pd.DataFrame:
    try:
        return pd.read_csv(folder / name)
    except FileNotFoundError:
        raise NotResults(f"{folder}: incomplete results folder: {name} is missing") from None
    except Exception as e:
        raise NotResults(f"{folder / name}: unreadable ({type(e).__name__})") from None
