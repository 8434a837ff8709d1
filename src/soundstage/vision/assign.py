"""Which sound goes to which region of the image.

The rule, in order:

1. **By label.** A labelled sound goes to the best-ranked free region carrying the same label
   (compared after stripping and lower-casing; no plural or article matching: ``car`` is not
   ``a car``).
2. **Labels to unlabelled regions.** A labelled sound with no region of its label goes to the
   best-ranked free *unlabelled* region: region finders that cannot recognise classes (the classical
   finder) return unlabelled regions, and labels go to them in rank order. When no unlabelled region
   is left either, it is an error that says to give the region's box.
3. **Unlabelled sounds.** With a ``similarity`` scorer (an audio–text model such as CLAP), unlabelled
   sounds are matched to the free *labelled* regions so that the total similarity is largest (the
   Hungarian method); the rest, or all of them without a scorer, go in the order given to the free
   regions in decreasing score (best region to the first sound).

"Rank" is the order of decreasing :attr:`~soundstage.vision.stages.Region.score`, ties kept in the
order the regions were given. Each region takes at most one sound.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from soundstage.errors import ParameterError
from soundstage.vision.stages import Region

#: ``similarity(audio_paths, labels)`` → array of shape (len(audio_paths), len(labels)); larger is more alike.
Similarity = Callable[[list[str], list[str]], np.ndarray]


@dataclass(frozen=True)
class Assignment:
    """One sound placed at one region.

    Attributes
    ----------
    label : str or None
        The sound's label as given (None when unlabelled).
    audio : str or None
        The sound's audio file (None when it is to be generated).
    region : Region
        The region it goes to.
    reason : str
        Why, in words, for ``--explain``.
    """

    label: str | None
    audio: str | None
    region: Region
    reason: str


def assign_sounds(
    sounds: Sequence[tuple[str | None, str | None]],
    regions: Sequence[Region],
    *,
    image_name: str = "the image",
    similarity: Similarity | None = None,
) -> list[Assignment]:
    """Assign each sound to a distinct region (the rule is in the module docstring).

    Parameters
    ----------
    sounds : sequence of (str or None, str or None)
        ``(label, audio path)`` of each sound; a blank label counts as none.
    regions : sequence of Region
        The regions found, in any order (ranked here by score).
    image_name : str
        The image's file name, for messages.
    similarity : callable, optional
        ``similarity(audio_paths, labels)`` → array (n_audio, n_labels) used to match unlabelled sounds
        with audio to labelled regions.

    Returns
    -------
    list of Assignment
        One per sound, in the order of ``sounds``.

    Examples
    --------
    >>> import numpy as np
    >>> from soundstage.vision.stages import Region
    >>> def region(label, score):
    ...     return Region(np.ones((2, 2), bool), (0, 0, 2, 2), label, score, "test")
    >>> found = [region(None, 0.4), region("dog", 0.9), region(None, 0.7)]
    >>> out = assign_sounds([(None, "a.wav"), ("Dog ", "bark.wav"), (None, "b.wav")], found)
    >>> [(a.region.label, a.region.score) for a in out]
    [(None, 0.7), ('dog', 0.9), (None, 0.4)]
    """
    if len(sounds) > len(regions):
        raise ParameterError(
            f"{len(sounds)} sounds but only {len(regions)} region(s) were found in {image_name}; "
            "give the missing places with --region LABEL=x0,y0,x1,y1"
        )
    ranked = sorted(range(len(regions)), key=lambda r: -regions[r].score)
    rank_of = {r: k + 1 for k, r in enumerate(ranked)}
    region_keys = [_key(region.label) for region in regions]
    taken: set[int] = set()
    chosen: dict[int, tuple[int, str]] = {}

    def take(sound: int, region: int, reason: str) -> None:
        taken.add(region)
        chosen[sound] = (region, reason)

    def free(accept: Callable[[int], bool]) -> list[int]:
        return [r for r in ranked if r not in taken and accept(r)]

    # 1. Exact labels.
    unmatched = []
    for s, (label, _audio) in enumerate(sounds):
        key = _key(label)
        if key is None:
            continue
        same = free(lambda r, key=key: region_keys[r] == key)
        if same:
            take(s, same[0], f"region labelled {regions[same[0]].label!r} (rank {rank_of[same[0]]})")
        else:
            unmatched.append(s)

    # 2. Labels with no region of their own go to unlabelled regions in rank order.
    for s in unmatched:
        label = sounds[s][0]
        blank = free(lambda r: region_keys[r] is None)
        if not blank:
            raise _label_error(str(label), sounds, region_keys, image_name)
        take(s, blank[0], f"no region recognised as {label!r}: unlabelled region ranked {rank_of[blank[0]]}")

    # 3. Unlabelled sounds: by similarity to labelled regions when a scorer is given, then by rank.
    pending = [s for s, (label, _audio) in enumerate(sounds) if _key(label) is None]
    if similarity is not None:
        scored = [s for s in pending if sounds[s][1]]
        targets = free(lambda r: region_keys[r] is not None)
        if scored and targets:
            for s, r, value in _best_matches(similarity, [str(sounds[s][1]) for s in scored], regions, targets, scored):
                take(s, r, f"audio most like {regions[r].label!r} (similarity {value:.2f})")
            pending = [s for s in pending if s not in chosen]
    for s in pending:
        r = free(lambda r: True)[0]
        take(s, r, f"unlabelled sound: region ranked {rank_of[r]} (score {regions[r].score:.2f})")

    return [Assignment(label, audio, regions[chosen[s][0]], chosen[s][1]) for s, (label, audio) in enumerate(sounds)]


def _best_matches(
    similarity: Similarity, audio: list[str], regions: Sequence[Region], targets: list[int], sounds: list[int]
) -> list[tuple[int, int, float]]:
    """``(sound, region, similarity)`` pairs of largest total similarity (Hungarian method)."""
    from scipy.optimize import linear_sum_assignment

    labels = [str(regions[r].label) for r in targets]
    matrix = np.asarray(similarity(audio, labels), dtype=float)
    if matrix.shape != (len(audio), len(labels)):
        raise ParameterError(
            f"the similarity scorer returned shape {matrix.shape}; expected ({len(audio)}, {len(labels)}) "
            "(one row per audio file, one column per label)"
        )
    if not np.all(np.isfinite(matrix)):
        raise ParameterError("the similarity scorer returned NaN or infinite values; check the audio files")
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    return [(sounds[i], targets[j], float(matrix[i, j])) for i, j in zip(rows, cols, strict=True)]


def _label_error(
    label: str, sounds: Sequence[tuple[str | None, str | None]], region_keys: list[str | None], image_name: str
) -> ParameterError:
    """The error for a labelled sound left without a region."""
    key = _key(label)
    n_regions = sum(k == key for k in region_keys)
    if n_regions == 0:
        return ParameterError(
            f"no region labelled {label!r} was found in {image_name}; give its box with --region {label}=x0,y0,x1,y1"
        )
    n_sounds = sum(_key(other) == key for other, _audio in sounds)
    return ParameterError(
        f"{n_sounds} sounds are labelled {label!r} but only {n_regions} region(s) labelled {label!r} were found "
        f"in {image_name}; give the others' boxes with --region {label}=x0,y0,x1,y1"
    )


def _key(label: str | None) -> str | None:
    """A label compared case- and space-insensitively; None for none or blank."""
    if label is None or not label.strip():
        return None
    return label.strip().lower()
