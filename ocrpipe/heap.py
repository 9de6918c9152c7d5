"""A long batch's memory, kept flat: glibc's malloc reuses what an image frees and hands it all back between images.

With glibc's defaults the memory of `ocrpipe run` grew with every image (about +1.3 GB over 150 development images
of many sizes): the buffers an image frees stay in malloc's arenas, fragmented, and the next image of another size
cannot reuse them. At the same time every buffer above the mmap threshold is given back to the kernel the moment it
is freed and comes back as fresh zeroed pages, so the detector spent a fifth of its time in page faults
(benchmarks/RELIABILITY.md). Two calls fix both:

- `reuse_freed_memory()` (once, at start-up): malloc serves every buffer from its heap and keeps what is freed, so
  the layers of one image reuse each other's memory;
- `release_freed_memory()` (after each image or group of images): `malloc_trim(0)` hands every free page of every
  arena back to the operating system.

Both do nothing where the C library is not glibc (musl, macOS, Windows), and `reuse_freed_memory` leaves malloc alone
when the user tuned it through glibc's own environment variables.
"""
from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_MAX = -4
KEEP_FREED_BYTES = 1 << 30  # trim threshold: never give the heap's top back by itself; release_freed_memory does
USER_SETTINGS = ("MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                 "GLIBC_TUNABLES")


def _glibc() -> ctypes.CDLL | None:
    """The running process's C library if it is glibc (it has `malloc_trim` and `mallopt`), else None."""
    try:
        libc = ctypes.CDLL(None)
        libc.malloc_trim, libc.mallopt  # noqa: B018 (an AttributeError means: not glibc)
    except (OSError, TypeError, AttributeError):
        return None
    return libc


def reuse_freed_memory() -> bool:
    """Serve every allocation from malloc's heap (no per-buffer mmap) and keep freed memory for reuse. Returns whether
    malloc was changed. Call once, before the first image, in a process that will call `release_freed_memory`."""
    libc = _glibc()
    if libc is None or any(name in os.environ for name in USER_SETTINGS):
        return False
    return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, KEEP_FREED_BYTES))


def release_freed_memory() -> None:
    """Hand the free memory of every malloc arena back to the operating system (a few ms)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
