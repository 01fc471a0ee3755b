"""Closed forms of the time to train a fixed amount of work under Daly's model: its mean and variance.

The job computes ``tau`` between checkpoints and writes each for ``delta``; failures are exponential
with mean ``M``; a failure anywhere (computing, writing, restarting) is noticed at once, and the job
restarts for ``R`` (a failure during a restart starts it over) and resumes from the last checkpoint.
To train ``W`` seconds of computing (per GPU), the job runs ``n = ceil(W / tau) - 1`` whole segments
of ``tau + delta`` and a last one of ``W - n tau`` computing and a final write: the run is done when
all the work is computed and saved.

A segment of length ``L`` is done after ``K`` failed attempts, ``K`` geometric with success
probability ``p = exp(-L/M)``; each failed attempt costs its failure time (exponential, cut at
``L``) plus a restart, itself a segment of length ``R`` whose failures cost nothing more. Segments
are independent (failures have no memory), so means and variances add:

    E[segment] = M exp(R/M) (exp(L/M) - 1)                       (Daly 2006)
    Var[segment] = E[K] Var[Z] + Var[K] E[Z]^2,  Z = failure time + restart

so that ``E[T] = W / ETTR_Daly`` exactly when ``W`` is a whole number of intervals.

>>> mean, var = segment_moments(3600.0, 600.0, 86400.0)
>>> round(mean, 6) == round(86400.0 * math.exp(600.0 / 86400.0) * math.expm1(3600.0 / 86400.0), 6)
True
>>> segment_moments(3600.0, 600.0, math.inf)
(3600.0, 0.0)
"""

from __future__ import annotations

import math


def _attempts(length: float, rate: float, restart_mean: float, restart_var: float) -> tuple[float, float]:
    """Mean and variance of the time to get ``length`` seconds without a failure (rate ``rate``),
    when each failure costs a restart of the given mean and variance on top."""
    if length <= 0 or rate <= 0:
        return max(length, 0.0), 0.0
    x = rate * length
    p = math.exp(-x)
    q = -math.expm1(-x)  # 1 - p, exact for small x
    k_mean = q / p
    k_var = q / (p * p)
    # A failure time, given that it falls before `length`: exponential cut at `length`.
    f_mean = 1.0 / rate - length * p / q
    f_m2 = (2.0 / rate**2 - p * (length**2 + 2.0 * length / rate + 2.0 / rate**2)) / q
    f_var = max(f_m2 - f_mean**2, 0.0)
    z_mean = f_mean + restart_mean
    z_var = f_var + restart_var
    return length + k_mean * z_mean, k_mean * z_var + k_var * z_mean**2


def segment_moments(length_s: float, restart_s: float, mtbf_s: float) -> tuple[float, float]:
    """Mean and variance of the wall time to complete a segment of ``length_s`` (computing and its
    checkpoint write), restarting for ``restart_s`` after each failure (mean time between failures ``mtbf_s``)."""
    rate = 0.0 if math.isinf(mtbf_s) else 1.0 / mtbf_s
    restart = _attempts(restart_s, rate, 0.0, 0.0)
    return _attempts(length_s, rate, *restart)


def completion_moments(
    work_s: float, interval_s: float, write_s: float, restart_s: float, mtbf_s: float
) -> tuple[float, float]:
    """Mean and variance of the time to compute ``work_s`` seconds and save it: whole segments of
    ``interval_s + write_s``, then the rest of the work and a final write.

    >>> m, _ = completion_moments(4 * 3600.0, 3600.0, 60.0, 600.0, 24 * 3600.0)
    >>> s, _ = segment_moments(3660.0, 600.0, 24 * 3600.0)
    >>> math.isclose(m, 4 * s)
    True
    """
    if work_s <= 0:
        return 0.0, 0.0
    whole = math.ceil(work_s / interval_s) - 1
    last = work_s - whole * interval_s
    seg_mean, seg_var = segment_moments(interval_s + write_s, restart_s, mtbf_s)
    last_mean, last_var = segment_moments(last + write_s, restart_s, mtbf_s)
    return whole * seg_mean + last_mean, whole * seg_var + last_var
