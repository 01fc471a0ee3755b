"""Benchmark: one replication of the 100k-GPU scenario against the plain-SimPy yardstick.

The yardstick (``../shared/bench/simpy_per_gpu_baseline.py``) spends one SimPy process per GPU
on nothing but failures and repairs. A trainsim replication of the same fleet, job and all, must
take at most a quarter of its time, at 100,000 and at 1,000,000 GPUs, and stay under 2 GB of peak
memory. Both are measured here, in the same run, on the same machine, so the ratio is what counts.

    .venv/bin/python bench/bench_run.py [--repeat 3]

Each trainsim measurement runs in a fresh child process (imports excluded from its time) so that
its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
YARDSTICK = ROOT.parent / "shared" / "bench" / "simpy_per_gpu_baseline.py"
SCENARIO = ROOT / "scenarios" / "h100_100k.toml"
MAX_RATIO = 0.25
MAX_PEAK_MB = 2048.0


def child(gpus: int, seed: int) -> None:
    """Time one replication in this process and print a JSON line with time and peak memory."""
    import sim

    scenario = sim.load_scenario(SCENARIO, overrides={"cluster.gpus": gpus})
    start = time.perf_counter()
    result = sim.run(scenario, replications=1, seed=seed)
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    m = result.replications[0].metrics
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, "ettr": m["ettr"], "interruptions": m["interruptions"]}))


def trainsim(gpus: int, seed: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(gpus), "--seed", str(seed)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def yardstick(gpus: int, days: float, seed: int) -> float:
    out = subprocess.run(
        [sys.executable, str(YARDSTICK), "--gpus", str(gpus), "--days", str(days), "--seed", str(seed)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.match(r"([\d.]+) s", out.strip())
    if not match:
        raise RuntimeError(f"unexpected yardstick output: {out!r}")
    return float(match.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="measurements per size; the median counts")
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated GPU counts")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.child:
        child(a.child, a.seed)
        return 0
    if not YARDSTICK.exists():
        print(f"bench: yardstick not found at {YARDSTICK}", file=sys.stderr)
        return 2
    ok = True
    print(f"{'GPUs':>10} {'yardstick s':>12} {'trainsim s':>11} {'ratio':>7} {'peak MB':>8} {'ETTR':>6}  verdict")
    for gpus in (int(x) for x in a.sizes.split(",")):
        ys, ts, peaks, ettr = [], [], [], 0.0
        for r in range(a.repeat):
            # Alternate the two so that load on a shared machine hits both alike.
            ys.append(yardstick(gpus, 100.0, a.seed + r))
            t = trainsim(gpus, a.seed + r)
            ts.append(t["seconds"])
            peaks.append(t["peak_mb"])
            ettr = t["ettr"]
        y, s = statistics.median(ys), statistics.median(ts)
        ratio = s / y
        good = ratio <= MAX_RATIO and max(peaks) <= MAX_PEAK_MB
        ok = ok and good
        verdict = "ok" if good else f"FAIL (ratio must be <= {MAX_RATIO}, peak <= {MAX_PEAK_MB:.0f} MB)"
        print(f"{gpus:>10,} {y:>12.3f} {s:>11.3f} {ratio:>7.3f} {max(peaks):>8.0f} {ettr:>6.3f}  {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
