"""ocrpipe.heap: malloc keeps what an image frees for reuse, and hands it back between images (glibc only)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ocrpipe import heap

pytestmark = pytest.mark.skipif(heap._glibc() is None, reason="the C library is not glibc")

PROBE = """
import numpy as np
from ocrpipe import heap

def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS"))

print(heap.reuse_freed_memory())
before = rss_mb()
buffers = [np.ones(1 << 20, dtype=np.uint8) for _ in range(300)]  # 300 MB in 1 MB buffers, as an image's layers
del buffers
kept = rss_mb()
heap.release_freed_memory()
print(before, kept, rss_mb())
"""


def run_probe(**env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k not in heap.USER_SETTINGS}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env={**clean, **env},
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_freed_memory_is_kept_for_reuse_until_released():
    changed, before, kept, released = run_probe()
    assert changed == "True"
    assert int(kept) - int(before) > 250  # freed, but kept in the heap for the next image
    assert int(released) - int(before) < 50  # handed back to the system


def test_the_users_own_malloc_settings_win():
    changed, before, kept, released = run_probe(MALLOC_TRIM_THRESHOLD_="131072")
    assert changed == "False"
    assert int(released) - int(before) < 50  # releasing works whatever the settings

