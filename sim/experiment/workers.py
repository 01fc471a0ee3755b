"""Process pools whose workers die with their parent: the pools of ``run`` and of sweeps.

Nothing runs in a parent killed with SIGKILL, so it cannot stop its workers; each worker arms its
own end when it starts. A daemon thread waits on multiprocessing's sentinel of the parent process, a
pipe that closes when the parent dies (even before the worker started), and ends the worker. On
Linux the worker also asks the kernel for SIGTERM when the process that forked it dies
(``prctl(PR_SET_PDEATHSIG)``): that is the parent itself under the fork and spawn start methods, but
the fork server under forkserver, which lives as long as its workers do; there the thread decides.

Workers ignore Ctrl-C: it is the parent's to handle, and on any exception the pool stops its
workers at once instead of waiting for the replications they are running.

Where the platform has it, workers are forked from multiprocessing's fork server (a clean process
that has imported the engine once), never from this process: a child forked while another thread
here holds a lock (a progress bar refreshing, a pool being torn down) can hang before it runs a
line of its own, unarmed. The server costs about a second, once per process.

>>> with worker_pool(2) as pool:
...     sorted(pool.map(abs, [-2, 1]))
[1, 2]
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import wait
from multiprocessing.context import BaseContext

#: prctl's option that asks the kernel for a signal when the parent dies (linux/prctl.h).
_PR_SET_PDEATHSIG = 1
#: The exit status of a worker whose parent is gone, as if SIGTERM had ended it.
_ORPHANED = 128 + signal.SIGTERM
#: How long a terminated worker may take to end before it is killed.
_JOIN_S = 10.0
#: What the fork server imports once, so that its workers start with the engine loaded.
_PRELOAD = ["sim.experiment.executors"]


def context() -> BaseContext:
    """The multiprocessing context of the pools: the fork server where there is one, else the platform's default."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context()
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)  # no effect once the server runs
    return ctx


def die_with_parent() -> None:
    """Pool initializer: end this worker when its parent process ends; leave Ctrl-C to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        # Immediate, from the kernel, when the forking process (strictly: thread) ends; see the module's note.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        threading.Thread(target=_exit_when_closed, args=(parent.sentinel,), name="parent-watch", daemon=True).start()


def _exit_when_closed(sentinel: int) -> None:
    wait([sentinel])
    os._exit(_ORPHANED)


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool of ``workers`` workers that die with this process, stopped at once on any exception."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context(), initializer=die_with_parent)
    try:
        yield pool
    except BaseException:
        stop(pool)
        raise
    pool.shutdown(wait=True)


def stop(pool: ProcessPoolExecutor) -> None:
    """Cancel the pool's queued work and end its workers now, running replications included."""
    # Not 3.14's terminate_workers(): it leaves the half-message problem below. shutdown() drops the
    # pool's tables of workers and queues, so take them first (they have kept these names since 3.2).
    workers = list((getattr(pool, "_processes", None) or {}).values())
    results = getattr(pool, "_result_queue", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        with contextlib.suppress(OSError, ValueError):
            process.terminate()
    for process in workers:
        with contextlib.suppress(OSError, ValueError):
            process.join(timeout=_JOIN_S)
            if process.is_alive():
                process.kill()
                process.join()
    # A worker ended while sending its result leaves half a message in the result pipe, and the pool's
    # own thread would wait for the rest forever, keeping this process from exiting. With the workers
    # gone, this end is the last one open for writing: closing it turns that wait into an end of file.
    writer = getattr(results, "_writer", None)
    if writer is not None:
        writer.close()
