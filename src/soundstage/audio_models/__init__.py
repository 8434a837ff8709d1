"""Audio models: learned models that hear or make sound, whatever the scene came from.

- :mod:`.clap` — CLAP audio–text similarity (which label an unlabelled sound resembles).
- :mod:`.text_to_audio` — AudioLDM 2 / Stable Audio Open via diffusers (a sound from a label),
  cached on disk by prompt, seed and model.

Both find and fetch their weights through :mod:`soundstage.hub`, and import torch, transformers
and diffusers only when a model is loaded.
"""
