"""The SQLite results store: committed rows, exact floats, refusal of foreign sweeps."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from builders import tiny

from sim.experiment.store import FILE, Store, StoreMismatch


def test_rows_round_trip_exactly(tmp_path: Path) -> None:
    """Floats (NaN included) come back bit for bit; a rewritten row replaces the old one."""
    s = tiny()
    store = Store.open(tmp_path, s, seed=1, resume=False)
    store.put("p", 0, {"x": 0.1 + 0.2, "y": math.nan})
    store.put("p", 1, {"x": 1.0})
    store.put("p", 1, {"x": 2.0})
    store.close()
    rows = Store.open(tmp_path, s, seed=1, resume=True).load()
    assert rows[("p", 0)]["x"] == 0.1 + 0.2 and math.isnan(rows[("p", 0)]["y"])
    assert rows[("p", 1)] == {"x": 2.0}
    assert (tmp_path / FILE).exists()


def test_mismatch_names_what_differs(tmp_path: Path) -> None:
    """A foreign scenario is refused with the keys that differ."""
    Store.open(tmp_path, tiny(), seed=1, resume=False).close()
    with pytest.raises(StoreMismatch, match=r"differs in scenario\.checkpoint\.interval_minutes"):
        Store.open(tmp_path, tiny({"checkpoint.interval_minutes": 5}), seed=1, resume=True)


def test_unwritable_folder(tmp_path: Path) -> None:
    """A folder that cannot be created is a clear error."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreMismatch, match="cannot create the folder"):
        Store.open(blocker / "sub", tiny(), seed=1, resume=False)
