"""Angular errors: great-circle angles against spherical trigonometry, circular azimuths, the cone of confusion."""

import numpy as np
import pytest

from soundstage.conventions import lateral_angle_deg, unit_vectors
from soundstage.metrics.directions import (
    DirectionEstimate,
    Localization,
    angular_error_deg,
    azimuth_error_deg,
    direction_error_deg,
    mirror_front_back,
)


def test_great_circle_angle_matches_the_spherical_law_of_cosines():
    rng = np.random.default_rng(3)
    az1, az2 = rng.uniform(-180, 180, (2, 500))
    el1, el2 = rng.uniform(-90, 90, (2, 500))
    p1, p2, dl = np.deg2rad(el1), np.deg2rad(el2), np.deg2rad(az2 - az1)
    expected = np.rad2deg(np.arccos(np.clip(np.sin(p1) * np.sin(p2) + np.cos(p1) * np.cos(p2) * np.cos(dl), -1, 1)))
    np.testing.assert_allclose(direction_error_deg(az1, el1, az2, el2), expected, atol=1e-6)


def test_small_and_opposite_angles_stay_accurate():
    a = unit_vectors(10.0, 20.0)
    assert float(angular_error_deg(a, unit_vectors(10.0 + 1e-6, 20.0))) == pytest.approx(
        1e-6 * np.cos(np.deg2rad(20)), rel=1e-3
    )
    assert float(angular_error_deg(a, -a)) == pytest.approx(180.0)
    assert float(angular_error_deg(a, 5.0 * a)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("a", "b", "error"), [(179.0, -179.0, 2.0), (0.0, 360.0, 0.0), (90.0, -90.0, 180.0), (-10.0, 20.0, 30.0)]
)
def test_azimuth_error_is_circular(a, b, error):
    assert float(azimuth_error_deg(a, b)) == pytest.approx(error)


def test_front_back_mirror_keeps_the_lateral_angle():
    azimuth = np.linspace(-180, 180, 73)
    mirrored = mirror_front_back(azimuth)
    np.testing.assert_allclose(
        lateral_angle_deg(unit_vectors(mirrored, 0.0)), lateral_angle_deg(unit_vectors(azimuth, 0.0)), atol=1e-9
    )
    np.testing.assert_allclose(mirror_front_back(mirrored), (azimuth + 180) % 360 - 180, atol=1e-9)


def test_localization_serialises_to_plain_json_fields():
    estimate = DirectionEstimate(np.float64(30.0), None, 30.0, 0.9, front_back_ambiguous=True)
    found = Localization([estimate], "binaural-itd-ild", summary={"frames": 12}, tracks={"t": np.zeros(3)})
    assert found.to_dict() == {
        "method": "binaural-itd-ild",
        "sources": [
            {
                "azimuth_deg": 30.0,
                "elevation_deg": None,
                "lateral_deg": 30.0,
                "confidence": 0.9,
                "front_back_ambiguous": True,
            }
        ],
        "frames": 12,
    }
    assert type(found.to_dict()["sources"][0]["azimuth_deg"]) is float
