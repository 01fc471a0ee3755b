"""GPU catalog values against the data sheets."""

from __future__ import annotations

import pytest

from sim.config.hardware import GPUS, get_gpu


@pytest.mark.parametrize(
    ("name", "precision", "tflops"),
    [
        ("H100-SXM", "bf16", 989.4),
        ("H100-SXM", "fp8", 1978.9),
        ("A100-SXM-80GB", "bf16", 312.0),
        ("H200-SXM", "fp8", 1978.9),
        ("A100-SXM-80GB", "tf32", 156.0),
    ],
)
def test_dense_peaks(name: str, precision: str, tflops: float) -> None:
    """Dense peaks as in NVIDIA's data sheets (sim/config/hardware.py cites each)."""
    assert GPUS[name].peak_flops(precision) == pytest.approx(tflops * 1e12)


def test_power_memory_and_sources() -> None:
    """TDP and memory are set and every entry cites a source."""
    assert (GPUS["H100-SXM"].tdp_watts, GPUS["A100-SXM-80GB"].tdp_watts) == (700.0, 400.0)
    assert GPUS["H200-SXM"].memory_gb == 141.0
    assert all("NVIDIA" in g.source for g in GPUS.values())


def test_errors_name_what_exists() -> None:
    """Unknown GPUs and precisions list the known ones."""
    with pytest.raises(KeyError, match="H100-SXM"):
        get_gpu("H800")
    with pytest.raises(KeyError, match="bf16"):
        GPUS["A100-SXM-80GB"].peak_flops("fp8")
