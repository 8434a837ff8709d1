"""The renderer: scene → arrivals per source → encoder → channels.

This is the one place that ties propagation models and encoders together; every
output format and every propagation model goes through :func:`render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from soundstage.acoustics.convolution import convolve_channels
from soundstage.acoustics.propagation import PropagationModel, propagation_model
from soundstage.errors import ParameterError
from soundstage.scene.model import Scene, source_world_position

if TYPE_CHECKING:
    from soundstage.acoustics.encoders.base import Encoder
    from soundstage.acoustics.hrtf.base import HRTF


@dataclass
class RenderResult:
    """Rendered audio with what is needed to write and describe it.

    Attributes
    ----------
    audio : np.ndarray, shape (n_channels, n_samples), float32
        The channels, linear full scale (1.0 = 0 dBFS).
    sample_rate : int
        In Hz.
    format : str
        Output format name (``"binaural"``, ``"5.1"``, ``"hoa3"``...).
    channel_labels : tuple of str
        One label per channel, in order.
    channel_mask : int
        WAVE_FORMAT_EXTENSIBLE dwChannelMask (0 when not loudspeaker feeds).
    details : dict
        What was used (HRTF, propagation model...) for reports.
    """

    audio: np.ndarray
    sample_rate: int
    format: str
    channel_labels: tuple[str, ...]
    channel_mask: int = 0
    details: dict[str, str] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.audio.shape[1] / self.sample_rate

    @property
    def peak(self) -> float:
        """Largest absolute sample value (1.0 = 0 dBFS)."""
        return float(np.max(np.abs(self.audio))) if self.audio.size else 0.0

    @property
    def peak_dbfs(self) -> float:
        """Peak level in dB relative to full scale (-inf for silence)."""
        peak = self.peak
        return 20.0 * np.log10(peak) if peak > 0 else -np.inf


def render(
    scene: Scene | str | Path,
    *,
    format: str | None = None,
    sample_rate: int | None = None,
    hrtf: str | Path | HRTF | None = None,
    lfe: bool | None = None,
    progress: bool = True,
) -> RenderResult:
    """Render a scene to the channels of an output format.

    Parameters
    ----------
    scene : Scene, str or Path
        A scene, or the path of a scene file.
    format : str or None
        Output format overriding ``scene.output.format``: ``omni``, ``binaural``,
        ``stereo``, ``ortf``, ``ab``, ``5.1``, ``7.1``, ``foa`` or ``hoaN``.
    sample_rate : int or None
        Output sample rate in Hz overriding ``scene.output.sample_rate``.
    hrtf : str, Path, HRTF or None
        Head overriding ``scene.hrtf.name``: ``sphere``, a registered name, a SOFA path, or
        a head already loaded at the output rate (to load a measured set once for many renders).
    lfe : bool or None
        Feed the LFE channel of 5.1/7.1 (the mono sum low-passed at 120 Hz).
    progress : bool, default True
        Show a progress bar when rendering takes more than a second.

    Returns
    -------
    RenderResult
    """
    scene, format_name, rate, encoder, model, details = _prepare(scene, format, sample_rate, hrtf, lfe)
    pieces: list[tuple[int, np.ndarray]] = []
    for index in _progress(range(len(scene.sources)), progress, f"render {format_name}"):
        source = scene.sources[index]
        signal = _source_signal(scene, index, rate)
        response = source_impulse_response(scene, index, encoder, model)
        pieces.append((round(source.start * rate), convolve_channels(signal, response)))

    length = max(start + piece.shape[1] for start, piece in pieces)
    mix = np.zeros((encoder.n_channels, length), dtype=np.float32)
    for start, piece in pieces:
        mix[:, start : start + piece.shape[1]] += piece
    return RenderResult(mix, rate, format_name, tuple(encoder.channel_labels), encoder.channel_mask, details)


def impulse_responses(
    scene: Scene | str | Path,
    *,
    format: str | None = None,
    sample_rate: int | None = None,
    hrtf: str | Path | HRTF | None = None,
    lfe: bool | None = None,
    progress: bool = True,
) -> list[tuple[str, RenderResult]]:
    """The impulse response from every source to the output channels, for a DAW or for analysis.

    Parameters are those of :func:`render`; the sources' audio is not read.

    Returns
    -------
    list of (str, RenderResult)
        One per source, in scene order: the source's name (``source1``, ``source2``... when it
        has none) and its response, tap 0 being the moment the source emits.
    """
    scene, format_name, rate, encoder, model, details = _prepare(scene, format, sample_rate, hrtf, lfe)
    results = []
    for index in _progress(range(len(scene.sources)), progress, f"impulse responses {format_name}"):
        response = source_impulse_response(scene, index, encoder, model).astype(np.float32)
        name = scene.sources[index].name or f"source{index + 1}"
        labels = tuple(encoder.channel_labels)
        results.append((name, RenderResult(response, rate, format_name, labels, encoder.channel_mask, details)))
    return results


def source_impulse_response(scene: Scene, index: int, encoder: Encoder, model: PropagationModel) -> np.ndarray:
    """Response (n_channels, n_taps) from source ``index`` to the encoder's channels: early arrivals + late tail."""
    source = scene.sources[index]
    label = scene.source_label(index)
    response = model.propagate(source_world_position(source, scene.listener), label)
    early = encoder.impulse_response(response.early)
    if response.decay is None:
        return early
    from soundstage.acoustics.room.late_reverb import diffuse_tail

    seed = scene.room.seed if scene.room is not None else 0
    tail = diffuse_tail(encoder, response.decay, rng=np.random.default_rng([seed, index]))
    combined = np.zeros((early.shape[0], max(early.shape[1], tail.shape[1])))
    combined[:, : early.shape[1]] += early
    combined[:, : tail.shape[1]] += tail
    return combined


def _prepare(scene: Scene | str | Path, format: str | None, sample_rate: int | None, hrtf, lfe: bool | None):
    """The scene, format name, rate, encoder, propagation model and report details of a render."""
    from soundstage.scene.files import load_scene

    if not isinstance(scene, Scene):
        scene = load_scene(scene)
    format_name = (format or scene.output.format).lower()
    rate = int(sample_rate or scene.output.sample_rate)
    if rate < 8000 or rate > 384000:
        raise ParameterError(f"sample rate {rate} Hz is outside 8000–384000 Hz; choose e.g. 48000")
    encoder, details = _build_encoder(scene, format_name, rate, hrtf, scene.output.lfe if lfe is None else lfe)
    model = propagation_model(scene)
    details["propagation"] = model.describe()
    return scene, format_name, rate, encoder, model, details


def _build_encoder(scene: Scene, format_name: str, rate: int, hrtf: str | Path | HRTF | None, lfe: bool):
    from soundstage.acoustics.encoders import make_encoder, parse_format

    kind, _order = parse_format(format_name)
    head = None
    details: dict[str, str] = {}
    if kind == "binaural":
        head = load_scene_hrtf(scene, rate, hrtf)
        details["hrtf"] = head.name
    encoder = make_encoder(
        format_name,
        rate,
        hrtf=head,
        lfe=lfe,
        ambisonic_convention=scene.output.ambisonic_convention,
    )
    return encoder, details


def load_scene_hrtf(scene: Scene, sample_rate: int, override: str | Path | HRTF | None = None) -> HRTF:
    """The HRTF a scene asks for (or ``override``), at ``sample_rate``."""
    from soundstage.acoustics.hrtf import load_hrtf

    choice = scene.hrtf
    return load_hrtf(
        override if override is not None else choice.name,
        sample_rate,
        head_radius=scene.listener.head_radius,
        ear_azimuth_deg=choice.ear_azimuth_deg,
        interpolation=choice.interpolation,
    )


def _source_signal(scene: Scene, index: int, rate: int) -> np.ndarray:
    """Source ``index``'s mono signal at ``rate`` with its gain applied, float32."""
    from soundstage.io.audio import load_audio, resample, validate_signal

    source = scene.sources[index]
    label = scene.source_label(index)
    if isinstance(source.audio, np.ndarray):
        signal = validate_signal(source.audio, name=f"{label}.audio")
        if source.sample_rate != rate:
            signal = resample(signal, source.sample_rate, rate)
    else:
        signal, _ = load_audio(
            scene.resolve_audio_path(index), sample_rate=rate, downmix=source.downmix, field=f"{label}.audio"
        )
    return np.asarray(signal, dtype=np.float32) * np.float32(10.0 ** (source.gain_db / 20.0))


def _progress(items, enabled: bool, description: str):
    """Wrap ``items`` in a progress bar that only appears after a second of work."""
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=description, unit="source", delay=1.0, leave=False)


def decode_to_binaural(
    ambisonics: RenderResult | str | Path,
    *,
    hrtf: str | Path | HRTF = "sphere",
    convention: str = "ambix",
) -> RenderResult:
    """Decode an ambisonic render or file to binaural for listening on headphones.

    Parameters
    ----------
    ambisonics : RenderResult, str or Path
        An ambisonic render (``foa``/``hoaN``) or a WAV file with (N + 1)² channels.
    hrtf : str, Path or HRTF, default "sphere"
        Head used by the virtual loudspeakers: ``sphere``, a registered name, a SOFA path or
        a head already loaded at the signal's rate.
    convention : {"ambix", "fuma"}, default "ambix"
        Channel order and normalisation of a file (a render carries its own).

    Returns
    -------
    RenderResult
        Two channels, L and R.
    """
    from soundstage.acoustics.encoders.ambisonic_decoder import ambisonics_to_binaural
    from soundstage.acoustics.hrtf import load_hrtf
    from soundstage.errors import InputFileError

    if isinstance(ambisonics, RenderResult):
        signals, rate = ambisonics.audio, ambisonics.sample_rate
        origin = f"{ambisonics.format} render"
        if ambisonics.channel_labels[:2] == ("W", "X"):
            convention = "fuma"
    else:
        import soundfile

        origin = str(ambisonics)
        try:
            data, rate = soundfile.read(str(ambisonics), dtype="float32", always_2d=True)
        except (RuntimeError, OSError) as error:
            raise InputFileError(f"{ambisonics}: cannot be read as audio ({error})") from None
        signals = data.T
    n_channels = signals.shape[0]
    order = round(np.sqrt(n_channels)) - 1
    if order < 1 or (order + 1) ** 2 != n_channels:
        raise InputFileError(
            f"{origin}: has {n_channels} channels, which is not an ambisonic signal; "
            "expected (N+1)² channels (4 for first order, 16 for third)"
        )
    head = load_hrtf(hrtf, int(rate))
    binaural = ambisonics_to_binaural(signals, int(rate), head, order=order, convention=convention)
    return RenderResult(
        np.asarray(binaural, dtype=np.float32),
        int(rate),
        "binaural",
        ("L", "R"),
        0,
        {"hrtf": head.name, "decoded from": f"order-{order} {convention}"},
    )
