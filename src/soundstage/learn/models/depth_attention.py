"""The depth-aware binauralizer with cross-modal attention (Parida, Srivastava & Sharma, 2022).

"Beyond Mono to Binaural": an image encoder and a depth encoder (vision transformers) turn the
scene into patch tokens; an audio encoder (the U-Net's five convolutions) turns the mono mix's
spectrum into time-frequency features. At each of the first ``attention_levels`` decoder steps
every time-frequency cell of the audio features attends to the image patches and, separately, to
the depth patches; the two attention maps (one channel per patch: *which part of the picture this
sound belongs to*) are concatenated with the audio features and the encoder's skip connection.
Heads give the difference spectrum as a complex mask on the mix (the output used at inference),
its magnitude and its phase, trained with the combined loss

    L = L_stft + α_mag · L_mag + α_phase · L_phase + α_rec · L_rec

where L_rec compares the spectrum rebuilt from the magnitude and phase heads with the truth.

Departures from the paper, each for a stated reason: the three decoder sub-networks share one
trunk whose last transposed convolution gives the four output channels (mask real and imaginary,
magnitude, phase) — a third of the cost on a CPU; the phase loss is magnitude-weighted
``1 - cos(φ̂ - φ)`` instead of the squared difference of wrapped angles (which punishes the wrap at
±π and weights silent cells like loud ones); the encoders are small transformers trained from
scratch unless ``image_backbone`` names a pretrained transformers model present on the machine;
and the audio encoder also reads each bin's frequency as a third input channel (``frequency_channel``):
the mask a source needs depends on absolute frequency (for an interaural delay τ it is close to
``-j·tan(π f τ)``), which convolutions, being shift-invariant along frequency, cannot otherwise see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional

from soundstage.learn.models.base import SpectralBinauralizer, conv_down, conv_up, encoder_widths
from soundstage.learn.models.visual_encoders import PatchTransformerEncoder, backbone_encoder
from soundstage.learn.pretrained import register_architecture
from soundstage.learn.spectral import SpectralConfig, complex_multiply
from soundstage.learn.view import ViewConfig


@dataclass(frozen=True)
class DepthAttentionConfig:
    """Everything that builds a :class:`DepthAttention` network.

    Attributes
    ----------
    spectral, view
        STFT front end and view channels (``depth`` feeds the depth encoder, the rest the image one).
    base_channels : int
        Width of the first audio layer.
    embed_dim, patch_size, encoder_layers, heads
        The visual transformers: token width, patch side in view pixels, blocks, attention heads.
    attention_dim : int
        Width of the queries and keys of the cross-modal attention.
    attention_levels : int
        Decoder steps (from the bottleneck, 1–5) that attend to the picture.
    image_backbone : str or None
        A pretrained transformers image model for the RGB channels; None: from scratch.
    magnitude_weight, phase_weight, reconstruction_weight : float
        α_mag, α_phase and α_rec of the combined loss.
    """

    spectral: SpectralConfig = field(default_factory=SpectralConfig)
    view: ViewConfig = field(default_factory=ViewConfig)
    base_channels: int = 16
    embed_dim: int = 64
    patch_size: int = 16
    encoder_layers: int = 2
    heads: int = 4
    attention_dim: int = 32
    attention_levels: int = 3
    image_backbone: str | None = None
    magnitude_weight: float = 1.0
    phase_weight: float = 0.5
    reconstruction_weight: float = 1.0
    frequency_channel: bool = True


class CrossModalAttention(nn.Module):
    """Attention of audio time-frequency cells over visual tokens, returned as one map per token."""

    def __init__(self, audio_channels: int, token_dim: int, attention_dim: int):
        super().__init__()
        self.query = nn.Conv2d(audio_channels, attention_dim, 1)
        # "a one-layer network followed by GELU" aligns the visual tokens with the audio features.
        self.key = nn.Sequential(nn.Linear(token_dim, attention_dim), nn.GELU())
        self.scale = 1.0 / math.sqrt(attention_dim)

    def forward(self, audio: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        batch, _, n_freq, n_time = audio.shape
        queries = self.query(audio).flatten(2).transpose(1, 2)  # (B, F·T, d)
        keys = self.key(tokens)  # (B, N, d)
        weights = torch.softmax(queries @ keys.transpose(1, 2) * self.scale, dim=-1)  # (B, F·T, N)
        return weights.transpose(1, 2).reshape(batch, tokens.shape[1], n_freq, n_time)


@register_architecture
class DepthAttention(SpectralBinauralizer):
    """Image and depth transformers, audio U-Net, cross-modal attention in the decoder."""

    architecture = "depth_attention"
    config_class = DepthAttentionConfig

    def __init__(self, config: DepthAttentionConfig):
        super().__init__()
        if not 1 <= config.attention_levels <= 5:
            raise ValueError(f"attention_levels must be 1–5, got {config.attention_levels}")
        self.config = config
        view = config.view
        self.image_channels = [i for i in range(view.n_channels) if i not in view.channel_slices(("depth",))]
        self.depth_channels = view.channel_slices(("depth",))
        transformer = {
            "patch_size": config.patch_size,
            "embed_dim": config.embed_dim,
            "layers": config.encoder_layers,
            "heads": config.heads,
        }
        self.image_encoder: nn.Module | None = None
        if config.image_backbone:
            self.image_encoder = backbone_encoder(config.image_backbone, view)
            image_dim = self.image_encoder.out_channels
        elif self.image_channels:
            self.image_encoder = PatchTransformerEncoder(len(self.image_channels), view, **transformer)
            image_dim = config.embed_dim
        self.depth_encoder = (
            PatchTransformerEncoder(len(self.depth_channels), view, **transformer) if self.depth_channels else None
        )
        n_tokens = (view.height // config.patch_size) * (view.width // config.patch_size)
        if config.image_backbone:
            grid = self.image_encoder.grid(view)
            n_image_tokens = grid[0] * grid[1]
        else:
            n_image_tokens = n_tokens if self.image_encoder is not None else 0
        n_depth_tokens = n_tokens if self.depth_encoder is not None else 0

        widths = encoder_widths(config.base_channels)
        first_input = 3 if config.frequency_channel else 2
        self.down = nn.ModuleList(
            [conv_down(first_input, widths[0], norm=False)]
            + [conv_down(widths[i - 1], widths[i]) for i in range(1, len(widths))]
        )
        # Decoder step k (0 = bottleneck) reads: audio features (+ skip) + attention maps when attending.
        decoder_in = [widths[4], widths[3] * 2, widths[2] * 2, widths[1] * 2, widths[0] * 2]
        decoder_in_audio = [widths[4], widths[3], widths[2], widths[1], widths[0]]
        # The last step's four channels are the heads: complex mask (2), magnitude (1), phase (1).
        decoder_out = [widths[3], widths[2], widths[1], widths[0], 4]
        self.image_attention = nn.ModuleList()
        self.depth_attention = nn.ModuleList()
        ups = []
        for level in range(5):
            extra = 0
            if level < config.attention_levels:
                if self.image_encoder is not None:
                    self.image_attention.append(
                        CrossModalAttention(decoder_in_audio[level], image_dim, config.attention_dim)
                    )
                    extra += n_image_tokens
                if self.depth_encoder is not None:
                    self.depth_attention.append(
                        CrossModalAttention(decoder_in_audio[level], config.embed_dim, config.attention_dim)
                    )
                    extra += n_depth_tokens
            ups.append(conv_up(decoder_in[level] + extra, decoder_out[level], final=level == 4))
        self.up = nn.ModuleList(ups)

    def _tokens(self, view: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        image = depth = None
        if self.image_encoder is not None:
            image = self.image_encoder(view if self.config.image_backbone else view[:, self.image_channels])
            if image.dim() == 4:  # a convolutional backbone's feature map → tokens
                image = image.flatten(2).transpose(1, 2)
        if self.depth_encoder is not None:
            depth = self.depth_encoder(view[:, self.depth_channels])
        return image, depth

    def forward(self, mix: torch.Tensor, view: torch.Tensor) -> dict[str, torch.Tensor]:
        """Predict the difference spectrum, its magnitude and its phase.

        Parameters
        ----------
        mix : torch.Tensor, shape (batch, 2, F, T)
            Real and imaginary STFT of the mono mix.
        view : torch.Tensor, shape (batch, C, H, W)

        Returns
        -------
        dict
            ``difference`` (batch, 2, F, T), its ``mask`` in [-1, 1], ``magnitude`` (batch, 1, F, T), ``phase``
            (batch, 1, F, T) in radians, and the last decoder step's ``image_attention`` map.
        """
        image_tokens, depth_tokens = self._tokens(view)
        skips = []
        x = mix
        if self.config.frequency_channel:
            frequency = torch.linspace(-1.0, 1.0, mix.shape[2], device=mix.device, dtype=mix.dtype)
            x = torch.cat([mix, frequency.view(1, 1, -1, 1).expand(mix.shape[0], 1, -1, mix.shape[3])], dim=1)
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        decoder_skips = [None, *reversed(skips[:-1])]
        attention_map = None
        for level, layer in enumerate(self.up):
            parts = [x]
            if decoder_skips[level] is not None:
                parts.append(decoder_skips[level])
            if level < self.config.attention_levels:
                if image_tokens is not None:
                    attention_map = self.image_attention[level](x, image_tokens)
                    parts.append(attention_map)
                if depth_tokens is not None:
                    parts.append(self.depth_attention[level](x, depth_tokens))
            x = layer(torch.cat(parts, dim=1))
        mask = torch.tanh(x[:, 0:2])
        mix_magnitude = torch.sqrt(mix[:, 0:1] ** 2 + mix[:, 1:2] ** 2 + 1e-12)
        return {
            "difference": complex_multiply(mask, mix),
            "mask": mask,
            "magnitude": functional.softplus(x[:, 2:3]) * mix_magnitude,
            "phase": torch.tanh(x[:, 3:4]) * math.pi,
            "image_attention": attention_map if attention_map is not None else torch.zeros(0),
        }

    def loss(self, outputs: dict[str, torch.Tensor], target: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """The combined loss of the module docstring; ``parts`` holds each term."""
        config = self.config
        stft_loss = torch.mean((outputs["difference"] - target) ** 2)
        target_magnitude = torch.sqrt(target[:, 0:1] ** 2 + target[:, 1:2] ** 2 + 1e-12)
        target_phase = torch.atan2(target[:, 1:2], target[:, 0:1])
        magnitude_loss = torch.mean((outputs["magnitude"] - target_magnitude) ** 2)
        weight = target_magnitude / (target_magnitude.mean(dim=(2, 3), keepdim=True) + 1e-8)
        phase_loss = torch.mean(weight * (1.0 - torch.cos(outputs["phase"] - target_phase)))
        rebuilt = torch.cat(
            [outputs["magnitude"] * torch.cos(outputs["phase"]), outputs["magnitude"] * torch.sin(outputs["phase"])],
            dim=1,
        )
        reconstruction_loss = torch.mean((rebuilt - target) ** 2)
        total = (
            stft_loss
            + config.magnitude_weight * magnitude_loss
            + config.phase_weight * phase_loss
            + config.reconstruction_weight * reconstruction_loss
        )
        parts = {
            "stft": float(stft_loss.detach()),
            "magnitude": float(magnitude_loss.detach()),
            "phase": float(phase_loss.detach()),
            "reconstruction": float(reconstruction_loss.detach()),
        }
        return total, parts
