"""Running many independent tasks: on Ray when it is installed, in this process otherwise.

One code path: the task function is the same either way, and results come back as each task
finishes (so a caller can record progress and resume). On Ray (the ``scale`` extra) a local cluster
starts by default and ``address`` joins an existing one (``"ray://host:10001"`` or ``"auto"``);
heavy state a task needs (a measured head, a sound pool) is cached at module level by the task's
own code, so each worker process loads it once, not once per task.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from soundstage.errors import ParameterError, first_line
from soundstage.threads import THREADS_VARIABLE

T = TypeVar("T")
R = TypeVar("R")

BACKENDS = ("auto", "ray", "local")


def ray_available() -> bool:
    """True when the ``ray`` package can be imported."""
    return importlib.util.find_spec("ray") is not None


def choose_backend(backend: str = "auto", address: str | None = None) -> str:
    """``"ray"`` or ``"local"`` for a requested backend; an impossible request is one clear error."""
    if backend not in BACKENDS:
        raise ParameterError(f"parallel backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if backend == "local" and address:
        raise ParameterError("--address joins a Ray cluster; drop it or do not ask for the local backend")
    if backend == "ray" or address:
        if not ray_available():
            raise ParameterError("Ray is not installed; pip install 'soundstage[scale]' (or drop --address / --ray)")
        return "ray"
    if backend == "auto":
        return "ray" if ray_available() else "local"
    return "local"


def map_tasks(
    function: Callable[[T], R],
    tasks: Iterable[T],
    *,
    backend: str = "auto",
    address: str | None = None,
    workers: int | None = None,
    on_error: Callable[[T, BaseException], R] | None = None,
) -> Iterator[R]:
    """Results of ``function(task)`` for every task, in the order they finish.

    Parameters
    ----------
    function : callable
        A module-level function (Ray pickles it by reference).
    tasks : iterable
        Its arguments, one per call.
    backend : {"auto", "ray", "local"}
        ``auto`` uses Ray when installed.
    address : str or None
        A Ray cluster to join; None starts a local one.
    workers : int or None
        Most tasks in flight at once (None: one per CPU Ray sees).
    on_error : callable or None
        Called as ``on_error(task, error)`` when a task fails (on Ray: it raised, or its worker died or ran
        out of memory; tasks are not retried); what it returns is yielded in the task's place and the other
        tasks go on. None: the error is raised (the tasks not yet finished are abandoned).

    Yields
    ------
    Any
        Each task's result as it finishes (Ray) or in order (local).
    """
    if choose_backend(backend, address) == "local":
        for task in tasks:
            try:
                result = function(task)
            except Exception as error:  # the same contract as on Ray: one task's failure is the caller's to report
                if on_error is None:
                    raise
                result = on_error(task, error)
            yield result
        return
    yield from _ray_map(function, list(tasks), address=address, workers=workers, on_error=on_error)


def _call(function: Callable[[Any], Any], task: Any) -> Any:
    """Run one task in a Ray worker (a plain function, so any callable Ray can pickle works)."""
    return function(task)


def _ray_map(
    function: Callable[[Any], Any],
    tasks: list[Any],
    *,
    address: str | None,
    workers: int | None,
    on_error: Callable[[Any, BaseException], Any] | None,
):
    import ray
    from ray.exceptions import RayError

    started_here = not ray.is_initialized()
    if started_here:
        _start_ray(ray, address, workers)
    try:
        # No retries: a task that crashed its worker (out of memory, a segfault) would most likely crash the
        # next one too; its failure goes to the caller at once instead, and the other tasks go on.
        remote = ray.remote(num_cpus=1, max_retries=0)(_call)
        cluster_cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        limit = workers or max(1, int(ray.available_resources().get("CPU", 1)))
        if limit >= cluster_cpus:
            # Ray itself runs at most one task per CPU; a second one queued per worker starts the moment the
            # first ends, instead of after a round trip to this process (short tasks would wait on it).
            limit *= 2
        pending: dict[Any, Any] = {}  # each task in flight, by its result's reference
        queue = iter(tasks)
        for task in queue:
            pending[remote.remote(function, task)] = task
            if len(pending) >= limit:
                break
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            task = pending.pop(done[0])
            try:
                result = ray.get(done[0])
            except RayError as error:
                if on_error is None:
                    raise
                result = on_error(task, error)
            yield result
            for task in queue:
                pending[remote.remote(function, task)] = task
                break
    finally:
        if started_here:
            ray.shutdown()


def _start_ray(ray: Any, address: str | None, workers: int | None) -> None:
    """Start a local Ray cluster or join ``address``; a failure is one clear error, not Ray's traceback."""
    options: dict[str, Any] = {"address": address, "log_to_driver": False, "include_dashboard": False}
    if address is None and workers:
        options["num_cpus"] = workers
    # One task per CPU, so each task's FFTs use one thread: tasks side by side do not fight over cores.
    options["runtime_env"] = {"env_vars": {THREADS_VARIABLE: "1"}}
    try:
        ray.init(**options)
    except Exception as error:  # Ray raises ConnectionError, RuntimeError, ValueError, TimeoutError...
        reason = first_line(error)
        raise ParameterError(
            f"cannot start or join the Ray cluster at {address or 'this machine (a local one)'}: {reason}; "
            "check --address and that the cluster is running (or drop --address)"
        ) from None
