"""What the benchmark runs: the loss schedules (modes), the switches, and one :class:`Case` per run."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

# Modes: (loss config, loss.schedule).
MODES: dict[str, tuple[str, str]] = {
    "separate": ("separate", "separate"),  # the reference's three backward/step phases
    "naive": ("combined", "single"),  # one backward on the summed loss
    "lean": ("combined", "split"),  # backward each group of terms as soon as it is built
    "palette": ("palette", "split"),  # lean + the soft-histogram palette loss
}
SWITCHES = ("grad_ckpt", "channels_last", "compile")
# On a CPU shared with other jobs, OpenMP threads that wait at barriers for a descheduled peer
# turn a 0.2 ms convolution into 16 ms (measured here: 2 threads vs 1 at load 11 on 2 cores), so
# multi-threaded CPU timings measure the neighbours. One thread per case times the work itself.
THREADS_NOTE = "one torch thread per case on CPU: OpenMP barrier waits on a shared CPU would dominate"


@dataclass
class Case:
    """One benchmark configuration; ``label`` names it in tables and ratios."""

    mode: str
    resolution: int
    model: str = "tiny"
    device: str = "cpu"
    precision: str = "32-true"
    batch_size: int = 1
    steps: int = 3
    warmup: int = 2
    switches: dict[str, bool] = field(default_factory=dict)
    lpips_net: str | None = None
    threads: int | None = None
    memory_warmup: int = 1  # CPU: pinned-malloc steps before the measured memory steps
    memory_steps: int = 1  # CPU: pinned-malloc steps whose peak RSS is reported

    @property
    def memory_phase(self) -> int:
        """Steps run before the timing phase (CPU only: on CUDA every step is timed and measured)."""
        return self.memory_warmup + self.memory_steps if self.device == "cpu" else 0

    @property
    def label(self) -> str:
        on = [k for k in SWITCHES if self.switches.get(k)]
        return "+".join([self.mode, *on])

    def overrides(self) -> list[str]:
        """Hydra overrides that turn the training config into this case."""
        loss, schedule = MODES[self.mode]
        out = [
            f"model={self.model}",
            f"loss={loss}",
            f"loss.schedule={schedule}",
            f"resolution.size={self.resolution}",
            f"trainer={'gpu' if self.device == 'cuda' else 'cpu'}",
            f"trainer.precision={self.precision}",
            f"data.batch_size={self.batch_size}",
        ]
        out += [f"model.{k}={str(bool(self.switches.get(k, False))).lower()}" for k in SWITCHES]
        if self.lpips_net:
            out.append(f"loss.lpips_net={self.lpips_net}")
        return out


def build_cases(args: argparse.Namespace) -> list[Case]:
    """Every mode at every resolution, then the lean step with each switch turned on by itself."""
    common = dict(
        model=args.model,
        device=args.device,
        precision=args.precision,
        batch_size=args.batch_size,
        steps=args.steps,
        warmup=args.warmup,
        lpips_net=args.lpips,
        threads=args.threads,
        memory_warmup=0 if args.smoke else 1,
        memory_steps=args.memory_steps,
    )
    cases = []
    for res in args.resolutions:
        cases += [Case(mode=m, resolution=res, **common) for m in args.modes]
        cases += [Case(mode="lean", resolution=res, switches={s: True}, **common) for s in args.switches]
    return cases
