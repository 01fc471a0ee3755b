"""Whole-folder swaps (sim.results.staging): earlier results stay until new ones are complete; cut swaps and
a killed run's temporaries are repaired by the next run into the same place."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.results import staging
from sim.results.files import atomic_path, temporary_name

OURS = {"summary.json", "runs.parquet", "waterfall.png"}


def dead_pid() -> int:
    """The pid of a process that has ended and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


def results(folder: Path, status: str = "ok", **files: str) -> Path:
    """A results folder: a summary.json with ``status`` and the given files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps({"status": status}))
    for name, text in files.items():
        (folder / name.replace("_png", ".png")).write_text(text)
    return folder


def contents(folder: Path) -> dict[str, str]:
    """Every file of ``folder`` and its text."""
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def siblings(folder: Path) -> list[str]:
    """Names beside ``folder`` other than its own."""
    return sorted(p.name for p in folder.parent.iterdir() if p != folder)


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two renames"])
def test_swap_replaces_the_whole_folder(tmp_path: Path, exchange: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A staged folder replaces the target whole: old charts go with the old results; nothing is left beside it."""
    if not exchange:
        monkeypatch.setattr(staging, "_exchange", lambda a, b: False)
    out = results(tmp_path / "out", waterfall_png="old chart")
    with staging.staged_folder(out, OURS) as tmp:
        (tmp / "summary.json").write_text("new")
    assert contents(out) == {"summary.json": "new"} and siblings(out) == []


def test_a_failed_body_keeps_the_earlier_folder(tmp_path: Path) -> None:
    """A body that raises (or Ctrl-C) leaves the target exactly as it was and no temporary beside it."""
    out = results(tmp_path / "out", waterfall_png="old chart")
    before = contents(out)
    with pytest.raises(KeyboardInterrupt), staging.staged_folder(out, OURS) as tmp:
        (tmp / "summary.json").write_text("half")
        raise KeyboardInterrupt
    assert contents(out) == before and siblings(out) == []


def test_a_folder_with_other_files_is_never_replaced(tmp_path: Path) -> None:
    """A target holding files the writer does not own is refused, not swapped away."""
    out = results(tmp_path / "out", **{"notes.txt": "mine"})
    with pytest.raises(FileExistsError, match=r"not results \(notes\.txt\)"), staging.staged_folder(out, OURS) as tmp:
        (tmp / "summary.json").write_text("new")
    assert (out / "notes.txt").read_text() == "mine" and siblings(out) == []


def test_tidy_rolls_a_cut_swap_forward(tmp_path: Path) -> None:
    """Cut between its two renames (target missing), a swap is finished with the complete new folder."""
    pid = dead_pid()
    out = tmp_path / "out"
    results(tmp_path / f".out.{pid}.0a1b2c3d.old", **{"runs.parquet": "old"})
    results(tmp_path / f".out.{pid}.0a1b2c3d.tmp", **{"runs.parquet": "new"})
    staging.tidy(out)
    assert (out / "runs.parquet").read_text() == "new" and siblings(out) == []


def test_tidy_rolls_back_when_the_new_folder_is_gone(tmp_path: Path) -> None:
    """With only the old folder left under its temporary name, it is put back."""
    out = tmp_path / "out"
    results(tmp_path / f".out.{dead_pid()}.0a1b2c3d.old", **{"runs.parquet": "old"})
    staging.tidy(out)
    assert (out / "runs.parquet").read_text() == "old" and siblings(out) == []


def test_tidy_removes_what_dead_processes_left(tmp_path: Path) -> None:
    """Temporaries of dead processes go, beside the folder and inside it; a live process's stay."""
    pid = dead_pid()
    out = results(tmp_path / "out", **{"runs.parquet": "new"})
    stale = [
        tmp_path / f".out.{pid}.0a1b2c3d.old",  # a swap done but for deleting the old folder
        tmp_path / f".out.{pid}.1a1b2c3d.tmp",  # a run killed while writing
        tmp_path / f".out.interrupted-20250101T000000Z.{pid}.2a1b2c3d.tmp",  # a failure record cut short
    ]
    for folder in stale:
        results(folder)
    (out / f".runs.parquet.{pid}.3a1b2c3d.tmp").write_text("half")
    live = tmp_path / temporary_name("out")
    live.mkdir()
    (tmp_path / f".other.{pid}.4a1b2c3d.tmp").mkdir()  # another folder's: its own next run cleans it
    staging.tidy(out)
    assert contents(out) == {"runs.parquet": "new", "summary.json": '{"status": "ok"}'}
    assert siblings(out) == sorted([live.name, f".other.{pid}.4a1b2c3d.tmp"])


def test_failure_home(tmp_path: Path) -> None:
    """A failure record replaces nothing, an earlier failure record, or goes beside complete results."""
    out = tmp_path / "out"
    assert staging.failure_home(out, "interrupted") == out
    results(out, status="failed")
    assert staging.failure_home(out, "interrupted") == out
    results(out, status="ok")
    home = staging.failure_home(out, "interrupted")
    assert home.parent == tmp_path and home.name.startswith("out.interrupted-") and home.name.endswith("Z")
    home.mkdir()
    second = staging.failure_home(out, "interrupted")
    assert second != home and second.name.startswith(home.name)


def test_an_unreadable_summary_counts_as_results(tmp_path: Path) -> None:
    """A summary that cannot be read is kept rather than guessed to be a failure."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{not json")
    assert staging.holds_results(out)


def test_owner_alive() -> None:
    """This process is alive; a reaped child is not."""
    assert staging.owner_alive(os.getpid()) and not staging.owner_alive(dead_pid())


def test_atomic_files_use_the_temporary_names(tmp_path: Path) -> None:
    """atomic_path's temporary is named so that tidy can tell its owner."""
    with atomic_path(tmp_path / "a.txt") as tmp:
        assert staging.strangers(tmp_path, set()) == []
        tmp.write_text("x")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_exchange_swaps_two_folders_in_one_step(tmp_path: Path) -> None:
    """On Linux the swap is one renameat2(RENAME_EXCHANGE): each name then holds the other's folder."""
    a, b = results(tmp_path / "a", **{"runs.parquet": "A"}), results(tmp_path / "b", **{"runs.parquet": "B"})
    assert staging._exchange(a, b)
    assert (a / "runs.parquet").read_text() == "B" and (b / "runs.parquet").read_text() == "A"
