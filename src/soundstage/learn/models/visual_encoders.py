"""Encoders of a model's view: small networks trained from scratch, or a pretrained backbone.

Each returns a feature map ``(batch, out_channels, h, w)`` whose grid says where in the picture a
feature is — what binauralization needs from vision is *where* the sounding things are.
"""

from __future__ import annotations

import torch
from torch import nn

from soundstage.learn.view import ViewConfig


class ConvViewEncoder(nn.Module):
    """Four 3×3 stride-2 convolutions (view size / 16), batch norm and ReLU."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        widths = [32, 64, 128, out_channels]
        layers: list[nn.Module] = []
        previous = in_channels
        for width in widths:
            layers += [nn.Conv2d(previous, width, 3, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            previous = width
        self.net = nn.Sequential(*layers)
        self.out_channels = out_channels

    def grid(self, view: ViewConfig) -> tuple[int, int]:
        """``(h, w)`` of the feature map for a view of this size."""
        h, w = view.height, view.width
        for _ in range(4):
            h, w = (h + 1) // 2, (w + 1) // 2
        return h, w

    def forward(self, view: torch.Tensor) -> torch.Tensor:
        return self.net(view)


class PatchTransformerEncoder(nn.Module):
    """A small vision transformer: ``patch_size`` patches, learned positions, ``layers`` blocks.

    Returns tokens ``(batch, n_patches, embed_dim)`` in row-major patch order.
    """

    def __init__(self, in_channels: int, view: ViewConfig, *, patch_size: int, embed_dim: int, layers: int, heads: int):
        super().__init__()
        self.grid = (view.height // patch_size, view.width // patch_size)
        self.embed = nn.Conv2d(in_channels, embed_dim, patch_size, stride=patch_size)
        self.position = nn.Parameter(torch.zeros(1, self.grid[0] * self.grid[1], embed_dim))
        nn.init.trunc_normal_(self.position, std=0.02)
        block = nn.TransformerEncoderLayer(
            embed_dim, heads, dim_feedforward=2 * embed_dim, dropout=0.0, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, view: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(view).flatten(2).transpose(1, 2) + self.position
        return self.norm(self.blocks(tokens))


class BackboneEncoder(nn.Module):
    """A pretrained transformers image model on the view's RGB channels (ImageNet normalisation).

    Loaded with ``AutoModel.from_pretrained`` through :func:`soundstage.hub.resolve_model`; its last
    hidden state becomes a feature map (convolutional backbones) or patch tokens (vision transformers).
    """

    def __init__(self, name_or_path: str, view: ViewConfig):
        super().__init__()
        from transformers import AutoConfig, AutoModel

        from soundstage.hub import resolve_model

        folder = resolve_model(
            name_or_path, purpose="image backbone", offline_alternative="train with visual_backbone: null"
        )
        self.backbone = AutoModel.from_pretrained(folder)
        config = AutoConfig.from_pretrained(folder)
        self.rgb = view.channel_slices(("rgb",))
        if len(self.rgb) != 3:
            raise ValueError("a pretrained image backbone needs 'rgb' among the view inputs")
        self.out_channels = int(getattr(config, "hidden_sizes", [getattr(config, "hidden_size", 0)])[-1])
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)
        with torch.no_grad():
            probe = self.forward(torch.zeros(1, view.n_channels, view.height, view.width))
        self._grid = (int(probe.shape[2]), int(probe.shape[3]))

    def grid(self, view: ViewConfig) -> tuple[int, int]:
        return self._grid

    def forward(self, view: torch.Tensor) -> torch.Tensor:
        rgb = (view[:, self.rgb] + 0.5 - self.mean) / self.std
        hidden = self.backbone(pixel_values=rgb).last_hidden_state
        if hidden.dim() == 4:
            return hidden
        # A vision transformer: drop the class token(s), fold the patch tokens back into their grid.
        patch = int(self.backbone.config.patch_size)
        h, w = rgb.shape[2] // patch, rgb.shape[3] // patch
        tokens = hidden[:, -h * w :]
        return tokens.transpose(1, 2).reshape(rgb.shape[0], -1, h, w)


def backbone_encoder(name_or_path: str, view: ViewConfig) -> BackboneEncoder:
    """A :class:`BackboneEncoder` (kept as a function so configs name backbones by string)."""
    return BackboneEncoder(name_or_path, view)
