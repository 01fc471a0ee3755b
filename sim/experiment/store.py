"""Durable sweep results: every finished (point, replication) in SQLite as soon as it finishes.

SQLite because one file with transactions does what a folder of part files would do by hand: a
committed row survives the process being killed at any moment (write-ahead log), a half-written
row is never seen, and a resumed sweep reads back exactly the rows that were committed. Only the
sweep's own process writes to it; Dask or process workers return their rows to it.

The store is tied to the scenario (as resolved, overrides included), the seed and the package
version that made it: resuming with anything else is refused, so results are never mixed.

>>> import tempfile
>>> from sim.config.loading import load_scenario_text
>>> s = load_scenario_text('name = "t"\\n[cluster]\\ngpus = 8\\n[checkpoint]\\nwrite_seconds = 1')
>>> with tempfile.TemporaryDirectory() as d:
...     store = Store.open(d, s, seed=1, resume=False)
...     store.put('{"a": 1}', 0, {"ettr": 0.5})
...     store.close()
...     Store.open(d, s, seed=1, resume=True).load()
{('{"a": 1}', 0): {'ettr': 0.5}}
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from sim.config.scenario import Scenario
from sim.config.version import VERSION

FILE = "sweep.sqlite"
#: The store and the files SQLite keeps beside it while it is open (write-ahead log, shared memory, journal).
FILES = (FILE, f"{FILE}-wal", f"{FILE}-shm", f"{FILE}-journal")


class StoreMismatch(ValueError):
    """The results folder holds a sweep that this one must not be mixed with."""


def fingerprint(scenario: Scenario, seed: int) -> dict[str, Any]:
    """What a stored result depends on, besides its point and replication."""
    return {"scenario": scenario.model_dump(mode="json"), "seed": seed, "version": VERSION}


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(d, list):
        return {f"{prefix}[{i}]" if prefix else str(i): v for i, v in enumerate(d)} if d else {prefix: d}
    return {prefix: d}


class Store:
    """The SQLite file of one sweep folder."""

    def __init__(self, con: sqlite3.Connection, path: Path) -> None:
        self.con = con
        self.path = path

    @classmethod
    def open(cls, folder: str | Path, scenario: Scenario, seed: int, resume: bool) -> Store:
        """Open (or create) the store in ``folder``; refuse one made by another scenario or seed."""
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreMismatch(f"--out {folder}: cannot create the folder ({e.strerror})") from None
        path = folder / FILE
        con = sqlite3.connect(path)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        con.execute(
            "CREATE TABLE IF NOT EXISTS results (point TEXT NOT NULL, replication INTEGER NOT NULL,"
            " row TEXT NOT NULL, PRIMARY KEY (point, replication))"
        )
        mine = fingerprint(scenario, seed)
        stored = con.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        if stored is None:
            with con:
                con.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (json.dumps(mine, sort_keys=True),))
        else:
            theirs = json.loads(stored[0])
            if not resume:
                con.close()
                raise StoreMismatch(
                    f"--out {folder}: already holds a sweep; pass --resume to continue it, or choose another --out"
                )
            if theirs != json.loads(json.dumps(mine)):
                a, b = _flatten(theirs), _flatten(json.loads(json.dumps(mine)))
                differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
                con.close()
                shown = ", ".join(differ[:3]) + (f" and {len(differ) - 3} more" if len(differ) > 3 else "")
                raise StoreMismatch(
                    f"--out {folder}: holds a sweep of a different scenario or seed (differs in {shown}); "
                    "results are never mixed: choose another --out"
                )
        return cls(con, path)

    def load(self) -> dict[tuple[str, int], dict[str, float]]:
        """Every committed result, by (point key, replication)."""
        rows = self.con.execute("SELECT point, replication, row FROM results").fetchall()
        return {(p, int(r)): json.loads(row) for p, r, row in rows}

    def put(self, point: str, replication: int, row: dict[str, float]) -> None:
        """Commit one finished replication of one point."""
        with self.con:
            self.con.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?)", (point, replication, json.dumps(row)))

    def close(self) -> None:
        self.con.close()


def copy(source: str | Path, dest: str | Path) -> None:
    """Copy the store file ``source`` to ``dest`` as one consistent snapshot (SQLite's online backup,
    which includes what is still in the write-ahead log)."""
    src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
