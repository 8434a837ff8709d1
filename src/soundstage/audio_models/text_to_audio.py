"""Text-to-audio with diffusers: a sound for a region that was given none, generated from its label.

Two pipeline families are supported, told apart by the ``_class_name`` in the model's
``model_index.json``: AudioLDM 2 (``cvssp/audioldm2``, mono at 16 kHz) and Stable Audio Open
(``stabilityai/stable-audio-open-1.0``, stereo at 44.1 kHz, returned here as the mean of its two
channels). Both are loaded with :meth:`diffusers.DiffusionPipeline.from_pretrained` from a hub
id or a local folder, found (and, online, downloaded) by :func:`soundstage.hub.resolve_model`.

Generation is slow (minutes on a CPU), so every result is kept on disk as a float WAV in
``$SOUNDSTAGE_CACHE/generated`` (default ``~/.cache/soundstage/generated``), named by the
SHA-256 of what determines it (model, prompt, duration, seed, steps) and written atomically;
asking again returns the file without loading the model. With no weights on a machine that
is offline the result is an error naming the weights — never placeholder audio.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.errors import OutputError, ParameterError

#: Text-to-audio model used when none is named.
DEFAULT_MODEL = "cvssp/audioldm2"
#: Denoising steps when none are given (what the AudioLDM 2 and Stable Audio Open model cards use).
DEFAULT_STEPS = 200
#: What the user can do instead when the weights are missing offline.
OFFLINE_ALTERNATIVE = "give each region a sound with --source LABEL=FILE"
#: Download sizes quoted in the offline error, for the models whose size is known.
WEIGHT_SIZES = {"cvssp/audioldm2": "about 3 GB"}
#: Bumped whenever the way a key maps to audio changes, so old cache entries are not reused.
_CACHE_FORMAT = 1
#: What the model is for, in messages.
_PURPOSE = "text-to-audio"


@dataclass(frozen=True)
class _PipelineKind:
    """How to call one diffusers pipeline class and read its output rate."""

    length_argument: str  # keyword giving the length in seconds
    rate_component: str  # component whose config holds the output sampling rate


#: The pipeline classes this module knows how to drive, by ``model_index.json`` ``_class_name``.
PIPELINES = {
    "AudioLDM2Pipeline": _PipelineKind(length_argument="audio_length_in_s", rate_component="vocoder"),
    "StableAudioPipeline": _PipelineKind(length_argument="audio_end_in_s", rate_component="vae"),
}


def generate_audio(
    prompt: str,
    *,
    model: str = DEFAULT_MODEL,
    duration_s: float = 10.0,
    seed: int = 0,
    num_inference_steps: int = DEFAULT_STEPS,
    cache_dir: str | os.PathLike | None = None,
    device: str | None = None,
) -> tuple[np.ndarray, int]:
    """Generate (or read back from the cache) a mono sound described by ``prompt``.

    Parameters
    ----------
    prompt : str
        What the sound is, e.g. ``"a dog barking"``.
    model : str, default "cvssp/audioldm2"
        Hugging Face hub id or local folder of an AudioLDM 2 or Stable Audio pipeline.
    duration_s : float, default 10.0
        Length of the sound in seconds.
    seed : int, default 0
        Seed of the initial noise; the same seed gives the same sound.
    num_inference_steps : int, default 200
        Denoising steps (more is slower and cleaner).
    cache_dir : str or PathLike, optional
        Folder for generated sounds; default ``$SOUNDSTAGE_CACHE/generated`` or
        ``~/.cache/soundstage/generated``.
    device : str, optional
        Torch device for generation; default CUDA when available, else the CPU.

    Returns
    -------
    audio : np.ndarray, shape (n_samples,), float32
        The sound, ``n_samples = round(duration_s * sample_rate)``.
    sample_rate : int
        Its rate in Hz (the pipeline's own: 16 kHz for AudioLDM 2, 44.1 kHz for Stable Audio Open).

    Raises
    ------
    ParameterError
        For an empty prompt, a non-positive duration or step count, a negative seed, a
        duration longer than the model can make, or a pipeline class this module does not drive.
    InputFileError
        If the weights are neither in a folder nor in the local cache and the machine is offline.
    DownloadError
        If the hub refuses the model (unknown id, gated without an accepted licence) or it cannot
        be downloaded.
    """
    from soundstage.io.audio import load_audio

    path = generate_audio_file(
        prompt,
        model=model,
        duration_s=duration_s,
        seed=seed,
        num_inference_steps=num_inference_steps,
        cache_dir=cache_dir,
        device=device,
    )
    return load_audio(path)


def generate_audio_file(
    prompt: str,
    *,
    model: str = DEFAULT_MODEL,
    duration_s: float = 10.0,
    seed: int = 0,
    num_inference_steps: int = DEFAULT_STEPS,
    cache_dir: str | os.PathLike | None = None,
    device: str | None = None,
) -> Path:
    """Like :func:`generate_audio`, but return the cached WAV file instead of its samples.

    The file is ``<cache>/<key>.wav`` (32-bit float, mono) with ``<key>.json`` beside it saying
    what it is; ``key`` is :func:`generation_key`. An existing file is returned as it is, without
    loading the model (so cached sounds stay available offline).

    Returns
    -------
    Path
        The WAV file.
    """
    prompt = _check_prompt(prompt)
    duration_s = _check_duration(duration_s)
    seed = _check_seed(seed)
    num_inference_steps = _check_steps(num_inference_steps)
    model_id = _model_key(model)
    key = generation_key(
        prompt, model=model_id, duration_s=duration_s, seed=seed, num_inference_steps=num_inference_steps
    )
    folder = generated_audio_dir(cache_dir)
    path = folder / f"{key}.wav"
    if path.is_file():
        return path

    from soundstage.io.atomic import atomic_write, ensure_dir
    from soundstage.io.wav import write_wav

    pipeline, class_name = load_text_to_audio_pipeline(model, device=device)
    audio, sample_rate = _run_pipeline(
        pipeline, class_name, prompt, model=model, duration_s=duration_s, seed=seed, steps=num_inference_steps
    )
    ensure_dir(folder)
    # Float samples: a generated sound may peak above full scale and must not be clipped.
    write_wav(path, audio, sample_rate, bit_depth="float", overwrite=True)
    description = {
        "model": model_id,
        "pipeline": class_name,
        "prompt": prompt,
        "duration_s": duration_s,
        "seed": seed,
        "num_inference_steps": num_inference_steps,
        "sample_rate": sample_rate,
    }
    with atomic_write(folder / f"{key}.json", overwrite=True) as temporary:
        temporary.write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
    return path


def generation_key(prompt: str, *, model: str, duration_s: float, seed: int, num_inference_steps: int) -> str:
    """SHA-256 (hex) naming the cached result of one generation request.

    Examples
    --------
    >>> a = generation_key("rain", model="cvssp/audioldm2", duration_s=10, seed=0, num_inference_steps=200)
    >>> b = generation_key("rain", model="cvssp/audioldm2", duration_s=10.0, seed=1, num_inference_steps=200)
    >>> len(a), a == b
    (64, False)
    """
    fields = {
        "format": _CACHE_FORMAT,
        "model": model,
        "prompt": prompt,
        "duration_s": float(duration_s),
        "seed": int(seed),
        "num_inference_steps": int(num_inference_steps),
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode("utf-8")).hexdigest()


def generated_audio_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir``, or ``$SOUNDSTAGE_CACHE/generated``, or ``~/.cache/soundstage/generated``."""
    from soundstage.cache import cache_dir as kind_dir

    return Path(cache_dir) if cache_dir is not None else kind_dir("generated")


def load_text_to_audio_pipeline(model: str = DEFAULT_MODEL, *, device: str | None = None) -> tuple[Any, str]:
    """Load a text-to-audio diffusers pipeline from a hub id or a local folder.

    Parameters
    ----------
    model : str
        Hub id (looked up in the local Hugging Face cache first, downloaded when online) or a
        folder written by ``save_pretrained``.
    device : str, optional
        Torch device (``"cpu"``, ``"cuda"``, ``"cuda:N"``); default CUDA when available, else the CPU.

    Returns
    -------
    pipeline : diffusers.DiffusionPipeline
        Ready to call, in float32, progress bar off.
    class_name : str
        Its ``_class_name``, one of :data:`PIPELINES`.

    Raises
    ------
    InputFileError
        Missing folder, a folder that is not a diffusers pipeline, or weights not available offline.
    DownloadError
        If the hub refuses the model or the download fails.
    ParameterError
        If the pipeline class is not one of :data:`PIPELINES`.
    """
    from soundstage.hub import choose_device, load_pretrained

    # Where the weights are comes first: offline without them this fails before torch is even imported.
    folder, class_name = _resolve_pipeline(model)
    device = choose_device(device)
    from diffusers import DiffusionPipeline

    # float32 (the default): half precision can overflow to NaN in the AudioLDM 2 VAE.
    pipeline = load_pretrained(DiffusionPipeline, folder, purpose=_PURPOSE)
    pipeline = pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline, class_name


def _run_pipeline(
    pipeline: Any, class_name: str, prompt: str, *, model: str, duration_s: float, seed: int, steps: int
) -> tuple[np.ndarray, int]:
    """Call the pipeline once and return its output as mono float32 of the exact requested length."""
    import torch

    kind = PIPELINES[class_name]
    sample_rate = int(getattr(pipeline, kind.rate_component).config.sampling_rate)
    if class_name == "StableAudioPipeline":
        # The transformer's sample_size bounds the latent length, hence the longest sound it can make.
        longest_s = pipeline.transformer.config.sample_size * pipeline.vae.hop_length / pipeline.vae.sampling_rate
        if duration_s > longest_s:
            raise ParameterError(
                f"duration_s: {duration_s:g} s is longer than {model!r} can generate ({longest_s:.2f} s); "
                "ask for a shorter sound"
            )
    # A CPU generator makes the seed give the same noise whatever device the pipeline runs on.
    generator = torch.Generator(device="cpu").manual_seed(seed)
    with torch.inference_mode():
        output = pipeline(
            prompt,
            **{kind.length_argument: duration_s},
            num_inference_steps=steps,
            generator=generator,
            output_type="np",
        )
    audios = output.audios
    if isinstance(audios, torch.Tensor):
        audios = audios.detach().cpu().numpy()
    audio = np.asarray(audios[0], dtype=np.float64)
    if audio.ndim == 2:
        # Stereo models: the mean keeps the level of content common to both channels (as load_audio does).
        audio = audio.mean(axis=0)
    if not np.all(np.isfinite(audio)):
        raise OutputError(f"text-to-audio model {model!r} produced NaN/Inf samples for {prompt!r}; try another seed")
    n_samples = round(duration_s * sample_rate)
    # Decoders can return a few samples more or less than asked (rounding to their hop size).
    audio = np.pad(audio[:n_samples], (0, max(0, n_samples - len(audio))))
    return audio.astype(np.float32), sample_rate


def _resolve_pipeline(model: str) -> tuple[str, str]:
    """Local folder of the diffusers pipeline ``model`` and its ``_class_name``, downloading it when allowed.

    :func:`soundstage.hub.resolve_model` does the finding and fetching; the pipeline class is checked
    on ``model_index.json`` before any weights are downloaded.
    """
    from soundstage.hub import read_config, resolve_model

    if not isinstance(model, str) or not model.strip():
        raise ParameterError(f"model: give a hub id such as {DEFAULT_MODEL!r} or the folder of a downloaded pipeline")
    folder = resolve_model(
        model,
        purpose=_PURPOSE,
        offline_alternative=OFFLINE_ALTERNATIVE,
        kind="pipeline",
        check=lambda index: _pipeline_class(model, index),
        size_hint=WEIGHT_SIZES.get(model),
    )
    return folder, _pipeline_class(model, read_config(folder, kind="pipeline", name=model, purpose=_PURPOSE))


def _pipeline_class(model: str, index: dict[str, Any]) -> str:
    """The ``_class_name`` of a ``model_index.json``, checked against :data:`PIPELINES`."""
    class_name = index.get("_class_name")
    if class_name not in PIPELINES:
        raise ParameterError(
            f"text-to-audio model {model!r} is a {class_name}; use an AudioLDM 2 or Stable Audio model "
            f"({', '.join(PIPELINES)}), e.g. {DEFAULT_MODEL}"
        )
    return str(class_name)


def _model_key(model: str) -> str:
    """What names the model in a cache key: the hub id, or the absolute path of a local folder."""
    if not isinstance(model, str) or not model.strip():
        raise ParameterError(f"model: give a hub id such as {DEFAULT_MODEL!r} or the folder of a downloaded pipeline")
    path = Path(model).expanduser()
    return str(path.resolve()) if path.is_dir() else model


def _check_prompt(prompt: str) -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        raise ParameterError("prompt: give a non-empty description of the sound, e.g. 'a dog barking'")
    return prompt.strip()


def _check_duration(duration_s: float) -> float:
    if isinstance(duration_s, bool) or not isinstance(duration_s, (int, float)) or not math.isfinite(duration_s):
        raise ParameterError(f"duration_s: {duration_s!r} is not a finite number of seconds; give e.g. 10")
    if duration_s <= 0:
        raise ParameterError(f"duration_s: {duration_s!r} must be positive; give e.g. 10")
    return float(duration_s)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed: {seed!r} must be a non-negative integer")
    return int(seed)


def _check_steps(steps: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ParameterError(f"num_inference_steps: {steps!r} must be a positive integer, e.g. {DEFAULT_STEPS}")
    return int(steps)
