"""Give freed memory back to the operating system after a burst of work.

A cold poll cycle holds many feed documents and parsed items at once; once they are freed,
glibc keeps the pages in its heap, so a long-running worker's RSS stays at the peak of its
busiest cycle. malloc_trim(0) returns them. Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc


@functools.cache
def _malloc_trim() -> object | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    return getattr(libc, "malloc_trim", None)


def trim() -> None:
    gc.collect()
    release = _malloc_trim()
    if release is not None:
        release(0)  # type: ignore[operator]
