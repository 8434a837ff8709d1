"""Assigning sounds to regions: labels, rank order, the similarity (CLAP) hook, and every error."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from soundstage.errors import ParameterError
from soundstage.vision.assign import assign_sounds
from soundstage.vision.stages import Region


def region(label: str | None, score: float) -> Region:
    return Region(mask=np.ones((2, 2), dtype=bool), box=(0.0, 0.0, 2.0, 2.0), label=label, score=score, backend="t")


def chosen(assignments, regions) -> list[int]:
    """Index in ``regions`` of each assignment's region (by identity: masks make == ambiguous)."""
    return [next(i for i, r in enumerate(regions) if r is a.region) for a in assignments]


def test_labelled_sounds_go_to_their_label_whatever_the_score():
    regions = [region("car", 0.2), region("person", 0.9), region("dog", 0.5)]
    out = assign_sounds([(" Person", "voice.wav"), ("CAR", "engine.wav")], regions)
    assert chosen(out, regions) == [1, 0]
    assert [a.label for a in out] == [" Person", "CAR"]
    assert [a.audio for a in out] == ["voice.wav", "engine.wav"]
    assert "region labelled 'person'" in out[0].reason


def test_unlabelled_sounds_take_the_free_regions_best_first_in_the_order_given():
    regions = [region(None, 0.3), region("dog", 0.8), region(None, 0.9), region(None, 0.3)]
    sounds = [(None, "a.wav"), ("dog", "bark.wav"), ("  ", "b.wav"), (None, "c.wav")]
    out = assign_sounds(sounds, regions)
    # dog takes its region; the rest by decreasing score, ties in the order the regions were given.
    assert chosen(out, regions) == [2, 1, 0, 3]
    assert "ranked 1" in out[0].reason


def test_labels_go_to_unlabelled_regions_in_rank_order_when_nothing_is_recognised():
    regions = [region(None, 0.4), region(None, 0.8), region("tree", 0.9)]
    out = assign_sounds([("car", "engine.wav"), ("person", "voice.wav"), (None, "wind.wav")], regions)
    # Labels never take a region recognised as something else; the unlabelled sound gets the tree.
    assert chosen(out, regions) == [1, 0, 2]
    assert "no region recognised as 'car'" in out[0].reason


def test_several_sounds_with_one_label_share_out_its_regions_by_rank():
    regions = [region("person", 0.5), region("person", 0.7)]
    out = assign_sounds([("person", "a.wav"), ("person", "b.wav")], regions)
    assert chosen(out, regions) == [1, 0]


def test_no_sounds_no_assignments():
    assert assign_sounds([], [region(None, 1.0)]) == []


def test_more_sounds_than_regions_is_an_error():
    with pytest.raises(
        ParameterError,
        match=r"3 sounds but only 2 region\(s\) were found in street.jpg; give the missing places with --region LABEL",
    ):
        assign_sounds([(None, "a.wav")] * 3, [region(None, 1.0), region(None, 0.5)], image_name="street.jpg")


def test_a_label_found_nowhere_is_an_error_with_the_fix():
    regions = [region("person", 0.9), region("dog", 0.5)]
    with pytest.raises(
        ParameterError,
        match=r"no region labelled 'car' was found in street.jpg; give its box with --region car=x0,y0,x1,y1",
    ):
        assign_sounds([("car", "engine.wav")], regions, image_name="street.jpg")


def test_too_few_regions_of_a_label_is_an_error():
    regions = [region("person", 0.9), region("dog", 0.5)]
    with pytest.raises(
        ParameterError,
        match=r"2 sounds are labelled 'Person' but only 1 region\(s\) labelled 'Person' were found in street.jpg",
    ):
        assign_sounds([("person", "a.wav"), ("Person", "b.wav")], regions, image_name="street.jpg")


def test_similarity_assigns_unlabelled_sounds_for_the_largest_total():
    regions = [region("dog", 0.9), region("car", 0.8), region("bird", 0.7)]
    matrix = np.array([[0.9, 0.8, 0.0], [0.85, 0.1, 0.2], [0.3, 0.2, 0.6]])
    calls = []

    def similarity(audio, labels):
        calls.append((audio, labels))
        return matrix

    sounds = [(None, "x.wav"), (None, "y.wav"), (None, "z.wav")]
    out = assign_sounds(sounds, regions, similarity=similarity)
    assert calls == [(["x.wav", "y.wav", "z.wav"], ["dog", "car", "bird"])]
    # Brute force over all one-to-one matchings: the chosen one has the largest total.
    best = max(itertools.permutations(range(3)), key=lambda p: sum(matrix[i, p[i]] for i in range(3)))
    assert tuple(chosen(out, regions)) == best == (1, 0, 2)  # greedy would give x→dog, y→bird: 1.1 < 1.65
    assert "audio most like 'car' (similarity 0.80)" in out[0].reason


def test_similarity_only_for_unlabelled_sounds_with_audio_and_labelled_regions():
    regions = [region("dog", 0.9), region(None, 0.8), region("car", 0.5), region(None, 0.3)]

    def similarity(audio, labels):
        assert labels == ["car"]  # the dog region is taken by the labelled sound
        return np.array([[0.2], [0.1]])

    sounds = [(None, "x.wav"), ("dog", "bark.wav"), (None, "y.wav"), (None, None)]
    out = assign_sounds(sounds, regions, similarity=similarity)
    # x wins the car; y and the sound without audio go to the free regions by rank.
    assert chosen(out, regions) == [2, 0, 1, 3]


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (np.zeros((1, 2)), r"the similarity scorer returned shape \(1, 2\); expected \(2, 2\)"),
        (np.array([[0.1, np.nan], [0.2, 0.3]]), "the similarity scorer returned NaN or infinite values"),
    ],
)
def test_bad_similarity_output_is_an_error(returned, message):
    regions = [region("dog", 0.9), region("car", 0.5)]
    with pytest.raises(ParameterError, match=message):
        assign_sounds([(None, "a.wav"), (None, "b.wav")], regions, similarity=lambda audio, labels: returned)
