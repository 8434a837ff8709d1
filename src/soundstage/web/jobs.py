"""Jobs: a queue in front of a bounded set of worker processes, results cached by content, kept on disk.

A job is named by the hash of its kind and parameters; inputs are uploads named by their content, so
the same request is the same job: asking again returns the finished result (``cached``) or joins the
job still running. At most ``workers`` jobs run at once, each in a worker process of its own that
keeps what it loaded between jobs; the rest wait in order. A worker that dies (a crash, the
out-of-memory killer, a job past its time) fails only the job it ran, and a fresh one takes its place.
A job's record (``jobs/<id>/job.json``) is written at each change of state and its files are
served only once it is ``done``, so a server that stops mid-job leaves a job reported failed and no
half-written file anyone can fetch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
import queue
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from soundstage.errors import SoundstageError
from soundstage.io.atomic import atomic_write, hold_lock
from soundstage.threads import configured_threads, usable_cores
from soundstage.web.limits import Limits
from soundstage.web.store import ID_PATTERN, REF_PREFIX, UnknownId, UploadStore, check_id

#: Said of a job that a server stop interrupted.
STOPPED = "the server stopped before this job finished; submit it again"
#: Jobs a worker runs before it is replaced by a fresh process (what a long run leaks stays bounded).
JOBS_PER_WORKER = 100


class ServerBusy(SoundstageError):
    """Too many jobs are waiting; the client should try again later (HTTP 503)."""

    status = 503


class JobManager:
    """Runs jobs in worker processes.

    Parameters
    ----------
    root : Path
        The server's data folder; jobs live in ``root/jobs``.
    store : UploadStore
    limits : Limits
    workers : int
        Jobs that run at once (each in its own process).
    """

    def __init__(self, root: Path, store: UploadStore, limits: Limits, *, workers: int = 2) -> None:
        if workers < 1:
            raise ValueError("workers: give at least 1")
        self.folder = Path(root) / "jobs"
        self.folder.mkdir(parents=True, exist_ok=True)
        # Two servers on one data folder would fail each other's jobs.
        self._lock_file = hold_lock(
            Path(root) / "lock",
            f"{root}: another soundstage serve uses this data folder; stop it or give --data-dir another folder",
        )
        self.store = store
        if limits.render_memory_bytes is None:
            from soundstage.acoustics.budget import memory_limit_bytes

            # The machine's render budget is shared by the workers that render at once.
            limits = dataclasses.replace(limits, render_memory_bytes=memory_limit_bytes(None) // workers)
        self.limits = limits
        self.workers = workers
        # Each worker's share of the cores for its FFTs (the operator's SOUNDSTAGE_THREADS wins).
        self._worker_threads = configured_threads() or max(1, usable_cores() // workers)
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        # One token per worker slot: an idle worker, or None for a slot whose worker is yet to start.
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(workers):
            self._idle.put(None)
        self._processes: dict[str, Any] = {}  # job id → the process running it
        self._closing = threading.Event()
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["soundstage.web.worker"])
        self._recover()
        self._threads = [
            threading.Thread(target=self._dispatch, name="soundstage-jobs", daemon=True),
            threading.Thread(target=self._expire_loop, name="soundstage-expiry", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # -- the API's side -------------------------------------------------------------------------------

    def submit(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        """Queue a job (or return the same request's job); returns the job's record."""
        job_id = job_key(kind, params)
        with self._lock:
            existing = self._jobs.get(job_id)
            if existing is not None and existing["state"] != "failed" and self._still_whole(existing):
                self._touch(job_id)
                return {**existing, "cached": existing["state"] == "done"}
            pending = sum(job["state"] in ("queued", "running") for job in self._jobs.values())
            if pending >= self.limits.max_pending_jobs:
                raise ServerBusy(f"{pending} jobs are waiting, the most this server queues; try again in a minute")
            folder = self.folder / job_id
            shutil.rmtree(folder, ignore_errors=True)
            (folder / "out").mkdir(parents=True)
            job = {
                "id": job_id,
                "kind": kind,
                "state": "queued",
                "progress": 0.0,
                "stage": "waiting for a worker",
                "error": None,
                "cached": False,
                "result": None,
                "created": time.time(),
                "finished": None,
                "params": params,
            }
            self._jobs[job_id] = job
            self._save(job)
        self._queue.put(job_id)
        return dict(job)

    def _still_whole(self, job: dict[str, Any]) -> bool:
        """Whether a done job's files and the uploads its result names are all still there (and keep them)."""
        if job["state"] != "done":
            return True
        folder = self.folder / job["id"] / "out"
        if not all((folder / name).is_file() for name in job["result"].get("files", {}).values()):
            return False
        try:
            for upload in _uploads_named(job["result"]):
                self.store.path(upload)  # touched: a cached result keeps its generated sounds and pictures
        except UnknownId:
            return False
        return True

    def get(self, job_id: str, *, touch: bool = True) -> dict[str, Any]:
        """A job's record (its parameters left out); ``touch`` counts the look as a use (expiry)."""
        check_id(job_id, "job")
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise UnknownId(f"job {job_id}: no such job (finished jobs expire after a while); submit it again")
            if touch:
                self._touch(job_id)
            return {key: value for key, value in job.items() if key != "params"}

    def file(self, job_id: str, name: str) -> Path:
        """A file a finished job lists in ``result["files"]``; anything else is unknown."""
        job = self.get(job_id)
        if job["state"] != "done":
            raise UnknownId(f"job {job_id} is {job['state']}; its files are served once it is done")
        files = job["result"].get("files", {}) if isinstance(job["result"], dict) else {}
        if name not in files.values():
            raise UnknownId(f"job {job_id} has no file {name[:80]!r}; it has {', '.join(files.values()) or 'none'}")
        path = self.folder / job_id / "out" / name
        if not path.is_file():
            raise UnknownId(f"job {job_id}: {name} has expired; submit the job again")
        return path

    def close(self, timeout: float = 5.0) -> None:
        """Stop: running jobs are stopped and reported failed, queued ones too; nothing is left half-done."""
        self._closing.set()
        self._queue.put(None)
        with self._lock:
            # Reported first, so that the watchers of the processes stopped below leave the reason as it is.
            stopped = [job["id"] for job in self._jobs.values() if job["state"] in ("queued", "running")]
            for job_id in stopped:
                self._finish(self._jobs[job_id], "failed", error=STOPPED)
            processes = list(self._processes.values())
        for process in processes:
            with contextlib.suppress(Exception):
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1.0)
        for job_id in stopped:  # whatever a stopped worker left behind
            shutil.rmtree(self.folder / job_id / "out", ignore_errors=True)
        self._lock_file.close()  # another server may use the folder now
        while not self._idle.empty():
            worker = self._idle.get_nowait()
            if worker is not None:
                worker.stop()
        self._idle.put(None)  # lets a dispatcher waiting for a slot see that the server is closing

    # -- the workers' side ----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Hand queued jobs, in order, to idle workers (starting a worker where a slot has none)."""
        while True:
            job_id = self._queue.get()
            if job_id is None or self._closing.is_set():
                return
            worker = self._idle.get()
            if self._closing.is_set():
                return
            try:
                if worker is None or not worker.process.is_alive():
                    worker = _Worker(self._context, self.store.folder.parent, self.limits, self._worker_threads)
                self._assign(job_id, worker)
            except Exception as error:  # this job fails; the dispatcher and the other jobs go on
                with self._lock:
                    if self._jobs[job_id]["state"] == "queued":
                        self._finish(self._jobs[job_id], "failed", error=f"could not start a worker: {error}")
                self._idle.put(None)

    def _assign(self, job_id: str, worker: _Worker) -> None:
        with self._lock:
            job = self._jobs[job_id]
            if job["state"] != "queued":  # reported failed meanwhile (the server is stopping)
                self._idle.put(worker)
                return
            worker.conn.send(("job", job["kind"], job["params"], str(self.folder / job_id / "out")))
            self._processes[job_id] = worker.process
            job.update(state="running", stage="starting", started=time.time())
            self._save(job)
        threading.Thread(target=self._watch, args=(job_id, worker), daemon=True).start()

    def _watch(self, job_id: str, worker: _Worker) -> None:
        """Follow one job on its worker until its outcome arrives, the worker dies, or time runs out."""
        outcome: tuple[str, Any] | None = None
        timed_out = False
        deadline = time.monotonic() + self.limits.job_timeout_s
        while outcome is None:
            if time.monotonic() > deadline:
                worker.process.kill()
                worker.process.join(5.0)
                outcome = ("failed", f"stopped after {self.limits.job_timeout_s:g} s, the longest a job may run")
                timed_out = True
                break
            try:
                if not worker.conn.poll(0.25):
                    if not worker.process.is_alive() and not worker.conn.poll(0):
                        break
                    continue
                message = worker.conn.recv()
            except (EOFError, OSError):
                break
            if message[0] == "progress":
                with self._lock:
                    self._jobs[job_id].update(stage=message[1], progress=round(float(message[2]), 3))
            else:
                outcome = message
        worker.jobs_done += 1
        healthy = (
            outcome is not None and not timed_out and worker.process.is_alive() and worker.jobs_done < JOBS_PER_WORKER
        )
        if not healthy:
            worker.stop()
        with self._lock:
            self._processes.pop(job_id, None)
            job = self._jobs[job_id]
            if job["state"] == "running":  # close() may already have reported it
                if outcome is not None and outcome[0] == "done":
                    self._finish(job, "done", result=outcome[1])
                elif outcome is not None:
                    self._finish(job, "failed", error=outcome[1])
                else:
                    self._finish(job, "failed", error=_died(worker.process.exitcode))
        self._idle.put(worker if healthy else None)

    def _finish(self, job: dict[str, Any], state: str, *, result: Any = None, error: str | None = None) -> None:
        """Record the end of a job (call with the lock held); a failed job's partial files are removed."""
        job.update(state=state, result=result, error=error, finished=time.time())
        job.update(progress=1.0, stage="done") if state == "done" else job.update(stage="failed")
        if state == "failed":
            shutil.rmtree(self.folder / job["id"] / "out", ignore_errors=True)
        self._save(job)

    # -- records on disk ------------------------------------------------------------------------------

    def _save(self, job: dict[str, Any]) -> None:
        folder = self.folder / job["id"]
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(folder / "job.json", overwrite=True) as temporary:
            temporary.write_text(json.dumps(job), encoding="utf-8")

    def _touch(self, job_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.utime(self.folder / job_id / "job.json")

    def _recover(self) -> None:
        """Load the jobs of an earlier run; those it left queued or running are failed (they did not finish)."""
        for record in self.folder.glob("*/job.json"):
            try:
                job = json.loads(record.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                shutil.rmtree(record.parent, ignore_errors=True)
                continue
            self._jobs[job["id"]] = job
            if job["state"] in ("queued", "running"):
                self._finish(job, "failed", error=STOPPED)

    def _expire_loop(self) -> None:
        interval = max(1.0, min(60.0, self.limits.keep_seconds / 4))
        while not self._closing.wait(interval):
            self.expire()

    def expire(self, now: float | None = None) -> int:
        """Remove finished jobs and uploads unused for longer than ``keep_seconds``; returns how many."""
        now = time.time() if now is None else now
        removed = self.store.expire(now)
        with self._lock:
            for job_id, job in list(self._jobs.items()):
                if job["state"] not in ("done", "failed"):
                    continue
                try:
                    unused = now - (self.folder / job_id / "job.json").stat().st_mtime
                except FileNotFoundError:
                    unused = float("inf")
                if unused > self.limits.keep_seconds:
                    shutil.rmtree(self.folder / job_id, ignore_errors=True)
                    del self._jobs[job_id]
                    removed += 1
        return removed


class _Worker:
    """A worker process that runs jobs one after another, keeping what it loaded (heads, caches) between them."""

    def __init__(self, context, data_dir: Path, limits: Limits, threads: int) -> None:
        from soundstage.web.worker import serve_jobs

        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(
            target=serve_jobs,
            args=(child, str(data_dir), limits.to_dict(), threads),
            name="soundstage-worker",
            daemon=True,
        )
        self.process.start()
        child.close()
        self.jobs_done = 0

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2.0)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(1.0)


def _uploads_named(value: Any) -> list[str]:
    """Every upload a result names: ``"upload:<id>"`` strings and ``{"id": ...}`` of pictures and sounds.

    >>> _uploads_named({"scene": {"sources": [{"audio": "upload:" + "a" * 32}]}, "picture": {"id": "b" * 32}})
    ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb']
    """
    found: list[str] = []
    if isinstance(value, str) and value.startswith(REF_PREFIX):
        found.append(value[len(REF_PREFIX) :])
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and isinstance(item, str) and ID_PATTERN.fullmatch(item):
                found.append(item)
            else:
                found.extend(_uploads_named(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_uploads_named(item))
    return found


def job_key(kind: str, params: dict[str, Any]) -> str:
    """A job's identifier: the hash of its kind and parameters (uploads are named by content).

    >>> job_key("render", {"a": 1, "b": 2}) == job_key("render", {"b": 2, "a": 1})
    True
    """
    text = json.dumps({"kind": kind, "params": params}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _died(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        import signal

        with contextlib.suppress(ValueError):
            return f"the worker was stopped by {signal.Signals(-exitcode).name} (out of memory?); nothing was kept"
    return f"the worker ended without a result (exit code {exitcode}); nothing was kept"
