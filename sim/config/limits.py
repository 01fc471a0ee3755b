"""The limits on what a scenario and a run may ask for, in one place (no imports: the command line's
``--help`` reads them without loading the scenario model).

Sizes and durations are bounded so that one process can hold a run; work (events, grid points)
is bounded by defaults that a user can raise (``max_events``, ``max_points``).
"""

from __future__ import annotations

#: Every duration is at most ten years, whatever its unit.
MAX_DAYS = 3650.0
MAX_HOURS = MAX_DAYS * 24
MAX_MINUTES = MAX_HOURS * 60
MAX_SECONDS = MAX_MINUTES * 60
#: GPUs in the job, and servers in the fleet (job and spares).
MAX_GPUS = 10_000_000
MAX_NODES = 2_000_000
MAX_REPLICATIONS = 100_000
#: Seeds are stored as SQLite integers (signed 64 bits) in sweep results.
MAX_SEED = 2**63 - 1
#: Failure modes of a scenario, its preset's included.
MAX_MODES = 64
#: Failure clocks held at once (servers x clocks per server, 8 bytes each): about 400 MB.
MAX_CLOCKS = 50_000_000
MAX_MAINTENANCE_WINDOWS = 100_000
MAX_NAME_CHARS = 100
MAX_TEXT_CHARS = 1000

#: Expected events per replication above which a run is refused (``max_events``, ``--max-events``).
#: Two million interruptions of the job (a storm: a job-scope failure every 4.3 s over 100 days) take
#: about 25 s and 0.4 GB (the event log keeps its first rows only).
DEFAULT_MAX_EVENTS = 2_000_000
#: Points of a sweep grid, all parameters together, above which a sweep is refused (``max_points``).
DEFAULT_MAX_POINTS = 10_000
