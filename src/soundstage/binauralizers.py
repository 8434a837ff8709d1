"""Two ways to binaural from a recording, behind one small interface.

An encoder never sees audio (it turns arrivals into filters); binauralizing a *recording* is a
different kind of renderer, and there are two:

:class:`AmbisonicDecoding`
    An ambisonic recording or render decoded through virtual loudspeakers and a head (physics).
:class:`LearnedBinauralization`
    A mono mix lifted to two ears by a learned model that looks at a picture of the scene.

Both take an :class:`~soundstage.io.audio.AudioFile` and return a
:class:`~soundstage.acoustics.render.RenderResult`, so the CLI and the API write, describe and
protect their outputs the same way. :func:`choose_binauralizer` picks by the input: a picture means
the learned model; no picture and an ambisonic channel count means the decoder; anything else is an
error that says what to add.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.errors import InputFileError, ParameterError


class Binauralizer(ABC):
    """Turns a recording into two ears."""

    name: str

    @abstractmethod
    def binauralize(self, audio, *, origin: str, sample_rate: int | None = None):
        """Two ears from ``audio`` (an :class:`~soundstage.io.audio.AudioFile`) as a RenderResult.

        ``origin`` names the input in messages; ``sample_rate`` (Hz) is the output rate (None:
        the input's).
        """


@dataclass
class AmbisonicDecoding(Binauralizer):
    """Decode AmbiX/FuMa ambisonics with virtual loudspeakers and a head."""

    hrtf: Any = "sphere"
    convention: str = "ambix"
    name: str = "ambisonic decoder"

    def binauralize(self, audio, *, origin: str, sample_rate: int | None = None):
        from soundstage.acoustics.render import RenderResult, decode_to_binaural

        render = RenderResult(
            audio.audio, audio.sample_rate, "hoa", tuple(f"ACN{k}" for k in range(audio.audio.shape[0]))
        )
        return decode_to_binaural(render, hrtf=self.hrtf, convention=self.convention, sample_rate=sample_rate)


@dataclass
class LearnedBinauralization(Binauralizer):
    """A learned model (the shipped one unless ``model`` names another) and a picture of the scene."""

    image: str | Path | np.ndarray
    depth: str | Path | np.ndarray | None = None
    model: Any = None
    fov_deg: float | None = None
    region_backend: str = "classical"
    notes: list[str] = field(default_factory=list)
    name: str = "learned model"

    def binauralize(self, audio, *, origin: str, sample_rate: int | None = None):
        from soundstage.acoustics.render import RenderResult, check_output_rate
        from soundstage.io.audio import resample
        from soundstage.learn.inference import binauralize, load_binauralizer

        model = (
            self.model
            if self.model is not None and not isinstance(self.model, str | Path)
            else (load_binauralizer(self.model))
        )
        mix = audio.audio
        if mix.shape[0] > 1:
            self.notes.append(f"{origin}: {mix.shape[0]} channels averaged to a mono mix for the learned model")
            mix = mix.mean(axis=0, keepdims=True)
        result = binauralize(
            model,
            mix[0],
            audio.sample_rate,
            self.image,
            depth=self.depth,
            fov_deg=self.fov_deg,
            region_backend=self.region_backend,
        )
        self.notes += result.notes
        ears, rate = result.audio, result.sample_rate
        if sample_rate is not None and check_output_rate(sample_rate) != rate:
            ears, rate = resample(ears, rate, int(sample_rate)).astype(np.float32), int(sample_rate)
        folder = getattr(model, "source_folder", None)
        details = {"model": f"{model.architecture}" + (f" ({folder})" if folder else "")}
        return RenderResult(ears, rate, "binaural", ("L", "R"), 0, details)


def choose_binauralizer(
    n_channels: int,
    *,
    origin: str,
    image: Any = None,
    depth: Any = None,
    model: Any = None,
    hrtf: Any = None,
    convention: str = "ambix",
    fov_deg: float | None = None,
    region_backend: str = "classical",
) -> Binauralizer:
    """The binauralizer for an input of ``n_channels`` channels (see the module docstring)."""
    if image is not None:
        if hrtf is not None:
            raise ParameterError("--hrtf sets the ambisonic decoder's head; the learned model (--image) has its own")
        return LearnedBinauralization(image, depth, model, fov_deg, region_backend)
    for given, option in ((depth, "--depth"), (model, "--model"), (fov_deg, "--fov")):
        if given is not None:
            raise ParameterError(f"{option} goes with --image (the learned model); add the scene's picture")
    from soundstage.acoustics.encoders import MAX_AMBISONIC_ORDER, ambisonic_order

    if ambisonic_order(n_channels) is not None:
        return AmbisonicDecoding(hrtf or "sphere", convention)
    if n_channels == 1:
        raise InputFileError(
            f"{origin}: a mono mix needs a picture of its scene to be placed: add --image PICTURE "
            "(ambisonic inputs have 4, 9, 16… channels)"
        )
    raise InputFileError(
        f"{origin}: has {n_channels} channels, which is not an ambisonic signal Soundstage decodes "
        f"((N+1)² channels with N from 1 to {MAX_AMBISONIC_ORDER}); "
        "to lift it with the learned model add --image PICTURE (it is averaged to mono)"
    )


def binauralize_file(
    path: str | Path, binauralizer: Binauralizer | None = None, *, sample_rate: int | None = None, **choice: Any
):
    """Read a recording and binauralize it (the chosen way, or by :func:`choose_binauralizer`).

    Returns
    -------
    RenderResult
        With ``inputs`` naming the files read, so the output may not replace one of them.
    """
    from soundstage.io.audio import read_audio_file
    from soundstage.io.inputs import recording_inputs

    with recording_inputs() as inputs:
        audio = read_audio_file(path)
        chosen = binauralizer or choose_binauralizer(audio.audio.shape[0], origin=str(path), **choice)
        if isinstance(chosen, LearnedBinauralization):
            from soundstage.io.inputs import record_input

            for extra in (chosen.image, chosen.depth):
                if isinstance(extra, str | Path):
                    record_input(extra)
        result = chosen.binauralize(audio, origin=str(path), sample_rate=sample_rate)
    result.inputs = frozenset(inputs) | result.inputs
    return result, chosen
