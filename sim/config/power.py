"""The scenario section ``[power]``: what the cluster draws in each state, and what its swings are.

A job GPU draws a fraction of its TDP by what the job does: computing (``compute_fraction``),
blocked on a checkpoint write (``checkpoint_fraction``), or standing still (detecting, restarting,
waiting, maintenance: ``idle_fraction``); spare servers draw as idle GPUs, servers in repair draw
nothing. Every powered server adds its host (CPUs, memory, NICs, power supplies:
``host_watts_per_gpu`` per GPU), and the rest of the IT (storage, switches, optics, CPU nodes) is a
constant ``other_it_fraction`` of the cluster's IT power at full load. The defaults are
SemiAnalysis's (2024) breakdown of a 100k-H100 cluster: 700 W per GPU, a further ~575 W per GPU
in the server, and ~10% of IT power beyond the servers; idle power is assumed.

>>> Power().floor_fraction, Power(floor_fraction=0.6).smoothing
(0.0, True)
"""

from __future__ import annotations

from pydantic import Field

from sim.config.section import Section

#: The defaults' source, for docs and ``trainsim check``.
SOURCE = (
    'SemiAnalysis (2024), "100,000 H100 Clusters": 700 W per H100, ~575 W more per GPU in the server '
    "(CPUs, NICs, power supplies), ~10% of IT power beyond the servers; ~150 MW critical IT for 100k H100"
)


class Power(Section):
    """Power draw by state, ramps, smoothing and swings."""

    compute_fraction: float = Field(
        1.0, gt=0, le=1.5, description="GPU draw while computing, fraction of TDP (SemiAnalysis counts 700 W)"
    )
    checkpoint_fraction: float | None = Field(
        None, ge=0, le=1.5, description="GPU draw while blocked on a checkpoint write, fraction of TDP; none: idle"
    )
    idle_fraction: float = Field(
        0.1, ge=0, le=1.5, description="GPU draw while the job stands still or as a spare, fraction of TDP (assumed)"
    )
    host_watts_per_gpu: float = Field(
        575.0, ge=0, le=1e5, description="server draw besides its GPUs, per GPU, W (SemiAnalysis: ~575)"
    )
    other_it_fraction: float = Field(
        0.10, ge=0, lt=1, description="storage, switches, optics, CPU nodes: share of IT power at full load"
    )
    ramp_up_seconds: float = Field(
        0.0, ge=0, le=86400, description="GPUs reach their computing draw linearly over this time; 0: at once"
    )
    ramp_down_seconds: float = Field(
        0.0, ge=0, le=86400, description="the draw of GPUs that stop computing falls over this time; 0: at once"
    )
    floor_fraction: float = Field(
        0.0, ge=0, le=1.5, description="smoothing: job GPUs draw at least this fraction of TDP while not computing"
    )
    swing_threshold_mw: float = Field(10.0, gt=0, le=1e6, description="a swing is a fall of IT power larger than this")
    ramp_window_seconds: float = Field(
        1.0, gt=0, le=3600, description="fastest_ramp_mw_per_s: the largest change within a window this long"
    )

    @property
    def smoothing(self) -> bool:
        """Whether a power floor keeps the GPUs drawing while the job stands still."""
        return self.floor_fraction > 0
