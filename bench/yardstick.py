"""The benchmark's yardstick: the plainest SimPy model of a GPU fleet, failures and repairs only.

What it models: every GPU is one SimPy process that runs for an exponential time at the per-GPU
failure rate of the shipped scenarios, fails, spends a fixed repair time and runs again, until the
horizon. Nothing else: no job, no checkpoints, no restarts, no servers or spares. The rate is the
Llama 3 mix's GPU-scope causes (faulty GPU, HBM3, SRAM, GPU system processor, silent data
corruption, thermal interface: 268 of the 419 interruptions in 54 days on 16,384 H100s, Meta 2024,
table 5), so one GPU fails every 16,384 x 54 x 24 / 268 = 79,230 hours; the repair is the mix's
assumed 72 hours.

Why it is the yardstick: it is the model anyone would write first, and its cost grows with the
fleet, one process and at least one scheduled event per GPU. A trainsim replication simulates the
same fleet with the job on top, and ``bench_run.py`` requires it to take a fraction of this time,
both measured in the same run on the same machine, so that the ratio does not depend on the machine.

    python bench/yardstick.py --gpus 100000 --days 100 --seed 1

Prints one line: the wall time of building and running the model (imports excluded), in seconds,
then the number of failures.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Generator

import numpy as np
import simpy

#: Hours between failures of one GPU: the GPU-scope causes of Llama 3's table 5 (see above).
GPU_MTBF_HOURS = 16_384 * 54 * 24 / 268
#: Hours in repair after each failure: the Llama 3 mix's assumed repair time.
REPAIR_HOURS = 72.0


def gpu(
    env: simpy.Environment, rng: np.random.Generator, mtbf_s: float, repair_s: float, failures: list[float]
) -> Generator[simpy.Event, None, None]:
    """One GPU: up for an exponential time, then down for the fixed repair, over and over."""
    while True:
        yield env.timeout(rng.exponential(mtbf_s))
        failures.append(env.now)
        yield env.timeout(repair_s)


def simulate(gpus: int, days: float, seed: int, mtbf_hours: float, repair_hours: float) -> tuple[float, int]:
    """Build and run the fleet; its wall time in seconds and the number of failures."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    failures: list[float] = []
    for _ in range(gpus):
        env.process(gpu(env, rng, mtbf_hours * 3600.0, repair_hours * 3600.0, failures))
    env.run(until=days * 86400.0)
    return time.perf_counter() - start, len(failures)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpus", type=int, default=100_000, help="GPUs in the fleet")
    ap.add_argument("--days", type=float, default=100.0, help="simulated horizon")
    ap.add_argument("--seed", type=int, default=1, help="seed of the one random stream")
    ap.add_argument("--gpu-mtbf-hours", type=float, default=GPU_MTBF_HOURS, help="mean hours between failures")
    ap.add_argument("--repair-hours", type=float, default=REPAIR_HOURS, help="fixed hours in repair")
    a = ap.parse_args()
    seconds, failures = simulate(a.gpus, a.days, a.seed, a.gpu_mtbf_hours, a.repair_hours)
    print(f"{seconds:.3f} s, {failures} failures")


if __name__ == "__main__":
    main()
