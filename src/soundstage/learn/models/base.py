"""What every learned binauralizer shares: its inputs, its output and its place among renderers.

A model maps the mono mix's spectrum ``A`` (the sum of the two ears, as in the literature) and a
view of the scene to the spectrum of the ears' difference ``Ô``; the ears are then
``L = (mix + diff) / 2`` and ``R = (mix - diff) / 2``. Predicting the difference instead of the two
ears keeps a network from copying the mix into both (Gao & Grauman, 2019).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from soundstage.learn.pretrained import PretrainedMixin
from soundstage.learn.spectral import SpectralConfig


class SpectralBinauralizer(PretrainedMixin, nn.Module):
    """Base of the models: ``forward(mix, view) -> {"difference": Ô, ...}`` and their loss.

    Subclasses set ``config`` (with ``spectral`` and ``view`` fields) and implement ``forward``.
    """

    config: Any

    @property
    def spectral(self) -> SpectralConfig:
        """The STFT front end the model was trained with."""
        return self.config.spectral

    def loss(self, outputs: dict[str, torch.Tensor], target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean squared error of the predicted difference spectrum (Mono2Binaural's loss).

        Parameters
        ----------
        outputs : dict
            What ``forward`` returned.
        target : torch.Tensor, shape (batch, 2, F, T)
            The true left-minus-right spectrum.

        Returns
        -------
        total : torch.Tensor
            The scalar to minimise.
        parts : dict
            Each term's value, for the logs.
        """
        stft_loss = torch.mean((outputs["difference"] - target) ** 2)
        return stft_loss, {"stft": float(stft_loss.detach())}

    def binauralize(
        self,
        mono: np.ndarray,
        sample_rate: int,
        image: Any,
        depth: Any = None,
        **options: Any,
    ) -> Any:
        """Two ears from a mono mix and a picture; see :func:`soundstage.learn.inference.binauralize`."""
        from soundstage.learn.inference import binauralize

        return binauralize(self, mono, sample_rate, image, depth=depth, **options)


def conv_down(in_channels: int, out_channels: int, *, norm: bool = True) -> nn.Sequential:
    """A 4×4 stride-2 convolution halving frequency and time (U-Net encoder step)."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1)]
    if norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


def conv_up(in_channels: int, out_channels: int, *, final: bool = False) -> nn.Sequential:
    """A 4×4 stride-2 transposed convolution doubling frequency and time (U-Net decoder step)."""
    layers: list[nn.Module] = [nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1)]
    if not final:
        layers += [nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


def encoder_widths(base_channels: int) -> list[int]:
    """Channels of the five encoder steps: 1, 2, 4, 8, 8 × ``base_channels`` (Mono2Binaural's U-Net)."""
    return [base_channels * factor for factor in (1, 2, 4, 8, 8)]
