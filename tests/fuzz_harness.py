"""Run the ``soundstage`` CLI fast and in isolation, and check what a run may and may not do.

The fuzz suites (``test_fuzz_*.py``) call the command line hundreds of times. A fresh
``python -m soundstage`` costs 0.5–1 s of imports per call, so :func:`run_cli` instead forks
this process (which has already imported soundstage, numpy, scipy, matplotlib...) and calls
:func:`soundstage.cli.main.main` in the child, which therefore starts at once. The child

* chdirs into the given folder and sets a few environment variables (offline, a private cache);
* redirects stdout/stderr into temporary files that live *outside* that folder;
* restores Python's default warning filters and prints warnings to stderr as the real CLI would
  (pytest records warnings instead of printing them; a forked child must not inherit that);
* is bounded in address space (``RLIMIT_AS``, relative to what this process already maps) and in
  time (``SIGALRM`` in the child, ``SIGKILL`` from the parent as a backstop);
* prints any uncaught exception's traceback to stderr and exits with :data:`UNCAUGHT_EXIT`.

The parent collects everything into a :class:`RunResult`. :func:`start_cli` returns at once with a
:class:`PendingRun`, and :func:`run_many` keeps several children going at a time (one per CPU by
default), which is how the catalogue fits its few hundred cases into the test budget.
:func:`run_subprocess` runs the real entry point in a fresh interpreter for the few end-to-end
checks that need one.

Assertions: :func:`assert_clean_error` (non-zero exit and exactly one stderr line starting with
``soundstage: error:``), :func:`assert_ok`, :func:`assert_one_of` (either, for inputs whose
validity is not known in advance), and :func:`snapshot` / :func:`assert_only_outputs_changed` /
:func:`assert_no_temporaries` for the files of a folder.
"""

from __future__ import annotations

import os

# Before numpy loads: one BLAS thread, so that forking never copies a busy thread pool.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import atexit  # noqa: E402
import fnmatch  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import stat  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Iterable, Mapping, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

#: Exit status of a child whose ``main`` raised an exception it did not handle.
UNCAUGHT_EXIT = 70
#: Default wall-clock bound of one run, seconds.
DEFAULT_TIMEOUT_S = 20.0
#: Default address space a run may add to what this process maps at fork time, bytes.
DEFAULT_MEMORY_BYTES = 3 * 1024**3
#: Default bound on the resident memory a run may add, bytes (checked from ``ru_maxrss``).
DEFAULT_RSS_GROWTH_BYTES = 2 * 1024**3

#: Environment every run gets: no network, a private cache, no GUI.
BASE_ENV = {
    "SOUNDSTAGE_OFFLINE": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    # A mirror nobody listens on: a download attempt fails at once instead of reaching out.
    "SOUNDSTAGE_HRTF_MIRROR": "http://127.0.0.1:9",
    "MPLBACKEND": "Agg",
    "NO_COLOR": "1",
    "COLUMNS": "120",
}

#: Text on stderr that means a warning escaped (numpy/scipy/Python warnings print their category).
WARNING_PATTERN = re.compile(r"Warning\b|warnings\.warn|RuntimeWarning|DeprecationWarning")
#: The prefix of the one line a user error prints.
ERROR_PREFIX = "soundstage: error:"
#: Hidden temporary files written by :func:`soundstage.io.atomic.atomic_write` and the caches.
TEMPORARY_PATTERN = re.compile(r"^\..+\.(tmp|part)$")

_PRELOADED = False


def preload() -> None:
    """Import what the commands import, so that forked children start at once (idempotent)."""
    global _PRELOADED
    if _PRELOADED:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot
    import numpy  # noqa: F401
    import PIL.Image  # noqa: F401
    import scipy.signal  # noqa: F401
    import soundfile  # noqa: F401
    import soxr  # noqa: F401
    import yaml  # noqa: F401

    import soundstage.acoustics.hrtf.sofa
    import soundstage.acoustics.render
    import soundstage.cli.main
    import soundstage.io.export
    import soundstage.metrics.evaluation
    import soundstage.metrics.localize
    import soundstage.metrics.room
    import soundstage.plots.analysis
    import soundstage.plots.image_scene
    import soundstage.scene.files
    import soundstage.vision.pipeline

    soundstage.cli.main.build_parser()  # imports the sub-command modules
    _PRELOADED = True


@dataclass
class RunResult:
    """What one CLI run did.

    Attributes
    ----------
    argv : list of str
        The arguments after ``soundstage``.
    code : int or None
        Exit status; None when the process was killed by a signal.
    stdout, stderr : str
        What it printed (decoded as UTF-8 with replacement).
    signal : int or None
        The signal that killed it (``SIGALRM`` for the time bound, ``SIGKILL`` for the backstop).
    timed_out : bool
        Killed for running longer than the time bound.
    seconds : float
        Wall-clock time of the run.
    max_rss_bytes : int
        Peak resident set size of the child (includes what it shares with the parent).
    rss_growth_bytes : int
        ``max_rss_bytes`` minus the parent's resident size at fork time: what the run added.
    """

    argv: list[str]
    code: int | None
    stdout: str
    stderr: str
    signal: int | None
    timed_out: bool
    seconds: float
    max_rss_bytes: int
    rss_growth_bytes: int

    @property
    def memory_error(self) -> bool:
        """The run ran out of its address-space bound."""
        return "MemoryError" in self.stderr or "Unable to allocate" in self.stderr

    @property
    def stderr_lines(self) -> list[str]:
        """Non-empty stderr lines (split at newlines only), progress-bar carriage returns removed."""
        lines = []
        for line in self.stderr.split("\n"):
            line = line.rsplit("\r", 1)[-1]
            if line.strip():
                lines.append(line)
        return lines

    def describe(self) -> str:
        """Everything, for assertion messages."""
        killed = f", killed by signal {self.signal}" if self.signal else ""
        return (
            f"soundstage {' '.join(repr(a) if (' ' in a or not a) else a for a in self.argv)}\n"
            f"exit {self.code}{killed}, {self.seconds:.2f} s, +{self.rss_growth_bytes / 2**20:.0f} MiB RSS\n"
            f"--- stderr ---\n{self.stderr[-4000:]}\n--- stdout ---\n{self.stdout[-1500:]}"
        )


def _vm_size_bytes() -> int:
    """This process's virtual size (VmSize of /proc/self/status)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a warning as Python's default hook does, on the (redirected) stderr."""
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _default_warning_filters() -> None:
    """The filters a plain ``python`` process starts with (``python -W default`` is not used by the CLI)."""
    warnings.resetwarnings()
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__", append=True)
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.filterwarnings("ignore", category=category, append=True)
    warnings.defaultaction = "default"
    warnings.showwarning = _show_warning


def _child(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    address_space: int,
    out_fd: int,
    err_fd: int,
) -> None:
    """Body of the forked child; never returns."""
    code = UNCAUGHT_EXIT
    try:
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", line_buffering=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", line_buffering=True)
        for name in (signal.SIGALRM, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(name, signal.SIG_DFL)
        os.environ.update(env)
        os.chdir(cwd)
        _default_warning_filters()
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        from soundstage.cli.main import main

        try:
            code = main(list(argv))
            code = 0 if code is None else int(code)
        except SystemExit as exit_:
            if exit_.code is None:
                code = 0
            elif isinstance(exit_.code, int):
                code = exit_.code
            else:
                print(exit_.code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = UNCAUGHT_EXIT
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(code)


class PendingRun:
    """A CLI run started by :func:`start_cli`: poll it with :meth:`poll`, or :meth:`wait` for it."""

    def __init__(self, args: list[str], cwd: Path, env: Mapping[str, str], timeout_s: float, memory_bytes: int):
        self.args = args
        self.timeout_s = timeout_s
        self._out = tempfile.TemporaryFile()
        self._err = tempfile.TemporaryFile()
        address_space = _vm_size_bytes() + int(memory_bytes)
        self._parent_rss = _rss_bytes()
        sys.stdout.flush()
        sys.stderr.flush()
        self.started = time.monotonic()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the child never returns
            _child(args, cwd, env, timeout_s, address_space, self._out.fileno(), self._err.fileno())
        self._killed = False
        self.result: RunResult | None = None

    def poll(self) -> RunResult | None:
        """The result if the child has ended (killing it past its time bound), else None."""
        if self.result is not None:
            return self.result
        waited, status, usage = os.wait4(self.pid, os.WNOHANG)
        if not waited:
            if time.monotonic() > self.started + self.timeout_s + 5.0 and not self._killed:
                os.kill(self.pid, signal.SIGKILL)
                self._killed = True
            return None
        seconds = time.monotonic() - self.started
        outputs = []
        for handle in (self._out, self._err):
            handle.seek(0)
            outputs.append(handle.read().decode("utf-8", errors="replace"))
            handle.close()
        signal_number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        max_rss = int(usage.ru_maxrss) * 1024
        self.result = RunResult(
            argv=self.args,
            code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            stdout=outputs[0],
            stderr=outputs[1],
            signal=signal_number,
            timed_out=signal_number in (signal.SIGALRM, signal.SIGKILL) or self._killed,
            seconds=seconds,
            max_rss_bytes=max_rss,
            rss_growth_bytes=max(0, max_rss - self._parent_rss),
        )
        return self.result

    def wait(self) -> RunResult:
        """Block until the child ends; its result."""
        delay = 0.002
        while (result := self.poll()) is None:
            time.sleep(delay)
            delay = min(delay * 1.5, 0.05)
        return result


def start_cli(
    argv: Sequence[str | os.PathLike],
    cwd: str | os.PathLike,
    *,
    env: Mapping[str, str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
) -> PendingRun:
    """Start ``soundstage ARGV`` in a forked child and return at once (see :func:`run_cli`)."""
    preload()
    child_env = dict(BASE_ENV)
    child_env.setdefault("SOUNDSTAGE_CACHE", str(_private_cache() / "soundstage"))
    child_env.setdefault("HF_HOME", str(_private_cache() / "huggingface"))
    child_env.update(env or {})
    return PendingRun([os.fspath(a) for a in argv], Path(cwd), child_env, timeout_s, memory_bytes)


def run_cli(
    argv: Sequence[str | os.PathLike],
    cwd: str | os.PathLike,
    *,
    env: Mapping[str, str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
) -> RunResult:
    """Run ``soundstage ARGV`` in a forked child of this process.

    Parameters
    ----------
    argv : sequence of str or PathLike
        Arguments after ``soundstage``.
    cwd : str or PathLike
        Folder the child runs in (relative paths in ``argv`` are relative to it).
    env : mapping, optional
        Extra environment variables for the child, on top of :data:`BASE_ENV` and a private
        ``SOUNDSTAGE_CACHE``/``HF_HOME`` under the system temporary folder.
    timeout_s : float, default 20
        Wall-clock bound; the child is killed by ``SIGALRM`` past it (``SIGKILL`` 5 s later).
    memory_bytes : int, default 3 GiB
        Address space the child may map on top of this process's current ``VmSize``.

    Returns
    -------
    RunResult
    """
    return start_cli(argv, cwd, env=env, timeout_s=timeout_s, memory_bytes=memory_bytes).wait()


def run_many(
    jobs: Sequence[Callable[[], PendingRun]],
    *,
    workers: int | None = None,
    on_done: Callable[[int, RunResult], None] | None = None,
) -> list[RunResult]:
    """Run several CLI jobs, ``workers`` at a time (default :func:`default_workers`), results in job order.

    Parameters
    ----------
    jobs : sequence of callables
        Each starts one run (typically ``lambda: start_cli(argv, folder)``), called when a slot is free.
    workers : int, optional
        Children running at once.
    on_done : callable, optional
        Called as ``on_done(index, result)`` as soon as job ``index`` has ended (to snapshot and
        clean up its folder while the others run).
    """
    workers = max(1, workers or default_workers())
    results: list[RunResult | None] = [None] * len(jobs)
    running: dict[int, PendingRun] = {}
    queue = list(range(len(jobs)))
    delay = 0.002
    while queue or running:
        while queue and len(running) < workers:
            index = queue.pop(0)
            running[index] = jobs[index]()
        finished = [index for index, run in running.items() if run.poll() is not None]
        for index in finished:
            result = running.pop(index).result
            results[index] = result
            if on_done is not None and result is not None:
                on_done(index, result)
        if finished:
            delay = 0.002
        else:
            time.sleep(delay)
            delay = min(delay * 1.5, 0.02)
    return [result for result in results if result is not None]


def default_workers() -> int:
    """Children run at once by :func:`run_many`: ``$SOUNDSTAGE_FUZZ_JOBS``, else the CPUs this process may use."""
    text = os.environ.get("SOUNDSTAGE_FUZZ_JOBS", "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    return max(1, len(os.sched_getaffinity(0)))


_CACHE: Path | None = None


def _private_cache() -> Path:
    """One empty cache folder per test session, outside every folder a test snapshots."""
    global _CACHE
    if _CACHE is None:
        _CACHE = Path(tempfile.mkdtemp(prefix="soundstage-fuzz-cache-"))
        atexit.register(_remove_cache, os.getpid(), _CACHE)
    return _CACHE


def _remove_cache(owner: int, folder: Path) -> None:
    if os.getpid() == owner:  # never from a forked child
        shutil.rmtree(folder, ignore_errors=True)


def run_subprocess(
    argv: Sequence[str | os.PathLike],
    cwd: str | os.PathLike,
    *,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 60.0,
) -> RunResult:
    """Run ``python -m soundstage ARGV`` in a fresh interpreter (slow: for end-to-end checks only).

    Parameters
    ----------
    argv : sequence of str or PathLike
        Arguments after ``soundstage``.
    cwd : str or PathLike
        Working folder.
    env : mapping, optional
        Extra environment variables on top of the current environment and :data:`BASE_ENV`.
    timeout_s : float, default 60
        Killed (and reported as ``timed_out``) past this many seconds.

    Returns
    -------
    RunResult
        ``max_rss_bytes`` (and ``rss_growth_bytes``) is the peak of this interpreter when it is the
        largest child this process has waited for so far, else 0 (``RUSAGE_CHILDREN`` keeps a maximum).
    """
    args = [os.fspath(a) for a in argv]
    full_env = {**os.environ, **BASE_ENV}
    full_env.setdefault("SOUNDSTAGE_CACHE", str(_private_cache() / "soundstage"))
    full_env.setdefault("HF_HOME", str(_private_cache() / "huggingface"))
    full_env.update(env or {})
    full_env.pop("PYTHONWARNINGS", None)
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "soundstage", *args],
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
        code, stdout, stderr, timed_out = completed.returncode, completed.stdout, completed.stderr, False
    except subprocess.TimeoutExpired as expired:
        code, stdout, stderr, timed_out = None, expired.stdout or b"", expired.stderr or b"", True
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    signal_number = -code if code is not None and code < 0 else None
    return RunResult(
        argv=args,
        code=None if signal_number else code,
        stdout=stdout.decode("utf-8", errors="replace"),
        stderr=stderr.decode("utf-8", errors="replace"),
        signal=signal_number,
        timed_out=timed_out,
        seconds=seconds,
        max_rss_bytes=after if after > before * 1024 else 0,
        rss_growth_bytes=after if after > before * 1024 else 0,
    )


# --------------------------------------------------------------------------------------------------
# Assertions about one run
# --------------------------------------------------------------------------------------------------


def _assert_bounded(result: RunResult, *, max_seconds: float | None, max_rss_growth: int) -> None:
    assert not result.timed_out, f"ran past its time bound\n{result.describe()}"
    assert result.signal is None, f"killed by signal {result.signal}\n{result.describe()}"
    assert not result.memory_error, f"ran out of memory\n{result.describe()}"
    assert result.rss_growth_bytes <= max_rss_growth, (
        f"used {result.rss_growth_bytes / 2**20:.0f} MiB (bound {max_rss_growth / 2**20:.0f} MiB)\n{result.describe()}"
    )
    if max_seconds is not None:
        assert result.seconds <= max_seconds, (
            f"took {result.seconds:.1f} s (bound {max_seconds} s)\n{result.describe()}"
        )


def _assert_no_noise(result: RunResult) -> None:
    assert "Traceback" not in result.stderr, f"a traceback escaped\n{result.describe()}"
    assert result.code != UNCAUGHT_EXIT, f"an exception escaped\n{result.describe()}"
    match = WARNING_PATTERN.search(result.stderr)
    assert match is None, f"a warning was printed ({match.group(0)!r})\n{result.describe()}"


def assert_clean_error(
    result: RunResult,
    match: str | re.Pattern[str] | None = None,
    *,
    max_seconds: float | None = None,
    max_rss_growth: int = DEFAULT_RSS_GROWTH_BYTES,
) -> str:
    """Assert the run refused its input the way every user error must be refused.

    Non-zero exit, no traceback, no warning, and exactly one line on stderr, which starts with
    ``soundstage: error:`` (and matches ``match`` when given, searched case-insensitively).

    Returns
    -------
    str
        The error line.
    """
    _assert_bounded(result, max_seconds=max_seconds, max_rss_growth=max_rss_growth)
    _assert_no_noise(result)
    assert result.code not in (0, None), f"expected a refusal, got exit {result.code}\n{result.describe()}"
    lines = result.stderr_lines
    assert len(lines) == 1, f"expected exactly one stderr line, got {len(lines)}\n{result.describe()}"
    line = lines[0]
    assert line.startswith(ERROR_PREFIX), f"the line does not start with {ERROR_PREFIX!r}\n{result.describe()}"
    if match is not None:
        pattern = match if isinstance(match, re.Pattern) else re.compile(match, re.IGNORECASE)
        assert pattern.search(line), f"the error line does not match {pattern.pattern!r}\n{result.describe()}"
    return line


def assert_ok(
    result: RunResult,
    *,
    max_seconds: float | None = None,
    max_rss_growth: int = DEFAULT_RSS_GROWTH_BYTES,
) -> None:
    """Assert the run succeeded: exit 0, no traceback, no warning, no error line."""
    _assert_bounded(result, max_seconds=max_seconds, max_rss_growth=max_rss_growth)
    _assert_no_noise(result)
    assert result.code == 0, f"expected success, got exit {result.code}\n{result.describe()}"
    assert ERROR_PREFIX not in result.stderr, f"succeeded but printed an error\n{result.describe()}"


def assert_one_of(
    result: RunResult,
    *,
    max_seconds: float | None = None,
    max_rss_growth: int = DEFAULT_RSS_GROWTH_BYTES,
) -> bool:
    """Assert the run either succeeded cleanly or refused cleanly; returns True for success."""
    if result.code == 0 and not result.signal:
        assert_ok(result, max_seconds=max_seconds, max_rss_growth=max_rss_growth)
        return True
    assert_clean_error(result, max_seconds=max_seconds, max_rss_growth=max_rss_growth)
    return False


# --------------------------------------------------------------------------------------------------
# Files of a folder
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One path of a snapshot: its kind, content hash (files), link target (links), mtime and mode."""

    kind: str
    digest: str
    mtime_ns: int
    mode: int


def snapshot(folder: str | os.PathLike) -> dict[str, Entry]:
    """Every path under ``folder`` (hidden ones and symlinks included, links not followed).

    Returns
    -------
    dict of str to Entry
        Keyed by the path relative to ``folder``.
    """
    root = Path(folder)
    entries: dict[str, Entry] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            info = path.lstat()
            relative = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                entries[relative] = Entry("link", os.readlink(path), info.st_mtime_ns, info.st_mode)
            elif stat.S_ISDIR(info.st_mode):
                entries[relative] = Entry("dir", "", 0, info.st_mode)
            elif stat.S_ISREG(info.st_mode):
                digest = hashlib.sha256(path.read_bytes()).hexdigest() if os.access(path, os.R_OK) else "unreadable"
                entries[relative] = Entry("file", digest, info.st_mtime_ns, info.st_mode)
            else:
                entries[relative] = Entry("other", "", info.st_mtime_ns, info.st_mode)
    return entries


def changed_paths(before: Mapping[str, Entry], after: Mapping[str, Entry]) -> dict[str, str]:
    """Paths that appeared, disappeared or changed between two snapshots, with what happened."""
    changes: dict[str, str] = {}
    for path in before.keys() | after.keys():
        old, new = before.get(path), after.get(path)
        if old is None:
            changes[path] = "created"
        elif new is None:
            changes[path] = "deleted"
        elif old != new:
            changes[path] = "changed" if old.kind == new.kind else f"{old.kind} became {new.kind}"
    return changes


def assert_only_outputs_changed(
    before: Mapping[str, Entry],
    after: Mapping[str, Entry],
    allowed: Iterable[str] = (),
    *,
    result: RunResult | None = None,
) -> None:
    """Assert that no path changed but the ``allowed`` outputs (paths or glob patterns relative to the folder)."""
    patterns = [os.path.normpath(p) for p in allowed]
    unexpected = {
        path: what
        for path, what in changed_paths(before, after).items()
        if not any(fnmatch.fnmatchcase(os.path.normpath(path), pattern) for pattern in patterns)
    }
    context = f"\n{result.describe()}" if result is not None else ""
    assert not unexpected, f"files changed that were not outputs: {unexpected}{context}"


def temporaries(entries: Mapping[str, Entry]) -> list[str]:
    """Hidden temporary files (``.NAME.*.tmp`` / ``.part``) in a :func:`snapshot`."""
    return sorted(path for path in entries if TEMPORARY_PATTERN.match(os.path.basename(path)))


def assert_no_temporaries(folder: str | os.PathLike | Mapping[str, Entry], *, result: RunResult | None = None) -> None:
    """Assert no hidden temporary file was left anywhere under ``folder`` (a path or its snapshot)."""
    left = temporaries(folder if isinstance(folder, Mapping) else snapshot(folder))
    context = f"\n{result.describe()}" if result is not None else ""
    assert not left, f"temporary files left behind: {left}{context}"


def check_run(
    result: RunResult,
    folder: str | os.PathLike | None,
    before: Mapping[str, Entry],
    outputs: Iterable[str],
    *,
    expect: str = "either",
    match: str | None = None,
    max_seconds: float | None = None,
    after: Mapping[str, Entry] | None = None,
) -> bool:
    """Every property at once: clean outcome, only outputs touched (none on failure), no temporaries.

    Parameters
    ----------
    result : RunResult
    folder : str or PathLike or None
        The folder snapshotted as ``before`` (may be None when ``after`` is given).
    before : mapping
        :func:`snapshot` of ``folder`` taken before the run.
    outputs : iterable of str
        Paths (relative to ``folder``) the command may create or replace when it succeeds.
    expect : {"either", "ok", "error"}
        What outcome is required.
    match : str, optional
        Regex the error line must contain (``expect="error"`` only).
    max_seconds : float, optional
        Wall-clock bound to assert.
    after : mapping, optional
        :func:`snapshot` of ``folder`` taken after the run (default: taken now).

    Returns
    -------
    bool
        True when the run succeeded.
    """
    if expect == "ok":
        assert_ok(result, max_seconds=max_seconds)
        ok = True
    elif expect == "error":
        assert_clean_error(result, match, max_seconds=max_seconds)
        ok = False
    else:
        ok = assert_one_of(result, max_seconds=max_seconds)
    after = snapshot(folder) if after is None else after
    assert_only_outputs_changed(before, after, outputs if ok else (), result=result)
    assert_no_temporaries(after, result=result)
    return ok
