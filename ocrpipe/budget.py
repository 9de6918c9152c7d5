"""How long a training run lasts: a number of steps and, optionally, a wall-clock limit, whichever ends first.

Both trainers drive their learning-rate schedules from ``progress`` (0 at the start, 1 at the end) rather than from
the step count alone, so a run given ``--time-limit`` still warms up and anneals completely on any machine: on a
fast GPU it takes more steps, on a CPU fewer, and it ends with a fully decayed learning rate either way.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


@dataclass
class TrainingBudget:
    steps: int
    seconds: float | None = None  # wall-clock limit of this invocation (a resumed run starts a new clock)
    started: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def progress(self, step: int) -> float:
        """Fraction of the run done after ``step`` steps: the larger of the step and time fractions, at most 1."""
        done = step / self.steps
        if self.seconds is not None:
            done = max(done, self.elapsed() / self.seconds)
        return min(1.0, done)

    def done(self, step: int) -> bool:
        return self.progress(step) >= 1.0


def one_cycle(progress: float, warmup: float, div_factor: float = 25.0, final_div_factor: float = 1e4) -> float:
    """Multiplier of the peak learning rate at ``progress``: cosine rise from 1/div_factor over the first ``warmup``
    fraction, then cosine decay to 1/(div_factor * final_div_factor) -- the shape of torch's OneCycleLR."""
    start, end = 1.0 / div_factor, 1.0 / (div_factor * final_div_factor)
    if progress < warmup:
        return start + (1.0 - start) * (1.0 - math.cos(math.pi * progress / warmup)) / 2.0
    t = min(1.0, (progress - warmup) / max(1e-12, 1.0 - warmup))
    return end + (1.0 - end) * (1.0 + math.cos(math.pi * t)) / 2.0
