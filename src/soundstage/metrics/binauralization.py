"""The binauralization metrics of the FAIR-Play / Mono2Binaural / PseudoBinaural evaluation.

Learned mono-to-binaural systems are compared in the literature with six numbers per
clip, averaged over a test split. This module computes them exactly as that evaluation
defines them, so that our numbers can sit in the same table as the published ones:

1. Both clips are brought to 16 kHz, then each is **peak-normalised** on its own, over
   both channels together: ``x / max(|x|)``. The metrics are therefore blind to an
   overall gain of the prediction (but not to a gain between its ears).
2. With ``S = stft(x)`` (16 kHz, ``n_fft`` 512, hop 160, 400-sample periodic Hann window
   zero-padded to 512 and centred in the frame, signal centred by padding ``n_fft // 2``
   samples at both ends; no scaling):

   - ``stft``  = Σ over ears of the mean, over bins, frames and {real, imaginary}, of the
     squared difference of prediction and truth;
   - ``env``   = Σ over ears of the RMS difference of the Hilbert envelopes ``|hilbert(x)|``
     (computed over the whole clip);
   - ``mag``   = Σ over ears of the mean of ``|Ŝ − S|²``. Despite its published name this
     is the squared magnitude *of the complex difference*, so it equals **exactly twice**
     ``stft`` — a distance between magnitudes ``||Ŝ| − |S||`` would differ;
   - ``phase`` = mean, over bins and frames, of the wrapped absolute difference (in [0, π]
     radians) between the angles of the STFTs of the left-minus-right signals. Where a
     spectrum is exactly zero its angle counts as 0, so copying the mono to both ears
     ("Mono-Mono", L − R = 0) scores the mean |angle| of the true L − R spectrum, about
     π/2 for any signal whose interaural difference has no preferred phase;
   - ``snr``   = 10·log10((mean x² + 1e-4) / (mean (x̂ − x)² + 1e-4)) in dB, means over
     both channels and all samples. The 1e-4 keeps it finite: identical clips score
     10·log10(1 + mean x² / 1e-4), at most about 40 dB for a peak-normalised clip;
   - ``wav_l2`` = (MSE of the left ear + MSE of the right ear) × 10³.

The STFT is implemented here (no librosa): librosa's ``stft`` pads the centred signal by
reflection up to version 0.8 and with zeros (``pad_mode="constant"``) from 0.9 on. The
published FAIR-Play tables (2019–2021) predate 0.9, so ``pad_mode="reflect"`` is the
default; pass ``"constant"`` to match evaluations run with newer librosa. The choice only
changes the first and last two frames or so. The published code also loaded audio as
float32 and resampled it with resampy; we compute in float64 and resample with libsoxr,
which changes the numbers only in their last digits.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import get_window, hilbert

from soundstage.errors import ParameterError
from soundstage.io.audio import resample

#: Sampling rate (Hz) the protocol evaluates at; other rates are resampled to it first.
PROTOCOL_SAMPLE_RATE = 16000

#: The constant added to signal and error power in the protocol's SNR.
SNR_EPSILON = 1e-4

#: The metric names, in the order the published tables use.
METRIC_NAMES = ("stft", "env", "mag", "phase", "snr", "wav_l2")

#: Peak level (full scale 1) below which a clip counts as silent (-180 dBFS, far below any
#: real recording's noise floor): peak normalisation of such a clip is meaningless.
SILENCE_PEAK = 1e-9

PAD_MODES = ("reflect", "constant")


def stft(
    signal: np.ndarray,
    *,
    n_fft: int = 512,
    hop_length: int = 160,
    win_length: int = 400,
    center: bool = True,
    pad_mode: str = "reflect",
) -> np.ndarray:
    """Short-time Fourier transform with librosa's framing conventions.

    Frame ``t`` covers samples ``[t·hop_length, t·hop_length + n_fft)`` of the (padded)
    signal; a periodic Hann window of ``win_length`` samples sits in the middle of the
    ``n_fft`` frame (zeros around it), and the frame's real FFT is taken without scaling.

    Parameters
    ----------
    signal : np.ndarray, shape (..., n_samples)
        Real signal(s); leading axes (e.g. ears) are kept.
    n_fft : int, default 512
        FFT length in samples.
    hop_length : int, default 160
        Samples between successive frames (10 ms at 16 kHz).
    win_length : int, default 400
        Length of the Hann window (25 ms at 16 kHz), at most ``n_fft``.
    center : bool, default True
        Pad ``n_fft // 2`` samples at both ends so that frame ``t`` is centred on sample
        ``t·hop_length``; then there are ``1 + n_samples // hop_length`` frames.
    pad_mode : {"reflect", "constant"}, default "reflect"
        How ``center`` pads: mirror the signal about its end samples (librosa < 0.9) or
        pad with zeros (librosa >= 0.9).

    Returns
    -------
    np.ndarray, shape (..., n_fft // 2 + 1, n_frames), complex128
        The spectrogram, bins from 0 Hz to the Nyquist frequency.

    Raises
    ------
    ParameterError
        If a length is not a positive integer, ``win_length > n_fft``, ``pad_mode`` is
        unknown, or the signal is too short for one frame (or for reflection padding).

    Examples
    --------
    >>> stft(np.zeros(16000)).shape
    (257, 101)
    >>> stft(np.zeros((2, 1600)), center=False).shape
    (2, 257, 7)
    """
    for name, value in (("n_fft", n_fft), ("hop_length", hop_length), ("win_length", win_length)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ParameterError(f"{name}: {value!r} must be a positive whole number of samples")
    if win_length > n_fft:
        raise ParameterError(f"win_length {win_length} exceeds n_fft {n_fft}; give win_length <= n_fft")
    if pad_mode not in PAD_MODES:
        raise ParameterError(f"pad_mode: {pad_mode!r} is not one of {', '.join(PAD_MODES)}")
    signal = np.asarray(signal, dtype=np.float64)
    n_samples = signal.shape[-1]
    if center:
        pad = n_fft // 2
        if pad_mode == "reflect" and n_samples <= pad:
            raise ParameterError(
                f"signal of {n_samples} samples is too short to reflect-pad by {pad}; "
                "give more samples or pad_mode='constant'"
            )
        widths = [(0, 0)] * (signal.ndim - 1) + [(pad, pad)]
        signal = np.pad(signal, widths, mode=pad_mode)
    if signal.shape[-1] < n_fft:
        raise ParameterError(f"signal of {n_samples} samples is shorter than one frame (n_fft {n_fft})")
    # Periodic ("fftbins") Hann, centred in the FFT frame as librosa's pad_center does.
    window = np.zeros(n_fft)
    offset = (n_fft - win_length) // 2
    window[offset : offset + win_length] = get_window("hann", win_length, fftbins=True)
    frames = np.lib.stride_tricks.sliding_window_view(signal, n_fft, axis=-1)[..., ::hop_length, :]
    spectra = np.fft.rfft(frames * window, n=n_fft, axis=-1)  # (..., n_frames, n_bins)
    return np.swapaxes(spectra, -1, -2)


def peak_normalize(audio: np.ndarray) -> np.ndarray:
    """Divide a clip by its peak absolute sample over all channels, as the protocol does.

    Parameters
    ----------
    audio : np.ndarray, shape (n_channels, n_samples)
        The clip; must not be silent.

    Returns
    -------
    np.ndarray, shape (n_channels, n_samples)
        The clip with peak 1; the ratio between channels is kept.

    Examples
    --------
    >>> peak_normalize(np.array([[0.5, -0.25], [0.1, 0.0]])).tolist()
    [[1.0, -0.5], [0.2, 0.0]]
    """
    audio = np.asarray(audio, dtype=np.float64)
    return audio / np.max(np.abs(audio))


def stft_distance(pred_spec: np.ndarray, ref_spec: np.ndarray) -> float:
    """Σ over ears of the mean squared difference of real and imaginary parts.

    Parameters
    ----------
    pred_spec, ref_spec : np.ndarray, shape (2, n_bins, n_frames), complex
        Spectrograms of both ears (see :func:`stft`).

    Returns
    -------
    float
        The protocol's "STFT distance" (unit: squared STFT amplitude of a full-scale clip).
    """
    difference = pred_spec - ref_spec
    # Mean over {re, im} of the squares, i.e. half the mean of |difference|², per ear.
    per_ear = 0.5 * (np.mean(difference.real**2, axis=(-2, -1)) + np.mean(difference.imag**2, axis=(-2, -1)))
    return float(np.sum(per_ear))


def magnitude_distance(pred_spec: np.ndarray, ref_spec: np.ndarray) -> float:
    """Σ over ears of the mean of ``|Ŝ − S|²``: the protocol's "Mag", exactly twice :func:`stft_distance`.

    Parameters
    ----------
    pred_spec, ref_spec : np.ndarray, shape (2, n_bins, n_frames), complex
        Spectrograms of both ears.

    Returns
    -------
    float
        The published "magnitude distance" (of the complex difference, not of magnitudes).
    """
    return float(np.sum(np.mean(np.abs(pred_spec - ref_spec) ** 2, axis=(-2, -1))))


def envelope_distance(pred: np.ndarray, ref: np.ndarray) -> float:
    """Σ over ears of the RMS difference of the Hilbert envelopes.

    Parameters
    ----------
    pred, ref : np.ndarray, shape (2, n_samples)
        Normalised clips.

    Returns
    -------
    float
        The protocol's "ENV distance" (full-scale units).
    """
    pred_envelope = np.abs(hilbert(pred, axis=-1))
    ref_envelope = np.abs(hilbert(ref, axis=-1))
    return float(np.sum(np.sqrt(np.mean((pred_envelope - ref_envelope) ** 2, axis=-1))))


def phase_distance(pred_diff_spec: np.ndarray, ref_diff_spec: np.ndarray) -> float:
    """Mean wrapped absolute angle difference of the left-minus-right spectrograms.

    Parameters
    ----------
    pred_diff_spec, ref_diff_spec : np.ndarray, shape (n_bins, n_frames), complex
        STFTs of ``left − right`` of prediction and truth.

    Returns
    -------
    float
        Radians in [0, π]; a zero spectrum value has angle 0.
    """
    # np.angle(0) == 0, which is what the protocol's magphase gives for an all-zero bin.
    difference = np.abs(np.angle(pred_diff_spec) - np.angle(ref_diff_spec))  # in [0, 2π]
    return float(np.mean(np.minimum(difference, 2.0 * np.pi - difference)))


def snr_db(pred: np.ndarray, ref: np.ndarray) -> float:
    """The protocol's SNR: 10·log10((mean ref² + 1e-4) / (mean (pred − ref)² + 1e-4)), in dB.

    Parameters
    ----------
    pred, ref : np.ndarray, shape (2, n_samples)
        Normalised clips; means run over both channels and all samples.

    Returns
    -------
    float
        dB; identical clips give the ceiling ``10·log10(1 + mean ref² / 1e-4)``.
    """
    signal_power = np.mean(ref**2)
    error_power = np.mean((pred - ref) ** 2)
    return float(10.0 * np.log10((signal_power + SNR_EPSILON) / (error_power + SNR_EPSILON)))


def wav_l2(pred: np.ndarray, ref: np.ndarray) -> float:
    """(MSE of the left ear + MSE of the right ear) × 10³, on the normalised waveforms.

    Parameters
    ----------
    pred, ref : np.ndarray, shape (2, n_samples)
        Normalised clips.

    Returns
    -------
    float
        The "WAV L2" of FAIR-Play tables (×10³ of full scale²).
    """
    return float(1e3 * np.sum(np.mean((pred - ref) ** 2, axis=-1)))


def binauralization_metrics(
    pred: np.ndarray,
    ref: np.ndarray,
    sample_rate: int,
    *,
    n_fft: int = 512,
    hop_length: int = 160,
    win_length: int = 400,
    pad_mode: str = "reflect",
    normalize: bool = True,
) -> dict[str, float]:
    """All six FAIR-Play metrics of a predicted binaural clip against the true one.

    Parameters
    ----------
    pred, ref : np.ndarray, shape (2, n_samples)
        Predicted and true binaural clips (left, right), float, full scale ±1, same shape.
    sample_rate : int
        Their rate in Hz; resampled to 16 kHz first when different.
    n_fft, hop_length, win_length : int, default 512, 160, 400
        STFT framing in samples at 16 kHz (see :func:`stft`).
    pad_mode : {"reflect", "constant"}, default "reflect"
        Centre padding of the STFT: "reflect" as the published tables (librosa < 0.9),
        "constant" as librosa >= 0.9.
    normalize : bool, default True
        Peak-normalise each clip over both channels first, as the protocol does. Without
        it the metrics see absolute levels (and a global gain error).

    Returns
    -------
    dict[str, float]
        ``{"stft", "env", "mag", "phase", "snr", "wav_l2"}`` as defined in this module's
        docstring: distances (lower is better; phase in radians), SNR in dB (higher is
        better), WAV L2 ×10³.

    Raises
    ------
    ParameterError
        If a clip is mono or not 2 channels, the shapes differ, a clip holds NaN/Inf, is
        silent (peak below -180 dBFS, so normalising it would divide by zero), or is
        shorter than one STFT frame.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.standard_normal((2, 16000))
    >>> metrics = binauralization_metrics(ref, ref, 16000)
    >>> metrics["stft"], metrics["phase"], metrics["wav_l2"]
    (0.0, 0.0, 0.0)
    """
    pred = _check_binaural(pred, "pred")
    ref = _check_binaural(ref, "ref")
    if pred.shape != ref.shape:
        raise ParameterError(
            f"pred has {pred.shape[1]} samples and ref {ref.shape[1]}; trim or pad them to the same length"
        )
    if sample_rate != PROTOCOL_SAMPLE_RATE:
        pred = resample(pred, sample_rate, PROTOCOL_SAMPLE_RATE)
        ref = resample(ref, sample_rate, PROTOCOL_SAMPLE_RATE)
    if pred.shape[1] < n_fft:
        raise ParameterError(
            f"clips of {pred.shape[1]} samples at 16 kHz are shorter than one STFT frame (n_fft {n_fft}); "
            "evaluate longer clips"
        )
    if normalize:
        pred, ref = peak_normalize(pred), peak_normalize(ref)
    framing = {"n_fft": n_fft, "hop_length": hop_length, "win_length": win_length, "pad_mode": pad_mode}
    pred_spec, ref_spec = stft(pred, **framing), stft(ref, **framing)
    pred_diff_spec, ref_diff_spec = stft(pred[0] - pred[1], **framing), stft(ref[0] - ref[1], **framing)
    return {
        "stft": stft_distance(pred_spec, ref_spec),
        "env": envelope_distance(pred, ref),
        "mag": magnitude_distance(pred_spec, ref_spec),
        "phase": phase_distance(pred_diff_spec, ref_diff_spec),
        "snr": snr_db(pred, ref),
        "wav_l2": wav_l2(pred, ref),
    }


def _check_binaural(audio: np.ndarray, name: str) -> np.ndarray:
    """A (2, n_samples) float64 array, or a ParameterError saying what is wrong with it."""
    array = np.asarray(audio)
    if array.dtype.kind != "f":
        raise ParameterError(
            f"{name}: dtype {array.dtype} is not floating point; pass float samples (2, n_samples), full scale ±1"
        )
    if array.ndim == 1 or (array.ndim == 2 and array.shape[0] == 1):
        raise ParameterError(
            f"{name} is mono; binaural (2, n_samples) is expected — for the Mono-Mono baseline copy it to both ears"
        )
    if array.ndim != 2 or array.shape[0] != 2:
        raise ParameterError(f"{name}: shape {array.shape} is not binaural; pass (2, n_samples), left then right")
    array = array.astype(np.float64)
    finite = np.isfinite(array)
    if not finite.all():
        raise ParameterError(f"{name}: contains NaN or infinite samples; fix the clip before evaluating")
    if array.size == 0 or np.max(np.abs(array)) < SILENCE_PEAK:
        raise ParameterError(
            f"{name} is silent (peak below -180 dBFS): the protocol's peak normalisation would divide by zero; "
            "remove the clip or fix how it was made"
        )
    return array
