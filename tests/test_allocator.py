"""glibc's thresholds are raised where there is glibc, and nothing breaks where there is not."""
import platform
import sys

from ocrpipe.allocator import keep_freed_memory


def test_keep_freed_memory_applies_on_glibc_linux():
    on_glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert keep_freed_memory() is on_glibc
