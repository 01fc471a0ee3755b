"""Replacing a results folder whole: the new folder is built beside it and swapped in once complete.

A run writes ``.X.<pid>.<token>.tmp/`` next to its target ``X`` and only when every file is written
swaps the two: one ``renameat2(RENAME_EXCHANGE)`` on Linux, elsewhere two renames (``X`` to
``.X.<pid>.<token>.old``, the new folder to ``X``); then it deletes the old folder. Until then ``X``
holds the earlier results exactly as they were, so a run that fails, is interrupted or is killed
loses nothing. A later run into the same place (``tidy``) finishes a swap that was cut between its
two renames and removes the temporaries of processes that are gone.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as d:
...     target = Path(d) / "out"
...     for text in ("old", "new"):
...         with staged_folder(target, {"a.txt"}) as tmp:
...             _ = (tmp / "a.txt").write_text(text)
...     sorted(p.name for p in Path(d).iterdir()), (target / "a.txt").read_text()
(['out'], 'new')
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import sys
from collections.abc import Collection, Iterator
from pathlib import Path

from sim.results.files import FAILED, INTERRUPTED, SUMMARY, fsync_dir, parse_temporary, temporary_name, utc_now


def owner_alive(pid: int) -> bool:
    """Whether process ``pid`` may still be running; when in doubt, yes (its files are then left alone).

    >>> owner_alive(os.getpid())
    True
    """
    if pid == os.getpid():
        return True
    if pid <= 0 or sys.platform == "win32":  # on Windows os.kill(pid, 0) would send Ctrl-C, not test
        return pid > 0
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's process
        return True
    return True


def strangers(folder: Path, ours: Collection[str]) -> list[str]:
    """Entries of ``folder`` that are neither in ``ours`` nor temporaries: a swap would delete them.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for name in ("summary.json", "notes.txt", ".summary.json.7.0a1b2c3d.tmp"):
    ...         _ = (Path(d) / name).write_text("")
    ...     strangers(Path(d), {"summary.json"})
    ['notes.txt']
    """
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name not in ours and parse_temporary(p.name) is None)


def holds_results(folder: Path) -> bool:
    """Whether ``folder`` holds results worth keeping: a ``summary.json`` that does not record a failure."""
    try:
        doc = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError):  # unreadable: keep it rather than guess
        return True
    return not (isinstance(doc, dict) and doc.get("status") in (FAILED, INTERRUPTED))


def failure_home(target: Path, status: str) -> Path:
    """Where the record of a run that did not finish goes: ``target`` if that holds no results to keep,
    else a new sibling ``<target>.<status>-<UTC time>`` (so nothing is overwritten)."""
    if not holds_results(target):
        return target
    stamp = utc_now().replace("-", "").replace(":", "")  # 20250101T120000Z: no colons in file names
    home = target.with_name(f"{target.name}.{status}-{stamp}")
    n = 1
    while os.path.lexists(home):
        n += 1
        home = target.with_name(f"{target.name}.{status}-{stamp}-{n}")
    return home


# ---------------------------------------------------------------- the swap


@contextlib.contextmanager
def staged_folder(target: str | Path, ours: Collection[str]) -> Iterator[Path]:
    """Yield a new empty folder beside ``target``; on success it replaces ``target`` whole.

    If the body raises (or the process is interrupted), the new folder is removed and ``target``
    is left exactly as it was. ``ours`` names what ``target`` may hold: a folder that holds anything
    else (the user's own files) is never replaced; ``FileExistsError`` says so instead.
    """
    target = _resolved(Path(target))
    tidy(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / temporary_name(target.name)
    tmp.mkdir()
    try:
        yield tmp
        others = strangers(target, ours)
        if others:
            raise FileExistsError(errno.EEXIST, f"holds files that are not results ({_few(others)})", str(target))
        fsync_dir(tmp)
        swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def swap_in(new: Path, target: Path) -> None:
    """Put the folder ``new`` at ``target`` and delete the folder it replaces (if any)."""
    if not os.path.lexists(target):
        os.rename(new, target)
    elif _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now names the old folder
    else:
        old = new.with_name(new.name.removesuffix(".tmp") + ".old")  # same owner and token: tidy pairs them
        os.rename(target, old)
        try:
            os.rename(new, target)
        except BaseException:
            os.rename(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    fsync_dir(target.parent)


#: renameat2's flag that swaps two paths in one step, and the "current folder" descriptor.
_RENAME_EXCHANGE, _AT_FDCWD = 2, -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically (Linux 3.15+); ``False`` where the system or filesystem cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a C library without renameat2 (glibc < 2.28, some musl)
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # not supported here: two renames instead
        return False
    raise OSError(err, os.strerror(err), str(b))


def tidy(target: Path) -> None:
    """Finish a swap into ``target`` that was cut short, and remove temporaries whose process is gone.

    A swap cut between its two renames left ``target`` missing, the earlier results in ``.old`` and
    the complete new folder in ``.tmp`` (same owner and token): the new folder is put in place. Then
    every temporary of ``target`` beside it, and every temporary file inside it, of a process that
    no longer runs, is deleted.
    """
    target = _resolved(target)
    parent = target.parent
    if not parent.is_dir():
        return
    mine = [(p, t) for p in parent.iterdir() if (t := parse_temporary(p.name)) and _belongs(t[0], target.name)]
    for path, (name, pid, token, kind) in mine:
        if kind == "old" and name == target.name and not os.path.lexists(target) and not owner_alive(pid):
            new = parent / f".{name}.{pid}.{token}.tmp"
            os.rename(new if new.is_dir() else path, target)
    inside = [(p, t) for p in target.iterdir() if (t := parse_temporary(p.name))] if target.is_dir() else []
    for path, (_, pid, _, _) in [*mine, *inside]:
        if os.path.lexists(path) and not owner_alive(pid):
            _remove(path)


def _belongs(name: str, target: str) -> bool:
    # The target's own temporaries, and those of the failure records beside it (target.interrupted-...).
    return name == target or name.startswith(f"{target}.")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _resolved(target: Path) -> Path:
    # A link to a results folder: replace the folder it points to, and keep the link.
    return target.resolve() if target.is_symlink() else target


def _few(names: list[str], shown: int = 3) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
