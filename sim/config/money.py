"""The scenario sections about power and money: ``[energy]`` (power, and its price) and ``[cost]``
(owned hardware, amortised, or rented GPUs).

Owned hardware is ``cost.capex_usd`` written off over ``cost.amortization_years``; rented GPUs are
``cost.usd_per_gpu_hour`` for every job GPU and ``cost.usd_per_spare_node_hour`` for every spare
server, billed for every hour of the run whatever the GPUs do. Energy (``[energy]``) is priced on
top in both cases (a rental price usually includes power: leave ``energy.usd_per_kwh`` at 0 then).
``energy.capex_usd`` and ``energy.amortization_years`` are the older place of the two owned-hardware
keys: files that use them work as before.

>>> Cost(usd_per_gpu_hour=2.5).rented, Cost().rented
(True, False)
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sim.config.limits import MAX_TEXT_CHARS
from sim.config.section import Section, Text

#: The write-off period of owned hardware when no file says.
DEFAULT_AMORTIZATION_YEARS = 4.0


class Energy(Section):
    """Power, and its price."""

    it_watts_per_gpu: float | None = Field(
        None, gt=0, le=1e5, description="older power model: all-in IT W per GPU while computing; none: [power]"
    )
    idle_fraction: float = Field(
        0.5, ge=0, le=1, description="older power model: draw when not computing, fraction of it_watts_per_gpu"
    )
    pue: float = Field(1.0, ge=1, le=10, description="power usage effectiveness: facility power / IT power")
    usd_per_kwh: float = Field(0.0, ge=0, le=1000, description="electricity price, USD per kWh")
    usd_per_kwh_by_hour: tuple[Annotated[float, Field(ge=0, le=1000)], ...] | None = Field(
        None,
        min_length=24,
        max_length=24,
        strict=False,
        description="time-of-day prices, USD per kWh: 24 values, hour 0 = the run's first hour; none: usd_per_kwh",
    )
    capex_usd: float = Field(
        0.0, ge=0, le=1e15, description="older place of cost.capex_usd (still read; give one of the two)"
    )
    amortization_years: float = Field(
        DEFAULT_AMORTIZATION_YEARS,
        gt=0,
        le=100,
        description="older place of cost.amortization_years (still read; give one of the two)",
    )


class Cost(Section):
    """Money: owned hardware (capex, amortised over the run's time) or rented GPUs (a price per hour)."""

    capex_usd: float | None = Field(
        None,
        ge=0,
        le=1e15,
        description="owned: hardware cost, USD, amortised over amortization_years; none: energy.capex_usd (0)",
    )
    amortization_years: float | None = Field(
        None, gt=0, le=100, description="owned: write-off period of capex_usd, years; none: energy's (4)"
    )
    usd_per_gpu_hour: float = Field(
        0.0, ge=0, le=1e6, description="rented: price of a job GPU-hour, billed for every hour of the run"
    )
    usd_per_spare_node_hour: float = Field(
        0.0, ge=0, le=1e7, description="rented: price of a spare server-hour; 0: spares are the provider's"
    )
    source: Text = Field(
        "assumed", max_length=MAX_TEXT_CHARS, description="citation of the prices, or assumed; no control characters"
    )

    @property
    def rented(self) -> bool:
        """Whether the GPUs are rented (a price per hour) rather than owned."""
        return self.usd_per_gpu_hour > 0 or self.usd_per_spare_node_hour > 0
