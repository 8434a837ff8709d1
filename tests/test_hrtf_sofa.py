"""SOFA reading and writing, resampling, and interpolation between measured directions."""

import itertools
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

from shared_data import KEMAR, need_kemar
from soundstage.acoustics.hrtf import SofaHRTF, SphereHRTF, load_hrtf, read_sofa, write_sofa
from soundstage.acoustics.hrtf.sofa import resample_hrirs
from soundstage.conventions import spherical_to_cartesian, unit_vectors
from soundstage.errors import InputFileError, OutputError, ParameterError

FS = 48000


@pytest.fixture(scope="module")
def kemar_48k() -> SofaHRTF:
    need_kemar()
    return SofaHRTF.from_file(KEMAR, FS)


def onset_s(ir: np.ndarray, fs: float, threshold_db: float = -20.0, lowpass_hz: float = 5000.0) -> float:
    """Independent onset estimate: first -20 dB crossing of a Hann-low-passed, 16x upsampled IR."""
    n = 4 * len(ir)
    spectrum = np.fft.rfft(ir, n)
    freqs = np.fft.rfftfreq(n, 1.0 / fs)
    spectrum *= np.where(freqs < lowpass_hz, np.cos(0.5 * np.pi * freqs / lowpass_hz) ** 2, 0.0)
    up = np.abs(np.fft.irfft(spectrum, 16 * n)) * 16
    crossing = np.flatnonzero(up >= up.max() * 10 ** (threshold_db / 20.0))[0]
    return crossing / (16 * fs)


def low_frequency_itd_s(ir: np.ndarray, fs: float, f_max: float = 1500.0) -> float:
    """Interaural phase delay below ``f_max`` (the ITD that dominates lateralisation), left leading > 0."""
    n = 8192
    freqs = np.fft.rfftfreq(n, 1.0 / fs)
    band = freqs <= f_max
    phase = np.unwrap(np.angle(np.fft.rfft(ir[0], n) * np.conj(np.fft.rfft(ir[1], n)))[band])
    return float((phase - phase[0]) @ freqs[band] / (2 * np.pi * freqs[band] @ freqs[band]))


def magnitude_db(ir: np.ndarray, fs: float, f_lo: float, f_hi: float) -> np.ndarray:
    spectrum = np.fft.rfft(ir, 2048)
    freqs = np.fft.rfftfreq(2048, 1.0 / fs)
    return 20 * np.log10(np.abs(spectrum[(freqs >= f_lo) & (freqs <= f_hi)]) + 1e-12)


def sphere_set(azimuth_step: float = 15.0, elevation_step: float = 15.0, min_elevation: float = -75.0):
    """A far-field rigid-sphere head sampled on a grid: (hrirs, positions (az, el, dist), head)."""
    head = SphereHRTF(FS, n_taps=256)
    az, el = np.meshgrid(np.arange(0.0, 360.0, azimuth_step), np.arange(min_elevation, 76.0, elevation_step))
    az, el = np.r_[az.ravel(), 0.0], np.r_[el.ravel(), 90.0]
    if min_elevation <= -75.0:
        az, el = np.r_[az, 0.0], np.r_[el, -90.0]
    irs = head.hrirs(unit_vectors(az, el), np.full(len(az), np.inf))
    return irs, np.stack([az, el, np.full(len(az), 2.0)], axis=1), head


# --------------------------------------------------------------------------- the real KEMAR file


def test_kemar_loads_with_its_stored_hrirs():
    need_kemar()
    with h5py.File(KEMAR, "r") as f:
        stored = f["Data.IR"][()]
        positions = f["SourcePosition"][()]
    head = SofaHRTF.from_file(KEMAR, 44100)
    assert head.name == "mit_kemar_normal_pinna" and head.latency_s == 0.0
    assert head.n_taps == 512 and head.measured_hrirs.shape == (710, 2, 512)
    out = head.hrirs(unit_vectors(positions[:, 0], positions[:, 1]), positions[:, 2])
    np.testing.assert_array_equal(out, stored)  # a measured direction gives its measurement verbatim


def test_kemar_left_ear_is_receiver_zero_and_louder_for_sources_on_the_left(kemar_48k):
    ir = kemar_48k.hrirs(unit_vectors([90.0], [0.0]), np.ones(1))[0]
    assert np.sum(ir[0] ** 2) > 10 * np.sum(ir[1] ** 2)
    assert onset_s(ir[0], FS) < onset_s(ir[1], FS)


def test_measured_direction_at_another_rate_is_the_resampled_measurement(kemar_48k):
    data = read_sofa(KEMAR)
    expected = resample_hrirs(data.hrirs[123], 44100, FS)
    az, el, _ = data.source_positions_deg[123]
    # Equal up to the rounding of a batched against a single matrix product.
    got = kemar_48k.hrirs(unit_vectors([az], [el]), np.ones(1))[0]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * np.max(np.abs(expected)))
    assert kemar_48k.n_taps == int(np.ceil(512 * FS / 44100))


def horizontal_neighbours(head: SofaHRTF):
    pos = head.source_positions_deg
    ring = np.flatnonzero(np.abs(pos[:, 1]) < 1e-9)
    ring = ring[np.argsort(pos[ring, 0])]
    return [(i, j) for i, j in itertools.pairwise(ring) if 0 < pos[j, 0] - pos[i, 0] <= 10.0]


def test_kemar_midpoint_itd_is_close_to_the_mean_of_the_neighbours(kemar_48k):
    pos = kemar_48k.source_positions_deg
    measured = kemar_48k.measured_hrirs
    pairs = horizontal_neighbours(kemar_48k)
    assert len(pairs) > 60
    errors = []
    for i, j in pairs:
        mid = kemar_48k.hrirs(unit_vectors([0.5 * (pos[i, 0] + pos[j, 0])], [0.0]), np.ones(1))[0]
        itd = [low_frequency_itd_s(h, FS) for h in (measured[i], measured[j], mid)]
        errors.append(abs(itd[2] - 0.5 * (itd[0] + itd[1])))
    # Interaural phase delay below 1.5 kHz; the just-noticeable ITD difference is 10-20 us.
    assert np.median(errors) < 10e-6 and max(errors) < 50e-6


@pytest.mark.parametrize(
    ("azimuth", "elevation"),
    [(103.0, 20.0), (47.0, -35.0), (-130.0, 25.0), (170.0, 55.0), (80.0, 5.0), (-75.0, -15.0), (30.0, 45.0)],
)
def test_kemar_off_grid_onsets_and_itd_stay_within_their_neighbours(kemar_48k, azimuth, elevation):
    measured = kemar_48k.measured_hrirs
    pos = kemar_48k.source_positions_deg
    query = unit_vectors([azimuth], [elevation])
    near = np.flatnonzero(unit_vectors(pos[:, 0], pos[:, 1]) @ query[0] > np.cos(np.deg2rad(12.0)))
    assert len(near) >= 3
    ir = kemar_48k.hrirs(query, np.ones(1))[0]
    onsets = np.array([onset_s(ir[ear], FS) for ear in (0, 1)])
    neighbours = np.array([[onset_s(measured[i, ear], FS) for ear in (0, 1)] for i in near])
    # Minimum-phase reconstruction reshapes the onset a little (this estimator sees up to
    # ~9 samples), so allow 250 us per ear and 100 us on the ITD around the neighbours' range.
    for ear in (0, 1):
        assert neighbours[:, ear].min() - 250e-6 <= onsets[ear] <= neighbours[:, ear].max() + 250e-6
    itd, neighbour_itd = onsets[1] - onsets[0], neighbours[:, 1] - neighbours[:, 0]
    assert neighbour_itd.min() - 100e-6 <= itd <= neighbour_itd.max() + 100e-6


def test_kemar_interpolation_has_no_comb_notches_unlike_raw_averaging(kemar_48k):
    pos = kemar_48k.source_positions_deg
    measured = kemar_48k.measured_hrirs
    interpolated_excess, naive_excess = [], []
    for i, j in horizontal_neighbours(kemar_48k):
        mid = kemar_48k.hrirs(unit_vectors([0.5 * (pos[i, 0] + pos[j, 0])], [0.0]), np.ones(1))[0]
        naive = 0.5 * (measured[i] + measured[j])
        for ear in (0, 1):
            floor = min(
                magnitude_db(measured[i, ear], FS, 1e3, 16e3).min(), magnitude_db(measured[j, ear], FS, 1e3, 16e3).min()
            )
            interpolated_excess.append(magnitude_db(mid[ear], FS, 1e3, 16e3).min() - floor)
            naive_excess.append(magnitude_db(naive[ear], FS, 1e3, 16e3).min() - floor)
    assert min(interpolated_excess) > -3.0
    assert min(naive_excess) < -10.0  # the comb filter the interpolation avoids


def test_kemar_below_its_lowest_ring_uses_the_lowest_ring(kemar_48k):
    for azimuth in (10.0, 100.0, -150.0):
        below, ring = kemar_48k.hrirs(unit_vectors([azimuth, azimuth], [-60.0, -40.0]), np.ones(2))
        for ear in (0, 1):
            diff = magnitude_db(below[ear], FS, 200, 12e3) - magnitude_db(ring[ear], FS, 200, 12e3)
            assert np.sqrt(np.mean(diff**2)) < 3.0


def test_nearest_interpolation_returns_the_nearest_measurement(kemar_48k):
    need_kemar()
    nearest = SofaHRTF.from_file(KEMAR, FS, interpolation="nearest")
    pos = nearest.source_positions_deg
    out = nearest.hrirs(unit_vectors([2.0, 91.0], [1.0, -38.0]), np.ones(2))
    expected = [
        np.argmin(np.linalg.norm(unit_vectors(pos[:, 0], pos[:, 1]) - unit_vectors(a, e), axis=1))
        for a, e in [(2.0, 1.0), (91.0, -38.0)]
    ]
    np.testing.assert_array_equal(out, nearest.measured_hrirs[expected])


def test_load_hrtf_reads_a_sofa_path(kemar_48k):
    head = load_hrtf(str(KEMAR), FS)
    assert isinstance(head, SofaHRTF) and head.sample_rate == FS and head.n_taps == kemar_48k.n_taps


# --------------------------------------------------------------------------- synthetic sets


def test_sphere_grid_interpolates_to_the_exact_sphere(tmp_path):
    irs, positions, head = sphere_set()
    path = write_sofa(tmp_path / "sphere.sofa", irs, positions, FS)
    grid = SofaHRTF.from_file(path, FS)
    rng = np.random.default_rng(7)
    queries = rng.normal(size=(40, 3))
    got = grid.hrirs(queries, np.ones(40))
    exact = head.hrirs(queries, np.full(40, np.inf))
    errors_db = []
    for g, e in zip(got, exact, strict=True):
        assert abs(low_frequency_itd_s(g, FS) - low_frequency_itd_s(e, FS)) < 20e-6
        errors_db += [magnitude_db(g[ear], FS, 200, 8000) - magnitude_db(e[ear], FS, 200, 8000) for ear in (0, 1)]
    per_ear_rms = np.sqrt(np.mean(np.square(errors_db), axis=1))
    # The shadowed ear near the antipode (the "bright spot") varies fastest; 15° sampling blurs it a little.
    assert np.sqrt(np.mean(np.square(errors_db))) < 1.0 and np.percentile(per_ear_rms, 90) < 1.5


def test_synthetic_pair_contrast_between_interpolation_and_raw_average(tmp_path):
    # A coarse 30° grid: neighbours' onsets differ by ~5 samples, so their raw mean comb-filters.
    irs, positions, _ = sphere_set(azimuth_step=30.0, elevation_step=30.0, min_elevation=-60.0)
    grid = SofaHRTF(irs, positions, FS, name="coarse sphere")
    i = np.flatnonzero((positions[:, 0] == 0.0) & (positions[:, 1] == 0.0))[0]
    j = np.flatnonzero((positions[:, 0] == 30.0) & (positions[:, 1] == 0.0))[0]
    mid = grid.hrirs(unit_vectors([15.0], [0.0]), np.ones(1))[0]
    naive = 0.5 * (irs[i] + irs[j])
    ear = 1  # the right ear: its onset moves most between 0° and 30°
    floor = min(magnitude_db(irs[i, ear], FS, 1e3, 16e3).min(), magnitude_db(irs[j, ear], FS, 1e3, 16e3).min())
    assert magnitude_db(mid[ear], FS, 1e3, 16e3).min() > floor - 3.0
    assert magnitude_db(naive[ear], FS, 1e3, 16e3).min() < floor - 6.0
    itd = [low_frequency_itd_s(h, FS) for h in (irs[i], irs[j], mid)]
    assert itd[2] == pytest.approx(0.5 * (itd[0] + itd[1]), abs=10e-6)


def test_a_hemisphere_set_projects_lower_queries_onto_its_border():
    irs, positions, _ = sphere_set(min_elevation=0.0)
    upper = SofaHRTF(irs, positions, FS)
    below, border = upper.hrirs(unit_vectors([20.0, 20.0], [-30.0, 0.0]), np.ones(2))
    np.testing.assert_allclose(below, border, atol=1e-12)


def test_a_single_ring_falls_back_to_the_nearest_measurement():
    irs, positions, _ = sphere_set()
    ring = positions[:, 1] == 0.0
    with pytest.warns(UserWarning, match="nearest"):
        head = SofaHRTF(irs[ring], positions[ring], FS)
    out = head.hrirs(unit_vectors([16.0], [20.0]), np.ones(1))
    np.testing.assert_array_equal(out[0], irs[ring][1])  # the 15° measurement


def test_duplicate_directions_keep_the_measurement_nearest_the_median_distance():
    irs, positions, _ = sphere_set()
    far = positions.copy()
    far[:, 2] = 10.0
    head = SofaHRTF(np.concatenate([irs, 2 * irs[:1]]), np.concatenate([positions, far[:1]]), FS)
    assert len(head.source_positions_deg) == len(positions)
    first = positions[0]
    np.testing.assert_array_equal(head.hrirs(unit_vectors([first[0]], [first[1]]), np.ones(1))[0], irs[0])


# --------------------------------------------------------------------------- reading and writing


@pytest.mark.parametrize("version", ["0.4", "1.0"])
def test_write_then_read_round_trip(tmp_path, version):
    rng = np.random.default_rng(3)
    irs = rng.normal(size=(6, 2, 32))
    positions = np.array([[0, 0, 1.2], [90, 0, 1.2], [180, 0, 1.2], [-90, 0, 1.2], [0, 90, 1.2], [0, -90, 1.2]], float)
    path = write_sofa(
        tmp_path / f"v{version}.sofa", irs, positions, 32000, version=version, attributes={"Title": "round trip"}
    )
    data = read_sofa(path)
    assert data.conventions_version == version and data.sample_rate == 32000.0
    assert data.attributes["Title"] == "round trip" and data.attributes["SOFAConventions"] == "SimpleFreeFieldHRIR"
    np.testing.assert_array_equal(data.hrirs, irs)
    np.testing.assert_allclose(data.source_positions_deg[:, 1:], positions[:, 1:], atol=1e-9)
    np.testing.assert_allclose(
        unit_vectors(data.source_positions_deg[:, 0], data.source_positions_deg[:, 1]),
        unit_vectors(positions[:, 0], positions[:, 1]),
        atol=1e-12,
    )
    with h5py.File(path, "r") as f:  # netCDF-4 layout: every variable's axes are named dimensions
        assert f["Data.IR"].dims[2][0].name == "/N" and h5py.h5ds.is_scale(f["M"].id)


def small_file(tmp_path, name="small.sofa") -> Path:
    irs = np.zeros((6, 2, 16))
    irs[:, 0, 2] = 1.0
    irs[:, 1, 4] = 0.5
    positions = np.array([[0, 0, 1], [90, 0, 1], [180, 0, 1], [-90, 0, 1], [0, 90, 1], [0, -90, 1]], float)
    return write_sofa(tmp_path / name, irs, positions, 48000)


def test_cartesian_source_positions(tmp_path):
    path = small_file(tmp_path)
    xyz = spherical_to_cartesian([0, 90, 180, -90, 0, 0], [0, 0, 0, 0, 90, -90], 2.0)
    with h5py.File(path, "r+") as f:
        f["SourcePosition"][...] = xyz
        f["SourcePosition"].attrs["Type"] = np.bytes_(b"cartesian")
        f["SourcePosition"].attrs["Units"] = np.bytes_(b"metre")
    data = read_sofa(path)
    np.testing.assert_allclose(spherical_to_cartesian(*data.source_positions_deg.T), xyz, atol=1e-12)


@pytest.mark.parametrize("delay", [[[3.0, 5.0]], np.tile([[2.0, 0.0]], (6, 1))])
def test_data_delay_is_prepended(tmp_path, delay):
    path = small_file(tmp_path)
    delay = np.asarray(delay)
    with h5py.File(path, "r+") as f:
        del f["Data.Delay"]
        f.create_dataset("Data.Delay", data=delay)
    irs = read_sofa(path).hrirs
    for ear, tap in ((0, 2), (1, 4)):
        expected = tap + np.broadcast_to(delay, (6, 2))[:, ear]
        np.testing.assert_array_equal(np.argmax(np.abs(irs[:, ear]), axis=1), expected)
    assert irs.shape[-1] == 16 + int(delay.max())


def test_fractional_data_delay(tmp_path):
    path = small_file(tmp_path)
    with h5py.File(path, "r+") as f:
        f["Data.Delay"][...] = [[2.5, 0.0]]
    irs = read_sofa(path).hrirs
    assert onset_s(irs[0, 0], 48000, -6.0, 20000) - onset_s(irs[0, 1], 48000, -6.0, 20000) == pytest.approx(
        0.5 / 48000, abs=0.05 / 48000
    )  # 2 + 2.5 vs 4 samples


def test_receivers_at_minus_y_first_are_swapped(tmp_path):
    path = small_file(tmp_path)
    with h5py.File(path, "r+") as f:
        f["ReceiverPosition"][...] = f["ReceiverPosition"][()][::-1]
    irs = read_sofa(path).hrirs
    assert np.argmax(irs[0, 0]) == 4 and np.argmax(irs[0, 1]) == 2


def test_listener_view_rotates_sources_into_the_head_frame(tmp_path):
    path = small_file(tmp_path)
    with h5py.File(path, "r+") as f:
        f["ListenerView"][...] = [[0.0, 1.0, 0.0]]  # the listener faces +y (file az 90°)
    positions = read_sofa(path).source_positions_deg
    np.testing.assert_allclose(positions[1, :2], [0.0, 0.0], atol=1e-9)  # file az 90° is straight ahead
    np.testing.assert_allclose(positions[0, :2], [-90.0, 0.0], atol=1e-9)


def test_resampling_keeps_onsets_and_gain():
    ir = np.zeros(256)
    ir[40] = 1.0
    out = resample_hrirs(ir, 44100, 48000)
    assert len(out) == int(np.ceil(256 * 48000 / 44100))
    assert onset_s(out, 48000, -6.0, 18000) == pytest.approx(onset_s(ir, 44100, -6.0, 18000), abs=2e-6)
    spectrum = np.abs(np.fft.rfft(out, 4096))
    freqs = np.fft.rfftfreq(4096, 1 / 48000)
    band = (freqs > 100) & (freqs < 16000)
    np.testing.assert_allclose(20 * np.log10(spectrum[band]), 0.0, atol=0.1)  # still a unit-gain filter


@pytest.mark.parametrize("conventions", ["GeneralFIR", "SimpleFreeFieldSOS"])
def test_other_conventions_are_rejected(tmp_path, conventions):
    path = small_file(tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["SOFAConventions"] = np.bytes_(conventions.encode())
    with pytest.raises(InputFileError, match=f"{conventions} .*SimpleFreeFieldHRIR 0.4 or 1.0"):
        read_sofa(path)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda f: f.attrs.__setitem__("SOFAConventionsVersion", np.bytes_(b"0.2")), "SimpleFreeFieldHRIR 0.2"),
        (lambda f: f.attrs.__setitem__("DataType", np.bytes_(b"SOS")), "DataType"),
        (lambda f: f.__delitem__("Data.IR"), "Data.IR is missing"),
        (lambda f: (f.__delitem__("Data.IR"), f.create_dataset("Data.IR", data=np.zeros((6, 3, 16)))), "two receivers"),
        (lambda f: f["Data.IR"].__setitem__((0, 0, 0), np.nan), "NaN"),
        (
            lambda f: (f.__delitem__("SourcePosition"), f.create_dataset("SourcePosition", data=np.ones((5, 3)))),
            r"SourcePosition has shape \(5, 3\)",
        ),
        (lambda f: f["SourcePosition"].attrs.__setitem__("Type", np.bytes_(b"polar")), "Type 'polar'"),
        (lambda f: f["Data.SamplingRate"].__setitem__(0, -1.0), "SamplingRate"),
        (lambda f: f["Data.Delay"].__setitem__((0, 0), -1.0), "Data.Delay"),
    ],
)
def test_invalid_files_are_rejected(tmp_path, edit, match):
    path = small_file(tmp_path)
    with h5py.File(path, "r+") as f:
        edit(f)
    with pytest.raises(InputFileError, match=match):
        read_sofa(path)


def test_not_hdf5_and_missing_files_are_rejected(tmp_path):
    text = tmp_path / "fake.sofa"
    text.write_text("not a sofa file\n")
    with pytest.raises(InputFileError, match=r"fake\.sofa is not a SOFA file"):
        read_sofa(text)
    with pytest.raises(InputFileError, match="does not exist"):
        SofaHRTF.from_file(tmp_path / "missing.sofa", FS)


def test_write_sofa_rejects_bad_input(tmp_path):
    irs = np.zeros((2, 2, 8))
    positions = np.zeros((2, 3))
    with pytest.raises(ParameterError, match="shape"):
        write_sofa(tmp_path / "a.sofa", np.zeros((2, 3, 8)), positions, 48000)
    with pytest.raises(ParameterError, match="version"):
        write_sofa(tmp_path / "a.sofa", irs, positions, 48000, version="2.0")
    with pytest.raises(ParameterError, match="finite"):
        write_sofa(tmp_path / "a.sofa", irs * np.nan, positions, 48000)
    with pytest.raises(ParameterError, match="sample_rate"):
        write_sofa(tmp_path / "a.sofa", irs, positions, 0)
    with pytest.raises(OutputError, match="does not exist"):
        write_sofa(tmp_path / "no" / "a.sofa", irs, positions, 48000)


def test_sofa_hrtf_rejects_bad_arguments(tmp_path):
    irs, positions, _ = sphere_set(azimuth_step=45.0, elevation_step=45.0)
    with pytest.raises(ParameterError, match="interpolation"):
        SofaHRTF(irs, positions, FS, interpolation="linear")
    with pytest.raises(ParameterError, match="shape"):
        SofaHRTF(irs, positions[:-1], FS)
    head = SofaHRTF(irs, positions, FS)
    with pytest.raises(ParameterError, match="shape"):
        head.hrirs(np.ones((2, 3)), np.ones(3))
    with pytest.raises(ParameterError, match="non-zero"):
        head.hrirs(np.zeros((1, 3)), np.ones(1))


def test_load_hrtf_rejects_unknown_heads(tmp_path):
    with pytest.raises(ParameterError, match="'sphere', a registered set"):
        load_hrtf("dummy_head", FS)
    with pytest.raises(ParameterError, match=r"not an existing \.sofa file"):
        load_hrtf(tmp_path / "missing.sofa", FS)


def test_no_warnings_for_a_full_sphere_set():
    irs, positions, _ = sphere_set(azimuth_step=45.0, elevation_step=45.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SofaHRTF(irs, positions, FS)


@pytest.mark.parametrize(("from_rate", "to_rate"), [(44100, 48000), (48000, 44100), (44100, 16000)])
def test_resampling_keeps_a_band_limited_impulse_response(from_rate: int, to_rate: int):
    # A Gaussian pulse well inside both bands, sampled at either rate, is the same continuous response:
    # resampling one must give the other (times the density scaling from_rate / to_rate).
    width_s, centre_s, n = 2.0e-4, 4.0e-3, 512

    def pulse(rate: int, length: int) -> np.ndarray:
        t = np.arange(length) / rate
        return np.exp(-0.5 * ((t - centre_s) / width_s) ** 2) / rate

    out = resample_hrirs(pulse(from_rate, n), from_rate, to_rate)
    expected = pulse(to_rate, len(out))
    np.testing.assert_allclose(out, expected, atol=1e-3 * expected.max())
    assert len(out) == int(np.ceil(n * to_rate / from_rate))
