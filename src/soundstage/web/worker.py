"""A worker process: run the jobs the server sends, report progress, send back each outcome.

Workers are forked from a server process that already imported the renderer, and each keeps what it
loads (HRTF sets, caches) from one job to the next; a worker that crashes, runs out of memory or is
stopped takes only its own job with it. It talks to the server over a pipe: for each job,
``("progress", stage, fraction)`` while it works, then one ``("done", result)`` or
``("failed", message)``; a worker that dies without the last message has its job reported failed.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path
from typing import Any

# Imported here so that the fork server loads them once and every job starts with them ready.
import numpy  # noqa: F401

import soundstage.acoustics.render  # noqa: F401
from soundstage.errors import SoundstageError, one_line
from soundstage.progress import reporting_to
from soundstage.web.limits import Limits
from soundstage.web.store import UploadStore
from soundstage.web.tasks import TASKS

#: Fewest seconds between two progress messages (a render of many blocks would flood the pipe).
PROGRESS_INTERVAL_S = 0.2


def serve_jobs(conn, data_dir: str, limits: dict[str, Any], threads: int) -> None:
    """A worker's life: receive ``("job", kind, params, out_dir)`` messages and run them, until told to stop.

    ``threads`` is this worker's share of the cores: the workers render side by side and must not each
    take every core.
    """
    import os
    import signal

    from soundstage.threads import THREADS_VARIABLE

    os.environ[THREADS_VARIABLE] = str(threads)

    # Ctrl-C in the server's terminal reaches the whole process group; the server stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    store = UploadStore(Path(data_dir), Limits(**limits))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        _, kind, params, out_dir = message
        run_job(kind, params, store, Path(out_dir), conn)


def run_job(kind: str, params: dict[str, Any], store: UploadStore, out_dir: Path, conn) -> None:
    """Run task ``kind`` with ``params``; its files go to ``out_dir``; progress and the outcome go to ``conn``."""
    last = [0.0]

    def report(stage: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if total and (done in (0, total) or now - last[0] >= PROGRESS_INTERVAL_S):
            last[0] = now
            conn.send(("progress", stage, done / total))

    try:
        with reporting_to(report):
            result = TASKS[kind](params, store, out_dir)
        conn.send(("done", result))
    except SoundstageError as error:
        conn.send(("failed", one_line(error)))
    except MemoryError:
        conn.send(("failed", "the job ran out of memory; make the scene shorter or smaller"))
    except Exception as error:  # a bug: the page gets a line, the server's log the traceback
        traceback.print_exc(file=sys.stderr)
        conn.send(("failed", f"internal error ({type(error).__name__}: {one_line(error)}); please report this"))
