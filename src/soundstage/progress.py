"""Progress of long loops: a terminal bar for the CLI, or a callback for whoever else is watching.

The library's long loops (sources of a render, blocks of a moving render, frames of a video) wrap
their iterables in :func:`progress_bar`. On a terminal that is a tqdm bar; inside
:func:`reporting_to`, every step is also passed to a callback instead — the web server's workers
use it to tell the page how far a job is, without parsing tqdm's text.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: ``callback(description, done, total)`` receiving each step; None when nobody listens.
ProgressCallback = Callable[[str, int, int | None], None]

#: Seconds of work before a terminal bar appears: quick jobs print nothing.
BAR_DELAY_S = 1.0

_listener: contextvars.ContextVar[ProgressCallback | None] = contextvars.ContextVar("progress_listener", default=None)


@contextlib.contextmanager
def reporting_to(callback: ProgressCallback) -> Iterator[None]:
    """Inside the block, every :func:`progress_bar` step calls ``callback(description, done, total)``.

    >>> seen = []
    >>> with reporting_to(lambda what, done, total: seen.append((what, done, total))):
    ...     _ = list(progress_bar(range(2), enabled=False, description="render", unit="source"))
    >>> seen
    [('render', 0, 2), ('render', 1, 2), ('render', 2, 2)]
    """
    token = _listener.set(callback)
    try:
        yield
    finally:
        _listener.reset(token)


def progress_bar(
    items: Iterable[T], *, enabled: bool, description: str, unit: str, total: int | None = None
) -> Iterable[T]:
    """``items``, with a terminal bar when ``enabled`` (shown after a second of work) and the callback's steps.

    Parameters
    ----------
    items : iterable
        What the loop runs over.
    enabled : bool
        Show a tqdm bar on stderr (the CLI's ``--quiet`` turns it off).
    description, unit : str
        What the loop does and what one step is, e.g. ``"render binaural"`` and ``"source"``.
    total : int or None
        Number of steps when ``items`` has no length.
    """
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if enabled:
        items = _terminal_bar(items, description=description, unit=unit, total=total)
    listener = _listener.get()
    if listener is None:
        return items
    return _reported(items, listener, description, total)


def _terminal_bar(items: Iterable[T], *, description: str, unit: str, total: int | None) -> Iterator[T]:
    """``items``, with a tqdm bar from the first step that ends :data:`BAR_DELAY_S` seconds after the start.

    tqdm (with what ``tqdm.auto`` pulls in: asyncio, logging) is imported only then: a tenth of a
    short render's start-up otherwise, for a bar that would never have been shown.
    """
    start = time.monotonic()
    iterator = iter(items)
    done = 0
    for item in iterator:
        yield item
        done += 1
        if time.monotonic() - start >= BAR_DELAY_S:
            break
    else:
        return
    from tqdm.auto import tqdm

    with tqdm(iterator, desc=description, unit=unit, total=total, initial=done, leave=False) as bar:
        yield from bar


def _reported(items: Iterable[T], listener: ProgressCallback, description: str, total: int | None) -> Iterator[T]:
    listener(description, 0, total)
    for done, item in enumerate(items, start=1):
        yield item
        listener(description, done, total)
