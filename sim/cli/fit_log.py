"""How ``trainsim fit`` reads its log: the layout options, times given as options, and what it says about rows.

>>> log_columns("event_time", "fault_type.Class", "node_id", None, "event_type", "start,end", TimeUnit.days,
...             "2024-03-30").origin.isoformat()
'2024-03-30T00:00:00+00:00'
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from pathlib import Path
from typing import TYPE_CHECKING

from sim.cli.app import BadInput
from sim.config.errors import shown

if TYPE_CHECKING:
    from sim.analysis.fleet_fit import FleetFit
    from sim.analysis.incidents import IncidentLog, LogColumns


class TimeUnit(enum.StrEnum):
    """What a numeric time of the log counts (``--time-unit``)."""

    days = "days"
    hours = "hours"
    minutes = "minutes"
    seconds = "seconds"


def time_option(name: str, text: str, columns: LogColumns | None = None) -> dt.datetime:
    """An ISO 8601 time, or with ``--time-unit`` a number of units from ``--time-origin``."""
    from sim.analysis.incidents import parse_time

    try:
        return parse_time(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if columns is not None and math.isfinite(number):
        if columns.time_unit is None:
            raise BadInput(f"{name} {shown(text)}: a number needs --time-unit (days, hours, minutes or seconds)")
        try:
            return columns.when(number)
        except ValueError:
            raise BadInput(f"{name} {shown(text)}: out of range from --time-origin") from None
    raise BadInput(f"{name} {shown(text)}: not an ISO 8601 time, e.g. 2024-07-01T00:00:00Z") from None


def log_columns(
    time: str, cause: str, node: str, end: str | None, event: str | None, values: str, unit: TimeUnit | None,
    origin: str | None,
) -> LogColumns:  # fmt: skip
    """The log's layout from the options (names checked against the file when it is read)."""
    from sim.analysis.incidents import EPOCH, LogColumns

    if event is not None and end is not None:
        raise BadInput("--end-column: not with --event-column (ends are the event column's end rows)")
    words = [w.strip() for w in values.split(",")]
    if len(words) != 2 or not all(words) or words[0].lower() == words[1].lower():
        raise BadInput(f"--event-values {shown(values)}: two different words, START,END (e.g. fault_start,fault_end)")
    for option, name in (("--time-column", time), ("--cause-column", cause), ("--node-column", node),
                         ("--end-column", end), ("--event-column", event)):  # fmt: skip
        if name is not None and not name.strip():
            raise BadInput(f"{option}: empty column name")
    t0 = EPOCH if origin is None else time_option("--time-origin", origin)
    return LogColumns(time, cause, node, end or "end", event, (words[0], words[1]),
                      None if unit is None else unit.value, t0)  # fmt: skip


def log_warnings(log: Path, data: IncidentLog, hours: float, skip_bad: bool) -> list[str]:
    """Warnings about the rows (refusing bad ones unless ``skip_bad``); printed once the fit has worked."""
    from sim.analysis.incidents import describe_lines

    out: list[str] = []
    if data.bad:
        n = len(data.bad)
        listed = f"{n} bad row{'s' if n != 1 else ''}: {describe_lines(data.bad, unit=data.unit)}"
        if not skip_bad:
            raise BadInput(f"{log}: {listed} (fix them, or pass --skip-bad to fit without them)")
        out.append(f"warning: {log}: skipped {listed}")
    if data.duplicates:
        lines = ", ".join(str(line) for line in data.duplicates[:10])
        more = "..." if len(data.duplicates) > 10 else ""
        out.append(f"warning: {log}: dropped {len(data.duplicates)} repeated rows ({data.unit}s {lines}{more})")
    if not data.within(hours):
        skipped = f" ({len(data.bad)} bad rows skipped)" if data.bad else ""
        raise BadInput(f"{log}: no usable incidents to fit{skipped}")
    outside = len(data.incidents) - len(data.within(hours))
    if outside:
        out.append(f"{log}: {plural_rows(outside)} outside the window (before it they can hold a node down at its "
                   "start; after it they serve --check-end)")  # fmt: skip
    return out


def plural_rows(n: int) -> str:
    return f"{n:,} fault{'' if n == 1 else 's'}"


def fit_notes(log: Path, fit: FleetFit, unit: str) -> list[str]:
    h = fit.histories
    out = []
    if h.secondary_lines:
        lines = ", ".join(str(x) for x in h.secondary_lines[:10]) + ("..." if len(h.secondary_lines) > 10 else "")
        out.append(f"warning: {log}: {plural_rows(len(h.secondary_lines))} started while their node was already "
                   f"down ({unit}s {lines}): counted as faults, no exposure or downtime twice")  # fmt: skip
    if h.open_repairs:
        out.append(f"{log}: {plural_rows(h.open_repairs)} still in repair at the window end (censored repair times)")
    return out
