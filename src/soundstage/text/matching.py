"""Matching sound words the vocabulary lacks to the library's classes by CLAP text similarity.

The reader knows each class by a synonym table (:data:`soundstage.library.CLASSES`). A clause that names none of
those words ("a cat meowing", "an owl hooting") is offered to a matcher: with CLAP's weights at hand, the clause
and a description of every class ("the sound of a dog barking") are embedded by CLAP's text encoder and the most
similar class is taken when its cosine similarity reaches :data:`MATCH_THRESHOLD`; otherwise the clause's words are
reported as not understood, as without CLAP.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Least cosine similarity (CLAP text–text) at which a clause is taken to name a library class.
MATCH_THRESHOLD = 0.5

#: A matcher: clause text → (class name, similarity), or None when nothing comes close enough.
Matcher = Callable[[str], "tuple[str, float] | None"]


class ClapMatcher:
    """Match clauses to library classes with a CLAP model's text embeddings.

    Parameters
    ----------
    model : str
        A CLAP model id (in the local cache) or folder, as for :class:`soundstage.audio_models.clap.ClapSimilarity`.
    threshold : float
        Least similarity accepted.
    """

    def __init__(self, model: str, *, threshold: float = MATCH_THRESHOLD) -> None:
        from soundstage.audio_models.clap import ClapSimilarity
        from soundstage.library import CLASSES

        self.clap = ClapSimilarity(model, device="cpu", text_template="{label}")
        self.names = [sound.name for sound in CLASSES]
        self.descriptions = [f"the sound of {sound.words[0]}" for sound in CLASSES]
        self.class_embeddings = self.clap.embed_text(self.descriptions)
        self.threshold = float(threshold)

    def __call__(self, clause: str) -> tuple[str, float] | None:
        similarity = self.similarities(clause)
        best = int(np.argmax(similarity))
        if similarity[best] < self.threshold:
            return None
        return self.names[best], float(similarity[best])

    def similarities(self, clause: str) -> np.ndarray:
        """Cosine similarity of ``clause`` with each class's description, in the order of ``names``."""
        return self.clap.embed_text([clause])[0] @ self.class_embeddings.T


def clap_matcher_if_available(model: str | None = None) -> tuple[Matcher | None, str]:
    """A CLAP matcher when its weights are cached or can be fetched (the ``auto`` rule), and a note saying which."""
    from soundstage.audio_models.clap import DEFAULT_MODEL
    from soundstage.hub import fetch_for_auto

    model = model or DEFAULT_MODEL
    folder, note = fetch_for_auto(model, purpose="CLAP word matching", fallback="the synonym table alone")
    if folder is None:
        return None, note
    return ClapMatcher(model), note


class LazyMatcher:
    """The ``auto`` matcher: CLAP is fetched and loaded only when a clause names no sound the vocabulary knows.

    ``notes`` says what happened (weights found, downloaded, or the fallback to the synonym table).
    """

    def __init__(self, model: str | None = None) -> None:
        self.model = model
        self.notes: list[str] = []
        self._matcher: Matcher | None = None
        self._tried = False

    def __call__(self, clause: str) -> tuple[str, float] | None:
        if not self._tried:
            self._tried = True
            self._matcher, note = clap_matcher_if_available(self.model)
            self.notes.append(note)
        return self._matcher(clause) if self._matcher is not None else None
