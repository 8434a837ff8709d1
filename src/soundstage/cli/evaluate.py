"""``soundstage eval``: the FAIR-Play binauralization metrics of a folder of predictions."""

from __future__ import annotations

import argparse

from soundstage.cli.main import path_argument

#: Column headings of the printed table (ASCII, so any terminal shows them).
_HEADINGS = {
    "stft": "STFT",
    "env": "ENV",
    "mag": "Mag",
    "phase": "Phase rad",
    "snr": "SNR dB",
    "wav_l2": "WAV-L2 x1e3",
    "itd_error_us": "ITD err us",
    "ild_error_db": "ILD err dB",
    "coherence_error": "IC err",
}


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``eval`` sub-command to the ``soundstage`` parser."""
    evaluate = commands.add_parser(
        "eval",
        help="binauralization metrics (STFT, ENV, Mag, Phase, SNR, WAV-L2) of predicted vs true binaural clips",
        description="Compare each predicted binaural clip with the true clip of the same name, with the "
        "FAIR-Play / Mono2Binaural protocol: 16 kHz, each clip peak-normalised, STFT n_fft 512, hop 160, "
        "Hann window 400, centred. Prints the means; --json/--csv write per-file results too.",
    )
    evaluate.add_argument("--pred", type=path_argument, required=True, help="folder of predicted binaural clips")
    evaluate.add_argument(
        "--ref", type=path_argument, required=True, help="folder of true binaural clips (same file names)"
    )
    evaluate.add_argument(
        "--input",
        type=path_argument,
        help="folder of the mono inputs (same names): also evaluate the Mono-Mono baseline (mono on both ears)",
    )
    evaluate.add_argument(
        "--pad-mode",
        choices=["reflect", "constant"],
        default="reflect",
        help="STFT centre padding: reflect as the published tables (librosa < 0.9, default), "
        "constant as librosa >= 0.9",
    )
    evaluate.add_argument("--per-file", action="store_true", help="print a row for every file, not only the means")
    evaluate.add_argument("--json", type=path_argument, help="write the means, per-file results and settings as JSON")
    evaluate.add_argument("--csv", type=path_argument, help="write one row of metrics per file as CSV")
    evaluate.add_argument("--overwrite", action="store_true", help="replace the --json/--csv files if they exist")
    evaluate.set_defaults(handler=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    """Handler of ``soundstage eval``: evaluate, print the table, write the reports."""
    from soundstage.cli.outputs import check_outputs
    from soundstage.io.reports import write_csv, write_json
    from soundstage.metrics.evaluation import evaluate_folders

    # Fail on an unwritable output before the (possibly long) evaluation, not after it.
    check_outputs([(args.json, ".json"), (args.csv, ".csv")], overwrite=args.overwrite)
    report = evaluate_folders(args.pred, args.ref, input_dir=args.input, pad_mode=args.pad_mode)
    print(format_table(report, per_file=args.per_file))
    if args.json is not None:
        write_json(report.to_dict(), args.json, overwrite=args.overwrite)
        print(f"wrote {args.json}")
    if args.csv is not None:
        write_csv(report.files, args.csv, overwrite=args.overwrite)
        print(f"wrote {args.csv}")
    return 0


def format_table(report, *, per_file: bool = False) -> str:
    """The metrics as a fixed-width text table: the mean row, Mono-Mono if measured, then files if asked.

    Parameters
    ----------
    report : soundstage.metrics.evaluation.EvaluationReport
        What :func:`~soundstage.metrics.evaluation.evaluate_folders` returned.
    per_file : bool, default False
        Add one row per file after the summary rows.

    Returns
    -------
    str
        Lines separated by newlines, no trailing newline.
    """
    rows: list[tuple[str, dict]] = [(f"mean of {len(report.files)} files", report.mean)]
    if report.mono_mono is not None:
        rows.append(("Mono-Mono baseline", report.mono_mono))
    if per_file:
        rows.extend((row["file"], row) for row in report.files)
    label_width = max(len("clips"), *(len(label) for label, _ in rows))
    widths = {name: max(len(heading), 9) for name, heading in _HEADINGS.items()}
    lines = ["clips".ljust(label_width) + "".join(f"  {_HEADINGS[n]:>{widths[n]}}" for n in _HEADINGS)]
    for label, values in rows:
        cells = "".join(f"  {_cell(name, values[name]):>{widths[name]}}" for name in _HEADINGS)
        lines.append(label.ljust(label_width) + cells)
    lines.append("lower is better for every column but SNR; Mag = 2 x STFT by the protocol's definition")
    return "\n".join(lines)


def _cell(name: str, value: float) -> str:
    if name == "itd_error_us":
        return f"{value:.1f}"
    return f"{value:.3f}" if name in ("snr", "wav_l2", "ild_error_db") else f"{value:.4f}"
