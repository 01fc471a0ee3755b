"""Fuzz: mutated shipped scenarios and option strings through the whole command line, in process.

Each case mutates a shipped scenario file (``scenarios/*.toml``: keys deleted, duplicated or moved to
another table, values swapped for another type, extreme numbers, long or unicode or control-character
strings, tables and arrays where values belong) or an option string (``--set``, ``--param``,
``--range``, ``trainsim fit``'s arguments and log, ``--out``), and runs it through ``sim.cli.main``.
Every case must end in exit 0 or exit 2; exit 2 prints exactly one line on stderr, under 500
characters; nothing prints a traceback; and a ``check`` or ``run`` that succeeds reports finite
numbers, not nulls.

Cases stay small: runs get a horizon of an hour or so, one replication, a handful of grid points and
a low ``--max-events``. Hypothesis draws them from a fixed seed (``derandomize``), so a run of the
suite sees the same cases every time: ``make test`` runs ``FAST`` of them, ``make test-all`` ``FULL``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.config.scenario import FailureMode, Scenario

FAST, FULL = 40, 1200
SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.toml"))
TEXTS = [p.read_text(encoding="utf-8") for p in SCENARIOS]

#: Every run-like case is small, whatever the mutation: these options come after the mutated ones.
SMALL = ["--set", "run.duration_days=0.04", "--set", "run.replications=1", "--max-events", "20000"]
MAX_LINE = 500

# ---------------------------------------------------------------- values


def _dotted_keys() -> list[str]:
    keys = []
    for section, info in Scenario.model_fields.items():
        model = info.annotation
        if isinstance(model, type) and hasattr(model, "model_fields"):
            keys += [f"{section}.{k}" for k in model.model_fields]
        elif section != "failure":
            keys.append(section)
    keys += [f"failure.{i}.{k}" for i in (0, 1, 7) for k in FailureMode.model_fields]
    return keys


KEYS = _dotted_keys()
NUMBERS = [
    "0", "-1", "1", "0.5", "-0.0", "1e-300", "1e300", "inf", "-inf", "nan", "1e-9", "2e9", "1e6", "100000",
    str(2**63), str(10**30), "9" * 5000, "1" + "0" * 4000, "0x10", "1_000",
]  # fmt: skip
SWAPS = [
    '"100000"', '" 42 "', "true", "false", "[]", "[1, 2]", "{}", "{a = 1}", '"daly"', '""',
    "1979-05-27T07:32:00Z", "07:32:00", "[[1]]", '["x", 1]',
]  # fmt: skip
STRINGS = [
    '"' + "x" * 5000 + '"', '"Ω≈ç√∫ 🚀 ünïcödé"', '"\\u001b[31mred\\u001b[0m"', '"[/x] [bold]"', '"a\\nb"',
    '"\\u0000nul"', '"tab\\there"', '"../../etc"', '"a" ', '"\u202eevil"',
]  # fmt: skip
RAW = ["x" * 300, "", " ", "=", "'unterminated", "a\nb", "\x00", "\x1b[2J", "[", "{", "1,2", "🚀"]
#: Ordinary values, so that some mutations are valid and reach the simulation.
PLAIN = ["1", "2", "8", "10", "0.5", "0.1", "100", "1000", "30.0", '"daly"', '"async"', '"weibull"', '"job"', "true"]
VALUES = st.sampled_from(PLAIN) | st.sampled_from(NUMBERS + SWAPS + STRINGS)
ANY_TEXT = st.sampled_from(PLAIN) | st.sampled_from(NUMBERS + SWAPS + STRINGS + RAW) | st.text(max_size=30)

# ---------------------------------------------------------------- scenario files


def _assignment_lines(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if "=" in line and not line.lstrip().startswith(("#", "["))]


def _header_lines(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if line.lstrip().startswith("[")]


@st.composite
def mutated_file(draw: st.DrawFn) -> str:
    """A shipped scenario with one to three mutations of its lines."""
    lines = draw(st.sampled_from(TEXTS)).splitlines()
    for _ in range(draw(st.integers(1, 3))):
        keys, headers = _assignment_lines(lines), _header_lines(lines)
        op = draw(st.sampled_from(["value", "value", "value", "delete", "duplicate", "move", "header", "add", "raw"]))
        if op in ("value", "delete", "duplicate", "move") and keys:
            i = draw(st.sampled_from(keys))
            key = lines[i].split("=", 1)[0].strip()
            if op == "value":
                lines[i] = f"{key} = {draw(VALUES)}"
            elif op == "delete":
                del lines[i]
            elif op == "duplicate":
                lines.insert(i + 1, lines[i])
            elif headers:  # a key into another table: wrong nesting
                line = lines.pop(i)
                j = draw(st.sampled_from(_header_lines(lines)))
                lines.insert(j + 1, line)
        elif op == "header" and headers:
            i = draw(st.sampled_from(headers))
            name = lines[i].strip().strip("[]")
            headers_instead = [f"[[{name}]]", f"[{name}]]", f"[{name}.sub]", "[failure]", "[run]", "[x]"]
            lines[i] = draw(st.sampled_from(headers_instead))
        elif op == "add":
            where = draw(st.integers(0, len(lines)))
            key = draw(st.sampled_from([k.rsplit(".", 1)[-1] for k in KEYS] + ["unknown", "x" * 200, "ключ"]))
            lines.insert(where, f"{key} = {draw(VALUES)}")
        else:
            where = draw(st.integers(0, len(lines)))
            lines.insert(where, draw(st.sampled_from(RAW)))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- cases


@dataclass
class Case:
    """One command line, and the files it needs (names relative to a fresh folder, which is the cwd)."""

    argv: list[str]
    files: dict[str, str | bytes] = field(default_factory=dict)
    json_out: bool = False


@st.composite
def scenario_case(draw: st.DrawFn) -> Case:
    text = draw(mutated_file())
    command = draw(st.sampled_from(["check", "check", "run"]))
    json_out = draw(st.integers(0, 3)) > 0  # and the text reports, now and then
    argv = [command, "scenario.toml", "-f", "json" if json_out else "text"]
    if command == "run":
        argv += ["-q", "--no-plots", "-o", "out", *SMALL]
    return Case(argv, {"scenario.toml": text}, json_out=json_out)


@st.composite
def set_case(draw: st.DrawFn) -> Case:
    base = draw(st.sampled_from(SCENARIOS))
    odd_keys = ["", "cluster", "cluster.", ".gpus", "x" * 500, "failure.x.name"]
    key = draw(st.sampled_from(KEYS) | st.sampled_from(odd_keys))
    value = draw(ANY_TEXT)
    sets = ["--set", f"{key}={value}"] if draw(st.booleans()) else ["--set", f"{key}{value}"]
    command = draw(st.sampled_from(["check", "run"]))
    argv = [command, str(base), *sets, "-f", "json"]
    if command == "run":
        argv = [command, str(base), "-q", "--no-plots", "-o", "out", "-f", "json", *SMALL, *sets]
    return Case(argv, json_out=True)


RANGES = ["1:10:1", "0:inf:1", "1:1e12:1", "log:1:10:1e6", "log:0:10:3", "5:1:1", "1:2:1e-300", "log:1:10:2.5"]


SWEPT = ["checkpoint.interval_minutes", "restart.fixed_minutes", "cluster.spare_nodes", "checkpoint.policy"]


@st.composite
def param_case(draw: st.DrawFn) -> Case:
    base = draw(st.sampled_from(SCENARIOS))
    key = draw(st.sampled_from(SWEPT) | st.sampled_from(KEYS))
    values = draw(
        st.lists(st.sampled_from(PLAIN), min_size=1, max_size=3, unique=True).map(",".join)
        | st.lists(st.sampled_from(NUMBERS + SWAPS + STRINGS + PLAIN), min_size=1, max_size=4).map(",".join)
        | st.sampled_from(RANGES)
        | ANY_TEXT
    )
    params = ["-p", f"{key}={values}"]
    if draw(st.booleans()):
        params += ["-p", draw(st.sampled_from(["restart.fixed_minutes=5,10", f"{key}=1,2", "x=1", "=", "k"]))]
    argv = ["sweep", str(base), "-q", "--no-plots", "-j", "1", "-n", "1", "-o", "sweep", "--max-points", "6", *SMALL]
    return Case([*argv, *params])


@st.composite
def range_case(draw: st.DrawFn) -> Case:
    """optimize with a valid key and range, then one of them mutated."""
    base = draw(st.sampled_from(SCENARIOS))
    key, lo, hi = "checkpoint.interval_minutes", "5", "240"
    what = draw(st.sampled_from(["none", "key", "lo", "hi", "both"]))
    if what == "key":
        key = draw(st.sampled_from([*SWEPT, "x=1", "", "workload.precision", "x" * 300]))
    if what in ("lo", "both"):
        lo = draw(st.sampled_from(NUMBERS + PLAIN))
    if what in ("hi", "both"):
        hi = draw(st.sampled_from(NUMBERS + PLAIN))
    argv = ["optimize", str(base), "-q", "--no-plots", "-o", "opt", "-j", "1", "-n", "1", "-p", key]
    return Case([*argv, "--range", f"{lo}:{hi}", *SMALL])


STAMPS = [
    "2024-01-05T00:00:00Z", "2024-01-05T00:00:00+23:59", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+01:00",
    "2024-02-30T00:00:00Z", "yesterday", "", "2023-12-31T00:00:00Z", "2024-01-05", "2024-01-31T23:59:59Z",
]  # fmt: skip
CAUSES = ["psu", "nic", "\x1b[31mred", "[/x]", "x" * 300, "Ω", "", "a,b", '"quoted"']


@st.composite
def fit_case(draw: st.DrawFn) -> Case:
    """fit with a valid log, fleet and window, then one thing mutated."""
    header, nodes, start, end = "timestamp,cause,node", "100", "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"
    n = draw(st.integers(1, 40))
    rows = [(f"2024-01-{1 + i % 30:02d}T{i % 24:02d}:00:00Z", ("psu", "nic")[i % 2], f"n{i % 7}") for i in range(n)]
    what = draw(st.sampled_from(["none", "header", "rows", "rows", "nodes", "start", "end", "bytes", "option"]))
    if what == "header":
        headers = ["\ufefftimestamp,cause,node,ticket", "time,cause", "", "a", "node,cause,timestamp"]
        header = draw(st.sampled_from(headers))
    elif what == "rows":
        row = st.tuples(st.sampled_from(STAMPS), st.sampled_from(CAUSES), st.sampled_from(["n1", "n2", "", "n3"]))
        rows += draw(st.lists(row, min_size=1, max_size=10))
    elif what == "nodes":
        nodes = draw(st.sampled_from(["1", "0", "-1", "2", "1000000000", "1e9", str(10**30), "x", "3", ""]))
    elif what == "start":
        start = draw(st.sampled_from(STAMPS))
    elif what == "end":
        end = draw(st.sampled_from(STAMPS))
    body = header + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    data: str | bytes = body.encode("utf-8") + b"\xff\xfe" if what == "bytes" else body
    extra = draw(st.sampled_from([[], ["--skip-bad"], ["-f", "json"], ["-f", "toml"], ["--scope", "gpu"]]))
    return Case(["fit", "log.csv", "--nodes", nodes, "--start", start, "--end", end, *extra], {"log.csv": data})


EVENT_TIMES: list[object] = [0.5, "1.5", -3.0, 1e300, "nan", "inf", None, True, "2024-01-03T00:00:00Z", "soon", [1]]
EVENT_KINDS: list[object] = ["fault_start", "fault_end", "start", "END", "restart", "", None, 7, "end_start"]


@st.composite
def fit_events_case(draw: st.DrawFn) -> Case:
    """fit a JSON array of start and end events (the InfiniteHBD layout) by day, then one thing mutated."""
    n = draw(st.integers(1, 20))
    events: list[object] = []
    for i in range(n):
        ft = {"Class": ("GPU", "NIC")[i % 2]}
        events.append({"node_id": f"n{i % 5}", "event_time": 1.0 + i, "event_type": "fault_start", "fault_type": ft})
        events.append({"node_id": f"n{i % 5}", "event_time": 1.5 + i, "event_type": "fault_end", "fault_type": ft})
    args = ["--time-column", "event_time", "--time-unit", "days", "--time-origin", "2024-01-01", "--event-column",
            "event_type", "--cause-column", "fault_type.Class", "--node-column", "node_id"]  # fmt: skip
    window = ["--start", "0", "--end", "30"]
    what = draw(st.sampled_from(["none", "event", "event", "option", "window", "text"]))
    if what == "event":
        key = draw(st.sampled_from(["node_id", "event_time", "event_type", "fault_type", "extra"]))
        value = draw(st.sampled_from([*EVENT_TIMES, *EVENT_KINDS, {"Class": None}, {}]))
        picked = events[draw(st.integers(0, len(events) - 1))]
        assert isinstance(picked, dict)
        picked[key] = value
        if draw(st.booleans()):
            events.append(draw(st.sampled_from([7, "x", [], None])))
    elif what == "option":
        i = draw(st.integers(0, len(args) - 1))
        args[i] = draw(st.sampled_from(["", " ", "days", "weeks", "x,y", "a,a", "fault_type", "Class", "9999-99-99"]))
    elif what == "window":
        window = ["--start", draw(st.sampled_from(["0", "-1e308", "1e308", "nan", "2024-01-02"])),
                  "--end", draw(st.sampled_from(["30", "0", "inf", "2024-03-01T00:00:00Z"]))]  # fmt: skip
        window += draw(st.sampled_from([[], ["--check-end", "60"], ["--check-end", "1e400"], ["--end-column", "x"]]))
    text = json.dumps(events, indent=draw(st.sampled_from([None, 1, 4])), allow_nan=True)
    if what == "text":
        cut = draw(st.integers(0, len(text)))
        text = draw(st.sampled_from([text[:cut], text[:cut] + "]", text + "\n[]", "{" + text[1:]]))
    argv = ["fit", "trace.json", "--nodes", "10", *args, *window, "--check-windows", "0", "-f", "json"]
    return Case(argv, {"trace.json": text})


@st.composite
def out_case(draw: st.DrawFn) -> Case:
    out = draw(
        st.sampled_from(
            ["x" * 300, "a/" + "b" * 256 + "/c", "file.txt/sub", "file.txt", "", ".", "ünï/cödé", "/proc/trainsim-fuzz",
             "a" * 4000, "out/../out2", "-", " "]
        )
    )  # fmt: skip
    base = draw(st.sampled_from(SCENARIOS))
    command = draw(st.sampled_from(["run", "sweep"]))
    argv = [command, str(base), "-q", "--no-plots", "-o", out, *SMALL]
    if command == "sweep":
        argv += ["-j", "1", "-n", "1", "-p", "restart.fixed_minutes=5,10"]
    return Case(argv, {"file.txt": "not a folder"})


@st.composite
def variant_case(draw: st.DrawFn) -> Case:
    """compare of a shipped or mutated scenario with a variant: a valid one, then its name, key or value mutated."""
    name, key, value = "v", draw(st.sampled_from(SWEPT)), "5"
    what = draw(st.sampled_from(["none", "name", "key", "value", "shape", "file"]))
    if what == "name":
        name = draw(st.sampled_from(["", "a b", "x" * 300, "-x", "h100-100k", "\x1b[2J", "a:b"]))
    elif what == "key":
        key = draw(st.sampled_from(KEYS) | ANY_TEXT)
    elif what == "value":
        value = draw(ANY_TEXT | st.sampled_from(NUMBERS + PLAIN))
    spec = f"{name}:{key}={value}"
    if what == "shape":
        spec = draw(st.sampled_from(["v", "v:", ":a=1", "v:a", "v:a=1,", "v:a=1,a=2", "v:=1", ",", "v:a=[1,2"]))
    files: dict[str, str | bytes] = {}
    base = str(draw(st.sampled_from(SCENARIOS)))
    if what == "file":
        files, base = {"scenario.toml": draw(mutated_file())}, "scenario.toml"
    argv = ["compare", base, "--variant", spec, "-q", "--no-plots", "-o", "cmp", "-f", "json", *SMALL]
    return Case(argv, files, json_out=False)


CASES = st.one_of(
    scenario_case(), scenario_case(), scenario_case(), scenario_case(),
    set_case(), set_case(), param_case(), fit_case(), fit_events_case(), range_case(), out_case(), variant_case(),
)  # fmt: skip

# ---------------------------------------------------------------- the property


def _finite_numbers(doc: Any) -> bool:
    if isinstance(doc, float):
        return math.isfinite(doc)
    if isinstance(doc, dict):
        return all(_finite_numbers(v) for v in doc.values())
    if isinstance(doc, list):
        return all(_finite_numbers(v) for v in doc)
    return True


def run_case(case: Case) -> None:
    """Run ``case`` in a fresh folder; assert exit 0 or 2, one short error line, no traceback, finite results."""
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        for name, data in case.files.items():
            path = Path(name)
            path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(case.argv)
    stdout, stderr = out.getvalue(), err.getvalue()
    shown = f"argv={[a[:80] for a in case.argv]!r}\nstderr={stderr[:2000]!r}"
    assert code in (0, 2), shown
    assert "Traceback" not in stderr + stdout, shown
    if code == 2:
        lines = stderr.splitlines()
        assert len(lines) == 1 and len(lines[0]) < MAX_LINE, shown
    elif case.json_out:
        doc = json.loads(stdout)
        ettr = doc["metrics"]["ettr"]["mean"] if "metrics" in doc else doc["daly_ettr"]
        assert isinstance(ettr, float) and 0.0 <= ettr <= 1.0, shown
        assert _finite_numbers(doc.get("metrics", {})), shown


COMMON = {
    "derandomize": True,
    "deadline": None,
    "database": None,
    "print_blob": False,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}


@settings(max_examples=FAST, **COMMON)
@given(CASES)
def test_mutated_inputs_exit_0_or_2(case: Case) -> None:
    """A seeded sample of mutated scenarios and options: exit 0 or 2, one short line, no traceback."""
    run_case(case)


@pytest.mark.slow
@settings(max_examples=FULL, **COMMON)
@given(CASES)
def test_mutated_inputs_exit_0_or_2_at_length(case: Case) -> None:
    """Over a thousand mutated scenarios and options: exit 0 or 2, one short line, no traceback."""
    run_case(case)


def test_cases_stay_in_their_folder() -> None:
    """The fuzz writes only in its temporary folders: the working folder is as it was."""
    before = sorted(os.listdir("."))
    run_case(Case(["run", str(SCENARIOS[0]), "-q", "--no-plots", "-o", "", *SMALL]))
    assert sorted(os.listdir(".")) == before
