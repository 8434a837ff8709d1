"""CLAP audio–text similarity: which label an unlabelled sound most resembles.

CLAP (contrastive language–audio pretraining) embeds a sound and a text in one space; the
cosine of the two embeddings says how well the text describes the sound. The pipeline uses it
to give sounds passed without labels (``--audio FILE``) to the labelled regions they match best.

Audio is loaded mono at the model's rate (48 kHz for the LAION models). CLAP sees at most
``max_length_s`` (10 s) at a time and its feature extractor crops longer clips at a *random*
offset, so a longer sound is cut here into equal chunks of at most 10 s whose embeddings are
averaged: the whole sound counts, and the same file always gives the same row.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from soundstage.errors import ParameterError

#: CLAP checkpoint used when none is named.
DEFAULT_MODEL = "laion/clap-htsat-unfused"
#: What the user can do instead when the weights are missing offline.
OFFLINE_ALTERNATIVE = "label each sound with --source LABEL=FILE"
#: How a label becomes the text CLAP compares sounds with (CLAP was trained on captions, not bare nouns).
DEFAULT_TEXT_TEMPLATE = "the sound of {label}"
#: Chunks of sound embedded per forward pass (bounds memory for long files).
_BATCH = 8


class ClapSimilarity:
    """Cosine similarity between sounds and text labels with a CLAP model.

    Parameters
    ----------
    model : str, default "laion/clap-htsat-unfused"
        Hugging Face hub id (looked up in the local cache first) or a folder holding a
        ``ClapModel`` and its ``ClapProcessor`` (``save_pretrained``).
    device : str, optional
        Torch device (``"cpu"``, ``"cuda"``, ``"cuda:N"``); default CUDA when available, else the CPU.
    text_template : str, default "the sound of {label}"
        How each label is phrased before it is embedded; must contain ``{label}``.

    Raises
    ------
    InputFileError
        If ``model`` is neither a folder nor a hub id, the folder is not a CLAP model, or offline
        mode is on and the weights are not in the local cache.
    DownloadError
        If the weights are neither in the cache nor downloadable (hub refused, no connection).
    ParameterError
        For a template without ``{label}`` or an unknown device.

    Examples
    --------
    With the weights at hand (not run as a doctest: they are a 600 MB download)::

        similarity = ClapSimilarity()
        matrix = similarity(["bark.wav", "engine.wav"], ["dog", "car"])  # shape (2, 2)
    """

    def __init__(
        self, model: str = DEFAULT_MODEL, device: str | None = None, *, text_template: str = DEFAULT_TEXT_TEMPLATE
    ) -> None:
        if not isinstance(text_template, str) or "{label}" not in text_template:
            raise ParameterError(
                f"text_template: {text_template!r} must contain '{{label}}', e.g. {DEFAULT_TEXT_TEMPLATE!r}"
            )
        self.model_name = model
        self.text_template = text_template
        self._model, self._processor, self.device = _load_clap(model, device)
        extractor = self._processor.feature_extractor
        #: Rate (Hz) the model's feature extractor expects; audio is resampled to it.
        self.sample_rate = int(extractor.sampling_rate)
        #: Longest clip (samples) the model embeds in one piece.
        self.max_samples = int(extractor.nb_max_samples)

    def __call__(self, audio_paths: list[str | os.PathLike], labels: list[str]) -> np.ndarray:
        """Cosine similarity of every sound with every label.

        Parameters
        ----------
        audio_paths : list of str or PathLike
            Sound files (any format :func:`soundstage.io.audio.load_audio` reads; several
            channels are averaged).
        labels : list of str
            Labels, e.g. region names.

        Returns
        -------
        np.ndarray, shape (n_audio, n_labels), float64
            Cosine similarities in [-1, 1]; higher means the label describes the sound better.

        Raises
        ------
        ParameterError
            If either list is empty or a label is empty.
        InputFileError
            If a sound file is missing or unreadable.
        """
        if len(audio_paths) == 0:
            raise ParameterError("audio_paths: give at least one sound file to compare with the labels")
        if len(labels) == 0:
            raise ParameterError("labels: give at least one label to compare the sounds with")
        for index, label in enumerate(labels):
            if not isinstance(label, str) or not label.strip():
                raise ParameterError(f"labels[{index}]: {label!r} is empty; give a word such as 'dog'")
        audio_embeddings = np.stack([self.embed_audio(path) for path in audio_paths])
        text_embeddings = self.embed_text(labels)
        # Both sides are unit vectors, so the dot product is the cosine; clip the float rounding.
        return np.clip(audio_embeddings @ text_embeddings.T, -1.0, 1.0)

    def embed_audio(self, path: str | os.PathLike) -> np.ndarray:
        """Unit-norm CLAP embedding of one sound file, shape (d,): the normalised mean over its ≤ 10-s chunks."""
        from soundstage.io.audio import load_audio

        audio, _ = load_audio(path, sample_rate=self.sample_rate, downmix=True)
        # Equal chunks no longer than the model's window, so the extractor never crops at random.
        n_chunks = max(1, -(-len(audio) // self.max_samples))
        chunks = np.array_split(audio, n_chunks)
        embeddings = np.concatenate(
            [self._embed_chunks(chunks[start : start + _BATCH]) for start in range(0, n_chunks, _BATCH)]
        )
        return _unit(embeddings.mean(axis=0))

    def embed_text(self, labels: list[str]) -> np.ndarray:
        """Unit-norm CLAP embeddings of the labels (phrased with ``text_template``), shape (n_labels, d)."""
        import torch

        texts = [self.text_template.format(label=label.strip()) for label in labels]
        inputs = self._processor.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        with torch.inference_mode():
            features = self._model.get_text_features(**inputs.to(self.device))
        return _unit(_as_array(features))

    def _embed_chunks(self, chunks: list[np.ndarray]) -> np.ndarray:
        """Unit-norm embeddings of clips no longer than ``max_samples``, shape (n_chunks, d)."""
        import torch

        inputs = self._processor.feature_extractor(chunks, sampling_rate=self.sample_rate, return_tensors="pt")
        if "is_longer" in inputs:
            # No chunk is longer than the window; the "fusion" extractor would otherwise flag one at random.
            inputs["is_longer"] = torch.zeros_like(inputs["is_longer"])
        with torch.inference_mode():
            features = self._model.get_audio_features(**inputs.to(self.device))
        return _unit(_as_array(features))


def _load_clap(model: str, device: str | None) -> tuple[Any, Any, str]:
    """The ``ClapModel`` (eval mode, on ``device``), its ``ClapProcessor``, and the device used."""
    from soundstage.hub import choose_device, load_pretrained, resolve_model

    # Where the weights are comes first: offline without them this fails before torch is even imported.
    folder = resolve_model(model, purpose="CLAP audio–text matching", offline_alternative=OFFLINE_ALTERNATIVE)
    device = choose_device(device)
    from transformers import ClapModel, ClapProcessor

    clap = load_pretrained(ClapModel, folder, purpose="CLAP audio–text matching")
    processor = load_pretrained(ClapProcessor, folder, purpose="CLAP audio–text matching")
    return clap.eval().to(device), processor, device


def _as_array(features: Any) -> np.ndarray:
    """Projected features as float64 numpy: transformers 5 returns an output object, 4.x a tensor."""
    tensor = getattr(features, "pooler_output", features)
    return tensor.detach().to("cpu").double().numpy()


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Vectors scaled to unit length along the last axis."""
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
