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

from soundstage.errors import ParameterError
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

    Yields
    ------
    Any
        Each task's result as it finishes (Ray) or in order (local).
    """
    if choose_backend(backend, address) == "local":
        for task in tasks:
            yield function(task)
        return
    yield from _ray_map(function, list(tasks), address=address, workers=workers)


def _call(function: Callable[[Any], Any], task: Any) -> Any:
    """Run one task in a Ray worker (a plain function, so any callable Ray can pickle works)."""
    return function(task)


def _ray_map(function: Callable[[Any], Any], tasks: list[Any], *, address: str | None, workers: int | None):
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        options: dict[str, Any] = {"address": address, "log_to_driver": False, "include_dashboard": False}
        if address is None and workers:
            options["num_cpus"] = workers
        # One task per CPU, so each task's FFTs use one thread: tasks side by side do not fight over cores.
        options["runtime_env"] = {"env_vars": {THREADS_VARIABLE: "1"}}
        ray.init(**{key: value for key, value in options.items() if value is not None or key == "address"})
    try:
        remote = ray.remote(num_cpus=1)(_call)
        cluster_cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        limit = workers or max(1, int(ray.available_resources().get("CPU", 1)))
        if limit >= cluster_cpus:
            # Ray itself runs at most one task per CPU; a second one queued per worker starts the moment the
            # first ends, instead of after a round trip to this process (short tasks would wait on it).
            limit *= 2
        pending: list[Any] = []
        queue = iter(tasks)
        for task in queue:
            pending.append(remote.remote(function, task))
            if len(pending) >= limit:
                break
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
            for task in queue:
                pending.append(remote.remote(function, task))
                break
    finally:
        if started_here:
            ray.shutdown()
