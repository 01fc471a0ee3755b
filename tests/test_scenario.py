"""Scenario validation: defaults, derived values, overrides, and one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import BASE, tiny

from sim.config.errors import ScenarioError
from sim.config.loading import load_scenario, load_scenario_text, parse_assignment, scenario_from_dict, with_overrides


def error(raw: dict[str, object] | None = None, overrides: dict[str, object] | None = None) -> str:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(raw or BASE, overrides)
    return str(info.value)


def test_defaults_and_derived_values() -> None:
    """Defaults are filled in and derived values carry their units."""
    s = tiny()
    assert s.job_nodes == 2
    assert s.horizon_seconds == 86400.0
    assert s.write_seconds == 60.0
    assert s.restart_seconds == 300.0
    assert s.it_watts_per_gpu == 700.0 + 575.0  # H100 TDP, and its share of the server's host
    assert s.peak_flops_per_gpu == pytest.approx(989.4e12)


def test_write_and_load_time_from_size_and_bandwidth() -> None:
    """Checkpoint write and load times follow from parameters x bytes/parameter over bandwidth."""
    s = tiny(
        {
            "checkpoint.write_seconds": None,
            "workload.parameters": 1e11,
            "storage.write_gb_per_s": 100.0,
            "storage.read_gb_per_s": 200.0,
            "restart.load_checkpoint": True,
        }
    )
    assert s.checkpoint_bytes == pytest.approx(1.4e12)
    assert s.write_seconds == pytest.approx(14.0)
    assert s.load_seconds == pytest.approx(7.0)
    assert s.restart_seconds == pytest.approx(307.0)


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"cluster.gpus": 12}, "cluster.gpus: must be a multiple of cluster.gpus_per_node (8), got 12"),
        ({"cluster.gpus": -8}, "cluster.gpus: input should be greater than 0, got -8"),
        ({"run.duration_days": 0}, "run.duration_days: input should be greater than 0, got 0"),
        ({"workload.mfu": 1.5}, "workload.mfu: input should be less than or equal to 1, got 1.5 (a fraction: 1.5% is"),
        ({"workload.mfu": 40}, "workload.mfu: input should be less than or equal to 1, got 40 (a fraction: 40% is 0.4"),
        ({"cluster.gpus": "many"}, "cluster.gpus: must be a whole number"),
        ({"cluster.gpu": "B300"}, "cluster.gpu: unknown GPU 'B300'"),
        ({"cluster.gpu": "A100-SXM-80GB", "workload.precision": "fp8"}, "workload.precision: A100-SXM-80GB has no"),
        ({"failure_preset": "grok"}, "failure_preset: unknown failure preset 'grok'"),
        ({"failure.1.repair_hours": None}, "failure[1].repair_hours: required when action = 'replace'"),
        ({"failure.0.action": "replace", "failure.0.repair_hours": 1}, "failure[0].action: a job-scope failure"),
        ({"failure.1.name": "crash"}, "failure[1].name: duplicate failure mode name 'crash'"),
        ({"checkpoint.write_seconds": None}, "checkpoint.write_seconds: not given, and cannot be derived"),
        ({"restart.load_checkpoint": True}, "restart.load_checkpoint: true needs workload.parameters"),
        ({"checkpoint.policy": "often"}, "checkpoint.policy: input should be 'fixed', 'young' or 'daly'"),
        ({"checkpoint.method": "async"}, "checkpoint.snapshot_seconds: required when checkpoint.method = 'async'"),
        (
            {"checkpoint.method": "async", "checkpoint.snapshot_seconds": 61},
            "checkpoint.snapshot_seconds: the blocking snapshot (61 s) cannot take longer than the whole write (60 s)",
        ),
        ({"checkpoint.persist_every": 0}, "checkpoint.persist_every: input should be greater than or equal to 1"),
        ({"failure.1.detect_hours": 2.0}, "failure[1].action: a silent failure (detect_hours) must use 'restart'"),
        (
            {"failure.0.detect_hours": 2.0, "recovery.strategy": "replica"},
            "failure[0].detect_hours: silent failures are modelled with the restart and shrink strategies",
        ),
        ({"checkpoint.keep": 0}, "checkpoint.keep: input should be greater than 0"),
        ({"failure.1.action": "slow"}, "failure[1].slowdown: a straggler runs below full speed"),
        ({"failure.0.action": "slow", "failure.0.slowdown": 0.5}, "failure[0].scope: a straggler (action 'slow')"),
        ({"workload.diurnal_amplitude": 1.0}, "workload.diurnal_amplitude: input should be less than 1"),
        (
            {"checkpoint.method": "memory", "checkpoint.snapshot_seconds": 5},
            "restart.memory_load_seconds: required when checkpoint.method = 'memory'",
        ),
    ],
)
def test_bad_values_name_the_key(overrides: dict[str, object], needle: str) -> None:
    """Each bad value gives one line that names the key, the problem and the value."""
    msg = error(overrides=overrides)
    assert needle in msg
    assert "\n" not in msg


def test_unknown_keys_suggest_the_closest() -> None:
    """Unknown keys in the file or in overrides suggest the valid key nearest in spelling."""
    raw = {**BASE, "cluster": {"gpus": 16, "spare_node": 1}}
    assert error(raw) == "cluster.spare_node: unknown key (did you mean 'spare_nodes'?)"
    assert error(overrides={"checkpoint.interval_minute": 5}) == (
        "checkpoint.interval_minute: unknown key (did you mean 'interval_minutes'?)"
    )
    assert "did you mean 'checkpoint'" in error({**BASE, "checkpiont": {}})
    assert error(overrides={"failure.7.mtbf_hours": 1}).startswith("failure.7: no item '7'")
    assert "is a value, not a table" in error(overrides={"name.x": 1})


def test_missing_required_key() -> None:
    """A scenario without a cluster says which key is missing."""
    raw = {k: v for k, v in BASE.items() if k != "cluster"}
    assert error(raw) == "cluster: required key is missing"


def test_overrides_convert_types() -> None:
    """--set values are parsed as TOML literals, strings otherwise, and validated again."""
    key, value = parse_assignment("checkpoint.interval_minutes=20")
    flag = parse_assignment("restart.load_checkpoint=false")[1]
    s = with_overrides(tiny(), {key: value, "restart.load_checkpoint": flag})
    assert s.checkpoint.interval_minutes == 20.0
    assert s.restart.load_checkpoint is False
    with pytest.raises(ScenarioError, match="expected KEY=VALUE"):
        parse_assignment("interval")


def test_scenario_is_frozen() -> None:
    """Scenario objects cannot be changed after validation."""
    s = tiny()
    with pytest.raises(Exception, match="frozen"):
        s.cluster.gpus = 8  # type: ignore[misc]


def test_preset_modes_come_first() -> None:
    """A preset's modes precede the file's own [[failure]] tables."""
    s = tiny({"failure_preset": "llama3"})
    names = [m.name for m in s.modes]
    assert names[0] == "faulty GPU" and names[-2:] == ["crash", "gpu fault"]
    assert len(names) == 18 + 2


def test_file_errors(tmp_path: Path) -> None:
    """Missing files and malformed TOML are ScenarioErrors naming the file."""
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ScenarioError, match=r"bad.toml: malformed TOML"):
        load_scenario(bad)


def test_unit_suffix_on_every_numeric_field() -> None:
    """Text scenarios round-trip, and the fields that carry a time carry its unit in the name."""
    s = load_scenario_text('name = "u"\n[cluster]\ngpus = 8\n[checkpoint]\nwrite_seconds = 1')
    fields = {f for section in ("run", "checkpoint", "restart") for f in type(getattr(s, section)).model_fields}
    timed = {f for f in fields if any(w in f for w in ("duration", "interval", "write", "fixed"))}
    assert all(f.endswith(("_days", "_minutes", "_seconds", "_gb_per_s")) for f in timed)


def test_interval_under_a_computing_policy_is_refused() -> None:
    """An interval that policy young or daly would silently ignore is an error that says what to do."""
    msg = error(overrides={"checkpoint.policy": "daly"})
    assert msg.startswith("checkpoint.interval_minutes: ignored under checkpoint.policy = 'daly'")
    daly = tiny(checkpoint={"policy": "daly", "write_seconds": 60.0})
    with pytest.raises(ScenarioError, match=r"set checkpoint\.policy = 'fixed'"):
        with_overrides(daly, {"checkpoint.interval_minutes": 20})
    assert (
        with_overrides(daly, {"checkpoint.policy": "fixed", "checkpoint.interval_minutes": 20}).checkpoint.policy
        == "fixed"
    )
