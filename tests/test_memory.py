"""The memory check: weights and optimizer state per GPU against the GPU's memory, by hand."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from sim.analysis.estimates import check_report
from sim.analysis.memory import memory_json, memory_rows, scenario_memory, share_text, state_memory
from sim.cli import main
from sim.config.loading import load_scenario_text
from sim.report import terminal as report

BASE = """\
name = "mem"
[cluster]
gpu = "{gpu}"
gpus = {gpus}
[workload]
parameters = {parameters}
tensor_parallel = {tp}
pipeline_parallel = {pp}
shard_optimizer = {shard}
[checkpoint]
bytes_per_parameter = {bpp}
write_seconds = 10
"""


def scenario_text(
    gpus: int = 100_000,
    parameters: float = 2e12,
    bpp: float = 14.0,
    tp: int = 8,
    pp: int = 10,
    shard: bool = False,
    gpu: str = "H100-SXM",
) -> str:
    """A scenario with a model and a parallel layout (defaults: 2e12 parameters on 100,000 H100s)."""
    return BASE.format(gpus=gpus, parameters=parameters, bpp=bpp, tp=tp, pp=pp, shard=str(shard).lower(), gpu=gpu)


def render(renderable: object, width: int = 120) -> str:
    """Plain text of a rich renderable."""
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_unsharded_state_splits_over_tensor_and_pipeline_parallel() -> None:
    """2e12 x 14 B = 28 TB over TP 8 x PP 10 = 80 GPUs is 350 GB per GPU: 437.5% of an 80 GB H100."""
    m = scenario_memory(load_scenario_text(scenario_text()))
    assert m is not None
    assert m.state_bytes == pytest.approx(28e12)
    assert (m.model_parallel, m.data_parallel, m.layout_divides) == (80, 1250, True)
    assert m.bytes_per_gpu == pytest.approx(350e9)
    assert m.gpu_memory_bytes == 80e9
    assert m.share == pytest.approx(4.375)
    assert not m.fits


def test_sharding_divides_by_the_data_parallel_degree() -> None:
    """Sharded over 100,000 / 80 = 1,250 replicas, the same 28 TB is 0.28 GB per GPU (0.35%)."""
    m = scenario_memory(load_scenario_text(scenario_text(shard=True)))
    assert m is not None
    assert m.bytes_per_gpu == pytest.approx(28e12 / 100_000)
    assert m.share == pytest.approx(0.0035)
    assert m.fits and m.warning() is None


@pytest.mark.parametrize(
    ("tp", "pp", "gb", "fits"),
    [(8, 1, 1350.0, False), (8, 10, 135.0, False), (8, 20, 67.5, True), (8, 25, 54.0, True)],
)
def test_gpt4_worked_example(tp: int, pp: int, gb: float, fits: bool) -> None:
    """10.8 TB (1.8e12 x 6 B) on 20,000 A100-80GB: 10.8e12 / (TP x PP) per GPU, as in the README."""
    m = state_memory(1.8e12, 6.0, tp, pp, gpus=20_000, shard=False, gpu_memory_gb=80.0, gpu="A100-SXM-80GB")
    assert m.bytes_per_gpu == pytest.approx(gb * 1e9)
    assert m.fits is fits
    sharded = state_memory(1.8e12, 6.0, tp, pp, gpus=20_000, shard=True, gpu_memory_gb=80.0)
    # Sharded, every layout holds 10.8e12 / 20,000 = 0.54 GB per GPU.
    assert sharded.bytes_per_gpu == pytest.approx(0.54e9)


def test_exactly_full_memory_fits_and_one_byte_more_does_not() -> None:
    """80 GB of state on an 80 GB GPU fits (share 100%); the check compares the state alone."""
    full = state_memory(80e9, 1.0, 1, 1, gpus=8, shard=False, gpu_memory_gb=80.0)
    assert full.fits and full.share == 1.0
    over = state_memory(80e9 + 1, 1.0, 1, 1, gpus=8, shard=False, gpu_memory_gb=80.0)
    assert not over.fits


def test_layout_that_does_not_divide_the_job_is_noted() -> None:
    """TP 8 x PP 16 = 128 GPUs in a 1,000-GPU job: data parallel rounds down to 7, and a note says so."""
    m = state_memory(1e12, 14.0, 8, 16, gpus=1000, shard=True, gpu_memory_gb=80.0)
    assert (m.layout_divides, m.data_parallel) == (False, 7)
    assert m.bytes_per_gpu == pytest.approx(14e12 / 128 / 7)
    assert "does not divide" in m.notes()[0] and "rounded down to 7" in m.notes()[0]


def test_warning_states_the_share_and_that_activations_come_on_top() -> None:
    """The warning names GB per GPU, the share of memory, the GPU, and that activations come on top."""
    m = scenario_memory(load_scenario_text(scenario_text()))
    assert m is not None
    w = m.warning()
    assert w is not None
    for text in ("350.0 GB per GPU", "28 TB over TP 8 x PP 10 = 80 GPUs", "437.5%", "H100-SXM's 80 GB", "cannot fit"):
        assert text in w
    assert "activations come on top" in w and "shard_optimizer" in w


def test_share_text() -> None:
    """Shares under 1% keep two decimals, up to 10x memory one, beyond that whole percent with separators."""
    assert [share_text(x) for x in (0.0035, 0.84375, 4.375, 350.0)] == ["0.35%", "84.4%", "437.5%", "35,000%"]


def test_check_report_carries_the_memory_block() -> None:
    """check_report has a JSON-ready memory block, and None when the scenario has no parameters."""
    gpt4 = scenario_text(gpus=20_000, gpu="A100-SXM-80GB", parameters=1.8e12, bpp=6, pp=20)
    c = check_report(load_scenario_text(gpt4))
    mem = c["memory"]
    assert mem["bytes_per_gpu"] == pytest.approx(67.5e9)
    assert mem["share_of_gpu_memory"] == pytest.approx(0.84375)
    assert mem["fits"] is True and mem["warning"] is None and mem["notes"] == []
    assert (mem["gpu"], mem["gpu_memory_gb"], mem["data_parallel"]) == ("A100-SXM-80GB", 80.0, 125)
    json.dumps(c)  # serialisable as is
    bare = load_scenario_text('name = "bare"\n[cluster]\ngpus = 8\n[checkpoint]\nwrite_seconds = 10\n')
    assert check_report(bare)["memory"] is None
    assert memory_json(bare) is None
    assert memory_rows(None) == [("weights + optimizer state per GPU", "n/a (no workload.parameters)")]


def test_check_text_shows_layout_share_and_yellow_warning() -> None:
    """The check text has the layout and the share, and a yellow warning when the state cannot fit."""
    group = report.check_renderable(check_report(load_scenario_text(scenario_text())))
    text = render(group)
    assert "TP 8 x PP 10 x DP 1,250, not sharded" in text
    assert "350.0 GB, 437.5% of 80 GB" in text
    warned = [r for r in group.renderables if isinstance(r, Text) and "cannot fit" in r.plain]
    assert len(warned) == 1 and str(warned[0].style) == "yellow"
    fits = report.check_renderable(check_report(load_scenario_text(scenario_text(shard=True))))
    assert "0.280 GB, 0.35% of 80 GB" in render(fits) and "cannot fit" not in render(fits)


def test_cli_check_json_has_memory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`trainsim check --format json` reports the memory block, --set applied to the layout."""
    path = tmp_path / "mem.toml"
    path.write_text(scenario_text(), encoding="utf-8")
    code = main(["check", str(path), "-f", "json", "--set", "workload.pipeline_parallel=20"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["memory"]["bytes_per_gpu"] == pytest.approx(28e12 / 160)
    assert doc["memory"]["fits"] is False and "cannot fit" in doc["memory"]["warning"]
