"""Plausibility warnings: settings that run but look wrong, and results that say the fleet is short of spares.

Each check is silent unless its case holds, and none refuses anything: a scenario may be meant that
way (a stress test, a what-if). ``run``, ``sweep`` and ``compare`` print each warning on stderr in
one line, and keep it in ``summary.json``. The thresholds are below, each with its source or marked
as a heuristic; docs/commands.md lists them.

>>> from sim.config.loading import load_scenario_text
>>> s = load_scenario_text('''name = "slip"
... [cluster]
... gpus = 1024
... [workload]
... mfu = 0.92
... [checkpoint]
... write_seconds = 60''')
>>> [f.kind for f in scenario_flags(s)]
['mfu']
>>> wait_flag(0.04) is None, wait_flag(0.25).kind
(True, 'wait')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.analysis.analytic import job_mtbf_seconds
from sim.analysis.memory import scenario_memory
from sim.config.actions import ACTIONS
from sim.results.formats import fmt_pct

if TYPE_CHECKING:
    from sim.config.scenario import Scenario

#: The job waits for spares or repairs more than this share of its time (issue 11's threshold).
WAIT_SHARE = 0.10
#: Heuristic: the highest MFUs published for large runs are PaLM's 46.2% (Chowdhery et al. 2022) and
#: MegaScale's 55.2% on 12,288 GPUs (Jiang et al. 2024); Llama 3 reports 38-43% (Meta 2024).
MAX_MFU = 0.75
#: A checkpoint leaves a GPU through its PCIe 5.0 x16 link, about 64 GB/s each way (PCI-SIG): more per
#: GPU from storage is not a storage system but a unit slip (MB/s typed as GB/s).
MAX_GB_PER_S_PER_GPU = 64.0
#: Heuristic: Llama 3's storage gave 16,384 GPUs 2-7 TB/s (Meta 2024), 120-430 MB/s per GPU; below
#: 1 MB/s per GPU (over 100 times less) the value is more likely TB/s typed as GB/s.
MIN_GB_PER_S_PER_GPU = 0.001
#: Heuristic: restarts take 5-20 minutes in Meta's research clusters (Kokolis et al. 2024); a fixed part
#: of more than two hours is more likely seconds typed as minutes.
MAX_RESTART_MINUTES = 120.0
#: Heuristic: Meta's research clusters see 2.34 and 6.5 failures per 1,000 node-days (Kokolis et al.
#: 2024), a server MTBF of 3,700 h or more; a server failing every 30 days (720 h) or sooner, five times
#: as often, more likely has the job's MTBF written as a per-GPU or per-server one.
MIN_SERVER_MTBF_HOURS = 720.0


@dataclass(frozen=True)
class Flag:
    """One plausibility warning: what it is about (``kind``, one per check) and its line of text."""

    kind: str
    text: str


def scenario_flags(scenario: Scenario) -> list[Flag]:
    """The warnings a scenario earns before it runs (memory, times against the job MTBF, unit slips)."""
    s = scenario
    out: list[Flag] = []
    memory = scenario_memory(s)
    text = None if memory is None else memory.warning()
    if text is not None:
        out.append(Flag("memory", text))
    out += _against_mtbf(s)
    if s.workload.mfu > MAX_MFU:
        out.append(
            Flag(
                "mfu",
                f"workload.mfu = {s.workload.mfu:g} is above any MFU published for a large run (PaLM 46%, "
                f"MegaScale 55%): MFU is the share of dense peak the model's arithmetic uses while computing",
            )
        )
    out += _bandwidths(s)
    if s.restart.fixed_minutes > MAX_RESTART_MINUTES:
        out.append(
            Flag(
                "restart_minutes",
                f"restart.fixed_minutes = {s.restart.fixed_minutes:g} ({s.restart.fixed_minutes / 60:.1f} h): "
                "restarts take 5-20 minutes in published clusters; seconds typed as minutes?",
            )
        )
    server = _server_mtbf_hours(s)
    if server < MIN_SERVER_MTBF_HOURS:
        out.append(
            Flag(
                "server_mtbf",
                f"a server fails every {server:,.3g} h on average (its GPU- and server-scope modes), more than "
                "five times as often as in Meta's clusters (3,700 h or more): is a mtbf_hours the job's MTBF "
                "rather than one GPU's or server's?",
            )
        )
    return out


def _against_mtbf(s: Scenario) -> list[Flag]:
    """A checkpoint write or a restart longer than the job MTBF: most of them never finish."""
    mtbf = job_mtbf_seconds(s)
    if math.isinf(mtbf):
        return []
    out = []
    if mtbf < s.write_seconds:
        what = "checkpoints never complete" if s.checkpoint.method == "sync" else "background writes are lost"
        out.append(
            Flag(
                "write_vs_mtbf",
                f"job MTBF ({mtbf / 60:.1f} min) is shorter than a checkpoint write ({s.write_seconds / 60:.1f} min): "
                f"most {what}",
            )
        )
    if mtbf < s.restart_seconds:
        out.append(
            Flag(
                "restart_vs_mtbf",
                f"job MTBF ({mtbf / 60:.1f} min) is shorter than a restart ({s.restart_seconds / 60:.1f} min): "
                "most restarts never finish",
            )
        )
    return out


def _bandwidths(s: Scenario) -> list[Flag]:
    """Storage bandwidths that are used (no write time given; loads at restart) and look like a unit slip."""
    out = []
    used = (
        ("write_gb_per_s", s.storage.write_gb_per_s, s.checkpoint.write_seconds is None),
        ("read_gb_per_s", s.storage.read_gb_per_s, s.restart.load_checkpoint),
    )
    for key, value, in_use in used:
        if value is None or not in_use:
            continue
        per_gpu = value / s.cluster.gpus
        if per_gpu > MAX_GB_PER_S_PER_GPU:
            out.append(
                Flag(
                    key,
                    f"storage.{key} = {value:,.4g} gives each of {s.cluster.gpus:,} GPUs {per_gpu:,.3g} GB/s, more "
                    f"than its PCIe 5.0 x16 link carries (about 64 GB/s): MB/s typed as GB/s?",
                )
            )
        elif per_gpu < MIN_GB_PER_S_PER_GPU:
            out.append(
                Flag(
                    key,
                    f"storage.{key} = {value:,.4g} gives each of {s.cluster.gpus:,} GPUs {per_gpu * 1e3:.3g} MB/s, "
                    "over 100 times less than Llama 3's storage gave (120-430 MB/s per GPU): TB/s typed as GB/s?",
                )
            )
    return out


def _server_mtbf_hours(s: Scenario) -> float:
    """Mean hours between failures of one server, all its GPU- and server-scope modes together."""
    per_server = {"gpu": s.cluster.gpus_per_node, "node": 1}
    # Stragglers slow a server down without taking it out: not failures here, as in the job MTBF.
    modes = [m for m in s.modes if m.scope in per_server and ACTIONS[m.action].stops_job]
    rate = sum(per_server[m.scope] / m.mtbf_hours for m in modes)
    return math.inf if rate == 0 else 1.0 / rate


def wait_flag(fraction_wait: float, spares: int | None = None) -> Flag | None:
    """The job waited for spares or repairs more than ``WAIT_SHARE`` of its time (mean over replications).

    >>> wait_flag(0.3, spares=16).text.split(": ")[0]
    'the job waits for spare servers or repairs 30.0% of the time (more than 10%)'
    """
    if not fraction_wait > WAIT_SHARE:
        return None
    now = "" if spares is None else f" (now {spares:,})"
    share = f"{fmt_pct(fraction_wait)} of the time (more than {WAIT_SHARE:.0%})"
    return Flag("wait", f"{_WAITS} {share}: {_ADVICE.format(now)}")


_WAITS = "the job waits for spare servers or repairs"
_ADVICE = "add spares with cluster.spare_nodes{} or speed up repairs"


def wait_line(hits: list[tuple[str, float]], fixed_spares: int | None = None) -> str:
    """The wait warning of several points (``(label, mean fraction_wait)``), each with its share.

    ``fixed_spares``: the spares when the cluster grows along the points but the spares do not.

    >>> wait_line([("cluster.gpus=65536", 0.23), ("cluster.gpus=131072", 0.41)], fixed_spares=16).split(" at ")[1][:54]
    'cluster.gpus=65536 (23.0%), cluster.gpus=131072 (41.0%'
    """
    where = ", ".join(f"{label} ({fmt_pct(share)})" for label, share in hits[:MAX_WAIT_NAMED])
    if len(hits) > MAX_WAIT_NAMED:
        where += f" and {len(hits) - MAX_WAIT_NAMED} more points"
    line = f"{_WAITS} more than {WAIT_SHARE:.0%} of the time at {where}: {_ADVICE.format('')}"
    if fixed_spares is not None:
        line += f"; cluster.spare_nodes stays {fixed_spares:,} at every point while cluster.gpus grows"
    return line


def grouped(per_point: list[tuple[str, list[Flag]]]) -> list[str]:
    """One line per kind of warning over the points of a sweep or the scenarios of a comparison.

    A warning with the same text at every point is about none of them, and is given as it is; else
    the line names where it holds, and gives the figures of the first of them.

    >>> a, b = Flag("mfu", "mfu high"), Flag("memory", "needs 90 GB")
    >>> grouped([("x=1", [a, b]), ("x=2", [a])])
    ['mfu high', 'at x=1: needs 90 GB']
    >>> grouped([("x=1", [Flag("memory", "needs 90 GB")]), ("x=2", [Flag("memory", "needs 180 GB")])])
    ['at every point (figures of x=1): needs 90 GB']
    """
    by_kind: dict[str, list[tuple[str, Flag]]] = {}
    for label, flags in per_point:
        for f in flags:
            by_kind.setdefault(f.kind, []).append((label, f))
    out = []
    for hits in by_kind.values():
        first_label, first = hits[0]
        everywhere = len(hits) == len(per_point)
        if everywhere and len({f.text for _, f in hits}) == 1:
            out.append(first.text)
        elif len(hits) == 1:
            out.append(f"at {first_label}: {first.text}")
        else:
            shown = [label for label, _ in hits[:MAX_NAMED]]
            more = f" and {len(hits) - MAX_NAMED} more" if len(hits) > MAX_NAMED else ""
            where = "every point" if everywhere else "; ".join(shown) + more
            out.append(f"at {where} (figures of {first_label}): {first.text}")
    return out


#: Points a grouped warning names before it says "and N more" (the wait warning names more: it is about them).
MAX_NAMED = 4
MAX_WAIT_NAMED = 8


def points_warnings(points: list[tuple[str, Scenario, float]], fixed_spares: int | None = None) -> list[str]:
    """The warnings of the points of a sweep (or the scenarios of a comparison), one line per kind.

    ``points``: each point's label, scenario and mean ``fraction_wait``; ``fixed_spares`` as ``wait_line``.
    """
    lines = grouped([(label, scenario_flags(s)) for label, s, _ in points])
    waits = [(label, share) for label, _, share in points if wait_flag(share) is not None]
    if waits:
        lines.append(wait_line(waits, fixed_spares))
    return lines
