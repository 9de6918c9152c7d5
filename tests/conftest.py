"""Shared test fixtures: where the shared data lives (tests read it in place, never copy it)."""
from pathlib import Path

import pytest
import torch

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
if not SHARED.exists():  # CI clones elsewhere; the shared folder sits next to the checkout or in /work
    SHARED = Path("/work/shared")


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared is not available")
    return SHARED


@pytest.fixture(autouse=True, scope="session")
def _few_threads():
    torch.set_num_threads(1)
