"""The short-time Fourier transform every learned binauralizer shares (the FAIR-Play protocol).

Audio at 16 kHz, ``n_fft`` 512, ``hop_length`` 160 (10 ms), ``win_length`` 400 (25 ms, Hann),
centred frames. The Nyquist bin is dropped so the 256 remaining bins halve cleanly through five
stride-2 layers; a crop of 0.63 s (10 080 samples) gives 64 frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SpectralConfig:
    """STFT parameters of a model (stored in its config so a checkpoint knows its own front end).

    Attributes
    ----------
    sample_rate : int
        Rate of the audio the model sees, in Hz.
    n_fft : int
        FFT length in samples.
    hop_length : int
        Frame advance in samples.
    win_length : int
        Hann window length in samples.
    crop_frames : int
        Frames per training crop and per inference window (64: 0.63 s at the defaults).
    """

    sample_rate: int = 16000
    n_fft: int = 512
    hop_length: int = 160
    win_length: int = 400
    crop_frames: int = 64

    @property
    def crop_samples(self) -> int:
        """Samples of one crop: ``(crop_frames - 1) * hop_length`` (centred frames)."""
        return (self.crop_frames - 1) * self.hop_length

    @property
    def n_bins(self) -> int:
        """Frequency bins kept (the Nyquist bin dropped)."""
        return self.n_fft // 2


def stft(audio: torch.Tensor, config: SpectralConfig) -> torch.Tensor:
    """Real and imaginary parts of the STFT, Nyquist bin dropped.

    Parameters
    ----------
    audio : torch.Tensor, shape (batch, n_samples)
    config : SpectralConfig

    Returns
    -------
    torch.Tensor, shape (batch, 2, n_bins, n_frames)
        Channel 0 the real part, channel 1 the imaginary part.
    """
    window = torch.hann_window(config.win_length, device=audio.device, dtype=audio.dtype)
    spectrum = torch.stft(
        audio,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        win_length=config.win_length,
        window=window,
        center=True,
        return_complex=True,
    )[:, : config.n_bins]
    return torch.stack([spectrum.real, spectrum.imag], dim=1)


def istft(spectrum: torch.Tensor, config: SpectralConfig, length: int) -> torch.Tensor:
    """Inverse of :func:`stft` (the dropped Nyquist bin restored as zero).

    Parameters
    ----------
    spectrum : torch.Tensor, shape (batch, 2, n_bins, n_frames)
    config : SpectralConfig
    length : int
        Samples to return.

    Returns
    -------
    torch.Tensor, shape (batch, length)
    """
    complex_spectrum = torch.complex(spectrum[:, 0], spectrum[:, 1])
    complex_spectrum = torch.nn.functional.pad(complex_spectrum, (0, 0, 0, 1))
    window = torch.hann_window(config.win_length, device=spectrum.device, dtype=spectrum.dtype)
    return torch.istft(
        complex_spectrum,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        win_length=config.win_length,
        window=window,
        center=True,
        length=length,
    )


def complex_multiply(mask: torch.Tensor, spectrum: torch.Tensor) -> torch.Tensor:
    """Complex product of two (batch, 2, F, T) real/imaginary tensors (a complex mask applied)."""
    real = mask[:, 0] * spectrum[:, 0] - mask[:, 1] * spectrum[:, 1]
    imag = mask[:, 0] * spectrum[:, 1] + mask[:, 1] * spectrum[:, 0]
    return torch.stack([real, imag], dim=1)
