"""Learned spatialization: models, training data from our own renderer, training and inference.

The flow mirrors the rest of the package: :mod:`~soundstage.learn.data` synthesizes training pairs
with :mod:`soundstage.acoustics` (the binaural truth) and draws the matching picture;
:mod:`~soundstage.learn.models` holds the networks (each an ``nn.Module`` plus a config dataclass,
saved with ``save_pretrained`` and loaded with ``from_pretrained``); :mod:`~soundstage.learn.train`
trains them; :mod:`~soundstage.learn.inference` runs one over a clip of any length.

torch is imported only by the modules that need it, so ``import soundstage.learn`` stays cheap.
"""

from soundstage.learn.inference import binauralize, load_binauralizer

__all__ = ["binauralize", "load_binauralizer"]
