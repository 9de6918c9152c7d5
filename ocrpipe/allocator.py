"""Keep freed memory for reuse instead of handing it back to the kernel (glibc's malloc, Linux).

By default glibc returns every freed block above a (dynamic) threshold to the kernel at once, and the detector frees
and allocates feature maps of tens to hundreds of MB per image, so each image's buffers came back as fresh pages that
the kernel had to zero: measured on 10 photos of 1280x720 (one thread), 10.4 M page faults and 22 s of system time
beside 18 s of model time. With the thresholds below: 1.2 M faults, 4.6 s of system time, and the peak RSS grows from
3.7 to 5.3 GB because the memory stays with the process (benchmarks/RESULTS.md).
"""
from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
KEEP_BYTES = 1 << 30  # blocks up to 1 GiB come from the heap and stay there when freed


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; False where there is no glibc (nothing changed)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # another C library (musl), or none by that name
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, KEEP_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))
