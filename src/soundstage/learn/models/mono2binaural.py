"""The Mono2Binaural baseline (Gao & Grauman, "2.5D Visual Sound", CVPR 2019), rebuilt.

An audio U-Net on the mono mix's complex spectrum (five 4×4 stride-2 convolutions with 1, 2, 4, 8,
8 × ``base_channels``, LeakyReLU; five transposed convolutions back with skip connections) predicts
a complex mask in [-1, 1] that, multiplied with the mix's spectrum, gives the left-minus-right
spectrum. The visual features are fused once, at the bottleneck: the visual encoder's feature map
is reduced to ``visual_channels`` by a 1×1 convolution, flattened, and tiled over the bottleneck's
time-frequency grid. The loss is the mean squared error of the difference spectrum.

The paper's visual encoder is an ImageNet ResNet-18 on the RGB frame; here the encoder reads the
model's view (:mod:`soundstage.learn.view`) and is a small convolutional net trained from scratch,
or a pretrained transformers backbone (``visual_backbone``) on the RGB channels when its weights
are on the machine. ``base_channels=64`` is the paper's audio network (23 M parameters).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from soundstage.learn.models.base import SpectralBinauralizer, conv_down, conv_up, encoder_widths
from soundstage.learn.models.visual_encoders import ConvViewEncoder, backbone_encoder
from soundstage.learn.pretrained import register_architecture
from soundstage.learn.spectral import SpectralConfig, complex_multiply
from soundstage.learn.view import ViewConfig


@dataclass(frozen=True)
class Mono2BinauralConfig:
    """Everything that builds a :class:`Mono2Binaural` network.

    Attributes
    ----------
    spectral : SpectralConfig
        STFT front end (16 kHz, 512/160/400, 64-frame crops).
    view : ViewConfig
        The view channels the visual encoder reads.
    base_channels : int
        Width of the first audio layer (the paper: 64).
    visual_channels : int
        Channels of the visual feature map before flattening (the paper: 8).
    visual_backbone : str or None
        A transformers image backbone (hub id or folder) for the RGB channels; None: from scratch.
    """

    spectral: SpectralConfig = field(default_factory=SpectralConfig)
    view: ViewConfig = field(default_factory=ViewConfig)
    base_channels: int = 16
    visual_channels: int = 8
    visual_backbone: str | None = None


@register_architecture
class Mono2Binaural(SpectralBinauralizer):
    """Audio U-Net with visual features tiled at the bottleneck (see the module docstring)."""

    architecture = "mono2binaural"
    config_class = Mono2BinauralConfig

    def __init__(self, config: Mono2BinauralConfig):
        super().__init__()
        self.config = config
        widths = encoder_widths(config.base_channels)
        self.visual = (
            backbone_encoder(config.visual_backbone, config.view)
            if config.visual_backbone
            else ConvViewEncoder(config.view.n_channels, 128)
        )
        self.visual_reduce = nn.Sequential(
            nn.Conv2d(self.visual.out_channels, config.visual_channels, 1), nn.ReLU(inplace=True)
        )
        grid = self.visual.grid(config.view)
        visual_dim = config.visual_channels * grid[0] * grid[1]
        self.down = nn.ModuleList(
            [conv_down(2, widths[0], norm=False)] + [conv_down(widths[i - 1], widths[i]) for i in range(1, len(widths))]
        )
        ups = [conv_up(widths[4] + visual_dim, widths[3])]
        ups += [conv_up(widths[i] * 2, widths[i - 1]) for i in (3, 2, 1)]
        ups.append(conv_up(widths[0] * 2, 2, final=True))
        self.up = nn.ModuleList(ups)

    def forward(self, mix: torch.Tensor, view: torch.Tensor) -> dict[str, torch.Tensor]:
        """Predict the difference spectrum.

        Parameters
        ----------
        mix : torch.Tensor, shape (batch, 2, F, T)
            Real and imaginary STFT of the mono mix.
        view : torch.Tensor, shape (batch, C, H, W)

        Returns
        -------
        dict
            ``difference`` (batch, 2, F, T) and ``mask`` (batch, 2, F, T) in [-1, 1].
        """
        skips = []
        x = mix
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        visual = self.visual_reduce(self.visual(view)).flatten(1)
        tiled = visual[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        x = self.up[0](torch.cat([x, tiled], dim=1))
        for layer, skip in zip(self.up[1:], reversed(skips[:-1]), strict=True):
            x = layer(torch.cat([x, skip], dim=1))
        mask = torch.sigmoid(x) * 2.0 - 1.0
        return {"difference": complex_multiply(mask, mix), "mask": mask}
