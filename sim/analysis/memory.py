"""Does the model's state fit? Weights and optimizer state per GPU against the GPU's memory.

A model of ``parameters`` parameters keeps ``checkpoint.bytes_per_parameter`` bytes of weights and
optimizer state per parameter (about 14-16 with Adam: bf16 weights, fp32 master weights and two
fp32 moments). Tensor and pipeline parallelism split that state over a model-parallel group of
``tensor_parallel x pipeline_parallel`` GPUs; with ``workload.shard_optimizer`` (ZeRO-3 / FSDP
style) each share is split again over the data-parallel degree ``gpus / (TP x PP)``. The result is
compared with the GPU's memory from the catalog (``sim/hardware.py``; 1 GB = 1e9 bytes).
Gradients, activations and communication buffers come on top of it, so a share near 100% does not
fit in practice either.

>>> m = state_memory(70e9, 14.0, tensor_parallel=8, pipeline_parallel=1, gpus=1024, shard=False, gpu_memory_gb=80.0)
>>> m.bytes_per_gpu / 1e9, m.share, m.fits   # 70e9 x 14 B / 8 GPUs = 122.5 GB of 80 GB
(122.5, 1.53125, False)
>>> m = state_memory(70e9, 14.0, tensor_parallel=8, pipeline_parallel=1, gpus=1024, shard=True, gpu_memory_gb=80.0)
>>> m.data_parallel, round(m.bytes_per_gpu / 1e9, 4), m.fits   # / 128 data-parallel replicas
(128, 0.957, True)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sim.config.scenario import Scenario
from sim.results.formats import fmt_pct


@dataclass(frozen=True)
class StateMemory:
    """Weights and optimizer state of one model, as laid out on the job's GPUs."""

    parameters: float
    bytes_per_parameter: float
    tensor_parallel: int
    pipeline_parallel: int
    gpus: int
    shard_optimizer: bool
    gpu: str
    gpu_memory_gb: float

    @property
    def state_bytes(self) -> float:
        """The whole state: parameters x bytes per parameter."""
        return self.parameters * self.bytes_per_parameter

    @property
    def model_parallel(self) -> int:
        """GPUs that hold one copy of the model: tensor x pipeline parallel."""
        return self.tensor_parallel * self.pipeline_parallel

    @property
    def layout_divides(self) -> bool:
        """Whether TP x PP divides the job's GPUs into whole data-parallel replicas."""
        return self.gpus % self.model_parallel == 0

    @property
    def data_parallel(self) -> int:
        """Data-parallel degree gpus / (TP x PP), rounded down (at least 1)."""
        return max(1, self.gpus // self.model_parallel)

    @property
    def bytes_per_gpu(self) -> float:
        """State per GPU: / (TP x PP), and / data parallel too when sharded."""
        per_gpu = self.state_bytes / self.model_parallel
        return per_gpu / self.data_parallel if self.shard_optimizer else per_gpu

    @property
    def gpu_memory_bytes(self) -> float:
        return self.gpu_memory_gb * 1e9

    @property
    def share(self) -> float:
        """State per GPU as a fraction of the GPU's memory."""
        return self.bytes_per_gpu / self.gpu_memory_bytes

    @property
    def fits(self) -> bool:
        """Whether the state alone fits in the GPU's memory (activations not counted)."""
        return self.bytes_per_gpu <= self.gpu_memory_bytes

    def layout(self) -> str:
        """The layout in words (see ``layout_text``)."""
        return layout_text(self.tensor_parallel, self.pipeline_parallel, self.data_parallel, self.shard_optimizer)

    def warning(self) -> str | None:
        """One plain sentence when the state cannot fit, else ``None``."""
        if self.fits:
            return None
        hint = "" if self.shard_optimizer else " or set workload.shard_optimizer = true"
        return (
            f"weights and optimizer state need {self.bytes_per_gpu / 1e9:,.1f} GB per GPU "
            f"({self.state_bytes / 1e12:,.3g} TB over {self.layout()}), {share_text(self.share)} of the "
            f"{self.gpu}'s {self.gpu_memory_gb:g} GB: the model cannot fit, and activations come on top; "
            f"raise workload.tensor_parallel x workload.pipeline_parallel{hint}"
        )

    def notes(self) -> list[str]:
        """Caveats about the layout itself."""
        out = []
        if not self.layout_divides:
            out.append(
                f"TP x PP = {self.model_parallel:,} GPUs does not divide the job's {self.gpus:,} GPUs; "
                f"data-parallel degree rounded down to {self.data_parallel:,}"
            )
        return out

    def to_json(self) -> dict[str, Any]:
        """The ``memory`` block of ``trainsim check --format json``."""
        return asdict(self) | {
            "state_bytes": self.state_bytes,
            "model_parallel_gpus": self.model_parallel,
            "data_parallel": self.data_parallel,
            "layout_divides_gpus": self.layout_divides,
            "bytes_per_gpu": self.bytes_per_gpu,
            "gpu_memory_bytes": self.gpu_memory_bytes,
            "share_of_gpu_memory": self.share,
            "fits": self.fits,
            "warning": self.warning(),
            "notes": self.notes(),
        }


def state_memory(
    parameters: float,
    bytes_per_parameter: float,
    tensor_parallel: int,
    pipeline_parallel: int,
    gpus: int,
    shard: bool,
    gpu_memory_gb: float,
    gpu: str = "GPU",
) -> StateMemory:
    """The state of a model laid out on ``gpus`` GPUs (see the module docstring)."""
    return StateMemory(
        parameters, bytes_per_parameter, tensor_parallel, pipeline_parallel, gpus, shard, gpu, gpu_memory_gb
    )


def scenario_memory(scenario: Scenario) -> StateMemory | None:
    """The memory check of a scenario; ``None`` without ``workload.parameters``."""
    w = scenario.workload
    if w.parameters is None:
        return None
    return state_memory(
        w.parameters,
        scenario.checkpoint.bytes_per_parameter,
        w.tensor_parallel,
        w.pipeline_parallel,
        scenario.cluster.gpus,
        w.shard_optimizer,
        scenario.gpu.memory_gb,
        scenario.cluster.gpu,
    )


def memory_json(scenario: Scenario) -> dict[str, Any] | None:
    """The ``memory`` block of the check report, ``None`` without ``workload.parameters``."""
    m = scenario_memory(scenario)
    return None if m is None else m.to_json()


def share_text(share: float) -> str:
    """A share of memory: ``'0.35%'``, ``'84.4%'``, ``'35,000%'``."""
    if share >= 10:
        return f"{share * 100:,.0f}%"
    return fmt_pct(share, 2 if share < 0.01 else 1)


def layout_text(tp: int, pp: int, dp: int, shard: bool) -> str:
    """``'TP 8 x PP 10 = 80 GPUs'``, then ``', sharded over 250 data-parallel replicas'`` when sharded."""
    layout = f"TP {tp} x PP {pp} = {tp * pp:,} GPU{'s' if tp * pp > 1 else ''}"
    return f"{layout}, sharded over {dp:,} data-parallel replicas" if shard else layout


def memory_rows(data: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The check table's rows for a ``memory`` block: the parallel layout, then state per GPU against memory."""
    label = "weights + optimizer state per GPU"
    if data is None:
        return [(label, "n/a (no workload.parameters)")]
    layout = f"TP {data['tensor_parallel']} x PP {data['pipeline_parallel']} x DP {data['data_parallel']:,}"
    sharded = "sharded" if data["shard_optimizer"] else "not sharded"
    gb = data["bytes_per_gpu"] / 1e9
    size = (
        f"{gb:,.{1 if gb >= 10 else 3}f} GB, {share_text(data['share_of_gpu_memory'])} of {data['gpu_memory_gb']:g} GB"
    )
    return [("parallel layout", f"{layout}, {sharded}"), (label, size)]
