"""Many renders from a jobs file: scene, image and text jobs, on Ray or in this process, resumable.

Each line of a JSONL file (or row of a CSV file) is one job: ``{"scene": "room.yaml", "output":
"room.wav", "format": "binaural"}``, ``{"image": "street.jpg", "output": "street.wav", "source":
["car=engine.wav"]}`` or ``{"text": "a dog on the left", "output": "dog.wav"}``; every other key is the
command's option by its CLI name (``sample_rate`` or ``sample-rate``; a list repeats the option; in a
CSV cell, ``;`` separates repeated values). Inputs are relative to the jobs file, outputs to ``--out``.

A job runs the very command line ``soundstage scene|image|text`` would (same checks, same atomic
writers); once all its files are written, a record named by the hash of the job goes into
``OUT/.soundstage-batch/``. A job with a record and valid outputs is skipped, so a batch killed at any
moment resumes where it stopped, nothing rendered twice and nothing half-written kept; a changed job
(another hash) renders again. Tasks go through :func:`soundstage.parallel.map_tasks`, the mechanism the
learned binauralizer's data synthesis uses too.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soundstage.errors import ParameterError

#: The kinds of job and the command each runs.
KINDS = {"scene": "render", "image": "image", "text": "text"}
#: Options whose values are input files (relative to the jobs file), per command.
INPUT_OPTIONS = {"audio", "hrtf", "depth"}
#: Options of the form LABEL=FILE whose file part is an input.
LABELLED_INPUTS = {"source", "sound"}
#: Options a batch sets itself.
MANAGED = {"output", "o", "overwrite", "quiet"}
#: Folder (inside ``--out``) of the records of finished jobs.
RECORDS = ".soundstage-batch"


@dataclass
class BatchJob:
    """One job of a jobs file: its line, the command line it runs, and the files it writes."""

    line: int
    spec: dict[str, Any]
    argv: list[str]
    outputs: list[Path]
    key: str
    error: str | None = None

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
    """The jobs of a JSONL or CSV file, each turned into its command line (bad lines carry their error)."""
    path = Path(path)
    out_dir = Path(out_dir)
    try:
        text = path.read_text(encoding="utf-8")
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
    for number, row in enumerate(reader, start=2):
        cleaned: dict[str, Any] = {}
        for key, value in row.items():
            if key is None or value is None or not str(value).strip():
                continue
            key = key.strip()
            value = value.strip()
            cleaned[key] = value.split(";") if key in LABELLED_INPUTS | {"audio", "region"} else value
        rows.append((number, cleaned))
    return rows


def plan_job(line: int, row: Any, *, base: Path, out_dir: Path) -> BatchJob:
    """A job's command line and outputs.

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
    relative = Path(output)
    if relative.is_absolute() or ".." in relative.parts:
        raise ParameterError(f"line {line}: output {output!r}: give a path inside --out (relative, without '..')")
    target = out_dir / relative
    command = KINDS[kind]
    first = str(row[kind]) if kind == "text" else str(_input(row[kind], base))
    argv = [command, first, "-o", str(target)]
    for key, value in row.items():
        if key == kind or key in MANAGED:
            continue
        option = "--" + key.replace("_", "-")
        for item in value if isinstance(value, list) else [value]:
            if item is True or (isinstance(item, str) and item.lower() == "true" and key not in LABELLED_INPUTS):
                argv.append(option)
            elif item is False or item is None or (isinstance(item, str) and item.lower() == "false"):
                continue
            else:
                argv += [option, _option_value(key, item, base, out_dir)]
    argv += ["--quiet", "--overwrite"]
    outputs = _outputs(command, target, row, out_dir)
    # The key changes with the job and with its input files (size and time), so an edited scene renders again.
    text = json.dumps({"argv": argv[1:], "kind": kind, "inputs": _stamps(argv, outputs)}, sort_keys=True)
    return BatchJob(line, row, argv, outputs, hashlib.sha256(text.encode()).hexdigest()[:24])


def _stamps(argv: list[str], outputs: list[Path]) -> list[list[Any]]:
    """Size and modification time of every existing input file the command line names (LABEL=FILE included)."""
    stamps = []
    for item in argv:
        candidate = Path(item.partition("=")[2] if "=" in item and not item.startswith("-") else item)
        if candidate.is_absolute() and candidate not in outputs and candidate.is_file():
            status = candidate.stat()
            stamps.append([str(candidate), status.st_size, status.st_mtime_ns])
    return stamps


def _input(value: Any, base: Path) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else base / path


def _option_value(key: str, value: Any, base: Path, out_dir: Path) -> str:
    text = str(value)
    if key in LABELLED_INPUTS and "=" in text:
        label, _, file = text.partition("=")
        return f"{label}={_input(file, base)}"
    if key == "audio" or (key == "hrtf" and text.lower().endswith(".sofa")):
        return str(_input(text, base))
    if key == "depth" and text not in ("auto", "geometric", "transformers"):
        return str(_input(text, base))
    if key == "mesh":
        return str(out_dir / text)
    return text


def _outputs(command: str, target: Path, row: dict[str, Any], out_dir: Path) -> list[Path]:
    if command == "image":
        from soundstage.cli.image import image_outputs

        files = list(image_outputs(target).values())
        return files + ([out_dir / str(row["mesh"])] if row.get("mesh") else [])
    if command == "text":
        from soundstage.cli.text import text_outputs

        return [path for name, path in text_outputs(target).items() if name != "sounds"]
    if row.get("ir_only") or row.get("ir-only"):
        raise ParameterError(
            "ir_only: a batch writes one file per job; render impulse responses with soundstage render"
        )
    return [target]


def is_done(job: BatchJob, out_dir: Path) -> bool:
    """Whether the job's record is there and each of its outputs is a whole file."""
    from soundstage.errors import InputFileError
    from soundstage.io.wav import check_wav_length, read_wav_header

    if not (Path(out_dir) / RECORDS / f"{job.key}.json").is_file():
        return False
    for path in job.outputs:
        if not path.is_file() or path.stat().st_size == 0:
            return False
        if path.suffix.lower() == ".wav":
            try:
                read_wav_header(path)
                check_wav_length(path)
            except (InputFileError, OSError):
                return False
    return True


def run_job(task: tuple[BatchJob, str]) -> dict[str, Any]:
    """Run one job (in a worker): its command line, then its record; returns its outcome, never raises."""
    from soundstage.cli.main import build_parser
    from soundstage.errors import SoundstageError
    from soundstage.io.atomic import atomic_write, ensure_dir
    from soundstage.io.inputs import recording_inputs

    job, out_dir = task
    started = time.perf_counter()
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(captured):
            try:
                args = build_parser().parse_args(job.argv)
            except SystemExit:
                message = captured.getvalue().strip().splitlines()
                raise ParameterError(
                    message[-1].removeprefix("soundstage: error: ") if message else "bad options"
                ) from None
            for path in job.outputs:
                ensure_dir(path.parent)
            with recording_inputs():
                args.handler(args)
        record = Path(out_dir) / RECORDS / f"{job.key}.json"
        ensure_dir(record.parent)
        with atomic_write(record, overwrite=True) as temporary:
            temporary.write_text(
                json.dumps({"line": job.line, "job": job.spec, "outputs": [str(p) for p in job.outputs]})
            )
        return {
            "line": job.line,
            "status": "done",
            "output": str(job.outputs[0]),
            "seconds": time.perf_counter() - started,
        }
    except SoundstageError as error:
        return {"line": job.line, "status": "failed", "error": _one_line(error)}
    except Exception as error:  # a bug in one job is reported; the others go on
        return {
            "line": job.line,
            "status": "failed",
            "error": f"internal error ({type(error).__name__}: {_one_line(error)})",
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
    jobs = read_jobs(jobs_file, Path(out_dir))  # a jobs file that cannot be read creates nothing
    out_dir = ensure_dir(Path(out_dir))
    with _only_batch_in(out_dir):
        removed = _remove_stale_temporaries(out_dir)
        _run_pending(jobs, out_dir, report, backend=backend, address=address, workers=workers, progress=progress)
    report.seconds = time.perf_counter() - started
    report.cleaned = removed
    write_json(report.to_dict(), out_dir / "batch_report.json", overwrite=True)
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
    results = map_tasks(run_job, pending, backend=backend, address=address, workers=workers)
    for result in progress_bar(results, enabled=progress, description="batch", unit="job", total=len(pending)):
        if result["status"] == "done":
            report.done.append(result["output"])
        else:
            report.failed.append({"line": str(result["line"]), "error": result["error"]})


@contextlib.contextmanager
def _only_batch_in(out_dir: Path):
    """Hold ``OUT/.soundstage-batch/lock``: two batches writing one folder would undo each other's work."""
    import fcntl

    from soundstage.io.atomic import ensure_dir

    with open(ensure_dir(out_dir / RECORDS) / "lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ParameterError(
                f"{out_dir}: another soundstage batch is writing here; wait for it or use another --out"
            ) from None
        yield


#: What the atomic writers' temporary files are called (``.NAME.XXXXXXXX.tmp``).
_TEMPORARY = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp")


def _remove_stale_temporaries(out_dir: Path) -> int:
    """Remove what a killed batch's writers left half-written (only this batch writes in ``out_dir``)."""
    removed = 0
    for path in out_dir.rglob(".*.tmp"):
        if path.is_file() and _TEMPORARY.fullmatch(path.name):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _one_line(error: BaseException) -> str:
    return "; ".join(part.strip() for part in str(error).splitlines() if part.strip()) or type(error).__name__
