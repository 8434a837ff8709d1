"""The learned binauralizers: each an ``nn.Module`` plus its config dataclass.

- :mod:`~soundstage.learn.models.mono2binaural`: the Mono2Binaural baseline (Gao & Grauman, 2019).
- :mod:`~soundstage.learn.models.depth_attention`: image + depth encoders with cross-modal attention
  in the decoder (Parida et al., 2022).

Both read the same inputs (:mod:`~soundstage.learn.models.base`): the mono mix's spectrum and a
"view" of the scene (channels named by :class:`~soundstage.learn.view.ViewConfig`), and predict the
left-minus-right spectrum.
"""
