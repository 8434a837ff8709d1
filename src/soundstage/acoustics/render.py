"""The renderer: scene → arrivals per source → encoder → channels.

This is the one place that ties propagation models and encoders together; every
output format and every propagation model goes through :func:`render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from soundstage.acoustics.convolution import SpectralMix
from soundstage.acoustics.propagation import PropagationModel, SourcePropagation, propagation_model
from soundstage.errors import ParameterError
from soundstage.io.inputs import InputFile, recording_inputs
from soundstage.scene.model import Scene, source_world_position

if TYPE_CHECKING:
    from soundstage.acoustics.encoders.base import Encoder
    from soundstage.acoustics.hrtf.base import HRTF

#: Work (source samples plus response taps × channels, all sources together) from which a still render spreads
#: its sources over threads: below, a second core saves less than starting the threads costs (4 sources × 10 s at
#: 16 kHz binaural in a 0.5 s room render as fast on one; 8 × 60 s at 48 kHz 20 % faster on two, and so are many
#: short sounds with long third-order responses).
THREADED_SAMPLES = 1 << 21


class Costs(NamedTuple):
    """What :meth:`_Job.check_costs` found: sources that fit the memory budget at once, each response's taps."""

    at_once: int
    response_taps: list[int]


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
    inputs : frozenset of InputFile
        The files it was made from (sound files, SOFA, mesh...): writing the result over one
        of them is refused (:func:`soundstage.io.export.write_render`).
    """

    audio: np.ndarray
    sample_rate: int
    format: str
    channel_labels: tuple[str, ...]
    channel_mask: int = 0
    details: dict[str, str] = field(default_factory=dict)
    inputs: frozenset[InputFile] = frozenset()

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
    memory_limit: str | int | None = None,
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
    memory_limit : str, int or None
        Memory budget (``"4G"``, bytes); None: ``$SOUNDSTAGE_MEMORY_LIMIT`` or the default of
        :func:`soundstage.acoustics.budget.memory_limit_bytes`. A render estimated to need
        more is refused before the work, naming the field to change.

    Returns
    -------
    RenderResult

    Raises
    ------
    ParameterError
        For an impossible request, or a render that would exceed the memory budget.
    InputFileError
        For a sound, SOFA or mesh file that cannot be used.
    """
    with recording_inputs() as inputs:
        job = _prepare(scene, format, sample_rate, hrtf, lfe, memory_limit)
        scene, rate, encoder = job.scene, job.sample_rate, job.encoder
        signals = [source_signal(scene, index, rate) for index in range(len(scene.sources))]
        starts = [round(source.start * rate) for source in scene.sources]
        if scene.moves:
            from soundstage.acoustics.moving.scene_render import render_moving

            mix = render_moving(
                scene, encoder, job.model, signals, starts, progress=progress, memory_limit_bytes=job.memory_limit_bytes
            )
            job.details["motion"] = "block engine (moving sources, head tracking)"
            return job.result(mix, inputs)
        paths = job.propagate_all()
        lengths = [len(signal) for signal in signals]
        costs = job.check_costs(paths, lengths, starts)  # refuses, before the work, a render beyond the budget
        work = sum(lengths) + encoder.n_channels * sum(costs.response_taps)
        at_once = costs.at_once if work >= THREADED_SAMPLES else 1
        count = len(scene.sources)
        responses: list[np.ndarray | None] = [None] * count
        spectral: SpectralMix | None = None

        def response(index: int) -> np.ndarray:
            return _response(scene, index, encoder, paths[index]).astype(np.float32)

        def spectra(index: int) -> tuple[int, np.ndarray, np.ndarray]:
            found = spectral.source_spectra(starts[index], signals[index], responses[index])
            signals[index] = responses[index] = None  # each source's memory goes once it is in the mix
            return found

        def steps():
            nonlocal spectral
            # Every response first: the mix's block grid is set by the longest of them.
            for index, found in enumerate(_in_threads(response, count, at_once)):
                responses[index] = found
                yield
            spectral = SpectralMix(encoder.n_channels, starts, lengths, [r.shape[1] for r in responses])
            for found in _in_threads(spectra, count, at_once):
                spectral.add(*found)  # in source order: the sums do not depend on the threads
                yield
            done = 0
            for step, _ in enumerate(spectral.inverse_steps(), start=1):  # a source's worth each count-th step
                while done < min(step * count // spectral.n_steps, count - 1):
                    done += 1
                    yield
            while done < count:  # the last once the mix is whole (and all of them for a mix of no blocks)
                done += 1
                yield

        # Three steps a source: its response, its place in the mix, its share of the inverse transforms.
        for _ in _progress(steps(), progress, f"render {job.format_name}", unit="step", total=3 * count):
            pass
        mix = spectral.mix()  # transformed back by the last steps
    return job.result(mix, inputs)


def impulse_responses(
    scene: Scene | str | Path,
    *,
    format: str | None = None,
    sample_rate: int | None = None,
    hrtf: str | Path | HRTF | None = None,
    lfe: bool | None = None,
    progress: bool = True,
    memory_limit: str | int | None = None,
) -> list[tuple[str, RenderResult]]:
    """The impulse response from every source to the output channels, for a DAW or for analysis.

    Parameters are those of :func:`render`; the sources' audio is not read.

    Returns
    -------
    list of (str, RenderResult)
        One per source, in scene order: the source's name (``source1``, ``source2``... when it
        has none) and its response, tap 0 being the moment the source emits.
    """
    with recording_inputs() as inputs:
        job = _prepare(scene, format, sample_rate, hrtf, lfe, memory_limit)
        scene, encoder = job.scene, job.encoder
        if scene.moves:
            raise ParameterError(
                "a scene whose sources move (or whose listener moves or turns) has no single impulse response; "
                "render it, or give the sources positions instead of trajectories"
            )
        paths = job.propagate_all()
        job.check_costs(paths, [0] * len(paths), [0] * len(paths))
        responses = []
        for index in _progress(range(len(scene.sources)), progress, f"impulse responses {job.format_name}"):
            responses.append(_response(scene, index, encoder, paths[index]).astype(np.float32))
    results = []
    for index, response in enumerate(responses):
        name = scene.sources[index].name or f"source{index + 1}"
        results.append((name, job.result(response, inputs)))
    return results


def _in_threads(work, count: int, at_most: int):
    """``work(0)``, ``work(1)``… in order, on up to ``at_most`` of the threads a render may use (FFTs and array sums
    let go of the GIL); each task runs in a copy of this context, with one FFT thread of its own.

    Each source is independent and seeded by its index, so the result does not depend on the threads.
    """
    from soundstage.threads import fft_workers, single_fft_thread

    threads = min(fft_workers(), count, at_most)
    if threads <= 1:
        return map(work, range(count))
    import collections
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    def task(index: int):
        with single_fft_thread():
            return work(index)

    pool = ThreadPoolExecutor(threads, thread_name_prefix="soundstage-render")
    context = contextvars.copy_context()

    def results():
        # At most `threads` results exist at once, the one being consumed included (the memory budget's count):
        # the next task is submitted once the consumer is done with a result, never all of them up front.
        pending = collections.deque(pool.submit(context.copy().run, task, index) for index in range(threads))
        following = iter(range(threads, count))
        try:
            while pending:
                yield pending.popleft().result()
                index = next(following, None)
                if index is not None:
                    pending.append(pool.submit(context.copy().run, task, index))
        finally:
            pool.shutdown(cancel_futures=True)

    return results()


def source_impulse_response(scene: Scene, index: int, encoder: Encoder, model: PropagationModel) -> np.ndarray:
    """Response (n_channels, n_taps) from source ``index`` to the encoder's channels: early arrivals + late tail."""
    source = scene.sources[index]
    propagation = model.propagate(source_world_position(source, scene.listener), scene.source_label(index))
    return _response(scene, index, encoder, propagation)


def _response(scene: Scene, index: int, encoder: Encoder, propagation: SourcePropagation) -> np.ndarray:
    """The response of source ``index`` from its propagation: encoded early arrivals + the late tail."""
    early = encoder.impulse_response(propagation.early)
    if propagation.decay is None:
        return early
    from soundstage.acoustics.room.late_reverb import diffuse_tail

    seed = scene.room.seed if scene.room is not None else 0
    return summed_responses(early, diffuse_tail(encoder, propagation.decay, rng=np.random.default_rng([seed, index])))


def summed_responses(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Two responses (n_channels, n_taps) of different lengths added from tap 0, as long as the longer."""
    combined = np.zeros((first.shape[0], max(first.shape[1], second.shape[1])))
    combined[:, : first.shape[1]] += first
    combined[:, : second.shape[1]] += second
    return combined


@dataclass
class _Job:
    """A render being prepared: the scene, format, rate, encoder, propagation model, details and budget."""

    scene: Scene
    format_name: str
    sample_rate: int
    encoder: Encoder
    model: PropagationModel
    details: dict[str, str]
    memory_limit_bytes: int

    def result(self, audio: np.ndarray, inputs: set[InputFile]) -> RenderResult:
        encoder = self.encoder
        # Said again now the sources are propagated: a traced room knows its decay only after.
        self.details["propagation"] = self.model.describe()
        decay = self.model.describe_decay()
        if decay:
            self.details["decay"] = decay
        return RenderResult(
            audio,
            self.sample_rate,
            self.format_name,
            tuple(encoder.channel_labels),
            encoder.channel_mask,
            dict(self.details),
            frozenset(inputs),
        )

    def propagate_all(self) -> list[SourcePropagation]:
        """Every source's arrivals and late-field statistics (cheap next to encoding them)."""
        scene = self.scene
        return [
            self.model.propagate(source_world_position(source, scene.listener), scene.source_label(index))
            for index, source in enumerate(scene.sources)
        ]

    def check_costs(self, paths: list[SourcePropagation], signal_lengths: list[int], starts: list[int]) -> Costs:
        """Refuse, before encoding, a render whose memory would exceed the budget (see :mod:`.budget`); return how
        many sources may be encoded and convolved at once within it (at least 1) and each response's taps."""
        from soundstage.acoustics.budget import (
            Cost,
            check_cost,
            encoder_cost,
            kept_responses_cost,
            mix_cost,
            response_cost,
            source_mix_cost,
        )
        from soundstage.acoustics.convolution import inverse_chunk_bytes, transform_length

        scene, rate, n_channels = self.scene, self.sample_rate, self.encoder.n_channels
        kernel = _kernel_taps(self.encoder, rate)
        response_taps = []
        peak = 0
        for index, path in enumerate(paths):
            label = scene.source_label(index)
            taps, field, fix = _response_extent(scene, index, path, rate, kernel)
            response_taps.append(taps)
            response = response_cost(n_channels, taps)
            encoding = encoder_cost(len(path.early), n_channels, kernel)
            peak = max(peak, response, encoding)
            check_cost(
                Cost(response, field, f"a response of {taps / rate:.3g} s ({label})", fix), self.memory_limit_bytes
            )
            check_cost(Cost(encoding, *_arrivals_field(scene, label)), self.memory_limit_bytes)
        ends = [
            start + length + taps for start, length, taps in zip(starts, signal_lengths, response_taps, strict=True)
        ]
        # The mix with its block spectra, the chunk transformed back at a time, and every response until the
        # longest sets the block grid (n_fft as SpectralMix chooses it); then each source in flight.
        n_fft = transform_length(max(signal_lengths), max(response_taps))
        total = (
            mix_cost(n_channels, max(ends))
            + inverse_chunk_bytes(n_channels, n_fft)
            + kept_responses_cost(n_channels, response_taps)
        )
        peak = max([peak] + [source_mix_cost(length, n_channels, n_fft) for length in signal_lengths])
        longest = int(np.argmax(ends))
        field, what, fix = _length_field(
            scene, longest, starts[longest], signal_lengths[longest], response_taps[longest], rate
        )
        check_cost(Cost(total + peak, field, what, fix), self.memory_limit_bytes)  # with one source in flight
        return Costs(max(1, int((self.memory_limit_bytes - total) // max(peak, 1))), response_taps)


def _kernel_taps(encoder: Encoder, rate: int) -> int:
    """Longest kernel an encoder builds per arrival: band filter, fractional delay and any HRIR."""
    from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ
    from soundstage.acoustics.delay import HALF_WIDTH
    from soundstage.acoustics.encoders.band_filter import band_filter_length

    hrtf = getattr(encoder, "hrtf", None)
    hrir_taps = int(getattr(hrtf, "n_taps", 0) or 0)
    return band_filter_length(rate, OCTAVE_BANDS_HZ) + 2 * HALF_WIDTH + hrir_taps


def _response_extent(scene: Scene, index: int, path: SourcePropagation, rate: int, kernel: int) -> tuple[int, str, str]:
    """Taps of a source's response, and the field that sets its length with what to do about it."""
    from soundstage.acoustics.room.late_reverb import tail_length

    early = int(float(np.max(path.early.delay_s, initial=0.0)) * rate) + kernel
    tail = tail_length(path.decay, rate) if path.decay is not None else 0
    label = scene.source_label(index)
    if tail > early:
        field = "room.rt60" if scene.room is not None and scene.room.rt60 is not None else "room.materials"
        return tail, field, "shorten the reverberation (a lower rt60, or more absorbing materials)"
    if len(path.early) > 1 and scene.room is not None:
        return early, "room.max_order", "lower room.max_order or keep room.late_reverb on"
    distance = float(np.max(path.early.distance_m, initial=0.0))
    return early, f"{label}.position", f"bring it closer than {distance:.3g} m"


def _arrivals_field(scene: Scene, label: str) -> tuple[str, str, str]:
    """(field, what, fix) for a source whose early arrivals are too many to encode."""
    room = scene.room
    if room is not None and room.max_order is not None:
        return "room.max_order", f"image sources up to order {room.max_order} ({label})", "lower room.max_order"
    if room is not None and not room.late_reverb:
        return (
            "room.late_reverb",
            f"image sources until the full decay ({label}, late_reverb: false)",
            "keep room.late_reverb on, or set a low room.max_order",
        )
    return "room.mixing_time", f"image sources before the mixing time ({label})", "lower room.mixing_time"


def _length_field(scene: Scene, index: int, start: int, signal: int, response: int, rate: int) -> tuple[str, str, str]:
    """(field, what, fix) for the source that makes the output longest, blaming its largest part."""
    label = scene.source_label(index)
    source = scene.sources[index]
    part = int(np.argmax([start, signal, response]))
    if part == 0:
        return f"{label}.start", f"a start at {source.start:.6g} s", "start it earlier"
    if part == 1:
        return f"{label}.audio", f"a sound of {signal / rate:.6g} s", "give a shorter sound"
    return (
        f"{label}.position",
        f"a response of {response / rate:.6g} s",
        "bring it closer (or shorten the room's decay)",
    )


def prepare_render(
    scene: Scene | str | Path,
    *,
    format: str | None = None,
    sample_rate: int | None = None,
    hrtf: str | Path | HRTF | None = None,
    lfe: bool | None = None,
):
    """What a render of ``scene`` would use — the scene, format, rate, encoder and propagation model — for
    renderers of their own (the real-time streamer); the parameters are :func:`render`'s."""
    return _prepare(scene, format, sample_rate, hrtf, lfe, None)


def _prepare(
    scene: Scene | str | Path, format: str | None, sample_rate: int | None, hrtf, lfe: bool | None, memory_limit
) -> _Job:
    """The scene, format name, rate, encoder, propagation model, report details and budget of a render."""
    from soundstage.acoustics.budget import memory_limit_bytes
    from soundstage.scene.files import load_scene

    if not isinstance(scene, Scene):
        if not isinstance(scene, str | Path):
            raise ParameterError(f"scene: give a Scene or the path of a scene file, got {type(scene).__name__}")
        scene = load_scene(scene)
    else:
        from soundstage.io.inputs import record_inputs

        record_inputs(scene.input_files())
    limit = memory_limit_bytes(memory_limit)
    if format is not None and not isinstance(format, str):
        raise ParameterError(f"format: give a format name such as 'binaural', got {format!r}")
    format_name = (scene.output.format if format is None else format).lower()
    rate = check_output_rate(scene.output.sample_rate if sample_rate is None else sample_rate)
    encoder, details = _build_encoder(scene, format_name, rate, hrtf, scene.output.lfe if lfe is None else lfe)
    model = propagation_model(scene)
    details["propagation"] = model.describe()
    return _Job(scene, format_name, rate, encoder, model, details, limit)


def check_output_rate(sample_rate: object) -> int:
    """An output sample rate in Hz, whole and within 8–384 kHz (0 is refused, never taken as "default").

    Examples
    --------
    >>> check_output_rate(44100.0)
    44100
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | float | np.integer | np.floating):
        raise ParameterError(f"sample rate {sample_rate!r} is not a number of Hz; choose e.g. 48000")
    if not (8000 <= sample_rate <= 384000 and float(sample_rate).is_integer()):  # NaN fails the comparison
        raise ParameterError(f"sample rate {sample_rate!r} Hz is outside 8000–384000 Hz; choose e.g. 48000")
    return int(sample_rate)


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


def source_signal(scene: Scene, index: int, rate: int) -> np.ndarray:
    """Source ``index``'s mono signal at ``rate`` (Hz) with its gain applied, float32 (what a render plays)."""
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


def _progress(items, enabled: bool, description: str, *, unit: str = "source", total: int | None = None):
    """Wrap ``items`` in a progress bar that only appears after a second of work."""
    from soundstage.progress import progress_bar

    return progress_bar(items, enabled=enabled, description=description, unit=unit, total=total)


def decode_to_binaural(
    ambisonics: RenderResult | str | Path,
    *,
    hrtf: str | Path | HRTF = "sphere",
    convention: str = "ambix",
    sample_rate: int | None = None,
) -> RenderResult:
    """Decode an ambisonic render or file to binaural for listening on headphones.

    Parameters
    ----------
    ambisonics : RenderResult, str or Path
        An ambisonic render (``foa``/``hoaN``) or a WAV file with (N + 1)² channels, N from 1
        to :data:`~soundstage.acoustics.encoders.MAX_AMBISONIC_ORDER` (as ``render`` writes them).
    hrtf : str, Path or HRTF, default "sphere"
        Head used by the virtual loudspeakers: ``sphere``, a registered name, a SOFA path or
        a head already loaded at the output rate.
    convention : {"ambix", "fuma"}, default "ambix"
        Channel order and normalisation of a file (a render carries its own).
    sample_rate : int or None
        Output rate in Hz (8–384 kHz); None keeps the input's. The input is resampled first.

    Returns
    -------
    RenderResult
        Two channels, L and R.

    Raises
    ------
    InputFileError
        For a file that cannot be read, is empty, or has a channel count no ambisonic order gives.
    ParameterError
        For an unknown convention or an output rate outside 8–384 kHz.
    """
    from soundstage.acoustics.encoders import MAX_AMBISONIC_ORDER, ambisonic_order
    from soundstage.acoustics.encoders.ambisonic_decoder import ambisonics_to_binaural
    from soundstage.acoustics.hrtf import load_hrtf
    from soundstage.errors import InputFileError
    from soundstage.io.audio import read_audio_file, resample

    if convention not in ("ambix", "fuma"):
        raise ParameterError(f"convention: {convention!r} is not one of ambix, fuma")
    with recording_inputs() as inputs:
        if isinstance(ambisonics, RenderResult):
            signals, rate = ambisonics.audio, ambisonics.sample_rate
            origin = f"{ambisonics.format} render"
            inputs.update(ambisonics.inputs)
            if ambisonics.channel_labels[:2] == ("W", "X"):
                convention = "fuma"
        elif isinstance(ambisonics, str | Path):
            origin = str(ambisonics)
            clip = read_audio_file(ambisonics)
            signals, rate = clip.audio, clip.sample_rate
        else:
            raise ParameterError(
                f"ambisonics: give a RenderResult or the path of a WAV file, got {type(ambisonics).__name__}"
            )
        n_channels = signals.shape[0]
        order = ambisonic_order(n_channels)
        if order is None:
            raise InputFileError(
                f"{origin}: has {n_channels} channels, which is not an ambisonic signal Soundstage decodes; "
                f"expected (N+1)² channels with N from 1 to {MAX_AMBISONIC_ORDER} (4 for first order, 16 for third)"
            )
        if sample_rate is not None and check_output_rate(sample_rate) != rate:
            signals, rate = resample(signals, int(rate), int(sample_rate)), int(sample_rate)
        head = load_hrtf(hrtf, int(rate))
        binaural = ambisonics_to_binaural(signals, int(rate), head, order=order, convention=convention)
    return RenderResult(
        np.asarray(binaural, dtype=np.float32),
        int(rate),
        "binaural",
        ("L", "R"),
        0,
        {"hrtf": head.name, "decoded from": f"order-{order} {convention}"},
        frozenset(inputs),
    )
