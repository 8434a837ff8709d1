"""Direction cells: a near-uniform grid whose HRIRs stand in for those of late reflections."""

from __future__ import annotations

import numpy as np

from soundstage.acoustics.arrivals import Arrivals
from soundstage.acoustics.encoders.binaural import EXACT_ARRIVALS, BinauralEncoder
from soundstage.acoustics.hrtf import load_hrtf
from soundstage.acoustics.hrtf.direction_cells import N_CELLS, direction_cells
from soundstage.acoustics.sphere_points import fibonacci_directions

RATE = 16000


def test_every_direction_is_within_two_and_a_half_degrees_of_a_cell() -> None:
    centres = fibonacci_directions(N_CELLS)
    probes = np.random.default_rng(0).normal(size=(20000, 3))
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    nearest = np.max(probes @ centres.T, axis=1)
    assert np.degrees(np.arccos(np.min(nearest))) < 2.5
    # Near-uniform: each cell covers about the same solid angle, so random probes land in the cells as
    # Poisson counts of mean 20000 / N_CELLS (standard deviation its square root), not clumped.
    counts = np.bincount(np.argmax(probes @ centres.T, axis=1), minlength=N_CELLS)
    mean = 20000 / N_CELLS
    assert counts.std() < 1.2 * np.sqrt(mean) and counts.max() < mean + 6 * np.sqrt(mean)


def test_a_cell_holds_the_far_field_hrir_of_its_centre() -> None:
    head = load_hrtf("sphere", RATE)
    cells = direction_cells(head)
    assert direction_cells(head) is cells  # kept with the head
    direction = np.array([[0.3, 0.8, 0.1]])
    centre = cells.centres[cells.cell_of(direction)]
    np.testing.assert_allclose(cells.hrirs(direction), head.hrirs(centre, np.array([np.inf])), atol=1e-12)


def test_the_earliest_arrivals_are_exact_and_later_ones_use_their_cell() -> None:
    head = load_hrtf("sphere", RATE)
    encoder = BinauralEncoder(RATE, head)
    rng = np.random.default_rng(1)
    k = EXACT_ARRIVALS + 10
    directions = rng.normal(size=(k, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    distance = np.linspace(2.0, 20.0, k)
    arrivals = Arrivals(distance / 343.0, 1.0 / distance, directions, distance)
    together = encoder.impulse_response(arrivals)
    # The same arrivals one at a time, late ones moved to their cell centre and to the far field.
    cells = direction_cells(head)
    expected = np.zeros_like(together)
    for i in range(k):
        late = i >= EXACT_ARRIVALS
        one = Arrivals(
            arrivals.delay_s[i : i + 1],
            arrivals.gain[i : i + 1],
            cells.centres[cells.cell_of(directions[i : i + 1])] if late else directions[i : i + 1],
            np.array([np.inf if late else distance[i]]),
        )
        response = encoder.impulse_response(one)
        expected[:, : response.shape[1]] += response[:, : expected.shape[1]]
    np.testing.assert_allclose(together, expected, atol=1e-9 * np.max(np.abs(together)))
