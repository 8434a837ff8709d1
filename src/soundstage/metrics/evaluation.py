"""Evaluate folders of predicted binaural clips against the true ones (the FAIR-Play protocol).

Files are matched by name (their path relative to each folder). Every pair must agree in
sample rate, length and channel count, both must be binaural and neither silent: any of
these problems stops the evaluation with a one-line error naming the file, instead of a
table with NaNs or numbers that silently mean something else. With an input folder of
the mono mixes, the "Mono-Mono" baseline (the mono copied to both ears) is evaluated too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.errors import InputFileError
from soundstage.metrics.binauralization import METRIC_NAMES, SILENCE_PEAK, binauralization_metrics
from soundstage.metrics.interaural import cue_errors

#: Interaural-cue errors reported beside the protocol's metrics (see :func:`~soundstage.metrics.interaural.cue_errors`).
CUE_ERROR_NAMES = ("itd_error_us", "ild_error_db", "coherence_error")

#: File name endings read as audio; other files in the folders (notes, JSON) are ignored.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aif", ".aiff")


@dataclass
class EvaluationReport:
    """Result of :func:`evaluate_folders`.

    Attributes
    ----------
    mean : dict[str, float]
        Mean over files of each metric (keys as :data:`~soundstage.metrics.binauralization.METRIC_NAMES`,
        then the interaural-cue errors :data:`CUE_ERROR_NAMES`).
    files : list[dict]
        One ``{"file": name, **metrics}`` per clip, in name order.
    mono_mono : dict[str, float] or None
        Mean metrics of the Mono-Mono baseline, when an input folder was given.
    settings : dict
        The protocol settings used (rate, STFT framing, padding), for reproducibility.
    """

    mean: dict[str, float]
    files: list[dict[str, Any]]
    mono_mono: dict[str, float] | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data: the means at top level, then ``files``, ``mono_mono``, ``settings``.

        Examples
        --------
        >>> report = EvaluationReport(mean={"stft": 1.0}, files=[{"file": "a.wav", "stft": 1.0}])
        >>> report.to_dict()
        {'stft': 1.0, 'files': [{'file': 'a.wav', 'stft': 1.0}], 'settings': {}}
        """
        data: dict[str, Any] = {**self.mean, "files": [dict(row) for row in self.files]}
        if self.mono_mono is not None:
            data["mono_mono"] = dict(self.mono_mono)
        data["settings"] = dict(self.settings)
        return data


def evaluate_folders(
    pred_dir: str | Path,
    ref_dir: str | Path,
    *,
    input_dir: str | Path | None = None,
    n_fft: int = 512,
    hop_length: int = 160,
    win_length: int = 400,
    pad_mode: str = "reflect",
) -> EvaluationReport:
    """Evaluate every predicted binaural clip against the true clip of the same name.

    Parameters
    ----------
    pred_dir : str or Path
        Folder of predicted binaural clips (WAV, FLAC, OGG, AIFF; subfolders included).
    ref_dir : str or Path
        Folder of the true binaural clips, with exactly the same file names.
    input_dir : str or Path, optional
        Folder of the mono inputs, one per clip under the same name (extra files are
        ignored). A multichannel input is averaged to mono, as the protocol's loader does
        — so the true binaural folder itself gives the FAIR-Play mono mix (L + R) / 2. Its
        copy to both ears is evaluated as the "Mono-Mono" baseline.
    n_fft, hop_length, win_length : int, default 512, 160, 400
        STFT framing at 16 kHz (see :func:`~soundstage.metrics.binauralization.stft`).
    pad_mode : {"reflect", "constant"}, default "reflect"
        STFT centre padding: "reflect" as the published tables, "constant" as librosa >= 0.9.

    Returns
    -------
    EvaluationReport
        Per-file metrics, their means, and the Mono-Mono means when ``input_dir`` is given.

    Raises
    ------
    InputFileError
        If a folder is missing or holds no audio, a clip has no counterpart (missing or
        extra files), a pair differs in sample rate, length or channel count, a clip is
        mono or not 2-channel where binaural is expected, silent, or unreadable.
    """
    pred_dir, ref_dir = _check_folder(pred_dir, "pred"), _check_folder(ref_dir, "ref")
    pred_names, ref_names = _audio_names(pred_dir, "pred"), _audio_names(ref_dir, "ref")
    _check_same_names(pred_names, ref_names, pred_dir, ref_dir)
    input_names: dict[str, Path] = {}
    if input_dir is not None:
        input_dir = _check_folder(input_dir, "input")
        input_names = _audio_names(input_dir, "input")
        missing = sorted(set(ref_names) - set(input_names))
        if missing:
            raise InputFileError(
                f"input folder {input_dir} lacks {len(missing)} clip(s) that {ref_dir} has ({_some(missing)}); "
                "give the mono input of every clip under the same name"
            )
    framing = {"n_fft": n_fft, "hop_length": hop_length, "win_length": win_length, "pad_mode": pad_mode}
    rows: list[dict[str, Any]] = []
    baseline_rows: list[dict[str, float]] = []
    for name in sorted(ref_names):
        ref, ref_rate = _read_clip(ref_names[name])
        pred, pred_rate = _read_clip(pred_names[name])
        _check_pair(pred, pred_rate, pred_names[name], ref, ref_rate, ref_names[name])
        rows.append({"file": name, **_scores(pred, ref, ref_rate, framing)})
        if input_dir is not None:
            mono = _mono_input(input_names[name], ref, ref_rate, ref_names[name])
            baseline_rows.append(_scores(np.stack([mono, mono]), ref, ref_rate, framing))
    return EvaluationReport(
        mean=_mean(rows),
        files=rows,
        mono_mono=_mean(baseline_rows) if baseline_rows else None,
        settings={"sample_rate": 16000, **framing, "normalize": "peak over both channels, per clip"},
    )


def _read_clip(path: Path) -> tuple[np.ndarray, int]:
    from soundstage.io.audio import read_audio_file

    clip = read_audio_file(path)
    return clip.audio.astype(np.float64), clip.sample_rate


def _check_folder(folder: str | Path, role: str) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file" if folder.exists() else "does not exist"
        raise InputFileError(f"{role} folder {folder} {what}; give the folder holding the {role} clips")
    return folder


def _audio_names(folder: Path, role: str) -> dict[str, Path]:
    """Audio files under ``folder`` by their relative POSIX path, hidden files and folders skipped."""
    names = {
        path.relative_to(folder).as_posix(): path
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix.lower() in AUDIO_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    }
    if not names:
        raise InputFileError(
            f"{role} folder {folder} holds no audio files ({', '.join(AUDIO_SUFFIXES)}); check the path"
        )
    return names


def _check_same_names(pred: dict[str, Path], ref: dict[str, Path], pred_dir: Path, ref_dir: Path) -> None:
    missing = sorted(set(ref) - set(pred))
    if missing:
        raise InputFileError(
            f"pred folder {pred_dir} lacks {len(missing)} clip(s) that {ref_dir} has ({_some(missing)}); "
            "predict every clip or remove its reference"
        )
    extra = sorted(set(pred) - set(ref))
    if extra:
        raise InputFileError(
            f"pred folder {pred_dir} has {len(extra)} clip(s) with no reference in {ref_dir} ({_some(extra)}); "
            "name each prediction as its reference or remove it"
        )


def _check_pair(pred: np.ndarray, pred_rate: int, pred_path: Path, ref: np.ndarray, ref_rate: int, ref_path: Path):
    if pred_rate != ref_rate:
        raise InputFileError(
            f"{pred_path} is at {pred_rate} Hz but {ref_path} at {ref_rate} Hz; resample the prediction to match"
        )
    for audio, path in ((ref, ref_path), (pred, pred_path)):
        if audio.shape[0] == 1:
            raise InputFileError(
                f"{path} is mono where binaural (2 channels) is expected; "
                "for the Mono-Mono baseline pass the mono folder as --input (input_dir)"
            )
    if pred.shape[0] != ref.shape[0]:
        raise InputFileError(
            f"{pred_path} has {pred.shape[0]} channels but {ref_path} has {ref.shape[0]}; both must be binaural (2)"
        )
    if ref.shape[0] != 2:
        raise InputFileError(f"{ref_path} and {pred_path} have {ref.shape[0]} channels; binaural (2) is expected")
    if pred.shape[1] != ref.shape[1]:
        raise InputFileError(
            f"{pred_path} has {pred.shape[1]} samples but {ref_path} has {ref.shape[1]} "
            f"({pred.shape[1] / pred_rate:.3f} s vs {ref.shape[1] / ref_rate:.3f} s); make them the same length"
        )
    for audio, path in ((ref, ref_path), (pred, pred_path)):
        _check_not_silent(audio, path)


def _check_not_silent(audio: np.ndarray, path: Path) -> None:
    if np.max(np.abs(audio)) < SILENCE_PEAK:
        raise InputFileError(
            f"{path} is silent (peak below -180 dBFS): the protocol's peak normalisation would divide by zero; "
            "remove the clip or write it again"
        )


def _mono_input(path: Path, ref: np.ndarray, ref_rate: int, ref_path: Path) -> np.ndarray:
    """The mono input of one clip, checked against its reference."""
    audio, rate = _read_clip(path)
    if rate != ref_rate:
        raise InputFileError(f"{path} is at {rate} Hz but {ref_path} at {ref_rate} Hz; resample the input")
    if audio.shape[1] != ref.shape[1]:
        raise InputFileError(
            f"{path} has {audio.shape[1]} samples but {ref_path} has {ref.shape[1]}; make them the same length"
        )
    if audio.shape[0] != 1:
        # A binaural file given as the input would score a baseline that is not Mono-Mono at all.
        raise InputFileError(
            f"{path} has {audio.shape[0]} channels; --input clips are the mono mixes the model heard — "
            "give mono files (e.g. the mean of both ears)"
        )
    _check_not_silent(audio, path)
    return audio[0]


def _scores(pred: np.ndarray, ref: np.ndarray, sample_rate: int, framing: dict[str, Any]) -> dict[str, float]:
    """The protocol's metrics and the interaural-cue errors of one clip."""
    return {**binauralization_metrics(pred, ref, sample_rate, **framing), **cue_errors(pred, ref, sample_rate)}


def _mean(rows: list[dict[str, Any]]) -> dict[str, float]:
    return {name: float(np.mean([row[name] for row in rows])) for name in (*METRIC_NAMES, *CUE_ERROR_NAMES)}


def _some(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
