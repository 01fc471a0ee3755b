"""Test helper: run ``trainsim`` and SIGKILL it at a chosen point of its work, not after a chosen time.

    python tests/killed_at.py WHEN MODULE:ATTRIBUTE N -- ARGUMENTS...

kills the process just ``before`` or ``after`` the N-th call of ``MODULE.ATTRIBUTE`` (a function or a
``Class.method``, looked up where the caller looks it up). For example
``after sim.experiment.store:Store.put 3 -- sweep ...`` dies right after the third replication is
committed to the sweep store, and ``before sim.results.staging:swap_in 1 -- run ...`` dies with the
new results complete beside the folder, not yet swapped in.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
from typing import Any


def arm(when: str, target: str, n: int) -> None:
    """Wrap ``target`` so that its ``n``-th call kills this process ``when`` (before or after) it runs."""
    if when not in ("before", "after"):
        raise SystemExit(f"killed_at: WHEN must be before or after, not {when!r}")
    module_name, _, path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *outer, name = path.split(".")
    for part in outer:
        owner = getattr(owner, part)
    real = getattr(owner, name)
    calls = 0

    @functools.wraps(real)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if when == "before" and calls == n:
            os.kill(os.getpid(), signal.SIGKILL)
        result = real(*args, **kwargs)
        if when == "after" and calls == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, name, wrapper)


def main(argv: list[str]) -> int:
    """Arm the kill, then run the command line with the arguments after ``--``."""
    when, target, n, separator, *arguments = argv
    if separator != "--":
        raise SystemExit("killed_at: usage: WHEN MODULE:ATTRIBUTE N -- ARGUMENTS...")
    arm(when, target, int(n))
    from sim.cli import main as trainsim

    return trainsim(arguments)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
