"""GPU catalog: dense peak FLOP/s per precision, memory and board power, each with its source.

Peaks are *dense* (no 2:4 sparsity): NVIDIA's data sheets print the sparse figure with an
asterisk; the dense figure is half of it.

>>> gpu = GPUS["H100-SXM"]
>>> round(gpu.peak_flops("bf16") / 1e12, 1)
989.4
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GPU:
    """One accelerator model: what it can compute and what it draws."""

    name: str
    peak_tflops: dict[str, float]
    memory_gb: float
    tdp_watts: float
    source: str
    notes: str = field(default="")

    def peak_flops(self, precision: str) -> float:
        """Dense peak FLOP/s at ``precision``; ``KeyError`` names what the chip has."""
        try:
            return self.peak_tflops[precision] * 1e12
        except KeyError:
            have = ", ".join(sorted(self.peak_tflops))
            raise KeyError(f"{self.name} has no {precision!r} tensor-core peak (it has: {have})") from None


_H100_SOURCE = (
    "NVIDIA H100 Tensor Core GPU data sheet (SXM5 column; sparse figures halved) and "
    "NVIDIA H100 architecture white paper, 2022: FP8 1978.9, BF16/FP16 989.4, TF32 494.7 dense TFLOP/s; "
    "80 GB HBM3; up to 700 W"
)
_H200_SOURCE = (
    "NVIDIA H200 Tensor Core GPU data sheet, 2024 (SXM column; sparse figures halved): same tensor-core "
    "peaks as H100 SXM; 141 GB HBM3e; up to 700 W"
)
_A100_SOURCE = (
    "NVIDIA A100 Tensor Core GPU data sheet, 2021 (SXM 80GB column; dense): BF16/FP16 312, TF32 156 TFLOP/s; "
    "no FP8; 80 GB HBM2e; 400 W"
)

GPUS: dict[str, GPU] = {
    "H100-SXM": GPU(
        name="H100-SXM",
        peak_tflops={"fp8": 1978.9, "bf16": 989.4, "fp16": 989.4, "tf32": 494.7},
        memory_gb=80.0,
        tdp_watts=700.0,
        source=_H100_SOURCE,
    ),
    "H200-SXM": GPU(
        name="H200-SXM",
        peak_tflops={"fp8": 1978.9, "bf16": 989.4, "fp16": 989.4, "tf32": 494.7},
        memory_gb=141.0,
        tdp_watts=700.0,
        source=_H200_SOURCE,
    ),
    "A100-SXM-80GB": GPU(
        name="A100-SXM-80GB",
        peak_tflops={"bf16": 312.0, "fp16": 312.0, "tf32": 156.0},
        memory_gb=80.0,
        tdp_watts=400.0,
        source=_A100_SOURCE,
    ),
}


def get_gpu(name: str) -> GPU:
    """The catalog entry for ``name``; ``KeyError`` lists the known models."""
    try:
        return GPUS[name]
    except KeyError:
        raise KeyError(f"unknown GPU {name!r} (known: {', '.join(GPUS)})") from None
