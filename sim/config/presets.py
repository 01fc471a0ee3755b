"""Shipped failure mixes, as plain data that the scenario model validates.

Llama 3 (Meta, "The Llama 3 Herd of Models", 2024, section 3.3.4, table 5): in a 54-day snapshot of
pre-training on 16,384 H100 GPUs (2,048 eight-GPU servers) there were 419 unexpected interruptions.
Each root-cause count becomes a mean time between failures *per instance of the mode's scope*, so the
mix scales with the fleet it is applied to:

    mtbf_hours = instances x 54 days x 24 h / count

with 16,384 instances for a GPU-scope mode, 2,048 for a node-scope mode and 1 for a job-scope mode.
Which scope a cause gets:

- ``gpu``: faults inside one GPU (faulty GPU, HBM3, SRAM, GPU system processor, thermal interface,
  silent data corruption): more GPUs, proportionally more of them.
- ``node``: parts of the host (NIC, SSD, power supply, chassis, IO board, CPU, memory), host
  maintenance, and network switch/cable (until switch scope exists, a cable fault takes one server
  off the fabric).
- ``job``: software bugs, NCCL watchdog timeouts and dependency failures: they belong to the job's
  code, so they do not scale with the number of GPUs (a simplification; see the README).

Hardware modes take the server out (``replace``); job-scope modes restart in place (``restart``).
Repair times and detection delays are *not* in the paper and are marked assumed, except the NCCL
watchdog timeout, whose detection delay is PyTorch's default process-group timeout for NCCL
(10 minutes, ``torch.distributed.init_process_group`` documentation).

>>> modes = llama3_modes()
>>> sum(LLAMA3_COUNTS.values())
419
>>> next(m for m in modes if m["name"] == "faulty GPU")["mtbf_hours"] == 16384 * 54 * 24 / 148
True
"""

from __future__ import annotations

from typing import Any

LLAMA3_SOURCE = "Meta, The Llama 3 Herd of Models (2024), table 5: 54 days, 16,384 H100"
LLAMA3_DAYS = 54.0
LLAMA3_GPUS = 16_384
LLAMA3_NODES = 2_048

#: Unexpected interruptions by root cause over the 54-day snapshot (table 5 of the paper).
LLAMA3_COUNTS: dict[str, int] = {
    "faulty GPU": 148,
    "GPU HBM3 memory": 72,
    "software bug": 54,
    "network switch/cable": 35,
    "host maintenance": 32,
    "GPU SRAM memory": 19,
    "GPU system processor": 17,
    "NIC": 7,
    "NCCL watchdog timeout": 7,
    "silent data corruption": 6,
    "GPU thermal interface/sensor": 6,
    "SSD": 3,
    "power supply": 3,
    "server chassis": 2,
    "IO expansion board": 2,
    "dependency": 2,
    "CPU": 2,
    "system memory": 2,
}

_SCOPE: dict[str, str] = {
    "faulty GPU": "gpu",
    "GPU HBM3 memory": "gpu",
    "GPU SRAM memory": "gpu",
    "GPU system processor": "gpu",
    "silent data corruption": "gpu",
    "GPU thermal interface/sensor": "gpu",
    "software bug": "job",
    "NCCL watchdog timeout": "job",
    "dependency": "job",
}

#: Assumed: a server pulled for a hardware fault is back, repaired or swapped, after three days.
LLAMA3_REPAIR_HOURS = 72.0
#: PyTorch's default NCCL process-group timeout: a hang is noticed after this long.
NCCL_TIMEOUT_MINUTES = 10.0

_INSTANCES = {"gpu": LLAMA3_GPUS, "node": LLAMA3_NODES, "job": 1}


def llama3_modes() -> list[dict[str, Any]]:
    """The Llama 3 mix as ``[[failure]]`` tables (dicts), one per root cause."""
    modes: list[dict[str, Any]] = []
    for name, count in LLAMA3_COUNTS.items():
        scope = _SCOPE.get(name, "node")
        mode: dict[str, Any] = {
            "name": name,
            "scope": scope,
            "mtbf_hours": _INSTANCES[scope] * LLAMA3_DAYS * 24.0 / count,
            "distribution": "exponential",
            "source": f"{LLAMA3_SOURCE}: {count} interruptions; per-{scope} rate",
        }
        if scope == "job":
            mode["action"] = "restart"
        else:
            mode["action"] = "replace"
            mode["repair_hours"] = LLAMA3_REPAIR_HOURS
            mode["source"] += f"; repair {LLAMA3_REPAIR_HOURS:g} h assumed"
        if name == "NCCL watchdog timeout":
            mode["detect_minutes"] = NCCL_TIMEOUT_MINUTES
            mode["source"] += "; detection = PyTorch default NCCL timeout (10 min)"
        modes.append(mode)
    return modes


PRESETS = {"llama3": llama3_modes}


def preset_modes(name: str) -> list[dict[str, Any]]:
    """The failure modes of preset ``name``; ``KeyError`` lists the presets."""
    try:
        return PRESETS[name]()
    except KeyError:
        raise KeyError(f"unknown failure preset {name!r} (known: {', '.join(PRESETS)})") from None
