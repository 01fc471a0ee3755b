"""Sweep grids: parameter values as typed (lists, ranges, log ranges), their combinations, and every point
validated, its work included, before any runs.

>>> parse_param("checkpoint.interval_minutes=5,10,20")
('checkpoint.interval_minutes', [5, 10, 20])
>>> parse_param("checkpoint.interval_minutes=5:20:5")[1]
[5, 10, 15, 20]
>>> parse_param("checkpoint.interval_minutes=log:5:240:5")[1]
[5.0, 13.16, 34.64, 91.18, 240.0]

The size of a grid is known before its values are built, and a grid above ``max_points`` points
(``DEFAULT_MAX_POINTS``) is refused before any of it is:

>>> parse_values("1:1e12:1")
Traceback (most recent call last):
...
sim.config.errors.SweepError: range '1:1e12:1': 1e+12 values, above the limit of 10,000 points
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sim.analysis.analytic import interval_seconds
from sim.analysis.work import DEFAULT_MAX_EVENTS, check_work
from sim.config.errors import ScenarioError, SweepError, WorkLimitError, clip_key, shown
from sim.config.limits import DEFAULT_MAX_POINTS
from sim.config.loading import parse_value, with_overrides
from sim.config.scenario import Scenario

Point = dict[str, Any]


#: Significant digits of log-spaced values: readable column values, exact endpoints.
LOG_DIGITS = 4

def parse_values(text: str, max_points: int = DEFAULT_MAX_POINTS) -> list[Any]:
    """A parameter's values: ``V1,V2,...``, a range ``LO:HI:STEP`` or a log range ``log:LO:HI:N``.

    Range ends and steps are finite numbers; more than ``max_points`` values are refused before
    they are built.
    """
    text = text.strip()
    if not text:
        raise SweepError("no values (expected V1,V2,... or LO:HI:STEP or log:LO:HI:N)")
    values: list[Any]
    if text.startswith("log:"):
        parts = text[4:].split(":")
        if len(parts) != 3:
            raise SweepError(f"log range {shown(text)}: expected log:LO:HI:N")
        lo, hi, n = (_number(p, text) for p in parts)
        if not (lo > 0 and hi > lo and n >= 2 and float(n).is_integer()):
            raise SweepError(f"log range {shown(text)}: needs 0 < LO < HI and a whole N >= 2")
        _check_count(n, text, max_points)
        inner = [float(f"{v:.{LOG_DIGITS}g}") for v in np.geomspace(lo, hi, int(n))[1:-1]]
        return [float(lo), *inner, float(hi)]
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise SweepError(f"range {shown(text)}: expected LO:HI:STEP")
        lo, hi, step = (_number(p, text) for p in parts)
        if not (step > 0 and hi >= lo):
            raise SweepError(f"range {shown(text)}: needs STEP > 0 and HI >= LO")
        count = (hi - lo) / step + 1  # a float: inf for a step too small to count, which is refused
        _check_count(count, text, max_points)
        n = math.floor((hi - lo) / step + 1e-9) + 1
        whole = all(isinstance(x, int) for x in (lo, hi, step))
        return [lo + i * step if whole else round(lo + i * step, 12) for i in range(n)]
    _check_count(text.count(",") + 1, text, max_points)
    values = [parse_value(v.strip()) for v in text.split(",")]
    if any(v == "" for v in values):
        raise SweepError(f"values {shown(text)}: an empty value")
    return values


def _check_count(count: float, text: str, max_points: int) -> None:
    if count > max_points:
        what = "values" if ":" not in text else ("log range" if text.startswith("log:") else "range")
        many = f"{count:,.0f}" if count < 1e9 else f"{count:.3g}"
        message = f"{what} {shown(text)}: {many} values, above the limit of {max_points:,} points"
        raise SweepError(message, limit="max_points")


def _number(text: str, whole: str) -> int | float:
    value = parse_value(text.strip())
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SweepError(f"{shown(whole)}: {shown(text)} is not a finite number")
    if isinstance(value, int) and abs(value) > 2**53:
        raise SweepError(f"{shown(whole)}: {shown(value)} is too large for a range")
    return value


def parse_param(text: str, max_points: int = DEFAULT_MAX_POINTS) -> tuple[str, list[Any]]:
    """Split ``KEY=VALUES`` into the key and its values (see ``parse_values``)."""
    key, sep, values = text.partition("=")
    if not sep or not key.strip():
        raise SweepError(
            f"{shown(text)}: expected KEY=V1,V2,... e.g. checkpoint.interval_minutes=5,10,20", "params"
        )
    key = key.strip()
    try:
        return key, parse_values(values, max_points)
    except SweepError as e:
        raise SweepError(f"{clip_key(key)}: {e}", "params", e.limit) from None




def grid(params: Mapping[str, Sequence[Any]]) -> list[Point]:
    """Every combination of the parameters' values, the first parameter varying slowest."""
    keys = list(params)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(params[k] for k in keys))]


def point_key(point: Point) -> str:
    """A point's identity in the results store: its parameters as canonical JSON."""
    return json.dumps(point, sort_keys=True)


def build_points(
    scenario: Scenario,
    params: Mapping[str, Sequence[Any]],
    max_points: int = DEFAULT_MAX_POINTS,
    max_events: float = DEFAULT_MAX_EVENTS,
) -> list[tuple[Point, Scenario]]:
    """Validate every point, and the work each costs, before any work starts; errors name the key and the value.

    The grid's size is the product of the value counts: above ``max_points`` it is refused before
    it is built. A point whose replications expect more than ``max_events`` events each is refused
    with a ``WorkLimitError`` (a ``ScenarioError``, as ``sim.run`` raises; see ``sim.analysis.work``).
    """
    if not params:
        raise SweepError("nothing to sweep: give at least one parameter and its values", "params")
    size = 1
    for key, values in params.items():
        if not values:
            raise SweepError(f"{clip_key(key)}: no values", "params")
        _check_values(key, values)
        size *= len(values)
    if size > max_points:
        counts = " x ".join(str(len(v)) for v in params.values())
        raise SweepError(f"a grid of {counts} = {size:,} points, above the limit of {max_points:,}", limit="max_points")
    out = []
    for point in grid(params):
        try:
            s = with_overrides(scenario, point)
            interval_seconds(s)
            check_work(s, max_events)
        except WorkLimitError as e:
            raise WorkLimitError(f"{describe_point(point)}: {e}", "params") from None
        except ScenarioError as e:
            raise SweepError(f"{describe_point(point)}: {e}", "params") from None
        out.append((point, s))
    return out


def _check_values(key: str, values: Sequence[Any]) -> None:
    """One parameter's values: plain scalars of one type (ints and floats mix), each once."""
    kinds = set()
    for v in values:
        if not isinstance(v, bool | int | float | str):
            raise SweepError(f"{clip_key(key)}: {shown(v)} is not a number, a string or a boolean", "params")
        kinds.add("number" if isinstance(v, int | float) and not isinstance(v, bool) else type(v).__name__)
    if len(kinds) > 1:
        # A results column holds one type: mixed values would fail only when the results are written.
        mixed = ", ".join(sorted(kinds))
        raise SweepError(f"{clip_key(key)}: values of mixed types ({mixed}); give one type", "params")
    if len(set(map(repr, values))) != len(values):
        raise SweepError(f"{clip_key(key)}: repeated values in {shown(list(values))}", "params")


def describe_point(point: Point) -> str:
    return " ".join(f"{clip_key(k)}={shown(v)}" for k, v in point.items())
