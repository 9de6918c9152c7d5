import warnings

import pytest
import torch

from ocrpipe.budget import TrainingBudget, one_cycle


def test_progress_follows_steps_or_the_clock_whichever_is_further():
    by_steps = TrainingBudget(steps=200)
    assert by_steps.progress(50) == 0.25 and not by_steps.done(199) and by_steps.done(200)
    clock = TrainingBudget(steps=1000, seconds=100.0)
    clock.started -= 40.0  # as if the run began 40 s ago
    assert clock.progress(100) == pytest.approx(0.4, abs=0.01)
    assert clock.progress(900) == 0.9
    clock.started -= 60.0
    assert clock.done(100) and clock.progress(100) == 1.0


def test_one_cycle_has_the_shape_of_torchs_one_cycle_lr():
    steps, warmup = 400, 0.075
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    reference = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=steps + 1, pct_start=warmup,
                                                    cycle_momentum=False)
    for step in range(steps):
        assert one_cycle(step / steps, warmup) == pytest.approx(reference.get_last_lr()[0], abs=0.05)  # step offsets
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optimizer.step()
            reference.step()
    assert one_cycle(0.0, warmup) == pytest.approx(1 / 25)
    assert one_cycle(warmup, warmup) == pytest.approx(1.0)
    assert one_cycle(1.0, warmup) < 1e-5
