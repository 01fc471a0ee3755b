"""Result folders: ``summary.json``, ``runs.parquet``, ``events.parquet`` and ``scenario.toml``.

Every file is written atomically (temporary file in the same folder, fsync, rename), and a whole
results folder is built beside its target and swapped in once complete (``sim.results.staging``),
so a folder with a ``summary.json`` is always complete and consistent. A run that fails or is
interrupted still leaves a ``summary.json`` (``"status": "failed"`` or ``"interrupted"``) with the
error, the scenario and the seed, so every result can be reproduced or debugged.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as d:
...     atomic_write_text(Path(d) / "a.txt", "hello")
...     (Path(d) / "a.txt").read_text(), sorted(p.name for p in Path(d).iterdir())
('hello', ['a.txt'])
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import re
import secrets
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sim.config.scenario import Scenario
from sim.config.version import VERSION

SUMMARY = "summary.json"
RUNS = "runs.parquet"
EVENTS = "events.parquet"
SCENARIO_COPY = "scenario.toml"
#: The power trace of every replication (``trainsim run`` without ``--no-power-trace``).
POWER = "power.parquet"
#: Files of a complete result folder, in the order they are written (summary last; the power trace is optional).
FILES = (SCENARIO_COPY, RUNS, EVENTS, SUMMARY)
#: Drawn from the result files afterwards (``trainsim plot``): the HTML report, and the charts by
#: name (``.png``, ``.svg`` on request) in the order the report shows them.
REPORT = "report.html"
CHARTS = (
    "waterfall",
    "failure_impact",
    "timeline",
    "power",
    "sweep_curve",
    "scale",
    "optimize",
    "compare_ledger",
    "compare_differences",
)
#: Files drawn from a results folder: a folder holding these beside its results is still a results folder.
DRAWN = frozenset({REPORT, *(f"{name}{suffix}" for name in CHARTS for suffix in (".png", ".svg"))})
#: Everything a ``trainsim run`` folder may hold.
RUN_FOLDER = frozenset({*FILES, POWER, *DRAWN})
#: The status words of a ``summary.json`` that records no results: a run or sweep that raised, or Ctrl-C.
FAILED, INTERRUPTED = "failed", "interrupted"


def default_out_dir(scenario: Scenario) -> Path:
    """Where ``trainsim run`` writes when no ``--out`` is given: ``results/<scenario name>``.

    >>> from sim.config.loading import load_scenario_text
    >>> default_out_dir(load_scenario_text('name = "tiny"\\n[cluster]\\ngpus = 8\\n[checkpoint]\\nwrite_seconds = 1'))
    PosixPath('results/tiny')
    """
    return Path("results") / scenario.name


def utc_now() -> str:
    """The current time as an ISO 8601 UTC timestamp, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------- atomic files

#: A temporary file or folder: ``.<name>.<pid>.<token>.tmp`` while process ``pid`` writes it, ``.old``
#: for the folder a swap replaced (``sim.results.staging``). The dot and the suffix keep it from ever
#: passing for a result file.
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>[0-9]+)\.(?P<token>[0-9a-f]{8})\.(?P<kind>tmp|old)")


def temporary_name(name: str) -> str:
    """A fresh temporary name for ``name``, owned by this process.

    >>> parse_temporary(temporary_name("runs.parquet"))[0] == "runs.parquet"
    True
    """
    return f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def parse_temporary(name: str) -> tuple[str, int, str, str] | None:
    """``(name, owner pid, token, kind)`` of a temporary name, or ``None`` for any other name.

    >>> parse_temporary(".out.4242.0a1b2c3d.old"), parse_temporary("out")
    (('out', 4242, '0a1b2c3d', 'old'), None)
    """
    m = _TEMPORARY.fullmatch(name)
    return None if m is None else (m["name"], int(m["pid"]), m["token"], m["kind"])


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success fsync it and rename it over ``path``.

    If the body raises, the temporary file is removed and ``path`` is left as it was. The
    temporary name starts with a dot and ends in ``.tmp`` so it never passes for a result file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / temporary_name(target.name)
    # Not mkstemp: its mode 0600 would survive the rename; 0666 lets the umask decide, as for open().
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def fsync_dir(folder: Path) -> None:
    """Make the renames in ``folder`` durable (where the platform can open a folder)."""
    # Some platforms cannot open a directory, which is harmless.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None``, so the JSON is strict.

    >>> json_safe({"a": [1.0, float("nan")], "b": float("inf")})
    {'a': [1.0, None], 'b': None}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def dumps(document: Mapping[str, Any], indent: int | None = None) -> str:
    """Strict JSON (no NaN or Infinity) of ``document``; other objects (TOML dates) as text."""
    return json.dumps(json_safe(document), indent=indent, allow_nan=False, default=str)


# ---------------------------------------------------------------- result folders


def provenance(scenario: Scenario, seed: int, started_utc: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """What every ``summary.json`` records to reproduce its results: scenario as resolved, seed, version."""
    doc: dict[str, Any] = {
        "scenario_resolved": scenario.model_dump(mode="json"),
        "seed": seed,
        "version": VERSION,
        "started_utc": started_utc,
    }
    if overrides:
        doc["overrides"] = dict(overrides)
    return doc


def failure_fields(error: BaseException) -> dict[str, Any]:
    """``status`` and ``error`` of a run or sweep that did not finish; an error also gets its traceback.

    >>> failure_fields(KeyboardInterrupt())
    {'status': 'interrupted', 'error': 'interrupted'}
    >>> failure_fields(ValueError("bad"))["status"]
    'failed'
    """
    if isinstance(error, KeyboardInterrupt):
        return {"status": INTERRUPTED, "error": INTERRUPTED}
    return {
        "status": FAILED,
        "error": f"{type(error).__name__}: {error}",
        "traceback": "".join(traceback.format_exception(error)),
    }


def failure_document(
    scenario: Scenario,
    seed: int,
    replications: int,
    error: BaseException,
    started_utc: str,
    overrides: Mapping[str, Any] | None = None,
    runtime_s: float | None = None,
) -> dict[str, Any]:
    """``summary.json`` of a run that raised or was interrupted: the error, with everything needed to rerun it."""
    doc: dict[str, Any] = failure_fields(error)
    doc.update({"scenario": scenario.name, "replications": replications})
    doc.update(provenance(scenario, seed, started_utc, overrides))
    doc["runtime_s"] = runtime_s
    return doc


def write_scenario_copy(folder: Path, scenario_text: str | bytes | None) -> None:
    """The scenario file as given, beside the results it produced (nothing when there is no file)."""
    if scenario_text is not None:
        data = scenario_text.encode("utf-8") if isinstance(scenario_text, str) else scenario_text
        atomic_write_bytes(folder / SCENARIO_COPY, data)


def write_summary(folder: Path, document: Mapping[str, Any]) -> Path:
    """Write ``summary.json`` (strict JSON, indented) into ``folder``; return its path."""
    summary = folder / SUMMARY
    atomic_write_text(summary, dumps(document, indent=2) + "\n")
    return summary
