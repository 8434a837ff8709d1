"""Many renders from a jobs file: scene, image and text jobs, on Ray or in this process, resumable.

Each line of a JSONL file (or row of a CSV file) is one job: ``{"scene": "room.yaml", "output":
"room.wav", "format": "binaural"}``, ``{"image": "street.jpg", "output": "street.wav", "source":
["car=engine.wav"]}`` or ``{"text": "a dog on the left", "output": "dog.wav"}``; every other key is the
command's option by its CLI name (``sample_rate`` or ``sample-rate``; a list repeats the option; in a
CSV cell, ``;`` separates repeated values). Inputs are relative to the jobs file (so are model folders
given to ``depth_model``, ``detector``, ``segmenter`` and ``tta`` when such a path exists there; other
values are hub ids), outputs to ``--out``.

A job runs the very command line ``soundstage scene|image|text`` would (same checks, same atomic
writers). Before it starts, an intent file ``OUT/.soundstage-batch/<key>.started`` is written; once all
its files are written, a record ``<key>.json`` (``key``: the hash of the job and of its input files'
sizes and times) holds each output's size, time and inode and each file the command read (sounds named
inside a scene included) with its size and time. A job is done when its record matches its outputs and
inputs and each output is whole, so a batch killed at any moment resumes where it stopped: nothing
half-written is kept (the writers' temporaries of this batch's outputs are removed), and a job killed
between its outputs and its record is adopted (outputs whole and newer than its intent) rather than
rendered twice. A changed job, an edited input or an output replaced since renders again.

Jobs are checked together before any runs: two jobs writing one file, or a job writing over a file that
any job names as an input, fail with the other line named. Chained jobs (one reading another's output)
are not supported: a batch passes ``--overwrite`` and runs jobs in any order.

Tasks go through :func:`soundstage.parallel.map_tasks`, the mechanism the learned binauralizer's data
synthesis uses too: on Ray (a local cluster by default, ``--address`` for any cluster, the same code
path) or in this process. A job that fails, or whose worker dies, is reported and the others go on. On a
cluster every node must see the jobs file, the inputs and ``--out`` at the same paths (a shared file
system): this process checks each job's outputs on its own disk, and a job whose outputs it cannot see
fails.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soundstage.errors import ParameterError, first_line, one_line

#: The kinds of job and the command each runs.
KINDS = {"scene": "render", "image": "image", "text": "text"}
#: Options of the form LABEL=FILE whose file part is an input.
LABELLED_INPUTS = {"source", "sound"}
#: Options naming a model: a folder beside the jobs file when it exists there, a hub id otherwise.
MODEL_OPTIONS = {"depth_model", "detector", "segmenter", "tta"}
#: Options a batch sets itself.
MANAGED = {"output", "o", "overwrite", "quiet"}
#: Folder (inside ``--out``) of the records of finished jobs.
RECORDS = ".soundstage-batch"
#: The batch's report (at the top of ``--out``).
REPORT = "batch_report.json"
#: Why a job whose worker wrote its outputs is failed when this process cannot see them.
NOT_VISIBLE = "its outputs are not visible here; --address needs a file system shared by the cluster (same paths)"


@dataclass
class BatchJob:
    """One job of a jobs file: its line, the command line it runs, the files it writes and those it names."""

    line: int
    spec: dict[str, Any]
    argv: list[str]
    outputs: list[Path]
    key: str
    error: str | None = None
    inputs: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"line {self.line}"


@dataclass
class BatchReport:
    """What a batch did: jobs done, skipped (already done) and failed (with each error)."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    cleaned: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "done": len(self.done),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "seconds": round(self.seconds, 3),
            "stale_temporaries_removed": self.cleaned,
            "failures": self.failed,
            "outputs_done": self.done,
        }


def read_jobs(path: str | Path, out_dir: str | Path) -> list[BatchJob]:
    """The jobs of a JSONL or CSV file, each turned into its command line (bad lines carry their error).

    Paths are made absolute here, so that workers anywhere (another cwd, another node) read the same
    files and a job's key does not change with how ``--out`` is spelled.
    """
    path = Path(path).expanduser().resolve()
    out_dir = Path(out_dir).expanduser().resolve()
    try:
        # utf-8-sig: Excel writes a byte-order mark before the CSV header.
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ParameterError(f"{path}: no such jobs file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ParameterError(f"{path}: cannot read the jobs file ({error})") from None
    rows = _csv_rows(text) if path.suffix.lower() == ".csv" else _jsonl_rows(text, path)
    jobs = []
    for line, row in rows:
        try:
            jobs.append(plan_job(line, row, base=path.parent, out_dir=out_dir))
        except ParameterError as error:
            jobs.append(BatchJob(line, row if isinstance(row, dict) else {}, [], [], f"line-{line}", error=str(error)))
    if not jobs:
        raise ParameterError(f"{path}: no jobs in the file; one JSON object a line (or a CSV with a header)")
    _refuse_shared_outputs(jobs)
    _refuse_outputs_over_inputs(jobs)
    return jobs


def _jsonl_rows(text: str, path: Path) -> list[tuple[int, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            rows.append((number, {"__error__": f"not JSON ({error.msg} at column {error.colno})"}))
    return rows


def _csv_rows(text: str) -> list[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    start = 2
    for row in reader:
        # A quoted cell may span lines: the row starts on the line after the previous row ended.
        number, start = start, reader.line_num + 1
        cleaned: dict[str, Any] = {}
        for key, value in row.items():
            if key is None or value is None or not str(value).strip():
                continue
            key = key.strip()
            value = value.strip()
            repeated = LABELLED_INPUTS | {"audio", "region"}
            cleaned[key] = value.split(";") if key.replace("-", "_") in repeated else value
        rows.append((number, cleaned))
    return rows


def plan_job(line: int, row: Any, *, base: Path, out_dir: Path) -> BatchJob:
    """A job's command line, outputs and named inputs.

    >>> job = plan_job(1, {"scene": "a.yaml", "output": "a.wav", "format": "foa"}, base=Path("/j"), out_dir=Path("/o"))
    >>> job.argv
    ['render', '/j/a.yaml', '-o', '/o/a.wav', '--format', 'foa', '--quiet', '--overwrite']
    """
    if not isinstance(row, dict):
        raise ParameterError(f'line {line}: give a JSON object, e.g. {{"scene": "room.yaml", "output": "room.wav"}}')
    if "__error__" in row:
        raise ParameterError(f"line {line}: {row['__error__']}")
    kinds = [kind for kind in KINDS if kind in row]
    if len(kinds) != 1:
        raise ParameterError(
            f"line {line}: give exactly one of scene, image or text (got {', '.join(kinds) or 'none'})"
        )
    kind = kinds[0]
    output = row.get("output")
    if not isinstance(output, str) or not output.strip():
        raise ParameterError(f'line {line}: output: give the output file, relative to --out (e.g. "room.wav")')
    target = _output_path(line, "output", output, out_dir)
    command = KINDS[kind]
    inputs = [] if kind == "text" else [_input(row[kind], base)]
    argv = [command, str(row[kind]) if kind == "text" else str(inputs[0]), "-o", str(target)]
    extra_outputs = []
    for key, value in row.items():
        name = key.replace("-", "_")
        if key == kind or name in MANAGED:
            continue
        option = "--" + name.replace("_", "-")
        for item in value if isinstance(value, list) else [value]:
            flag = _flag(item)
            if flag is True and name not in LABELLED_INPUTS:
                argv.append(option)
            elif flag is False:
                continue
            elif name == "mesh":
                mesh = _output_path(line, "mesh", str(item), out_dir)
                extra_outputs.append(mesh)
                argv += [option, str(mesh)]
            else:
                text, file = _option_value(name, item, base)
                argv += [option, text]
                inputs += [file] if file is not None else []
    argv += ["--quiet", "--overwrite"]
    outputs = _outputs(line, command, target, row) + extra_outputs
    # The key changes with the job and with its input files (size and time), so an edited scene renders again.
    text = json.dumps({"argv": argv[1:], "kind": kind, "inputs": _stamps(inputs, outputs)}, sort_keys=True)
    return BatchJob(line, row, argv, outputs, hashlib.sha256(text.encode()).hexdigest()[:24], inputs=inputs)


def _flag(value: Any) -> bool | None:
    """True or False for a yes/no value (``true``/``false`` in any case, JSON booleans, null), None otherwise."""
    if value is True or (isinstance(value, str) and value.strip().lower() == "true"):
        return True
    if value is False or value is None or (isinstance(value, str) and value.strip().lower() == "false"):
        return False
    return None


def _output_path(line: int, name: str, value: str, out_dir: Path) -> Path:
    """``value`` inside ``out_dir``, refusing escapes and the batch's own files."""
    relative = Path(value)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ParameterError(f"line {line}: {name} {value!r}: give a path inside --out (relative, without '..')")
    if relative.parts[0] == RECORDS or relative == Path(REPORT):
        raise ParameterError(
            f"line {line}: {name} {value!r}: {RECORDS}/ and {REPORT} are the batch's own files; choose another name"
        )
    return out_dir / relative


def _stamps(inputs: list[Path], outputs: list[Path]) -> list[list[Any]]:
    """Size and modification time of every existing input file the command line names."""
    stamps = [_file_stamp(path) for path in inputs if path not in outputs and path.is_file()]
    return [[stamp["path"], stamp["size"], stamp["mtime_ns"]] for stamp in stamps]


def _input(value: Any, base: Path) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else base / path


def _option_value(name: str, value: Any, base: Path) -> tuple[str, Path | None]:
    """An option's value on the command line, and the input file it names (or None)."""
    text = str(value)
    if name in LABELLED_INPUTS and "=" in text:
        label, _, file = text.partition("=")
        path = _input(file, base)
        return f"{label}={path}", path
    from soundstage.vision.stages import DEPTH_KEYWORDS

    depth_file = name == "depth" and text.lower() not in DEPTH_KEYWORDS
    if name == "audio" or (name == "hrtf" and text.lower().endswith(".sofa")) or depth_file:
        path = _input(text, base)
        return str(path), path
    if name in MODEL_OPTIONS and _input(text, base).exists():
        # A model folder beside the jobs file; otherwise a hub id such as "owner/name", left as it is.
        path = _input(text, base)
        return str(path), path
    return text, None


def _outputs(line: int, command: str, target: Path, row: dict[str, Any]) -> list[Path]:
    if command == "image":
        from soundstage.cli.image import image_outputs

        return list(image_outputs(target).values())
    if command == "text":
        from soundstage.cli.text import text_outputs

        return [path for name, path in text_outputs(target).items() if name != "sounds"]
    if _flag(row.get("ir_only")) or _flag(row.get("ir-only")):
        raise ParameterError(
            f"line {line}: ir_only: a batch writes one file per job; render impulse responses with soundstage render"
        )
    return [target]


def _refuse_shared_outputs(jobs: list[BatchJob]) -> None:
    """Fail every job that writes a file another job writes too (on Ray they would race; both would "succeed")."""
    writers: dict[Path, list[BatchJob]] = {}
    for job in jobs:
        for path in job.outputs:
            writers.setdefault(path.resolve(), []).append(job)
    for path, sharing in writers.items():
        for job in sharing:
            others = sorted({other.line for other in sharing if other is not job})
            if others and job.error is None:
                lines = ", ".join(str(other) for other in others)
                job.error = (
                    f"line {job.line}: output {path} is also written by line {lines}; give each job its own output"
                )


def _refuse_outputs_over_inputs(jobs: list[BatchJob]) -> None:
    """Fail a job whose output is a file any job names as an input: ``--overwrite`` would destroy it."""
    from soundstage.io.inputs import InputFile

    by_path: dict[Path, list[int]] = {}
    by_identity: dict[tuple[int, int], list[int]] = {}
    for job in jobs:
        for path in job.inputs:
            entry = InputFile.of(path)
            by_path.setdefault(entry.path, []).append(job.line)
            if entry.identity is not None:
                by_identity.setdefault(entry.identity, []).append(job.line)
    for job in jobs:
        for path in job.outputs if job.error is None else []:
            entry = InputFile.of(path)  # resolved, and its inode: a hard link to an input is that input
            lines = by_path.get(entry.path) or (by_identity.get(entry.identity, []) if entry.identity else [])
            if lines:
                whose = "this job" if job.line in lines else f"line {lines[0]}"
                job.error = (
                    f"line {job.line}: output {path} is an input of {whose}; a batch replaces its outputs "
                    "and chained jobs are not supported: write to another file"
                )
                break


def _file_stamp(path: Path) -> dict[str, Any]:
    """A file's path, size, modification time and inode (None each when it is missing)."""
    try:
        status = path.stat()
    except OSError:
        return {"path": str(path), "size": None, "mtime_ns": None, "inode": None}
    return {"path": str(path), "size": status.st_size, "mtime_ns": status.st_mtime_ns, "inode": status.st_ino}


def _whole(path: Path) -> bool:
    """Whether ``path`` is a non-empty file (and, for a WAV file, one whose header and length agree)."""
    from soundstage.errors import InputFileError
    from soundstage.io.wav import check_wav_length, read_wav_header

    if not path.is_file() or path.stat().st_size == 0:
        return False
    if path.suffix.lower() == ".wav":
        try:
            read_wav_header(path)
            check_wav_length(path)
        except (InputFileError, OSError):
            return False
    return True


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def is_done(job: BatchJob, out_dir: Path) -> bool:
    """Whether the job is done: its record matches its outputs (size, time, inode) and inputs, outputs whole.

    Without a record, a job whose intent file is older than all its (whole) outputs was killed between
    writing them and its record: it is adopted (its record written) instead of rendered again.
    """
    records = Path(out_dir) / RECORDS
    record = _read_record(records / f"{job.key}.json")
    if record is None:
        return _adopt(job, out_dir)
    # A file put there since (another run, another format, a copy) has another size, time or inode.
    if record.get("outputs") != [_file_stamp(path) for path in job.outputs]:
        return False
    for stamp in record.get("inputs") or []:
        current = _file_stamp(Path(stamp["path"]))
        if (current["size"], current["mtime_ns"]) != (stamp.get("size"), stamp.get("mtime_ns")):
            return False  # a sound the scene plays was edited (or removed)
    return all(_whole(path) for path in job.outputs)


def _adopt(job: BatchJob, out_dir: Path) -> bool:
    """Write the record of a job killed after its outputs were written; False when it must run again."""
    intent = Path(out_dir) / RECORDS / f"{job.key}.started"
    try:
        since = intent.stat().st_mtime_ns
    except OSError:
        return False
    if not job.outputs or not all(_whole(path) for path in job.outputs):
        return False
    if any(path.stat().st_mtime_ns < since for path in job.outputs):
        return False  # an output from before this job started: not its work
    _write_record(job, Path(out_dir), read=None)
    intent.unlink(missing_ok=True)
    return True


def _write_record(job: BatchJob, out_dir: Path, read: list[Path] | None) -> None:
    """The job's record: its outputs' stamps and those of the files it read (None: not known, an adopted job)."""
    from soundstage.io.atomic import ensure_dir
    from soundstage.io.reports import write_json

    inputs = None
    if read is not None:
        inputs = [_file_stamp(path) for path in sorted(set(read)) if path not in job.outputs]
        for stamp in inputs:
            del stamp["inode"]
    record = ensure_dir(out_dir / RECORDS) / f"{job.key}.json"
    data = {"line": job.line, "job": job.spec, "outputs": [_file_stamp(p) for p in job.outputs], "inputs": inputs}
    write_json(data, record, overwrite=True)


def run_job(task: tuple[BatchJob, str]) -> dict[str, Any]:
    """Run one job (in a worker): its intent, its command line, then its record; returns its outcome, never raises."""
    from soundstage.cli.main import parser_for
    from soundstage.errors import SoundstageError
    from soundstage.io.atomic import ensure_dir
    from soundstage.io.inputs import recording_inputs

    job, out_dir = task
    started = time.perf_counter()
    captured = io.StringIO()
    try:
        # Its time tells, after a kill, whether outputs found without a record are this run's work.
        intent = ensure_dir(Path(out_dir) / RECORDS) / f"{job.key}.started"
        intent.write_text(f"{time.time()}\n")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(captured):
            try:
                args = parser_for(job.argv).parse_args(job.argv)
            except SystemExit:
                message = captured.getvalue().strip().splitlines()
                raise ParameterError(
                    message[-1].removeprefix("soundstage: error: ") if message else "bad options"
                ) from None
            for path in job.outputs:
                ensure_dir(path.parent)
            with recording_inputs() as read:
                args.handler(args)
        _write_record(job, Path(out_dir), read=[entry.path for entry in read])
        intent.unlink(missing_ok=True)
        return {
            "line": job.line,
            "status": "done",
            "output": str(job.outputs[0]),
            "seconds": time.perf_counter() - started,
        }
    except SoundstageError as error:
        return {"line": job.line, "status": "failed", "error": one_line(error)}
    except Exception as error:  # a bug in one job is reported; the others go on
        return {
            "line": job.line,
            "status": "failed",
            "error": f"internal error ({type(error).__name__}: {one_line(error)})",
        }


def run_batch(
    jobs_file: str | Path,
    out_dir: str | Path,
    *,
    backend: str = "auto",
    address: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> BatchReport:
    """Run every job of ``jobs_file`` not yet done; returns the report (also written to ``OUT/batch_report.json``)."""
    from soundstage.io.atomic import ensure_dir
    from soundstage.io.reports import write_json

    started = time.perf_counter()
    report = BatchReport()
    out_dir = Path(out_dir).expanduser().resolve()
    jobs = read_jobs(jobs_file, out_dir)  # a jobs file that cannot be read creates nothing
    out_dir = ensure_dir(out_dir)
    with _only_batch_in(out_dir):
        removed = _remove_stale_temporaries(out_dir, jobs)
        _run_pending(jobs, out_dir, report, backend=backend, address=address, workers=workers, progress=progress)
    report.seconds = time.perf_counter() - started
    report.cleaned = removed
    write_json(report.to_dict(), out_dir / REPORT, overwrite=True)
    return report


def _run_pending(jobs, out_dir: Path, report: BatchReport, *, backend, address, workers, progress) -> None:
    from soundstage.parallel import map_tasks
    from soundstage.progress import progress_bar

    pending = []
    for job in jobs:
        if job.error is not None:
            report.failed.append({"line": str(job.line), "error": job.error})
        elif is_done(job, out_dir):
            report.skipped.append(str(job.outputs[0]))
        else:
            pending.append((job, str(out_dir)))
    by_line = {job.line: job for job, _ in pending}
    results = map_tasks(
        run_job, pending, backend=backend, address=address, workers=workers, on_error=_worker_failure
    )
    for result in progress_bar(results, enabled=progress, description="batch", unit="job", total=len(pending)):
        if result["status"] == "done" and not all(_whole(path) for path in by_line[result["line"]].outputs):
            # The worker wrote them on its own disk (a cluster without a shared file system).
            result = {"line": result["line"], "status": "failed", "error": NOT_VISIBLE}
        if result["status"] == "done":
            report.done.append(result["output"])
        else:
            report.failed.append({"line": str(result["line"]), "error": result["error"]})


def _worker_failure(task: tuple[BatchJob, str], error: BaseException) -> dict[str, Any]:
    """The outcome of a job whose worker died (out of memory, a crash): failed, the other jobs go on."""
    job, _ = task
    first = first_line(error)[:200]
    return {"line": job.line, "status": "failed", "error": f"the worker died ({type(error).__name__}: {first})"}


@contextlib.contextmanager
def _only_batch_in(out_dir: Path):
    """Hold ``OUT/.soundstage-batch/lock``: two batches writing one folder would undo each other's work."""
    from soundstage.io.atomic import ensure_dir, hold_lock

    busy = f"{out_dir}: another soundstage batch is writing here; wait for it or use another --out"
    with hold_lock(ensure_dir(out_dir / RECORDS) / "lock", busy):
        yield


def _remove_stale_temporaries(out_dir: Path, jobs: list[BatchJob]) -> int:
    """Remove what a killed batch's writers left half-written: temporaries of this batch's own files only.

    Another program (a ``soundstage render`` writing into ``--out``) may have a live temporary there.
    """
    from soundstage.io.atomic import temporary_of

    names: dict[Path, set[str]] = {out_dir: {REPORT}, out_dir / RECORDS: set()}
    for job in jobs:
        if job.error is None:
            names[out_dir / RECORDS].add(f"{job.key}.json")
            for path in job.outputs:
                names.setdefault(path.parent, set()).add(path.name)
    removed = 0
    for folder, wanted in names.items():
        for path in folder.glob(".*.tmp") if folder.is_dir() else []:
            if temporary_of(path.name) in wanted and path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
    return removed
