"""How many threads one render may use (its large FFTs, its sources side by side): every core this process may
run on, unless told fewer.

A process that shares the machine with others rendering at once (the web server's workers, a batch on
Ray) sets ``SOUNDSTAGE_THREADS`` to its share, so that the renders do not fight over the same cores.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator

#: Environment variable with the number of threads a render may use.
THREADS_VARIABLE = "SOUNDSTAGE_THREADS"
#: Set inside work already spread over threads (a render's sources): its FFTs then take one thread each.
_SINGLE = contextvars.ContextVar("soundstage_single_fft_thread", default=False)


@contextlib.contextmanager
def single_fft_thread() -> Iterator[None]:
    """Within this block (in this context) :func:`fft_workers` is 1: the caller already uses the cores."""
    token = _SINGLE.set(True)
    try:
        yield
    finally:
        _SINGLE.reset(token)


def fft_workers() -> int:
    """Threads for one render: ``$SOUNDSTAGE_THREADS`` when set to a positive integer, else the usable cores.

    >>> import os
    >>> os.environ["SOUNDSTAGE_THREADS"] = "1"; fft_workers()
    1
    >>> del os.environ["SOUNDSTAGE_THREADS"]; fft_workers() >= 1
    True
    """
    return 1 if _SINGLE.get() else configured_threads() or usable_cores()


def configured_threads() -> int | None:
    """``$SOUNDSTAGE_THREADS`` when it is a positive integer, else None (not set, or not a count)."""
    text = os.environ.get(THREADS_VARIABLE, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
