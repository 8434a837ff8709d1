"""``soundstage batch``: many scene, image and text jobs from a JSONL or CSV file, on Ray, resumable."""

from __future__ import annotations

import argparse

from soundstage.cli.main import path_argument


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``batch`` sub-command to the ``soundstage`` parser."""
    batch = commands.add_parser(
        "batch",
        help="run many scene, image or text jobs from a JSONL/CSV file (Ray; resumes after a kill)",
        description='Each line of JOBS is one job: {"scene": FILE} | {"image": FILE} | {"text": PROMPT}, with '
        '"output" (relative to --out) and the command\'s options by their CLI names. Inputs are relative to '
        "JOBS. Jobs already done are skipped; OUT/batch_report.json lists what was done, skipped and failed. "
        "Jobs may not write a file another job writes or reads (chained jobs are not supported).",
    )
    batch.add_argument("jobs", type=path_argument, help="jobs file: .jsonl (one JSON object a line) or .csv")
    batch.add_argument("--out", type=path_argument, required=True, help="folder the outputs are written to")
    batch.add_argument(
        "--address",
        help="a Ray cluster to join (ray://host:10001 or auto); default: a local one. Every node must see JOBS, "
        "the inputs and --out at the same paths (a shared file system); jobs whose outputs this machine cannot "
        "see fail",
    )
    batch.add_argument("--workers", type=int, help="jobs at once (default: one per CPU)")
    batch.add_argument(
        "--backend",
        choices=["auto", "ray", "local"],
        default="auto",
        help="auto: Ray when installed (the scale extra); local: one job after another in this process",
    )
    batch.add_argument("--quiet", action="store_true", help="print only the summary and errors")
    batch.set_defaults(handler=run_batch_command)


def run_batch_command(args: argparse.Namespace) -> int:
    """Handler of ``soundstage batch``."""
    from soundstage.batch import run_batch
    from soundstage.errors import ParameterError

    if args.workers is not None and args.workers < 1:
        raise ParameterError(f"--workers {args.workers}: give at least 1")
    report = run_batch(
        args.jobs, args.out, backend=args.backend, address=args.address, workers=args.workers, progress=not args.quiet
    )
    summary = (
        f"batch: {len(report.done)} done, {len(report.skipped)} skipped (already done), {len(report.failed)} failed "
        f"in {report.seconds:.1f} s; report {args.out / 'batch_report.json'}"
    )
    print(summary)
    if not report.failed:
        return 0
    for failure in report.failed[:20]:
        print(f"  line {failure['line']}: {failure['error']}")
    raise ParameterError(
        f"{len(report.failed)} of {len(report.failed) + len(report.done) + len(report.skipped)} "
        f"jobs failed (the others are written); see {args.out / 'batch_report.json'}"
    )
